package appliance

// The kit's own use of its camera and speakerphone outside meetings: the
// camera watch that notices an unplugged camera, and the Settings screen's
// device tests (test tone, microphone meter, camera preview). The tests
// run only while Settings is up and all stop when it closes, so nothing
// keeps the devices busy on the home screen.

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"roomkit/drivers/audio"
	"roomkit/drivers/camera"
	"roomkit/internal/clock"
)

const (
	// settingsFrameInterval paces the Settings screen's redraws and the
	// camera preview: 5 frames a second is enough to aim a camera and to
	// see the meter follow a voice, and cheap for a small kit.
	settingsFrameInterval = 200 * time.Millisecond
	// probeInterval is how often the camera is read while nothing else
	// reads it. A V4L2 camera only learns that it was unplugged when a
	// read fails, and the home screen's banner must say so within a
	// second or two; reading a frame (without decoding it) once a second
	// costs next to nothing.
	probeInterval = time.Second
	// deviceRetry is the wait after a device error before trying again:
	// an unplugged device answers at once, and must not make a busy loop.
	deviceRetry = time.Second
	// micChunk is one read of the microphone: 20 ms, like a meeting's
	// audio frames.
	micChunk = audio.SampleRate / 50
	// meterFloorDBFS is the bottom of the microphone meter: a quiet room
	// sits near it and speech at a metre fills about half the bar.
	meterFloorDBFS = -60.0
	// previewMaxWidth bounds the preview's copy of a frame: the preview
	// is a few hundred pixels wide on screen.
	previewMaxWidth = 640
)

// placeholderH264 is shown for a camera that only sends H.264: its frames
// need the meeting's decoder, which the Settings screen does not run.
const placeholderH264 = "Preview needs decoding: not available"

// deviceTests is one opening of the Settings screen's device tests.
type deviceTests struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// settingsShownLocked reports whether the Settings screen is up, which is
// when the device tests run.
func (k *Kit) settingsShownLocked() bool {
	return k.state == Ready && k.settings
}

// syncTests starts the device tests when Settings is up and stops them
// when it is not, and reports whether it is up. It runs on the screen
// goroutine after every event, so a tap, a reset or an unpairing all
// start or stop the tests within one frame.
func (k *Kit) syncTests(ctx context.Context) bool {
	k.mu.Lock()
	up := k.settingsShownLocked()
	k.mu.Unlock()
	switch {
	case up && k.tests == nil:
		k.startTests(ctx)
	case !up && k.tests != nil:
		k.stopTests()
	}
	return up
}

func (k *Kit) startTests(ctx context.Context) {
	tctx, cancel := context.WithCancel(ctx)
	k.tests = &deviceTests{ctx: tctx, cancel: cancel}
	k.mu.Lock()
	k.testGen++
	gen := k.testGen
	k.mu.Unlock()
	if sp := k.cfg.Speakerphone; sp != nil {
		k.devWG.Go(func() { k.meterMic(tctx, sp, gen) })
	}
	k.wakeCamera()
}

// stopTests ends the device tests and clears what they showed.
func (k *Kit) stopTests() {
	if k.tests == nil {
		return
	}
	k.tests.cancel()
	k.tests = nil
	k.mu.Lock()
	k.testGen++
	k.micLevel, k.tonePlaying, k.preview = 0, false, nil
	k.mu.Unlock()
	k.wakeCamera()
}

// setTest applies a device test's result unless the tests it belongs to
// (gen) have stopped since.
func (k *Kit) setTest(gen int, set func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.testGen == gen {
		set()
	}
}

// meterMic reads the microphone and keeps micLevel at the RMS level of
// the last 100 ms until ctx ends.
func (k *Kit) meterMic(ctx context.Context, sp audio.Speakerphone, gen int) {
	meter := audio.NewLevelMeter()
	buf := make([]int16, micChunk)
	var lastErr string
	for ctx.Err() == nil {
		if err := sp.Read(ctx, buf); err != nil {
			if ctx.Err() != nil {
				return
			}
			if msg := err.Error(); msg != lastErr {
				k.log.Warn("microphone test: cannot read the microphone", "err", err)
				lastErr = msg
			}
			meter.Reset()
			k.setTest(gen, func() { k.micLevel = 0 })
			clock.Sleep(ctx, deviceRetry)
			continue
		}
		lastErr = ""
		meter.Write(buf)
		rms, _ := meter.Level()
		k.setTest(gen, func() { k.micLevel = meterPosition(rms) })
	}
}

