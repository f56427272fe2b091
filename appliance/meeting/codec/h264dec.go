package codec

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include <string.h>
#include <openh264/codec_api.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

// In C, ISVCDecoder is a pointer to a vtable: every call goes through it.

static int h264dec_new(ISVCDecoder **out) {
	if (WelsCreateDecoder(out) != 0 || *out == NULL) return -1;
	SDecodingParam p;
	memset(&p, 0, sizeof p);
	p.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_AVC;
	// Show nothing rather than smeared guesses after a loss: the caller
	// asks the sender for a keyframe instead.
	p.eEcActiveIdc = ERROR_CON_DISABLE;
	if ((**out)->Initialize(*out, &p) != 0) {
		WelsDestroyDecoder(*out);
		*out = NULL;
		return -2;
	}
	return 0;
}

static void h264dec_free(ISVCDecoder *d) {
	(*d)->Uninitialize(d);
	WelsDestroyDecoder(d);
}

// trim_c_heap gives glibc's free heap pages back to the kernel. A codec
// frees megabytes at once, but glibc returns only free memory at the top of
// an arena and keeps the rest: without this, six closed 320x240 decoders
// left ~9 MB behind (bench/codecmem).
static void trim_c_heap(void) {
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

// h264dec_decode decodes one access unit. On a picture it fills planes,
// width, height and strides and returns 1; 0 means no picture yet; a
// negative value is openh264's DECODING_STATE, negated.
static int h264dec_decode(ISVCDecoder *d, const unsigned char *src, int n,
		unsigned char **planes, int *w, int *h, int *ystride, int *cstride) {
	SBufferInfo info;
	memset(&info, 0, sizeof info);
	DECODING_STATE st = (*d)->DecodeFrameNoDelay(d, src, n, planes, &info);
	if (st != dsErrorFree) return -(int)st;
	if (info.iBufferStatus != 1) return 0;
	*w = info.UsrData.sSystemBuffer.iWidth;
	*h = info.UsrData.sSystemBuffer.iHeight;
	*ystride = info.UsrData.sSystemBuffer.iStride[0];
	*cstride = info.UsrData.sSystemBuffer.iStride[1];
	return 1;
}
*/
import "C"

import (
	"fmt"
	"image"
	"unsafe"
)

// H264Decoder decodes Annex B H.264 access units with openh264. It is not
// safe for concurrent use.
type H264Decoder struct {
	d      *C.ISVCDecoder
	planes *[3]*C.uchar // C memory: openh264 writes plane pointers here
	ring   ringTrimmer
}

// NewH264Decoder returns a decoder; Close frees it.
func NewH264Decoder() (*H264Decoder, error) {
	var d *C.ISVCDecoder
	if rv := C.h264dec_new(&d); rv != 0 {
		return nil, fmt.Errorf("h264 decoder: openh264 init failed (%d)", int(rv))
	}
	planes := (*[3]*C.uchar)(C.calloc(3, C.size_t(unsafe.Sizeof((*C.uchar)(nil)))))
	return &H264Decoder{d: d, planes: planes, ring: newRingTrimmer(unsafe.Pointer(d))}, nil
}

// Decode decodes one access unit into dst (reallocated when the picture
// size changes) and returns it. It returns ErrNoPicture when the unit
// carried no picture to show, and an error when the stream is damaged: the
// caller should then ask the sender for a keyframe.
func (d *H264Decoder) Decode(au []byte, dst *image.YCbCr) (*image.YCbCr, error) {
	if d.d == nil {
		return nil, fmt.Errorf("h264 decode: decoder is closed")
	}
	if len(au) == 0 {
		return nil, ErrNoPicture
	}
	// openh264 reads the input only during the call, so cgo's pointer
	// rules allow handing it the Go slice itself.
	var w, h, ys, cs C.int
	rv := C.h264dec_decode(d.d, (*C.uchar)(unsafe.Pointer(&au[0])), C.int(len(au)), &d.planes[0], &w, &h, &ys, &cs)
	d.ring.trim(unsafe.Pointer(d.d))
	switch {
	case rv < 0:
		return nil, fmt.Errorf("h264 decode: damaged stream (openh264 state %#x)", int(-rv))
	case rv == 0:
		return nil, ErrNoPicture
	}
	width, height, ystride, cstride := int(w), int(h), int(ys), int(cs)
	if width <= 0 || height <= 0 || width > 8192 || height > 8192 {
		return nil, fmt.Errorf("h264 decode: implausible picture size %dx%d", width, height)
	}
	if dst == nil || dst.Rect.Dx() != width || dst.Rect.Dy() != height {
		dst = image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio420)
	}
	cw, ch := (width+1)/2, (height+1)/2
	yp := unsafe.Slice((*byte)(unsafe.Pointer(d.planes[0])), ystride*(height-1)+width)
	up := unsafe.Slice((*byte)(unsafe.Pointer(d.planes[1])), cstride*(ch-1)+cw)
	vp := unsafe.Slice((*byte)(unsafe.Pointer(d.planes[2])), cstride*(ch-1)+cw)
	for y := 0; y < height; y++ {
		copy(dst.Y[y*dst.YStride:y*dst.YStride+width], yp[y*ystride:])
	}
	for y := 0; y < ch; y++ {
		copy(dst.Cb[y*dst.CStride:y*dst.CStride+cw], up[y*cstride:])
		copy(dst.Cr[y*dst.CStride:y*dst.CStride+cw], vp[y*cstride:])
	}
	return dst, nil
}

// Close frees the decoder and returns its memory to the system.
func (d *H264Decoder) Close() error {
	if d.d != nil {
		C.h264dec_free(d.d)
		C.free(unsafe.Pointer(d.planes))
		d.d, d.planes = nil, nil
		trimCHeap()
	}
	return nil
}

// trimCHeap returns the C heap's free pages to the system; the codecs call
// it when they are closed, which happens a few times a meeting, not a frame.
func trimCHeap() { C.trim_c_heap() }
