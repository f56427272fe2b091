package v4l2

import (
	"context"
	"testing"

	"roomkit/drivers/camera"
)

// The benchmarks measure camera → encoder input per frame: dequeue from
// the (replayed) driver, check, and for MJPEG and YUYV convert to I420.
// The replay hands over buffers as DMA would, without a CPU copy.

func benchStream(b *testing.B, name string, convert bool) {
	fx := load(b, name)
	r := newReplay(fx, false)
	r.end = nil
	c, err := openWith(func(string) (device, error) { return r, nil }, Options{Path: fx.Path})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// Only whole frames, looping forever.
	var whole []fixtureFrame
	for _, f := range fx.frames {
		if _, why := checkFrame(c.info.Format, buffer{BytesUsed: len(f.Data), Flags: f.Flags}, f.Data, c.want); why == "" {
			whole = append(whole, f)
		}
	}
	fx.frames = whole
	var conv camera.Converter
	ctx := context.Background()
	info := c.Info()
	if convert {
		b.SetBytes(int64(info.Width * info.Height * 3 / 2))
	}
	b.ReportAllocs()
	for b.Loop() {
		if r.next == len(fx.frames) {
			r.next = 0
		}
		f, err := c.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if convert {
			if _, err := conv.I420(f, info); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkFrameH264Passthrough(b *testing.B) { benchStream(b, "uvc-h264-720p.v4l2.gz", false) }
func BenchmarkFrameYUYV720p(b *testing.B)        { benchStream(b, "uvc-yuyv-720p.v4l2.gz", true) }
func BenchmarkFrameMJPEG720p(b *testing.B)       { benchStream(b, "uvc-mjpeg-720p.v4l2", true) }
