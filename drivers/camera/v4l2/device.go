package v4l2

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// device is one /dev/video* node as the driver sees it: the answers of the
// V4L2 ioctls it uses, and a stream of dequeued mmap buffers. The kernel
// implementation (kernel_linux.go) is the only code that talks to go4vl;
// tests replay recorded answers (fixture.go).
type device interface {
	capability() (capability, error)                    // VIDIOC_QUERYCAP
	formats() ([]formatDesc, error)                     // VIDIOC_ENUM_FMT, index 0..EINVAL
	frameSizes(f fourcc) ([]frameSize, error)           // VIDIOC_ENUM_FRAMESIZES
	frameIntervals(f fourcc, w, h int) ([]fract, error) // VIDIOC_ENUM_FRAMEINTERVALS, discrete or the stepwise bounds
	setFormat(f fourcc, w, h int) (pixFormat, error)    // VIDIOC_S_FMT: returns what the driver chose
	setInterval(fract) (fract, error)                   // VIDIOC_S_PARM: returns what the driver chose
	// start requests n mmap buffers, maps and queues them and turns the
	// stream on. The slices stay valid until unmap.
	start(n int) ([][]byte, error)
	// dequeue waits for a filled buffer (VIDIOC_DQBUF). It returns an error
	// wrapping camera.ErrUnplugged when the device went away, and the
	// context's error when ctx ends first.
	dequeue(ctx context.Context) (buffer, error)
	queue(index int) error // VIDIOC_QBUF
	// forceKeyframe asks an H.264 camera for an IDR frame: the
	// V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME control, else UVC's H.264
	// extension unit. It returns the method that worked.
	forceKeyframe() (string, error)
	// close stops the stream and closes the node, waking a blocked dequeue;
	// unmap releases the buffers once nobody reads them any more.
	close() error
	unmap() error
}

// capability is what VIDIOC_QUERYCAP says; Caps are the node's own
// capabilities (device_caps), not those of the whole device.
type capability struct {
	Driver  string `json:"driver"`
	Card    string `json:"card"`
	BusInfo string `json:"bus_info"`
	Caps    uint32 `json:"device_caps"`
}

// Capability bits from videodev2.h.
const (
	capVideoCapture       = 0x00000001
	capVideoCaptureMPlane = 0x00001000
	capMetaCapture        = 0x00800000
	capStreaming          = 0x04000000
)

// capture reports whether the node captures video frames we can stream:
// single-planar capture with streaming I/O. UVC cameras also create a
// metadata node (META_CAPTURE only) per camera; that one is skipped.
func (c capability) capture() bool {
	return c.Caps&capVideoCapture != 0 && c.Caps&capStreaming != 0
}

// formatDesc is one VIDIOC_ENUM_FMT answer.
type formatDesc struct {
	PixelFormat fourcc `json:"pixelformat"`
	Description string `json:"description"`
	Flags       uint32 `json:"flags,omitempty"`
}

// fmtFlagEmulated marks formats libv4l converts in software; the kernel
// never sets it, but a recorded device behind libv4l might.
const fmtFlagEmulated = 0x0002

// frameSize is one VIDIOC_ENUM_FRAMESIZES answer: a discrete size (Max* zero)
// or a stepwise/continuous range from Width×Height to MaxWidth×MaxHeight.
type frameSize struct {
	Width      int `json:"width"`
	Height     int `json:"height"`
	MaxWidth   int `json:"max_width,omitempty"`
	MaxHeight  int `json:"max_height,omitempty"`
	StepWidth  int `json:"step_width,omitempty"`
	StepHeight int `json:"step_height,omitempty"`
}

func (s frameSize) stepwise() bool { return s.MaxWidth > 0 }

// fract is a frame interval in seconds, as V4L2 gives it: 1/30 is 30 fps.
type fract struct {
	Num uint32 `json:"num"`
	Den uint32 `json:"den"`
}

func (f fract) fps() float64 {
	if f.Num == 0 {
		return 0
	}
	return float64(f.Den) / float64(f.Num)
}

// pixFormat is the negotiated format VIDIOC_S_FMT returns.
type pixFormat struct {
	PixelFormat  fourcc `json:"pixelformat"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	BytesPerLine int    `json:"bytesperline"`
	SizeImage    int    `json:"sizeimage"`
}

// buffer is one dequeued struct v4l2_buffer.
type buffer struct {
	Index     int
	BytesUsed int
	Flags     uint32
	Sequence  uint32
	Timestamp time.Duration // CLOCK_MONOTONIC, as the driver stamped it
}

// Buffer flags from videodev2.h.
const (
	bufFlagKeyframe = 0x00000008
	bufFlagError    = 0x00000040
)

// MarshalText writes a fourcc as its four characters, so fixtures read
// "MJPG" rather than 1196444237.
func (f fourcc) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads what MarshalText wrote: up to four characters
// (padded with spaces, as "Y16 ") or a 0x-prefixed number.
func (f *fourcc) UnmarshalText(b []byte) error {
	s := string(b)
	if strings.HasPrefix(s, "0x") {
		n, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return fmt.Errorf("pixel format %q: %w", s, err)
		}
		*f = fourcc(n)
		return nil
	}
	if len(s) == 0 || len(s) > 4 {
		return fmt.Errorf("pixel format %q: want four characters", s)
	}
	*f = code((s + "   ")[:4])
	return nil
}
