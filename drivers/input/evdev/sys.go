package evdev

import (
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// handle is an open event device: its capabilities and its stream of
// struct input_event records. Tests replay fixtures through it.
type handle interface {
	info() (deviceInfo, error)
	// state is where the device is now (keys held, axis values, slots),
	// asked after the kernel dropped events; info says which axes it has.
	state(info deviceInfo) (deviceState, error)
	// read fills p with whole records of recordSize bytes.
	read(p []byte) (int, error)
	recordSize() int
	order() binary.ByteOrder
	close() error
}

// openKernel opens a real /dev/input/event* node.
func openKernel(path string) (handle, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	return &kernelHandle{f: f}, nil
}

type kernelHandle struct{ f *os.File }

// nativeRecord is sizeof(struct input_event): a timeval of two longs, then
// type, code and value.
const nativeRecord = 2*int(unsafe.Sizeof(uintptr(0))) + 8

func (h *kernelHandle) read(p []byte) (int, error) { return h.f.Read(p) }
func (h *kernelHandle) recordSize() int            { return nativeRecord }
func (h *kernelHandle) order() binary.ByteOrder    { return binary.NativeEndian }
func (h *kernelHandle) close() error               { return h.f.Close() }

// The _IOC encoding shared by x86, arm and arm64.
func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'E'<<8 | nr }

const iocRead = 2

func (h *kernelHandle) ioctl(req uintptr, p unsafe.Pointer) error {
	rc, err := h.f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(p))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// bits reads one EVIOCGBIT bitmap.
func (h *kernelHandle) bits(ev uintptr, n int) ([]uint16, error) {
	buf := make([]byte, (n+7)/8)
	if err := h.ioctl(ioc(iocRead, 0x20+ev, uintptr(len(buf))), unsafe.Pointer(&buf[0])); err != nil {
		return nil, err
	}
	return setBits(buf), nil
}

// setBits lists the bits set in a kernel bitmap, lowest first.
func setBits(buf []byte) []uint16 {
	var set []uint16
	for i := 0; i < 8*len(buf); i++ {
		if buf[i/8]&(1<<(i%8)) != 0 {
			set = append(set, uint16(i))
		}
	}
	return set
}

func (h *kernelHandle) info() (deviceInfo, error) {
	var info deviceInfo
	name := make([]byte, 256)
	if err := h.ioctl(ioc(iocRead, 0x06, uintptr(len(name))), unsafe.Pointer(&name[0])); err != nil { // EVIOCGNAME
		return info, err
	}
	if i := indexNUL(name); i >= 0 {
		name = name[:i]
	}
	info.Name = string(name)
	var err error
	if info.Keys, err = h.bits(evKey, 0x300); err != nil { // KEY_MAX+1
		return info, err
	}
	if info.Rel, err = h.bits(evRel, 0x10); err != nil { // REL_MAX+1
		return info, err
	}
	abs, err := h.bits(evAbs, 0x40) // ABS_MAX+1
	if err != nil {
		return info, err
	}
	for _, code := range abs {
		ai, err := h.absInfo(code)
		if err != nil {
			return info, err
		}
		info.Abs = append(info.Abs, ai)
	}
	if n := info.slotCount(); n > 0 {
		// The kernel drops an event that repeats a slot's value, so a touch
		// where that slot's last one was says nothing about its position;
		// EVIOCGABS only knows the values of the axes without slots.
		slots, err := h.mtSlots(info, n)
		if err != nil {
			// Not worth refusing a touch screen over: the slots start
			// unknown, and most touches move anyway.
			slots = nil
		}
		info.Slots = slots
	}
	return info, nil
}

// absInfo asks EVIOCGABS for one axis: its current value and range.
func (h *kernelHandle) absInfo(code uint16) (axis, error) {
	var ai struct{ Value, Min, Max, Fuzz, Flat, Resolution int32 } // struct input_absinfo
	if err := h.ioctl(ioc(iocRead, 0x40+uintptr(code), unsafe.Sizeof(ai)), unsafe.Pointer(&ai)); err != nil {
		return axis{}, fmt.Errorf("EVIOCGABS(%#x): %w", code, err)
	}
	return axis{Code: code, Value: ai.Value, Min: ai.Min, Max: ai.Max}, nil
}

// mtSlots asks EVIOCGMTSLOTS for the tracking ID and position of each of
// n slots, for the axes the device has.
func (h *kernelHandle) mtSlots(info deviceInfo, n int) ([]slotValues, error) {
	var out []slotValues
	for _, code := range []uint16{absMTTrackingID, absMTPositionX, absMTPositionY} {
		if _, ok := info.axis(code); !ok {
			continue
		}
		req := make([]int32, 1+n) // struct input_mt_request_layout: code, values[n]
		req[0] = int32(code)
		if err := h.ioctl(ioc(iocRead, 0x0a, uintptr(4*len(req))), unsafe.Pointer(&req[0])); err != nil {
			return nil, fmt.Errorf("EVIOCGMTSLOTS(%#x): %w", code, err)
		}
		out = append(out, slotValues{Code: code, Values: req[1:]})
	}
	return out, nil
}

// state asks the kernel where the device is now, after SYN_DROPPED told us
// events were lost: the keys held down (EVIOCGKEY), the value of each
// absolute axis (EVIOCGABS) and every multitouch slot (EVIOCGMTSLOTS).
func (h *kernelHandle) state(info deviceInfo) (deviceState, error) {
	var st deviceState
	keys := make([]byte, 0x300/8) // KEY_MAX+1 bits
	if err := h.ioctl(ioc(iocRead, 0x18, uintptr(len(keys))), unsafe.Pointer(&keys[0])); err != nil {
		return st, fmt.Errorf("EVIOCGKEY: %w", err)
	}
	st.Keys = setBits(keys)
	for _, a := range info.Abs {
		ai, err := h.absInfo(a.Code)
		if err != nil {
			return st, err
		}
		st.Abs = append(st.Abs, absValue{Code: a.Code, Value: ai.Value})
	}
	if n := info.slotCount(); n > 0 {
		slots, err := h.mtSlots(info, n)
		if err != nil {
			return st, err
		}
		st.Slots = slots
	}
	return st, nil
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}
