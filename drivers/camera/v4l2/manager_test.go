package v4l2

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkit/drivers/camera"
)

// plug is the USB port of a test: what is plugged in decides what opening
// finds.
type plug struct {
	mu sync.Mutex
	fx *fixture // nil: nothing plugged in
}

func (p *plug) set(fx *fixture) { p.mu.Lock(); p.fx = fx; p.mu.Unlock() }

func (p *plug) open() (*Camera, error) {
	p.mu.Lock()
	fx := p.fx
	p.mu.Unlock()
	d := devs{}
	if fx != nil {
		d["/dev/video0"] = fx
	}
	if fx == nil {
		return nil, fmt.Errorf("%w in /dev", ErrNoCamera)
	}
	return openWith(d.open, Options{Path: "/dev/video0"})
}

func TestManagerUnplugReplug(t *testing.T) {
	mjpeg := load(t, "uvc-mjpeg-720p.v4l2")
	p := &plug{}
	tick := make(chan time.Time)
	m := newManager(Options{}, p.open, tick)
	defer m.Close()
	ctx := context.Background()

	// Nothing plugged in at boot.
	if st := m.Status(); st.Present || st.Error != "No camera found. Plug in a USB camera." {
		t.Errorf("status with no camera: %+v", st)
	}
	if _, err := m.Next(ctx); !errors.Is(err, camera.ErrUnplugged) {
		t.Errorf("Next with no camera: %v, want ErrUnplugged", err)
	}

	// Plugged in: found on the next rescan.
	p.set(mjpeg)
	m.rescan()
	if st := m.Status(); !st.Present || !strings.Contains(st.Name, "MJPEG 1280x720 at 30 fps") {
		t.Errorf("status after plugging in: %+v", st)
	}
	for range mjpeg.frames {
		if _, err := m.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// Pulled mid-stream (the recording ends as an unplug).
	p.set(nil)
	if _, err := m.Next(ctx); !errors.Is(err, camera.ErrUnplugged) {
		t.Fatalf("Next after unplug: %v", err)
	}
	st := m.Status()
	if st.Present || st.Error != UnpluggedMessage || !strings.Contains(st.Name, "UVC Camera") {
		t.Errorf("status while unplugged: %+v, want the camera named and %q", st, UnpluggedMessage)
	}
	if _, err := m.Next(ctx); !errors.Is(err, camera.ErrUnplugged) {
		t.Errorf("Next while unplugged: %v", err)
	}
	if m.Info().Format != camera.MJPEG {
		t.Errorf("Info while unplugged forgot the camera: %+v", m.Info())
	}
	m.rescan()
	if st := m.Status(); st.Present {
		t.Errorf("a rescan with nothing plugged in found %+v", st)
	}

	// Another camera plugged in: the ticker's rescan finds it.
	p.set(load(t, "uvc-h264-720p.v4l2.gz"))
	tick <- time.Time{}
	tick <- time.Time{} // the loop took the first tick: its rescan has run once this one is taken
	if st := m.Status(); !st.Present || !strings.Contains(st.Name, "H264") {
		t.Fatalf("status after replug: %+v", st)
	}
	if m.Info().Format != camera.H264 {
		t.Errorf("Info after replug: %+v", m.Info())
	}
	f, err := m.Next(ctx)
	if err != nil || !f.Keyframe {
		t.Errorf("first frame after replug: keyframe %v, %v", f.Keyframe, err)
	}
	m.RequestKeyframe()
}

func TestManagerUnusableCamera(t *testing.T) {
	p := &plug{}
	p.set(load(t, "ir-grey.v4l2"))
	m := newManager(Options{}, p.open, nil)
	defer m.Close()
	st := m.Status()
	if st.Present || !strings.Contains(st.Error, "No usable camera") || !strings.Contains(st.Error, "GREY") {
		t.Errorf("status with only an infrared camera: %+v", st)
	}
}
