package v4l2

import "bytes"

// UVC cameras that stream H.264 mostly predate UVC 1.5's encoding unit
// and implement the "UVC H.264" extension unit (the UVCX controls of the
// H.264 payload specification) instead; uvcvideo maps none of its controls
// to V4L2 controls, so a keyframe is requested by talking to the unit
// directly (UVCIOC_CTRL_QUERY). Its ID differs per camera model and is read
// from the USB configuration descriptors in sysfs.

// h264XUGUID is the extension unit's GUID {A29E7641-DE04-47E3-8B2B-F4341AFF003B}
// as it appears in descriptors (the first three fields little-endian).
var h264XUGUID = []byte{
	0x41, 0x76, 0x9e, 0xa2, 0x04, 0xde, 0xe3, 0x47,
	0x8b, 0x2b, 0xf4, 0x34, 0x1a, 0xff, 0x00, 0x3b,
}

// The UVCX control and request that force a keyframe.
const (
	uvcxPictureTypeControl = 0x09 // selector: wLayerOrViewID, wPicType
	uvcSetCur              = 0x01 // UVC_SET_CUR
	// picIDRWithSPSPPS (wPicType 2) asks for an IDR frame preceded by new
	// SPS and PPS, which is what a viewer who just joined needs.
	picIDRWithSPSPPS = 0x0002
)

// pictureTypeIDR is the 4-byte payload of UVCX_PICTURE_TYPE_CONTROL:
// layer 0, IDR with SPS and PPS, little-endian.
var pictureTypeIDR = [4]byte{0, 0, picIDRWithSPSPPS & 0xff, picIDRWithSPSPPS >> 8}

// findH264XU returns the unit ID of the H.264 extension unit in a USB
// device's descriptors (the sysfs "descriptors" file: the device
// descriptor followed by the configuration descriptors).
func findH264XU(desc []byte) (uint8, bool) {
	const (
		csInterface     = 0x24
		vcExtensionUnit = 0x06
	)
	for len(desc) >= 2 {
		n := int(desc[0])
		if n < 2 || n > len(desc) {
			return 0, false // corrupt: stop rather than guess
		}
		d := desc[:n]
		if n >= 20 && d[1] == csInterface && d[2] == vcExtensionUnit && bytes.Equal(d[4:20], h264XUGUID) {
			return d[3], true
		}
		desc = desc[n:]
	}
	return 0, false
}
