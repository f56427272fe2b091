package meeting

import (
	"errors"

	"github.com/pion/rtp"
)

// jitterBuffer puts the RTP packets of one H.264 track back in order and
// hands out complete access units (Annex B), giving up on a missing
// packet once later frames have waited long enough.
//
// It replaces pion's samplebuilder, which keeps two arrays indexed by the
// whole 16-bit sequence space (1 MB of pointers per track, scanned by
// every garbage collection) whatever the stream's size. Here the bound is
// jitterSlots packets, and payload buffers are allocated only as deep as
// the stream actually needs: a few for a small camera picture, a keyframe's
// worth for a shared screen.
//
// Sequence numbers and timestamps wrap: every comparison is a difference
// taken modulo 2^16 or 2^32. A jitterBuffer is not safe for concurrent
// use; the track's receive goroutine owns it.
type jitterBuffer struct {
	slots   [jitterSlots]jitterSlot // by sequence number modulo jitterSlots
	held    int                     // slots in use
	started bool                    // a packet was pushed: next is set
	next    uint16                  // the first sequence number not handed out or given up
	newest  uint32                  // the newest timestamp pushed
	// syncing: packets were given up, or nothing was handed out yet: the
	// next frame begins at a packet that starts an access unit.
	syncing bool
	// fresh: nothing was handed out or given up yet. The first packets
	// of a stream may come out of order too: an earlier one moves next
	// back rather than being dropped as late.
	fresh bool
	high  uint16 // the highest sequence number pushed
	lost  bool   // packets were given up since the last access unit

	free [][]byte // payload buffers to reuse
	au   []byte   // the access unit last handed out, reused
}

type jitterSlot struct {
	used    bool
	marker  bool
	seq     uint16
	ts      uint32
	payload []byte // from jitterBuffer.free
}

const (
	// jitterSlots bounds the packets held: a 1080p keyframe of a shared
	// screen is ~250 packets of 1,200 bytes, a camera's a few dozen.
	jitterSlots = 512
	// jitterDelay is how long (in the 90 kHz clock) the buffer waits for a
	// missing packet once later ones arrived: waiting longer only freezes
	// the picture, and a keyframe is asked for anyway.
	jitterDelay = 200 * 90
	// jitterKeepFree bounds the payload buffers kept for reuse after a
	// burst (a keyframe) that needed many.
	jitterKeepFree = 64
)

// push adds a packet. Its payload is copied: the caller may reuse pkt.
// Packets older than what was handed out (late or duplicate) are dropped.
func (j *jitterBuffer) push(pkt *rtp.Packet) {
	seq := pkt.SequenceNumber
	if !j.started {
		j.started, j.next, j.high, j.newest, j.syncing, j.fresh = true, seq, seq, pkt.Timestamp, true, true
	}
	d := int(int16(seq - j.next))
	if d < 0 && j.fresh && int(uint16(j.high-seq)) < jitterSlots {
		j.next, d = seq, 0
	}
	if d < -jitterSlots {
		// Far behind what was handed out: not a late packet but a sender
		// that jumped (a restart, a long outage). Start over from it.
		j.skip(jitterSlots)
		j.next, d = seq, 0
	}
	if d < 0 {
		return // late or duplicate: its frame was handed out or given up
	}
	jumped := d >= jitterSlots
	if jumped {
		// Too far ahead to hold with what is waiting: give up the oldest
		// packets to make room.
		j.skip(d - jitterSlots + 1)
	}
	s := &j.slots[seq%jitterSlots]
	if s.used {
		return // a duplicate of a packet still held
	}
	*s = jitterSlot{used: true, marker: pkt.Marker, seq: seq, ts: pkt.Timestamp, payload: append(j.buffer(), pkt.Payload...)}
	j.held++
	if jumped {
		// What is missing before the oldest packet held was just given
		// up with the rest: do not wait for it.
		j.skipGap()
	}
	if int16(seq-j.high) > 0 {
		j.high = seq
	}
	if int32(pkt.Timestamp-j.newest) > 0 {
		j.newest = pkt.Timestamp
	}
}

