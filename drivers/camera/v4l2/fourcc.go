package v4l2

import (
	"fmt"
	"strings"

	"roomkit/drivers/camera"
)

// fourcc is a V4L2 pixel format code: four ASCII characters, the first in
// the lowest byte (v4l2_fourcc in videodev2.h).
type fourcc uint32

func code(s string) fourcc {
	return fourcc(s[0]) | fourcc(s[1])<<8 | fourcc(s[2])<<16 | fourcc(s[3])<<24
}

// The formats a kit can use, and some it meets and cannot.
var (
	fmtH264  = code("H264")
	fmtMJPEG = code("MJPG")
	fmtJPEG  = code("JPEG") // some older UVC and gspca drivers name MJPEG so
	fmtYUYV  = code("YUYV")
)

// String gives the four characters ("MJPG"), or the number when they are
// not printable.
func (f fourcc) String() string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for _, c := range b {
		if c < ' ' || c > '~' {
			return fmt.Sprintf("0x%08x", uint32(f))
		}
	}
	return strings.TrimRight(string(b), " ")
}

// cameraFormat maps a pixel format to what the kit does with it; ok is
// false for formats it cannot use.
func cameraFormat(f fourcc) (camera.Format, bool) {
	switch f {
	case fmtH264:
		return camera.H264, true
	case fmtMJPEG, fmtJPEG:
		return camera.MJPEG, true
	case fmtYUYV:
		return camera.YUYV, true
	}
	return "", false
}

// rank orders usable formats: H.264 passes straight through to the
// meeting, MJPEG crosses USB 2 at 30 fps in 720p and decodes in software,
// YUYV needs no decoding but rarely gets more than 10 fps at 720p over USB 2.
func rank(f camera.Format) int {
	switch f {
	case camera.H264:
		return 0
	case camera.MJPEG:
		return 1
	case camera.YUYV:
		return 2
	}
	return 3
}
