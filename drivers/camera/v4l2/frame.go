package v4l2

import "roomkit/drivers/camera"

// Why frames are dropped, for the debug log.
const (
	dropDriverError = "the driver flagged the buffer as corrupt"
	dropEmpty       = "empty buffer"
	dropPartial     = "partial frame"
	dropNotJPEG     = "not a JPEG image"
)

// checkFrame decides whether a dequeued buffer holds a whole frame. YUYV
// must fill want bytes (bytes per line × height): a short buffer is a
// frame cut off by a USB hiccup, and encoding it would show a torn picture.
// MJPEG must start with a JPEG start-of-image marker. It returns the
// frame's bytes, or why it was dropped.
func checkFrame(f camera.Format, b buffer, mem []byte, want int) ([]byte, string) {
	if b.Flags&bufFlagError != 0 {
		return nil, dropDriverError
	}
	if b.BytesUsed <= 0 {
		return nil, dropEmpty
	}
	data := mem[:min(b.BytesUsed, len(mem))]
	switch f {
	case camera.YUYV:
		if len(data) < want {
			return nil, dropPartial
		}
		return data[:want], ""
	case camera.MJPEG:
		if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
			return nil, dropNotJPEG
		}
	}
	return data, ""
}

// isIDR reports whether an Annex B access unit holds an IDR slice. It stops
// at the first slice, so it reads only the few bytes of the parameter sets
// and SEI that come before it.
func isIDR(au []byte) bool {
	for i := 0; i+3 < len(au); {
		// Find 00 00 01 (a 4-byte start code ends with the same three).
		if au[i+2] > 1 {
			i += 3
			continue
		}
		if au[i] != 0 || au[i+1] != 0 || au[i+2] != 1 {
			i++
			continue
		}
		switch au[i+3] & 0x1f {
		case 5:
			return true
		case 1:
			return false // a non-IDR slice: no IDR in this access unit
		}
		i += 4
	}
	return false
}
