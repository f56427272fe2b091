package meeting

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/pion/rtp"
)

// testFrames returns the RTP packets of n access units, frame i in
// parts[i] packets (FU-A fragments when more than one), at 30 frames a
// second from seq0 and ts0, and the Annex B access unit each should
// become. A frame's slice bytes say which frame it is.
func testFrames(seq0 uint16, ts0 uint32, parts []int) (pkts [][]*rtp.Packet, aus [][]byte) {
	seq := seq0
	for i, n := range parts {
		ts := ts0 + uint32(i)*3000
		// A non-IDR slice, first_mb_in_slice 0 (first bit 1), then the
		// frame's number.
		body := append([]byte{0x88}, bytes.Repeat([]byte{byte(i)}, 10*n)...)
		aus = append(aus, append([]byte{0, 0, 0, 1, 0x41}, body...))
		var frame []*rtp.Packet
		if n == 1 {
			frame = append(frame, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: append([]byte{0x41}, body...)})
			seq++
		} else {
			for k := range n {
				fu := byte(1) // slice type in the FU header
				if k == 0 {
					fu |= 0x80
				}
				if k == n-1 {
					fu |= 0x40
				}
				part := body[k*len(body)/n : (k+1)*len(body)/n]
				frame = append(frame, &rtp.Packet{
					Header:  rtp.Header{SequenceNumber: seq, Timestamp: ts, Marker: k == n-1},
					Payload: append([]byte{0x40 | 28, fu}, part...),
				})
				seq++
			}
		}
		pkts = append(pkts, frame)
	}
	return pkts, aus
}

// out is one access unit handed out: which frame, and whether it came
// after a loss.
type out struct {
	frame int
	loss  bool
}

func TestJitterBuffer(t *testing.T) {
	flat := func(frames [][]*rtp.Packet) []*rtp.Packet { return slices.Concat(frames...) }
	for _, tc := range []struct {
		name   string
		seq0   uint16
		ts0    uint32
		parts  []int
		arrive func(f [][]*rtp.Packet) []*rtp.Packet
		want   []out
	}{
		{
			name: "in order", parts: []int{1, 3, 1},
			arrive: flat,
			want:   []out{{0, false}, {1, false}, {2, false}},
		},
		{
			name: "reordered within a frame", parts: []int{4},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet { return []*rtp.Packet{f[0][2], f[0][0], f[0][3], f[0][1]} },
			want:   []out{{0, false}},
		},
		{
			name: "reordered across frames", parts: []int{2, 2, 1},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet {
				return []*rtp.Packet{f[0][0], f[1][0], f[2][0], f[0][1], f[1][1]}
			},
			want: []out{{0, false}, {1, false}, {2, false}},
		},
		{
			name: "duplicates dropped", parts: []int{2, 1},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet {
				return []*rtp.Packet{f[0][0], f[0][0], f[0][1], f[0][1], f[1][0], f[0][0]}
			},
			want: []out{{0, false}, {1, false}},
		},
		{
			// Frames 3..7 are less than 200 ms newer than frame 2: the
			// buffer still waits for its missing packet.
			name: "loss: waiting", parts: []int{1, 1, 2, 1, 1, 1, 1, 1, 1},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet {
				return flat(slices.Concat(f[:2], [][]*rtp.Packet{f[2][:1]}, f[3:]))
			},
			want: []out{{0, false}, {1, false}},
		},
		{
			// Frame 9 is 210 ms newer: frame 2 is given up.
			name: "loss: given up", parts: []int{1, 1, 2, 1, 1, 1, 1, 1, 1, 1},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet {
				return flat(slices.Concat(f[:2], [][]*rtp.Packet{f[2][:1]}, f[3:]))
			},
			want: []out{{0, false}, {1, false}, {3, true}, {4, false}, {5, false}, {6, false}, {7, false}, {8, false}, {9, false}},
		},
		{
			name: "loss of a whole frame", parts: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet { return flat(slices.Concat(f[:1], f[2:])) },
			want:   []out{{0, false}, {2, true}, {3, false}, {4, false}, {5, false}, {6, false}, {7, false}, {8, false}, {9, false}},
		},
		{
			name: "the missing packet arrives late, after its frame was given up", parts: []int{1, 2, 1, 1, 1, 1, 1, 1, 1, 1},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet {
				return append(flat(slices.Concat(f[:1], [][]*rtp.Packet{f[1][1:]}, f[2:])), f[1][0])
			},
			want: []out{{0, false}, {2, true}, {3, false}, {4, false}, {5, false}, {6, false}, {7, false}, {8, false}, {9, false}},
		},
		{
			name: "first packets reordered", parts: []int{3, 1},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet { return []*rtp.Packet{f[0][1], f[0][2], f[0][0], f[1][0]} },
			want:   []out{{0, false}, {1, false}},
		},
		{
			name: "joined mid-frame", parts: []int{3, 1},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet { return flat(f)[1:] },
			want:   []out{{1, false}},
		},
		{
			name: "sequence numbers wrap", seq0: 65533, parts: []int{2, 3, 2},
			arrive: flat,
			want:   []out{{0, false}, {1, false}, {2, false}},
		},
		{
			name: "sequence numbers wrap, reordered", seq0: 65534, parts: []int{1, 2, 1},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet { return []*rtp.Packet{f[0][0], f[1][1], f[2][0], f[1][0]} },
			want:   []out{{0, false}, {1, false}, {2, false}},
		},
		{
			name: "timestamps wrap, loss given up across the wrap", ts0: 1<<32 - 6000, parts: []int{1, 2, 1, 1, 1, 1, 1, 1, 1, 1},
			arrive: func(f [][]*rtp.Packet) []*rtp.Packet {
				return flat(slices.Concat(f[:1], [][]*rtp.Packet{f[1][:1]}, f[2:]))
			},
			want: []out{{0, false}, {2, true}, {3, false}, {4, false}, {5, false}, {6, false}, {7, false}, {8, false}, {9, false}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, aus := testFrames(tc.seq0, tc.ts0, tc.parts)
			var j jitterBuffer
			var got []out
			for _, p := range tc.arrive(frames) {
				j.push(p)
				for au, loss, ok := j.pop(); ok; au, loss, ok = j.pop() {
					i := slices.IndexFunc(aus, func(want []byte) bool { return bytes.Equal(want, au) })
					if i < 0 {
						t.Fatalf("handed out % x: no frame's access unit", au)
					}
					got = append(got, out{i, loss})
				}
				checkJitterBound(t, &j)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("handed out %v, want %v", got, tc.want)
			}
		})
	}
}