// meterPosition maps an RMS level in dBFS onto the meter's 0..1, linear
// in decibels from meterFloorDBFS to full scale, the way level meters
// read.
func meterPosition(dbfs float64) float64 {
	if math.IsNaN(dbfs) {
		return 0
	}
	return min(1, max(0, (dbfs-meterFloorDBFS)/-meterFloorDBFS))
}

// playTone plays the test tone (1 kHz, 1 s) through the speakerphone
// while Settings is up. TonePlaying stays on for the tone's length, also
// on devices that queue it faster than it plays.
func (k *Kit) playTone() {
	sp, t := k.cfg.Speakerphone, k.tests
	k.mu.Lock()
	if sp == nil || t == nil || k.tonePlaying {
		k.mu.Unlock()
		return
	}
	k.tonePlaying = true
	gen := k.testGen
	k.mu.Unlock()
	k.devWG.Go(func() {
		defer func() {
			k.setTest(gen, func() { k.tonePlaying = false })
			k.signal()
		}()
		start := time.Now()
		if err := audio.PlayTone(t.ctx, sp, audio.NewTestTone()); err != nil {
			if t.ctx.Err() == nil {
				// The device list says why (unplugged, busy).
				k.log.Warn("speaker test: cannot play the tone", "err", err)
			}
			return
		}
		clock.Sleep(t.ctx, audio.TestToneDuration-time.Since(start))
	})
}

// wakeCamera tells the camera watch that the Settings screen opened or
// closed, so the preview starts or stops without waiting a probe.
func (k *Kit) wakeCamera() {
	select {
	case k.camWake <- struct{}{}:
	default:
	}
}

// watchCamera reads the camera while nothing else does: once a second on
// the home screen, so that an unplugged camera shows (and the driver
// looks for it again), and five times a second while Settings is up,
// for the preview.
func (k *Kit) watchCamera(ctx context.Context) {
	cam := k.cfg.Camera
	if cam == nil {
		return
	}
	var (
		conv    camera.Converter
		lastErr string
		logged  bool // the H.264 placeholder was logged
	)
	for ctx.Err() == nil {
		k.mu.Lock()
		preview, gen := k.settingsShownLocked(), k.testGen
		k.mu.Unlock()
		wait := probeInterval
		if preview {
			wait = settingsFrameInterval
		}
		var img image.Image
		var convErr error
		read, err := k.cam.read(ctx, cam, func(f camera.Frame) {
			if preview {
				img, convErr = previewImage(&conv, cam.Info(), f)
			}
		})
		if read && ctx.Err() == nil {
			k.health.frame(k.now(), err)
		}
		switch {
		case !read:
			// A meeting holds the camera: it notices an unplug itself.
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			if msg := err.Error(); msg != lastErr {
				if errors.Is(err, camera.ErrUnplugged) {
					k.log.Warn("camera unplugged or missing", "err", err)
				} else {
					k.log.Warn("cannot read the camera", "err", err)
				}
				lastErr = msg
			}
			wait = deviceRetry
			img = nil
		default:
			if lastErr != "" {
				k.log.Info("camera back", "camera", cam.Info().Name)
				lastErr = ""
			}
			if convErr != nil {
				if errors.Is(convErr, errNeedsDecoder) {
					if !logged {
						k.log.Info("camera preview: the camera sends H.264, which the Settings screen does not decode")
						logged = true
					}
					img = h264Placeholder()
				} else {
					k.log.Warn("camera preview: cannot convert a frame", "err", convErr)
				}
			}
		}
		if preview {
			// The Settings screen redraws five times a second: no signal.
			k.setTest(gen, func() { k.preview = img })
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-k.camWake:
		}
		t.Stop()
	}
}

var errNeedsDecoder = errors.New("H.264 frames need a decoder")

// previewImage turns a frame into the preview's picture. The frame's
// buffer belongs to the driver and is reused by the next read while the
// screen may still be drawing, so the picture is a copy: made at most
// previewMaxWidth wide, it costs less than the frame and makes drawing
// it cheaper too.
func previewImage(conv *camera.Converter, info camera.Info, f camera.Frame) (image.Image, error) {
	return previewImageMax(conv, info, f, previewMaxWidth)
}

// previewImageMax is previewImage at most maxW wide (the meeting's
// self-view is smaller than the preview).
func previewImageMax(conv *camera.Converter, info camera.Info, f camera.Frame, maxW int) (image.Image, error) {
	if info.Format == camera.H264 {
		return nil, errNeedsDecoder
	}
	i420, err := conv.I420(f, info)
	if err != nil {
		return nil, err
	}
	return downscaleI420(i420, info.Width, info.Height, maxW)
}

