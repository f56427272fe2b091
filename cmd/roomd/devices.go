package main

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"net/http"
	"time"

	"roomkit/drivers"
	"roomkit/drivers/audio"
	"roomkit/drivers/audio/alsa"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera"
	"roomkit/drivers/camera/cameratest"
	"roomkit/drivers/camera/v4l2"
	"roomkit/drivers/display"
	"roomkit/drivers/display/displaytest"
	"roomkit/drivers/display/fbdev"
	"roomkit/drivers/gpio"
	"roomkit/drivers/input"
	"roomkit/drivers/input/evdev"
	"roomkit/settings"
	"roomkit/ui/simulator"
)

// devices is the hardware roomd runs with.
type devices struct {
	display      display.Display
	input        input.Source
	camera       camera.Camera
	speakerphone audio.Speakerphone
	gpio         gpio.Controls
	screen       http.Handler // the screen simulator's page, sim only
}

func (d *devices) close() {
	// Only devices that opened are set, so a nil here is an absent device.
	for _, c := range []interface{ Close() error }{d.input, d.camera, d.speakerphone, d.gpio, d.display} {
		if c != nil {
			c.Close()
		}
	}
}

// openSim opens the demo's devices: a synthetic camera and speakerphone,
// and the browser screen simulator (or an in-memory screen).
func openSim(size image.Point, withScreen bool) *devices {
	d := &devices{
		camera:       cameratest.NewSynthetic(1280, 720, 30),
		speakerphone: audiotest.NewSynthetic(440),
	}
	if withScreen {
		sim := simulator.New(size)
		d.display, d.input, d.screen = sim, sim.Input(), sim.Handler()
	} else {
		d.display = displaytest.New(size.X, size.Y)
	}
	return d
}

// openReal opens a kit's hardware. Only a kit that cannot show anything
// fails: a missing camera, speakerphone, touch screen or GPIO is reported
// on screen and in the status, and hot-plug brings the USB ones back.
func openReal(s settings.Settings, log *slog.Logger) (*devices, error) {
	fb, err := fbdev.OpenConsole(fbdev.DefaultPath, fbdev.DefaultConsole)
	if err != nil {
		return nil, fmt.Errorf("no screen to draw on, so roomd cannot run: %w", err)
	}
	// display.rotate turns the picture and the touches alike.
	scr, err := display.Rotate(fb, s.Display.Rotate)
	if err != nil { // not after LoadSettings, which refuses such angles
		log.Error("display not turned", "err", err)
		scr = fb
	}
	log.Info("display", "display", scr.Status().Name)
	d := &devices{display: scr}
	d.input = evdev.NewManager(evdev.DefaultDir, scr.Bounds().Size(), evdev.Options{
		Rotate: s.Display.Rotate, SwapXY: s.Display.SwapXY, InvertX: s.Display.InvertX, InvertY: s.Display.InvertY,
	})
	// A camera that falls silent without an error is closed and reopened.
	d.camera = camera.WatchStalls(func() (camera.Camera, error) {
		return v4l2.NewManager(v4l2.Options{Prefer1080p: s.Camera.Prefer1080p}), nil
	}, 0, nil)
	sp, err := alsa.NewManager(alsa.Options{})
	if err != nil {
		// miniaudio itself failed: no audio until roomd restarts, but
		// the room still shows its screen and pairs, and the device list
		// says why.
		log.Error("speakerphone unavailable", "err", err)
		d.speakerphone = brokenSpeakerphone{err}
	} else {
		d.speakerphone = sp
	}
	// Most kits have no panel: without pins in settings.json there is
	// nothing to list, rather than a device that is always "not found".
	g := s.GPIO
	if g.MuteButton != "" || g.MuteLED != "" || g.Presence != "" {
		panel, err := gpio.Open(gpio.Config{
			MuteButton: g.MuteButton, MuteLED: g.MuteLED, Presence: g.Presence, ActiveLow: g.ActiveLow,
		}, nil)
		if err != nil {
			log.Error("GPIO unavailable", "err", err)
			d.gpio = brokenPanel{err}
		} else {
			d.gpio = panel
		}
	}
	return d, nil
}

// brokenPanel stands in for a GPIO panel that settings.json describes
// but that could not be opened, so the Settings screen says why.
type brokenPanel struct{ err error }

func (p brokenPanel) Events() <-chan gpio.Event { return nil }
func (p brokenPanel) SetMuteLED(bool) error     { return p.err }
func (p brokenPanel) Close() error              { return nil }
func (p brokenPanel) Status() drivers.Status {
	return drivers.Status{Kind: "gpio", Name: "GPIO panel", Present: false, Error: p.err.Error()}
}

// brokenSpeakerphone stands in for a speakerphone whose audio system
// failed to start: nothing hot-plug can fix, but the screen must say so.
type brokenSpeakerphone struct{ err error }

func (b brokenSpeakerphone) Info() audio.Info                     { return audio.Info{Name: "Speakerphone"} }
func (b brokenSpeakerphone) Read(context.Context, []int16) error  { return b.failed() }
func (b brokenSpeakerphone) Write(context.Context, []int16) error { return b.failed() }
func (b brokenSpeakerphone) SetVolume(int)                        {}
func (b brokenSpeakerphone) Close() error                         { return nil }
func (b brokenSpeakerphone) failed() error {
	return fmt.Errorf("audio system failed to start (%v): %w", b.err, audio.ErrUnplugged)
}
func (b brokenSpeakerphone) Status() drivers.Status {
	return drivers.Status{Kind: "speakerphone", Name: "Speakerphone", Present: false,
		Error: "The audio system failed to start; restart the kit. (" + b.err.Error() + ")"}
}

// restartWhenStuck calls stop once the speakerphone's audio thread is
// stuck (alsa.Manager.Stuck) and no meeting is on (inMeeting, asked every
// tick): only a new process frees that thread, and gokrazy starts one at
// once. It returns when ctx ends or after stop.
func restartWhenStuck(ctx context.Context, sp audio.Speakerphone, inMeeting func() bool, tick <-chan time.Time, stop func(), log *slog.Logger) {
	m, ok := sp.(interface{ Stuck() bool })
	if !ok {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		if m.Stuck() && !inMeeting() {
			log.Error("restarting roomd: an unplugged speakerphone left an audio thread running")
			stop()
			return
		}
	}
}
