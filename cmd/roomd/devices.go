package main

import (
	"fmt"
	"image"
	"log/slog"
	"net/http"

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
	"roomkit/ui"
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
	simCamera    *cameratest.Synthetic
}

// simUnhealthy unplugs a sim kit's camera while it runs an image built
// to fail its trial boot (roomkit-release sim-image -unhealthy): the
// update agent sees another set of devices and rolls back.
func (d *devices) simUnhealthy(unhealthy bool) {
	switch {
	case d.simCamera == nil:
	case unhealthy:
		d.simCamera.Unplug()
	default:
		d.simCamera.Replug()
	}
}

func (d *devices) close() {
	// Only devices that opened are set, so a nil here is an absent device.
	for _, c := range []interface{ Close() error }{d.input, d.camera, d.speakerphone, d.gpio, d.display} {
		if c != nil {
			c.Close()
		}
	}
}

// realCameraNames are the plugged cameras' names, for a profile's camera
// preference.
func realCameraNames() []string {
	infos, _ := v4l2.Scan("")
	var names []string
	for _, i := range infos {
		names = append(names, i.Name)
	}
	return names
}

// simSize is the -size flag: the simulated screen's size.
func simSize(flag string) (image.Point, error) {
	switch flag {
	case "1920x1080":
		return ui.Size1080p, nil
	case "1280x800":
		return ui.Size800p, nil
	}
	return image.Point{}, fmt.Errorf("-size %q: want 1920x1080 or 1280x800", flag)
}

// openSim opens the demo's devices: a synthetic camera and speakerphone,
// and the browser screen simulator (or an in-memory screen).
func openSim(size image.Point, withScreen bool) *devices {
	cam := cameratest.NewSynthetic(1280, 720, 30)
	d := &devices{
		camera:       cam,
		speakerphone: audiotest.NewSynthetic(440),
		simCamera:    cam,
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
// s is settings.json under the room's profile (appliance.StartupSettings);
// cameraName, the camera the profile prefers.
func openReal(s settings.Settings, cameraName string, log *slog.Logger) (*devices, error) {
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
		return v4l2.NewManager(v4l2.Options{Prefer1080p: s.Camera.Prefer1080p, Name: cameraName}), nil
	}, 0, nil)
	sp, err := alsa.NewManager(alsa.Options{})
	if err != nil {
		// miniaudio itself failed: no audio until roomd restarts, but
		// the room still shows its screen and pairs, and the device list
		// says why.
		log.Error("speakerphone unavailable", "err", err)
		d.speakerphone = audio.Broken(err)
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
			d.gpio = gpio.Broken(err)
		} else {
			d.gpio = panel
		}
	}
	return d, nil
}