// downscaleI420 copies a w×h I420 frame into a new image.YCbCr at most
// maxW wide, keeping every n-th pixel (nearest neighbour, as the screen
// scales video anyway).
func downscaleI420(src []byte, w, h, maxW int) (*image.YCbCr, error) {
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 || len(src) < w*h*3/2 {
		return nil, fmt.Errorf("preview: I420 frame of %d bytes for %dx%d", len(src), w, h)
	}
	n := (w + maxW - 1) / maxW
	dw, dh := (w/n)&^1, (h/n)&^1
	if dw == 0 || dh == 0 {
		return nil, fmt.Errorf("preview: frame %dx%d too small", w, h)
	}
	img := image.NewYCbCr(image.Rect(0, 0, dw, dh), image.YCbCrSubsampleRatio420)
	ys, us, vs := src[:w*h], src[w*h:w*h+w*h/4], src[w*h+w*h/4:w*h*3/2]
	cw := w / 2
	if n == 1 {
		for y := range dh {
			copy(img.Y[y*img.YStride:y*img.YStride+dw], ys[y*w:])
		}
		for y := range dh / 2 {
			copy(img.Cb[y*img.CStride:y*img.CStride+dw/2], us[y*cw:])
			copy(img.Cr[y*img.CStride:y*img.CStride+dw/2], vs[y*cw:])
		}
		return img, nil
	}
	for y := range dh {
		row, out := ys[y*n*w:], img.Y[y*img.YStride:]
		for x := range dw {
			out[x] = row[x*n]
		}
	}
	// Destination chroma sample (x, y) covers destination pixels 2x, 2y,
	// which come from source pixels 2xn, 2yn: source chroma xn, yn.
	for y := range dh / 2 {
		ur, vr := us[y*n*cw:], vs[y*n*cw:]
		uo, vo := img.Cb[y*img.CStride:], img.Cr[y*img.CStride:]
		for x := range dw / 2 {
			uo[x], vo[x] = ur[x*n], vr[x*n]
		}
	}
	return img, nil
}

// camGate keeps the kit's own reads of the camera (the watch and the
// preview) out of a meeting's way: Camera.Next must not run concurrently
// with itself, and a frame is only valid until the next call.
type camGate struct {
	mu sync.Mutex // held by the kit's reader while it reads and uses a frame

	cmu    sync.Mutex
	holds  int                // meetings (or others) holding the camera
	cancel context.CancelFunc // ends the kit's read in progress
}

// holdCamera stops the kit's own reads of the camera until release is
// called, so that a meeting reads it alone. It returns once no read of
// the kit's is in progress.
func (k *Kit) holdCamera() (release func()) {
	g := &k.cam
	g.cmu.Lock()
	g.holds++
	if g.cancel != nil {
		g.cancel()
	}
	g.cmu.Unlock()
	g.mu.Lock()
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.cmu.Lock()
			g.holds--
			g.cmu.Unlock()
			k.wakeCamera()
		})
	}
}

// read reads one frame and hands it to use, unless the camera is held:
// then it reports false.
func (g *camGate) read(ctx context.Context, cam camera.Camera, use func(camera.Frame)) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.cmu.Lock()
	held := g.holds > 0
	if !held {
		g.cancel = cancel
	}
	g.cmu.Unlock()
	if held {
		return false, nil
	}
	defer func() {
		g.cmu.Lock()
		g.cancel = nil
		g.cmu.Unlock()
	}()
	f, err := cam.Next(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return false, nil // held meanwhile, or stopping
		}
		return true, err
	}
	use(f)
	return true, nil
}

// h264Placeholder is the preview of a camera that only sends H.264: a
// dark picture that says why there is none. The UI's own placeholder
// ("No camera picture") would send staff to check a camera that works.
var h264Placeholder = sync.OnceValue(func() image.Image {
	face := basicfont.Face7x13
	// Small, so that the screen's scaling makes the text readable.
	w := font.MeasureString(face, placeholderH264).Ceil() + 2*12
	img := image.NewRGBA(image.Rect(0, 0, w, w*9/16))
	draw.Draw(img, img.Rect, image.NewUniform(color.RGBA{0x26, 0x2a, 0x33, 0xff}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.RGBA{0xc8, 0xcc, 0xd4, 0xff}), Face: face,
		Dot: fixed.P(12, img.Rect.Dy()/2+face.Ascent/2)}
	d.DrawString(placeholderH264)
	return img
})