// checkJitterBound checks what a jitterBuffer holds against its bounds.
func checkJitterBound(t testing.TB, j *jitterBuffer) {
	t.Helper()
	used := 0
	for i := range j.slots {
		if j.slots[i].used {
			used++
			if d := int(uint16(j.slots[i].seq - j.next)); d >= jitterSlots {
				t.Fatalf("slot holds seq %d, %d ahead of next %d", j.slots[i].seq, d, j.next)
			}
		}
	}
	if used != j.held || j.held > jitterSlots {
		t.Fatalf("%d slots used, %d counted, bound %d", used, j.held, jitterSlots)
	}
	if len(j.free) > jitterKeepFree {
		t.Fatalf("%d free buffers kept, bound %d", len(j.free), jitterKeepFree)
	}
}

// A frame too large for the buffer is given up, not allowed to grow it,
// and the stream continues after it.
func TestJitterBufferBound(t *testing.T) {
	frames, aus := testFrames(100, 0, []int{1, 3 * jitterSlots, 1, 1})
	var j jitterBuffer
	var got []out
	for _, p := range slices.Concat(frames...) {
		j.push(p)
		checkJitterBound(t, &j)
		for au, loss, ok := j.pop(); ok; au, loss, ok = j.pop() {
			got = append(got, out{slices.IndexFunc(aus, func(b []byte) bool { return bytes.Equal(b, au) }), loss})
		}
	}
	if want := []out{{0, false}, {2, true}, {3, false}}; !slices.Equal(got, want) {
		t.Errorf("handed out %v, want %v", got, want)
	}
}

// A sender that jumps (a restart, a long outage) far ahead or behind is
// followed, not dropped as late.
func TestJitterBufferJump(t *testing.T) {
	for _, jump := range []uint16{1000, 20000, 40000, 65000} {
		a, ausA := testFrames(1000, 0, []int{2, 1})
		b, ausB := testFrames(1000+jump, 90000, []int{2, 1})
		var j jitterBuffer
		var got [][]byte
		for _, p := range slices.Concat(append(a, b...)...) {
			j.push(p)
			for au, _, ok := j.pop(); ok; au, _, ok = j.pop() {
				got = append(got, slices.Clone(au))
			}
		}
		if want := slices.Concat(ausA, ausB); !slices.EqualFunc(got, want, bytes.Equal) {
			t.Errorf("jump by %d: %d access units, want %d", jump, len(got), len(want))
		}
	}
}