// buffer returns an empty payload buffer.
func (j *jitterBuffer) buffer() []byte {
	if n := len(j.free); n > 0 {
		b := j.free[n-1]
		j.free = j.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, 1500) // an Ethernet MTU holds any packet
}

// release empties the slot of sequence number seq, if it holds that packet.
func (j *jitterBuffer) release(seq uint16) {
	s := &j.slots[seq%jitterSlots]
	if !s.used || s.seq != seq {
		return
	}
	if len(j.free) < jitterKeepFree {
		j.free = append(j.free, s.payload)
	}
	*s = jitterSlot{}
	j.held--
}

// skip gives up the next n sequence numbers.
func (j *jitterBuffer) skip(n int) {
	for i := range min(n, jitterSlots) {
		j.release(j.next + uint16(i))
	}
	j.next += uint16(n)
	j.lost, j.syncing, j.fresh = true, true, false
}

// slot returns the packet of sequence number seq, or nil.
func (j *jitterBuffer) slot(seq uint16) *jitterSlot {
	if s := &j.slots[seq%jitterSlots]; s.used && s.seq == seq {
		return s
	}
	return nil
}

// pop returns the next complete access unit, in Annex B, and whether
// packets were given up before it (the decoder then lacks a reference
// picture until a keyframe). The slice is valid until the next call to
// push or pop. ok is false when no access unit is complete yet.
func (j *jitterBuffer) pop() (au []byte, afterLoss, ok bool) {
	for j.held > 0 {
		if j.syncing && j.fresh && !j.startHeld() {
			// The stream's first packets may still come: wait for them
			// until a frame's start is there or the wait is over.
			if s := j.slot(j.next); s == nil || !startsAccessUnit(s.payload) && int32(j.newest-s.ts) <= jitterDelay {
				if s == nil && j.waitedEnough(j.next) {
					j.skipGap()
					continue
				}
				return nil, false, false
			}
		}
		if j.syncing {
			// Drop what cannot begin a frame; stop at a gap.
			for s := j.slot(j.next); s != nil && !startsAccessUnit(s.payload); s = j.slot(j.next) {
				j.release(j.next)
				j.next++
			}
			if s := j.slot(j.next); s != nil {
				j.syncing = false
			}
		}
		end, complete := j.frameEnd()
		if !complete {
			// A packet is missing at end: wait for it until frames
			// jitterDelay newer than what is waiting have arrived.
			if !j.waitedEnough(end) {
				return nil, false, false
			}
			j.skip(int(end - j.next))
			j.skipGap()
			continue
		}
		au, err := j.assemble(end)
		for seq := j.next; seq != end+1; seq++ {
			j.release(seq)
		}
		j.next = end + 1
		if err != nil {
			j.lost, j.syncing = true, true
			continue
		}
		afterLoss, j.lost, j.fresh = j.lost, false, false
		return au, afterLoss, true
	}
	return nil, false, false
}

// startHeld reports whether a packet that starts an access unit is held.
func (j *jitterBuffer) startHeld() bool {
	for i := range j.slots {
		if s := &j.slots[i]; s.used && startsAccessUnit(s.payload) {
			return true
		}
	}
	return false
}

// frameEnd walks the present packets from next. complete: the frame
// starting at next ends at end (a marker, or the packet before one with a
// newer timestamp). Otherwise end is the first missing sequence number.
func (j *jitterBuffer) frameEnd() (end uint16, complete bool) {
	first := j.slot(j.next)
	if first == nil || j.syncing {
		return j.next, false
	}
	for seq := j.next; ; seq++ {
		s := j.slot(seq)
		if s == nil {
			return seq, false
		}
		if s.ts != first.ts {
			return seq - 1, true
		}
		if s.marker {
			return seq, true
		}
	}
}

