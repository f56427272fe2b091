package codec

import (
	"errors"
	"fmt"
	"image"
	"sync/atomic"

	mdcodec "github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// H264Options configures an H264Encoder.
type H264Options struct {
	Width, Height int
	FPS           float64
	Bitrate       int // bits per second
	// KeyframeInterval is the number of frames between IDR frames; a
	// receiver that lost a packet recovers at the latest after this many.
	KeyframeInterval int
	// Threads is how many threads openh264 encodes with; 0 lets it pick
	// (one per CPU, at most four).
	Threads int
}

// H264Encoder encodes I420 frames into Annex B H.264 with openh264.
// It is not safe for concurrent use, except RequestKeyframe.
type H264Encoder struct {
	enc   mdcodec.ReadCloser
	frame image.YCbCr // what the encoder's reader hands out next
	w, h  int
	// keyframe is set by RequestKeyframe (from the RTCP goroutine) and
	// consumed by Encode, so openh264 is only touched from one goroutine.
	keyframe atomic.Bool
}

// NewH264Encoder returns an encoder for frames of the given size.
func NewH264Encoder(o H264Options) (*H264Encoder, error) {
	if o.Width <= 0 || o.Height <= 0 || o.Width%2 != 0 || o.Height%2 != 0 {
		return nil, fmt.Errorf("h264 encoder: frame size %dx%d must be positive and even", o.Width, o.Height)
	}
	p, err := openh264.NewParams()
	if err != nil {
		return nil, fmt.Errorf("h264 encoder params: %w", err)
	}
	p.BitRate = o.Bitrate
	p.IntraPeriod = uint(max(o.KeyframeInterval, 0))
	// openh264 only holds the target bitrate when it may skip frames; a
	// skipped frame makes Encode return no data, which callers drop.
	p.EnableFrameSkip = true
	p.MultipleThreadIdc = max(o.Threads, 0)
	e := &H264Encoder{w: o.Width, h: o.Height}
	reader := video.ReaderFunc(func() (image.Image, func(), error) {
		return &e.frame, func() {}, nil
	})
	enc, err := p.BuildVideoEncoder(reader, prop.Media{Video: prop.Video{
		Width: o.Width, Height: o.Height, FrameRate: float32(o.FPS),
	}})
	if err != nil {
		return nil, fmt.Errorf("h264 encoder %dx%d: %w", o.Width, o.Height, err)
	}
	e.enc = enc
	return e, nil
}

// RequestKeyframe makes the next Encode produce an IDR frame. It is safe to
// call from any goroutine (the RTCP reader calls it on PLI and FIR).
func (e *H264Encoder) RequestKeyframe() { e.keyframe.Store(true) }

// Encode encodes one I420 frame (len = w*h*3/2) and returns the access unit
// in Annex B form, or nothing when rate control skipped the frame. The
// returned slice is only valid until the next call.
func (e *H264Encoder) Encode(i420 []byte) ([]byte, error) {
	ySize, cSize := e.w*e.h, (e.w/2)*(e.h/2)
	if len(i420) < ySize+2*cSize {
		return nil, fmt.Errorf("h264 encode: I420 frame has %d bytes, want %d for %dx%d", len(i420), ySize+2*cSize, e.w, e.h)
	}
	e.frame = image.YCbCr{
		Y:              i420[:ySize],
		Cb:             i420[ySize : ySize+cSize],
		Cr:             i420[ySize+cSize : ySize+2*cSize],
		YStride:        e.w,
		CStride:        e.w / 2,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, e.w, e.h),
	}
	if e.keyframe.Swap(false) {
		if err := e.enc.Controller().(mdcodec.KeyFrameController).ForceKeyFrame(); err != nil {
			return nil, fmt.Errorf("h264 force keyframe: %w", err)
		}
	}
	b, release, err := e.enc.Read()
	if err != nil {
		return nil, fmt.Errorf("h264 encode: %w", err)
	}
	release()
	return b, nil
}

// Close frees the encoder and returns its memory to the system.
func (e *H264Encoder) Close() error {
	err := e.enc.Close()
	trimCHeap()
	return err
}

// ErrNoPicture is returned by a decoder that took the input but has no
// picture to show yet (parameter sets only, or waiting for a keyframe).
var ErrNoPicture = errors.New("no picture decoded")
