package appliance

// The kit's own use of its camera and speakerphone outside meetings: the
// camera watch that notices an unplugged camera, and the Settings screen's
// device tests (test tone, microphone meter, camera preview). The tests
// run only while Settings is up and all stop when it closes, so nothing
// keeps the devices busy on the home screen.

import (
	"context"
	"errors"
	"image"
	"math"
	"time"

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

// deviceTests is one opening of the Settings screen's device tests.
type deviceTests struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// syncTests starts the device tests when Settings is up and stops them
// when it is not, and reports whether it is up. It runs on the screen
// goroutine after every event, so a tap, a reset or an unpairing all
// start or stop the tests within one frame.
func (k *Kit) syncTests(ctx context.Context, s *screenState) bool {
	up := s.settings && k.atHome()
	switch {
	case up && s.tests == nil:
		k.startTests(ctx, s)
	case !up && s.tests != nil:
		k.stopTests(s)
	}
	return up
}

func (k *Kit) startTests(ctx context.Context, s *screenState) {
	tctx, cancel := context.WithCancel(ctx)
	s.tests = &deviceTests{ctx: tctx, cancel: cancel}
	s.testGen++
	gen := s.testGen
	if sp := k.cfg.Speakerphone; sp != nil {
		k.devWG.Go(func() { k.meterMic(tctx, sp, gen) })
	}
	k.preview.Store(int64(gen))
	k.wakeCamera()
}

// stopTests ends the device tests and clears what they showed.
func (k *Kit) stopTests(s *screenState) {
	if s.tests == nil {
		return
	}
	s.tests.cancel()
	s.tests = nil
	s.testGen++
	s.micLevel, s.tonePlaying, s.preview = 0, false, nil
	k.preview.Store(0)
	k.wakeCamera()
}

// setTest posts a device test's result to the screen, where it applies
// unless the tests it belongs to (gen) have stopped since. The Settings
// screen redraws five times a second: no need to wake it.
func (k *Kit) setTest(gen int, set func(s *screenState)) {
	k.screen.postQuiet(func(s *screenState) {
		if s.testGen == gen {
			set(s)
		}
	})
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
			k.setTest(gen, func(s *screenState) { s.micLevel = 0 })
			clock.Sleep(ctx, deviceRetry)
			continue
		}
		lastErr = ""
		meter.Write(buf)
		rms, _ := meter.Level()
		level := meterPosition(rms)
		k.setTest(gen, func(s *screenState) { s.micLevel = level })
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
func (k *Kit) playTone(s *screenState) {
	sp, t := k.cfg.Speakerphone, s.tests
	if sp == nil || t == nil || s.tonePlaying {
		return
	}
	s.tonePlaying = true
	gen := s.testGen
	k.devWG.Go(func() {
		defer func() {
			k.setTest(gen, func(s *screenState) { s.tonePlaying = false })
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
// closed, or that a meeting let go of the camera, so the preview starts
// or stops and the probe resumes without waiting.
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
	if k.cam == nil {
		return
	}
	cam := k.cam.Camera()
	var (
		conv    camera.Converter
		lastErr string
		logged  bool // the H.264 placeholder was logged
	)
	for ctx.Err() == nil {
		gen := int(k.preview.Load())
		preview := gen != 0
		wait := probeInterval
		if preview {
			wait = settingsFrameInterval
		}
		var img image.Image
		var convErr error
		read, err := k.cam.Read(ctx, func(f camera.Frame) {
			if preview {
				img, convErr = camera.Preview(&conv, cam.Info(), f, previewMaxWidth)
			}
		})
		if ctx.Err() == nil {
			k.health.frame(k.now(), read, err)
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
				if errors.Is(convErr, camera.ErrNeedsDecoder) {
					if !logged {
						k.log.Info("camera preview: the camera sends H.264, which the Settings screen does not decode")
						logged = true
					}
					img = camera.H264Placeholder()
				} else {
					k.log.Warn("camera preview: cannot convert a frame", "err", convErr)
				}
			}
		}
		if preview {
			// The Settings screen redraws five times a second: no signal.
			k.setTest(gen, func(s *screenState) { s.preview = img })
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