// waitedEnough reports whether the gap at sequence number gap has been
// waited for long enough: a packet jitterDelay newer than the oldest one
// held is there. The frame clock, not the wall clock, decides: what
// matters is how many pictures the wait holds back.
func (j *jitterBuffer) waitedEnough(gap uint16) bool {
	if int(uint16(gap-j.next)) > 0 {
		// Part of a frame is there: it is the oldest.
		return int32(j.newest-j.slot(j.next).ts) > jitterDelay
	}
	for i := uint16(1); i < jitterSlots; i++ {
		if s := j.slot(gap + i); s != nil {
			return int32(j.newest-s.ts) > jitterDelay
		}
	}
	return false
}

// skipGap gives up the missing sequence numbers from next to the next
// packet held.
func (j *jitterBuffer) skipGap() {
	for i := range jitterSlots {
		if j.slot(j.next+uint16(i)) != nil {
			j.next += uint16(i)
			return
		}
	}
}

var errPayload = errors.New("malformed H.264 RTP payload")

// assemble depacketizes the packets from next to end (RFC 6184: single NAL
// units, STAP-A and FU-A, what browsers and LiveKit send) into j.au.
func (j *jitterBuffer) assemble(end uint16) ([]byte, error) {
	au := j.au[:0]
	inFU := false
	for seq := j.next; ; seq++ {
		p := j.slot(seq).payload
		if len(p) < 1 {
			return nil, errPayload
		}
		switch t := p[0] & 0x1f; {
		case t >= 1 && t <= 23:
			au = append(append(au, 0, 0, 0, 1), p...)
			inFU = false
		case t == 24: // STAP-A: 16-bit sizes, each followed by a NAL unit
			for q := p[1:]; len(q) > 0; {
				if len(q) < 2 {
					return nil, errPayload
				}
				n := int(q[0])<<8 | int(q[1])
				if n == 0 || len(q) < 2+n {
					return nil, errPayload
				}
				au = append(append(au, 0, 0, 0, 1), q[2:2+n]...)
				q = q[2+n:]
			}
			inFU = false
		case t == 28: // FU-A: a NAL unit in fragments
			if len(p) < 2 {
				return nil, errPayload
			}
			if p[1]&0x80 != 0 { // start: rebuild the NAL header
				au = append(au, 0, 0, 0, 1, p[0]&0xe0|p[1]&0x1f)
				inFU = true
			} else if !inFU {
				return nil, errPayload
			}
			au = append(au, p[2:]...)
			if p[1]&0x40 != 0 { // end
				inFU = false
			}
		default: // STAP-B, MTAP, FU-B: not used in WebRTC
			return nil, errPayload
		}
		if seq == end {
			break
		}
	}
	if len(au) == 0 {
		// Only empty STAP-As: nothing a decoder could use (found by
		// FuzzJitterBuffer).
		return nil, errPayload
	}
	j.au = au
	return au, nil
}

// startsAccessUnit reports whether an RTP payload begins a new access
// unit: an access unit delimiter, SEI, SPS or PPS, or the first slice of a
// picture (first_mb_in_slice, an Exp-Golomb number, is 0 exactly when its
// first bit is 1). After a loss this is how the buffer knows where a
// decodable frame begins without the packets before it.
func startsAccessUnit(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	var nal byte
	var body []byte
	switch t := p[0] & 0x1f; {
	case t >= 1 && t <= 23:
		nal, body = t, p[1:]
	case t == 24: // STAP-A: its first NAL unit
		if len(p) < 4 {
			return false
		}
		n := int(p[1])<<8 | int(p[2])
		if n < 1 || len(p) < 3+n {
			return false
		}
		nal, body = p[3]&0x1f, p[4:3+n]
	case t == 28: // FU-A: the first fragment only
		if p[1]&0x80 == 0 {
			return false
		}
		nal, body = p[1]&0x1f, p[2:]
	default:
		return false
	}
	switch nal {
	case 6, 7, 8, 9: // SEI, SPS, PPS, access unit delimiter
		return true
	case 1, 5: // a slice of a picture, non-IDR or IDR
		return len(body) > 0 && body[0]&0x80 != 0
	}
	return false
}
