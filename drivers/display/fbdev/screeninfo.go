package fbdev

// The kernel's framebuffer ABI (include/uapi/linux/fb.h). The structs are
// laid out exactly as the kernel fills them in through ioctl; unsigned long
// fields are uintptr so the layout is right on 32- and 64-bit kits alike.

const (
	ioctlGetVScreenInfo = 0x4600 // FBIOGET_VSCREENINFO
	ioctlGetFScreenInfo = 0x4602 // FBIOGET_FSCREENINFO
	ioctlPanDisplay     = 0x4606 // FBIOPAN_DISPLAY

	ioctlKDSetMode = 0x4B3A // KDSETMODE, include/uapi/linux/kd.h
	kdText         = 0x00   // KD_TEXT
	kdGraphics     = 0x01   // KD_GRAPHICS

	typePackedPixels = 0 // FB_TYPE_PACKED_PIXELS
	visualTrueColor  = 2 // FB_VISUAL_TRUECOLOR
	visualDirect     = 4 // FB_VISUAL_DIRECTCOLOR
)

// bitfield says where one colour channel sits in a pixel.
type bitfield struct {
	Offset   uint32
	Length   uint32
	MSBRight uint32
}

// varScreeninfo is struct fb_var_screeninfo (160 bytes).
type varScreeninfo struct {
	XRes, YRes               uint32
	XResVirtual, YResVirtual uint32
	XOffset, YOffset         uint32
	BitsPerPixel             uint32
	Grayscale                uint32
	Red, Green, Blue, Transp bitfield
	Nonstd                   uint32
	Activate                 uint32
	Height, Width            uint32 // in mm
	AccelFlags               uint32
	Pixclock                 uint32
	LeftMargin, RightMargin  uint32
	UpperMargin, LowerMargin uint32
	HsyncLen, VsyncLen       uint32
	Sync, Vmode, Rotate      uint32
	Colorspace               uint32
	Reserved                 [4]uint32
}

// fixScreeninfo is struct fb_fix_screeninfo (80 bytes on 64-bit).
type fixScreeninfo struct {
	ID           [16]byte
	SmemStart    uintptr
	SmemLen      uint32
	Type         uint32
	TypeAux      uint32
	Visual       uint32
	XPanStep     uint16
	YPanStep     uint16
	YWrapStep    uint16
	LineLength   uint32
	MmioStart    uintptr
	MmioLen      uint32
	Accel        uint32
	Capabilities uint16
	Reserved     [2]uint16
}

// name is the driver's identification, e.g. "EFI VGA" or "vc4drmfb".
func (f *fixScreeninfo) name() string {
	n := 0
	for n < len(f.ID) && f.ID[n] != 0 {
		n++
	}
	return string(f.ID[:n])
}
