package evdev

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// fixtureFormat names the first version of the fixture file format (see the
// package comment).
const fixtureFormat = "roomkit-evdev/1"

// fixtureRecord is the size of one event in a fixture: struct input_event
// as on a 64-bit kit, whatever machine recorded it.
const fixtureRecord = 24

// maxHeader bounds the JSON line, so a corrupt file cannot make us read
// megabytes looking for a newline.
const maxHeader = 64 << 10

// rawEvent is one struct input_event.
type rawEvent struct {
	Sec, Usec int64
	Type      uint16
	Code      uint16
	Value     int32
}

// axis is what EVIOCGABS reports about one absolute axis.
type axis struct {
	Code  uint16 `json:"code"`
	Value int32  `json:"value"`
	Min   int32  `json:"min"`
	Max   int32  `json:"max"`
}

// slotValues is what EVIOCGMTSLOTS reports for one multitouch axis: its
// value in each slot, slot 0 first.
type slotValues struct {
	Code   uint16  `json:"code"`
	Values []int32 `json:"values"`
}

// deviceInfo is what the kit learns about a device through ioctls, and the
// header of a fixture.
type deviceInfo struct {
	Name  string       `json:"name"`
	Abs   []axis       `json:"abs,omitempty"`
	Rel   []uint16     `json:"rel,omitempty"`
	Keys  []uint16     `json:"keys,omitempty"`
	Slots []slotValues `json:"slots,omitempty"`
	// Resyncs, in a fixture only, are the kernel's answers to state (the
	// keys held, axis values and slots) after each SYN_DROPPED in the
	// recording, in order: what a reader that lost events learns.
	Resyncs []deviceState `json:"resyncs,omitempty"`
}

// deviceState is where a device is at one moment, as the kernel tells a
// reader that lost events: the keys held down (EVIOCGKEY), the value of
// each absolute axis (EVIOCGABS) and each multitouch slot (EVIOCGMTSLOTS).
type deviceState struct {
	Keys  []uint16     `json:"keys,omitempty"`
	Abs   []absValue   `json:"abs,omitempty"`
	Slots []slotValues `json:"slots,omitempty"`
}

// absValue is an absolute axis's current value.
type absValue struct {
	Code  uint16 `json:"code"`
	Value int32  `json:"value"`
}

func (s *deviceState) abs(code uint16) (int32, bool) {
	for _, a := range s.Abs {
		if a.Code == code {
			return a.Value, true
		}
	}
	return 0, false
}

func (s *deviceState) slots(code uint16) []int32 { return findSlots(s.Slots, code) }

func (d *deviceInfo) axis(code uint16) (axis, bool) {
	for _, a := range d.Abs {
		if a.Code == code {
			return a, true
		}
	}
	return axis{}, false
}

// slots returns the per-slot values of a multitouch axis, nil if unknown.
func (d *deviceInfo) slots(code uint16) []int32 { return findSlots(d.Slots, code) }

func findSlots(slots []slotValues, code uint16) []int32 {
	for _, s := range slots {
		if s.Code == code {
			return s.Values
		}
	}
	return nil
}

// slotCount is how many multitouch slots the kit keeps for the device: 0
// for a device without slots.
func (d *deviceInfo) slotCount() int {
	slot, ok := d.axis(absMTSlot)
	if !ok || slot.Max < 0 {
		return 0
	}
	return int(min(int64(slot.Max)+1, maxSlots))
}

func (d *deviceInfo) hasKey(code uint16) bool { return slices.Contains(d.Keys, code) }
func (d *deviceInfo) hasRel(code uint16) bool { return slices.Contains(d.Rel, code) }

type fixtureHeader struct {
	Format string     `json:"format"`
	Device deviceInfo `json:"device"`
}

// writeFixtureHeader starts a fixture file.
func writeFixtureHeader(w io.Writer, info deviceInfo) error {
	b, err := json.Marshal(fixtureHeader{Format: fixtureFormat, Device: info})
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// appendRecord encodes e in the fixture's record layout.
func appendRecord(b []byte, e rawEvent) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Sec))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Usec))
	b = binary.LittleEndian.AppendUint16(b, e.Type)
	b = binary.LittleEndian.AppendUint16(b, e.Code)
	return binary.LittleEndian.AppendUint32(b, uint32(e.Value))
}

// parseFixture splits a fixture into its device and its raw event records.
func parseFixture(b []byte) (deviceInfo, []byte, error) {
	nl := bytes.IndexByte(b[:min(len(b), maxHeader)], '\n')
	if nl < 0 {
		return deviceInfo{}, nil, errors.New("input fixture: no header line (want a JSON object and a newline first)")
	}
	var h fixtureHeader
	if err := json.Unmarshal(b[:nl], &h); err != nil {
		return deviceInfo{}, nil, fmt.Errorf("input fixture header: %w", err)
	}
	if h.Format != fixtureFormat {
		return deviceInfo{}, nil, fmt.Errorf("input fixture: format %q, want %q", h.Format, fixtureFormat)
	}
	recs := b[nl+1:]
	if n := len(recs) % fixtureRecord; n != 0 {
		return deviceInfo{}, nil, fmt.Errorf("input fixture: %d events and %d stray bytes (records are %d bytes)", len(recs)/fixtureRecord, n, fixtureRecord)
	}
	return h.Device, recs, nil
}

// decodeRecord reads one struct input_event of the given size: 24 bytes
// (64-bit timeval) or 16 (32-bit kits), in the given byte order.
func decodeRecord(b []byte, size int, order binary.ByteOrder) rawEvent {
	if size == 16 {
		return rawEvent{
			Sec:   int64(int32(order.Uint32(b[0:]))),
			Usec:  int64(int32(order.Uint32(b[4:]))),
			Type:  order.Uint16(b[8:]),
			Code:  order.Uint16(b[10:]),
			Value: int32(order.Uint32(b[12:])),
		}
	}
	return rawEvent{
		Sec:   int64(order.Uint64(b[0:])),
		Usec:  int64(order.Uint64(b[8:])),
		Type:  order.Uint16(b[16:]),
		Code:  order.Uint16(b[18:]),
		Value: int32(order.Uint32(b[20:])),
	}
}
