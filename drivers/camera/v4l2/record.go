package v4l2

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"roomkit/drivers/camera"
)

// RecordOptions say what to record.
type RecordOptions struct {
	Options
	Frames int // buffers to record, dropped ones included; 30 if zero
	// KeyframeAt asks an H.264 camera for a keyframe before this frame
	// (0: never), so the recording shows whether the camera obeys.
	KeyframeAt int
	Source     string // who recorded, where: goes into the fixture header
	// StallAfter ends the recording, marked as a camera that fell silent
	// ("ends":"stalled"), when no buffer comes for this long;
	// camera.StallLimit if zero. Such a recording is how a kit's stall
	// handling is tested against a real camera's behaviour.
	StallAfter time.Duration
}

// Record opens a camera as Open would, and writes what the driver answers
// (capabilities, formats, sizes, rates, the negotiated format) and the raw
// dequeued buffers to w as a fixture (see doc.go). Buffers are written as
// the driver filled them, partial or flagged ones included, so that the
// recording shows what the kit's frame checks have to cope with.
func Record(ctx context.Context, opts RecordOptions, w io.Writer) (DeviceInfo, error) {
	return record(ctx, openKernel, opts, w)
}

func record(ctx context.Context, open opener, opts RecordOptions, w io.Writer) (DeviceInfo, error) {
	if opts.Frames <= 0 {
		opts.Frames = 30
	}
	if opts.StallAfter <= 0 {
		opts.StallAfter = camera.StallLimit
	}
	path, _, err := pick(open, opts.Options)
	if err != nil {
		return DeviceInfo{}, err
	}
	d, err := open(path)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("record camera %s: %w", path, err)
	}
	defer func() { d.close(); d.unmap() }()
	h, o, err := snapshot(d)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("record camera %s: %w", path, err)
	}
	info := DeviceInfo{Path: path, Name: o.cap.Card, Driver: o.cap.Driver, Bus: o.cap.BusInfo}
	m, _, err := choose(o, opts.Prefer1080p)
	if err != nil {
		return info, fmt.Errorf("record camera %s (%s): %w", path, o.cap.Card, err)
	}
	info.Mode = m.String()
	h.Path, h.Source = path, opts.Source
	if h.Negotiated, err = d.setFormat(m.fourcc, m.width, m.height); err != nil {
		return info, fmt.Errorf("record camera %s: set format %v: %w", path, m, err)
	}
	h.Interval, _ = d.setInterval(m.interval) // zero when the driver has a fixed rate
	if opts.KeyframeAt > 0 {
		h.Keyframe = &fixtureKeyReq{BeforeFrame: opts.KeyframeAt}
	}
	bufs, err := d.start(numBuffers)
	if err != nil {
		return info, fmt.Errorf("record camera %s: start streaming: %w", path, err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var t0 time.Duration
	var frames []fixtureFrame
	// The header carries the keyframe answer, so frames wait in memory
	// until it is known: keep recordings short.
	for i := 0; i < opts.Frames; i++ {
		if h.Keyframe != nil && i == h.Keyframe.BeforeFrame {
			method, err := d.forceKeyframe()
			h.Keyframe.Method = method
			if err != nil {
				h.Keyframe.Error = err.Error()
			}
		}
		fctx, cancel := context.WithTimeoutCause(ctx, opts.StallAfter, errStalled)
		b, err := d.dequeue(fctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(context.Cause(fctx), errStalled) {
				h.Ends = endsStalled
				break
			}
			if errors.Is(err, os.ErrClosed) || ctx.Err() != nil {
				break
			}
			return info, fmt.Errorf("record camera %s: frame %d: %w", path, i, err)
		}
		if i == 0 {
			t0 = b.Timestamp
		}
		data := bufs[b.Index][:min(b.BytesUsed, len(bufs[b.Index]))]
		frames = append(frames, fixtureFrame{Sequence: b.Sequence, Flags: b.Flags, Timestamp: b.Timestamp - t0, Data: append([]byte(nil), data...)})
		if err := d.queue(b.Index); err != nil {
			return info, fmt.Errorf("record camera %s: frame %d: %w", path, i, err)
		}
	}
	if err := writeFixtureHeader(bw, h); err != nil {
		return info, fmt.Errorf("record camera %s: %w", path, err)
	}
	for _, f := range frames {
		if err := writeFixtureFrame(bw, f); err != nil {
			return info, fmt.Errorf("record camera %s: %w", path, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return info, fmt.Errorf("record camera %s: %w", path, err)
	}
	return info, nil
}

// errStalled ends a recording's wait for a buffer that does not come.
var errStalled = errors.New("the camera sent no buffer")

// snapshot asks a node everything describe does, keeping the answers in
// the shape of a fixture header.
func snapshot(d device) (fixtureHeader, offer, error) {
	var h fixtureHeader
	o, err := describe(d)
	if err != nil {
		return h, o, err
	}
	if !o.cap.capture() {
		return h, o, fmt.Errorf("%s is not a video capture node", o.cap.Card)
	}
	h.Capability = o.cap
	descs, err := d.formats()
	if err != nil {
		return h, o, err
	}
	for _, fd := range descs {
		ff := fixtureFmt{formatDesc: fd}
		sizes, _ := d.frameSizes(fd.PixelFormat)
		for _, s := range sizes {
			w, hh := s.Width, s.Height
			if s.stepwise() {
				w, hh = align(width720, s.Width, s.MaxWidth, s.StepWidth), align(height720, s.Height, s.MaxHeight, s.StepHeight)
			}
			iv, _ := d.frameIntervals(fd.PixelFormat, w, hh)
			ff.Sizes = append(ff.Sizes, fixtureSize{frameSize: s, Intervals: iv})
		}
		h.Formats = append(h.Formats, ff)
	}
	return h, o, nil
}
