// Package camera captures video from the room's camera.
//
// Drivers: V4L2 on a kit; a synthetic test pattern in the demo and tests
// (cameratest).
package camera

import (
	"context"
	"errors"
	"time"

	"roomkit/drivers"
)

// Format is a frame's pixel format or bitstream.
type Format string

const (
	H264  Format = "H264"  // Annex B H.264, passed through to the meeting
	MJPEG Format = "MJPEG" // one JPEG per frame
	YUYV  Format = "YUYV"  // packed 4:2:2
	I420  Format = "I420"  // planar 4:2:0, what the encoder takes
)

// Info describes the chosen camera and what was negotiated with it.
type Info struct {
	Name   string  `json:"name"`
	Path   string  `json:"path,omitempty"`
	Format Format  `json:"format"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	FPS    float64 `json:"fps"`
}

// Frame is one captured frame. Data is only valid until the next call to
// Next: drivers hand out their own buffers to avoid a copy per frame.
type Frame struct {
	Data      []byte
	Timestamp time.Duration // since capture started
	Keyframe  bool          // H.264 only
}

// ErrUnplugged is returned by Next once the camera is gone.
var ErrUnplugged = errors.New("camera unplugged")

// Camera is an open, streaming camera.
//
// Next is never called concurrently: a driver may keep one buffer and
// one capture loop, and hand that buffer out. Users that share one camera
// (the kit's own reads and a meeting) take turns through Shared.
type Camera interface {
	Info() Info
	// Next blocks until the next frame or ctx ends. It is never called
	// while another call of Next is in progress.
	Next(ctx context.Context) (Frame, error)
	// RequestKeyframe asks an H.264 camera for an IDR frame soon.
	RequestKeyframe()
	Status() drivers.Status
	Close() error
}