func TestAssembleSTAPA(t *testing.T) {
	sps, pps, idr := []byte{0x67, 1, 2, 3}, []byte{0x68, 4, 5}, []byte{0x65, 0x88, 6, 7}
	stap := []byte{0x18}
	for _, nal := range [][]byte{sps, pps} {
		stap = binary.BigEndian.AppendUint16(stap, uint16(len(nal)))
		stap = append(stap, nal...)
	}
	var j jitterBuffer
	j.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 7, Timestamp: 5}, Payload: stap})
	j.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 8, Timestamp: 5, Marker: true}, Payload: idr})
	au, loss, ok := j.pop()
	want := slices.Concat([]byte{0, 0, 0, 1}, sps, []byte{0, 0, 0, 1}, pps, []byte{0, 0, 0, 1}, idr)
	if !ok || loss || !bytes.Equal(au, want) {
		t.Errorf("pop: % x %v %v, want % x", au, loss, ok, want)
	}
}

func TestStartsAccessUnit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"SPS", []byte{0x67, 0x42}, true},
		{"AUD", []byte{0x09, 0xf0}, true},
		{"first slice", []byte{0x41, 0x9a}, true},
		{"second slice of a picture", []byte{0x41, 0x40}, false},
		{"STAP-A of SPS and PPS", []byte{0x18, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true},
		{"STAP-A with a short size", []byte{0x18, 0, 9, 0x67}, false},
		{"FU-A start of an IDR slice", []byte{0x7c, 0x85, 0x88}, true},
		{"FU-A continuation", []byte{0x7c, 0x05, 0x88}, false},
		{"FU-B", []byte{0x1d, 0x85, 0, 0, 0x88}, false},
		{"empty", nil, false},
	} {
		if got := startsAccessUnit(tc.payload); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzJitterBuffer feeds packets as they may come from the network: any
// order, any sequence numbers and timestamps, any payload. The buffer
// must neither panic nor exceed its bounds, and whatever it hands out is
// Annex B.
func FuzzJitterBuffer(f *testing.F) {
	frames, _ := testFrames(65530, 1<<32-3000, []int{1, 3, 1})
	var seed []byte
	for _, p := range slices.Concat(frames...) {
		seed = binary.BigEndian.AppendUint16(seed, p.SequenceNumber)
		seed = binary.BigEndian.AppendUint32(seed, p.Timestamp)
		flags := byte(len(p.Payload))
		if p.Marker {
			flags |= 0x80
		}
		seed = append(append(seed, flags), p.Payload...)
	}
	f.Add(seed)
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0x82, 0x18, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var j jitterBuffer
		// Each packet: seq (2 bytes), timestamp (4), marker bit and
		// payload length (1), payload.
		for len(data) >= 7 {
			n := min(int(data[6]&0x7f), len(data)-7)
			p := &rtp.Packet{
				Header:  rtp.Header{SequenceNumber: binary.BigEndian.Uint16(data), Timestamp: binary.BigEndian.Uint32(data[2:]), Marker: data[6]&0x80 != 0},
				Payload: data[7 : 7+n],
			}
			data = data[7+n:]
			j.push(p)
			checkJitterBound(t, &j)
			for au, _, ok := j.pop(); ok; au, _, ok = j.pop() {
				if !bytes.HasPrefix(au, []byte{0, 0, 0, 1}) {
					t.Fatalf("access unit % x is not Annex B", au)
				}
			}
			checkJitterBound(t, &j)
		}
	})
}

// BenchmarkJitterBuffer is the receive path's reordering per packet: a
// 320×240 camera's frames of 1–4 packets, every tenth pair swapped. Once
// warm it allocates nothing: payloads go into reused buffers.
func BenchmarkJitterBuffer(b *testing.B) {
	parts := make([]int, 300)
	for i := range parts {
		parts[i] = 1 + i%4
	}
	frames, _ := testFrames(0, 0, parts)
	pkts := slices.Concat(frames...)
	for i := 0; i+1 < len(pkts); i += 10 {
		pkts[i], pkts[i+1] = pkts[i+1], pkts[i]
	}
	var j jitterBuffer
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := range b.N {
		// Shift sequence numbers and timestamps so every round is new.
		round := i / len(pkts)
		p := *pkts[i%len(pkts)]
		p.SequenceNumber += uint16(round * len(pkts))
		p.Timestamp += uint32(round * len(parts) * 3000)
		j.push(&p)
		for _, _, ok := j.pop(); ok; _, _, ok = j.pop() {
			n++
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "frames/packet")
}
