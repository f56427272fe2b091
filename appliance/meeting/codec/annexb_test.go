package codec

import (
	"bytes"
	"testing"
)

func TestNALUs(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want [][]byte
		key  bool
	}{
		{"empty", nil, nil, false},
		{"no start code", []byte{0x65, 1, 2}, nil, false},
		{"3-byte start codes", []byte{0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2}, [][]byte{{0x67, 1}, {0x68, 2}}, false},
		{"4-byte start codes with IDR", []byte{0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x65, 9, 9}, [][]byte{{0x67, 1}, {0x65, 9, 9}}, true},
		{"P slice", []byte{0, 0, 0, 1, 0x41, 7}, [][]byte{{0x41, 7}}, false},
		{"trailing start code", []byte{0, 0, 1, 0x41, 0, 0, 1}, [][]byte{{0x41}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [][]byte
			NALUs(tc.in, func(n []byte) { got = append(got, n) })
			if len(got) != len(tc.want) {
				t.Fatalf("got %d NAL units %x, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if !bytes.Equal(got[i], tc.want[i]) {
					t.Errorf("NAL %d = %x, want %x", i, got[i], tc.want[i])
				}
			}
			if k := IsKeyframe(tc.in); k != tc.key {
				t.Errorf("IsKeyframe = %v, want %v", k, tc.key)
			}
		})
	}
}

// FuzzNALUs feeds the Annex B splitter and the decoder what a remote
// participant could send: neither may crash.
func FuzzNALUs(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0, 0x1f, 0, 0, 1, 0x65, 0x88})
	f.Add([]byte{0, 0, 1})
	dec, err := NewH264Decoder()
	if err != nil {
		f.Fatal(err)
	}
	defer dec.Close()
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		NALUs(b, func(n []byte) {
			if len(n) == 0 {
				t.Fatal("empty NAL unit")
			}
			total += len(n)
		})
		if total > len(b) {
			t.Fatalf("NAL units hold %d bytes of a %d-byte input", total, len(b))
		}
		_, _ = dec.Decode(b, nil)
	})
}
