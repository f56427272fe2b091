//go:build linux && cgo

package v4l2

// This file is the only one that talks to the kernel, through go4vl (its
// v4l2 package: plain ioctl wrappers) and, where go4vl would allocate per
// frame or lacks a call, through the same headers via cgo.

/*
#include <linux/videodev2.h>
#include <linux/uvcvideo.h>
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/vladimirvivien/go4vl/v4l2"
	"golang.org/x/sys/unix"

	"roomkit/drivers/camera"
)

type kernelDevice struct {
	path string
	fd   int             // until start: a plain descriptor, outside Go's poller
	f    *os.File        // from start on: fd, in Go's poller
	rc   syscall.RawConn // f's
	bufs [][]byte

	keyMu     sync.Mutex
	keyMethod string // what worked last time: "control" or "uvc-xu"
	xuUnit    uint8
}

// openKernel opens a video node non-blocking. The descriptor joins Go's
// poller (epoll) only once buffers are requested (start), so that waiting
// for a frame goes through epoll and Close wakes the waiter. Not before:
// adding a node to epoll polls it, and videobuf2 answers a poll on a
// capture node without buffers by starting read() emulation, which
// allocates buffers, starts streaming and makes that descriptor the
// queue's owner; S_FMT then fails with EBUSY. vivid (and every driver that
// offers read()) does that; uvcvideo does not offer read().
func openKernel(path string) (device, error) {
	fd, err := v4l2.OpenDevice(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &kernelDevice{path: path, fd: int(fd)}, nil
}

// ctl runs fn with the descriptor, which cannot be closed meanwhile. Never
// use f.Fd(): it would switch the descriptor back to blocking mode.
func (d *kernelDevice) ctl(fn func(fd uintptr) error) error {
	if d.f == nil {
		// Before start nothing runs concurrently: open, enumerate, set
		// the format, close.
		if d.fd < 0 {
			return os.ErrClosed
		}
		return gone(fn(uintptr(d.fd)))
	}
	var err error
	if cerr := d.rc.Control(func(fd uintptr) { err = fn(fd) }); cerr != nil {
		return cerr
	}
	return gone(err)
}

// gone maps the errors of a vanished device to camera.ErrUnplugged. After
// a USB disconnect uvcvideo answers EIO or ENODEV, which go4vl folds into
// ErrorSystem.
func gone(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, v4l2.ErrorSystem) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EIO) || errors.Is(err, unix.ENXIO) {
		return fmt.Errorf("%w (%v)", camera.ErrUnplugged, err)
	}
	return err
}

func (d *kernelDevice) capability() (capability, error) {
	var c v4l2.Capability
	err := d.ctl(func(fd uintptr) (err error) { c, err = v4l2.GetCapability(fd); return })
	if errors.Is(err, v4l2.ErrorUnsupported) {
		return capability{}, fmt.Errorf("not a V4L2 device: %w", err)
	}
	if err != nil {
		return capability{}, err
	}
	caps := c.Capabilities
	if c.Capabilities&v4l2.CapDeviceCapabilities != 0 {
		caps = c.DeviceCapabilities
	}
	return capability{Driver: c.Driver, Card: c.Card, BusInfo: c.BusInfo, Caps: caps}, nil
}

// endOfList tells the EINVAL that ends an enumeration.
func endOfList(err error) bool { return errors.Is(err, v4l2.ErrorBadArgument) }

func (d *kernelDevice) formats() ([]formatDesc, error) {
	var out []formatDesc
	err := d.ctl(func(fd uintptr) error {
		for i := uint32(0); i < 64; i++ {
			desc, err := v4l2.GetFormatDescription(fd, i)
			if endOfList(err) {
				return nil
			}
			if err != nil {
				return err
			}
			out = append(out, formatDesc{PixelFormat: fourcc(desc.PixelFormat), Description: desc.Description, Flags: desc.Flags})
		}
		return nil
	})
	return out, err
}

func (d *kernelDevice) frameSizes(f fourcc) ([]frameSize, error) {
	var out []frameSize
	err := d.ctl(func(fd uintptr) error {
		for i := uint32(0); i < 256; i++ {
			fs, err := v4l2.GetFormatFrameSize(fd, i, uint32(f))
			if endOfList(err) {
				return nil
			}
			if err != nil {
				return err
			}
			s := fs.Size
			switch fs.Type {
			case v4l2.FrameSizeTypeDiscrete:
				out = append(out, frameSize{Width: int(s.MinWidth), Height: int(s.MinHeight)})
			default: // stepwise or continuous: one answer covers all
				step := func(v uint32) int { return max(int(v), 1) }
				out = append(out, frameSize{
					Width: int(s.MinWidth), Height: int(s.MinHeight), MaxWidth: int(s.MaxWidth), MaxHeight: int(s.MaxHeight),
					StepWidth: step(s.StepWidth), StepHeight: step(s.StepHeight),
				})
				return nil
			}
		}
		return nil
	})
	return out, err
}

func (d *kernelDevice) frameIntervals(f fourcc, w, h int) ([]fract, error) {
	var out []fract
	err := d.ctl(func(fd uintptr) error {
		for i := uint32(0); i < 64; i++ {
			fi, err := v4l2.GetFormatFrameInterval(fd, i, uint32(f), uint32(w), uint32(h))
			if endOfList(err) {
				return nil
			}
			if err != nil {
				return err
			}
			mn := fract{fi.Interval.Min.Numerator, fi.Interval.Min.Denominator}
			mx := fract{fi.Interval.Max.Numerator, fi.Interval.Max.Denominator}
			if fi.Type == v4l2.FrameIntervalTypeDiscrete {
				out = append(out, mn)
				continue
			}
			// A range: its ends, and 30 fps if it lies inside.
			out = append(out, mn, mx)
			if mn.fps() >= targetFPS && mx.fps() <= targetFPS {
				out = append(out, fract{1, targetFPS})
			}
			return nil
		}
		return nil
	})
	return out, err
}

func (d *kernelDevice) setFormat(f fourcc, w, h int) (pixFormat, error) {
	var got v4l2.PixFormat
	err := d.ctl(func(fd uintptr) error {
		if err := v4l2.SetPixFormat(fd, v4l2.PixFormat{Width: uint32(w), Height: uint32(h), PixelFormat: uint32(f), Field: v4l2.FieldNone}); err != nil {
			return err
		}
		var err error
		got, err = v4l2.GetPixFormat(fd)
		return err
	})
	if err != nil {
		return pixFormat{}, err
	}
	return pixFormat{PixelFormat: fourcc(got.PixelFormat), Width: int(got.Width), Height: int(got.Height),
		BytesPerLine: int(got.BytesPerLine), SizeImage: int(got.SizeImage)}, nil
}

func (d *kernelDevice) setInterval(iv fract) (fract, error) {
	var got fract
	err := d.ctl(func(fd uintptr) error {
		p := v4l2.StreamParam{Type: v4l2.BufTypeVideoCapture, Capture: v4l2.CaptureParam{TimePerFrame: v4l2.Fract{Numerator: iv.Num, Denominator: iv.Den}}}
		if err := v4l2.SetStreamParam(fd, v4l2.BufTypeVideoCapture, p); err != nil {
			return err
		}
		p, err := v4l2.GetStreamParam(fd, v4l2.BufTypeVideoCapture)
		got = fract{p.Capture.TimePerFrame.Numerator, p.Capture.TimePerFrame.Denominator}
		return err
	})
	return got, err
}

// streamDev adapts a descriptor to the go4vl interface its buffer calls
// take; only Fd, BufferType, BufferCount and MemIOType are used.
type streamDev struct {
	fd uintptr
	n  uint32
}

func (s streamDev) Name() string                    { return "" }
func (s streamDev) Fd() uintptr                     { return s.fd }
func (s streamDev) Capability() v4l2.Capability     { return v4l2.Capability{} }
func (s streamDev) MemIOType() v4l2.IOType          { return v4l2.IOTypeMMAP }
func (s streamDev) GetOutput() <-chan []byte        { return nil }
func (s streamDev) SetInput(<-chan []byte)          {}
func (s streamDev) Close() error                    { return nil }
func (s streamDev) Buffers() [][]byte               { return nil }
func (s streamDev) BufferType() v4l2.BufType        { return v4l2.BufTypeVideoCapture }
func (s streamDev) BufferCount() uint32             { return s.n }
func (s streamDev) Start(ctx context.Context) error { return nil }
func (s streamDev) Stop() error                     { return nil }

var _ v4l2.StreamingDevice = streamDev{}

func (d *kernelDevice) start(n int) ([][]byte, error) {
	if d.f != nil {
		return nil, errors.New("start: already streaming")
	}
	err := d.ctl(func(fd uintptr) error {
		req, err := v4l2.InitBuffers(streamDev{fd, uint32(n)})
		if err != nil {
			return err
		}
		if req.Count == 0 {
			return errors.New("request buffers: the driver granted none")
		}
		bufs, err := v4l2.MapMemoryBuffers(streamDev{fd, req.Count})
		if err != nil {
			return err
		}
		d.bufs = bufs
		for i := range bufs {
			if _, err := v4l2.QueueBuffer(fd, v4l2.IOTypeMMAP, v4l2.BufTypeVideoCapture, uint32(i)); err != nil {
				return err
			}
		}
		return v4l2.StreamOn(streamDev{fd, req.Count})
	})
	if err != nil {
		return d.bufs, err
	}
	// The queue streams now. Polling it before would have started read()
	// emulation (no buffers yet) or answered EPOLLERR (not streaming),
	// which Go's poller keeps as "not pollable" until the next event.
	f := os.NewFile(uintptr(d.fd), d.path)
	rc, err := f.SyscallConn()
	if err != nil {
		return d.bufs, err
	}
	d.f, d.rc = f, rc
	return d.bufs, nil
}

// pollSlice bounds how long dequeue waits before looking at its context
// again: deadlines cost no allocation, unlike a context.AfterFunc per frame.
const pollSlice = 250 * time.Millisecond

// dequeue issues VIDIOC_DQBUF itself rather than through go4vl, whose
// DequeueBuffer builds an error (two allocations) for every EAGAIN, that
// is for every frame on a non-blocking descriptor.
func (d *kernelDevice) dequeue(ctx context.Context) (buffer, error) {
	if d.f == nil {
		return buffer{}, errors.New("dequeue buffer: not streaming")
	}
	var (
		b     C.struct_v4l2_buffer
		errno unix.Errno
	)
	for {
		if err := ctx.Err(); err != nil {
			return buffer{}, err
		}
		if err := d.f.SetReadDeadline(time.Now().Add(pollSlice)); err != nil && !errors.Is(err, os.ErrNoDeadline) {
			return buffer{}, err
		}
		err := d.rc.Read(func(fd uintptr) bool {
			b = C.struct_v4l2_buffer{}
			b._type = C.V4L2_BUF_TYPE_VIDEO_CAPTURE
			b.memory = C.V4L2_MEMORY_MMAP
			for {
				_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, C.VIDIOC_DQBUF, uintptr(unsafe.Pointer(&b)))
				if errno != unix.EINTR {
					break
				}
			}
			return errno != unix.EAGAIN
		})
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			continue
		case errors.Is(err, os.ErrClosed):
			return buffer{}, err
		case err != nil:
			// videobuf2 answers poll with EPOLLERR when the queue stopped
			// or the device was unregistered: Go reports "not pollable".
			return buffer{}, fmt.Errorf("%w (wait for a frame: %v)", camera.ErrUnplugged, err)
		case errno != 0:
			return buffer{}, gone(fmt.Errorf("dequeue buffer: %w", errno))
		}
		ts := (*unix.Timeval)(unsafe.Pointer(&b.timestamp))
		return buffer{
			Index:     int(b.index),
			BytesUsed: int(b.bytesused),
			Flags:     uint32(b.flags),
			Sequence:  uint32(b.sequence),
			Timestamp: time.Duration(ts.Sec)*time.Second + time.Duration(ts.Usec)*time.Microsecond,
		}, nil
	}
}

func (d *kernelDevice) queue(index int) error {
	return d.ctl(func(fd uintptr) error {
		_, err := v4l2.QueueBuffer(fd, v4l2.IOTypeMMAP, v4l2.BufTypeVideoCapture, uint32(index))
		return err
	})
}

// forceKeyframe tries the standard control first (UVC 1.5 and M2M
// encoders), then the UVC H.264 extension unit, and remembers what worked.
func (d *kernelDevice) forceKeyframe() (string, error) {
	d.keyMu.Lock()
	defer d.keyMu.Unlock()
	if d.keyMethod != "uvc-xu" {
		err := d.ctl(func(fd uintptr) error {
			return v4l2.SetControlValue(fd, C.V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, 0)
		})
		if err == nil {
			d.keyMethod = "control"
			return d.keyMethod, nil
		}
		if d.keyMethod == "control" {
			return "", fmt.Errorf("force key frame control: %w", err)
		}
	}
	if d.keyMethod == "" {
		desc, err := readDescriptors(d.path)
		if err != nil {
			return "", fmt.Errorf("no key frame control, and no USB descriptors to find UVC's H.264 unit: %w", err)
		}
		unit, ok := findH264XU(desc)
		if !ok {
			return "", errors.New("the camera has neither the key frame control nor UVC's H.264 extension unit")
		}
		d.xuUnit = unit
	}
	data := pictureTypeIDR
	q := C.struct_uvc_xu_control_query{
		unit:     C.__u8(d.xuUnit),
		selector: uvcxPictureTypeControl,
		query:    uvcSetCur,
		size:     C.__u16(len(data)),
		data:     (*C.__u8)(unsafe.Pointer(&data[0])),
	}
	err := d.ctl(func(fd uintptr) error {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, C.UVCIOC_CTRL_QUERY, uintptr(unsafe.Pointer(&q)))
		runtime.KeepAlive(&data)
		if errno != 0 {
			return errno
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("UVC H.264 unit %d: picture type: %w", d.xuUnit, err)
	}
	d.keyMethod = "uvc-xu"
	return d.keyMethod, nil
}

// readDescriptors reads the USB descriptors of a video node's camera:
// /sys/class/video4linux/videoN/device links to the USB interface, whose
// parent directory is the USB device.
func readDescriptors(node string) ([]byte, error) {
	iface, err := filepath.EvalSymlinks(filepath.Join("/sys/class/video4linux", filepath.Base(node), "device"))
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(filepath.Dir(iface), "descriptors"))
}

func (d *kernelDevice) close() error {
	// STREAMOFF may fail on a vanished device; closing is what matters.
	d.ctl(func(fd uintptr) error { return v4l2.StreamOff(streamDev{fd, uint32(len(d.bufs))}) })
	if d.f != nil {
		return d.f.Close()
	}
	if d.fd < 0 {
		return os.ErrClosed
	}
	fd := d.fd
	d.fd = -1
	return unix.Close(fd)
}

func (d *kernelDevice) unmap() error {
	var err error
	for _, b := range d.bufs {
		if e := unix.Munmap(b); e != nil && err == nil {
			err = fmt.Errorf("unmap buffer: %w", e)
		}
	}
	d.bufs = nil
	return err
}
