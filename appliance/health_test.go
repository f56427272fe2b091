package appliance

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roomkit/drivers"
	"roomkit/drivers/audio"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera"
	"roomkit/drivers/display/displaytest"
	"roomkit/health"
	"roomkit/ui"
)

// node finds a check by name anywhere in r.
func node(r health.Report, name string) (health.Node, bool) {
	var find func(ns []health.Node) (health.Node, bool)
	find = func(ns []health.Node) (health.Node, bool) {
		for _, n := range ns {
			if n.Name == name {
				return n, true
			}
			if c, ok := find(n.Checks); ok {
				return c, true
			}
		}
		return health.Node{}, false
	}
	return find(r.Checks)
}

// TestHealthFollowsThePortal: the portal goes away and comes back; the
// tree, the Settings screen and the heartbeat say so.
func TestHealthFollowsThePortal(t *testing.T) {
	p := newFakePortal(t)
	h := start(t, p, t.TempDir())
	h.pairAs(boardroom)
	healthSays := func(what string, cond func(r health.Report) bool) health.Report {
		t.Helper()
		var r health.Report
		h.until(what, func(Status, ui.View) bool { r = h.kit.Health(h.kit.now()); return cond(r) })
		return r
	}
	healthSays("the portal ok", func(r health.Report) bool {
		n, _ := node(r, health.NamePortal)
		return n.Status == health.OK && strings.HasPrefix(n.Detail, "last heartbeat")
	})

	p.down.Store(true)
	r := healthSays("the portal failed", func(r health.Report) bool {
		n, _ := node(r, health.NamePortal)
		return n.Status == health.Failed
	})
	portal, _ := node(r, health.NamePortal)
	if !strings.HasPrefix(portal.Detail, "unreachable since ") || !strings.HasSuffix(portal.Detail, "(connection refused)") {
		t.Errorf("portal: %q, want \"unreachable since HH:MM (connection refused)\"", portal.Detail)
	}
	if cal, _ := node(r, health.NameCalendar); cal.Detail != "dependency Portal failed" {
		t.Errorf("calendar: %q, want the dependency's failure, not its own", cal.Detail)
	}
	if r.Status != health.Failed {
		t.Errorf("tree %q, want failed", r.Status)
	}
	h.tap(ui.OpenSettings)
	h.displays("the portal's failure on Settings", func(v ui.View) bool {
		return v.Settings != nil && len(v.Settings.Health) > 0 && v.Settings.Health[0].Failed &&
			strings.HasPrefix(v.Settings.Health[0].Text, "Portal: unreachable since")
	})

	p.down.Store(false)
	healthSays("the portal back", func(r health.Report) bool {
		n, _ := node(r, health.NamePortal)
		return n.Status == health.OK
	})
	// The portal heard about the outage with the first heartbeat after
	// it: the health was taken before that beat got through.
	p.mu.Lock()
	defer p.mu.Unlock()
	sawFailed := false
	for _, b := range p.beats {
		if b.Health == nil {
			t.Fatal("a heartbeat without health")
		}
		if err := b.Health.Validate(); err != nil {
			t.Errorf("the kit sent health the portal refuses: %v", err)
		}
		if n, _ := node(*b.Health, health.NamePortal); n.Status == health.Failed {
			sawFailed = true
		}
	}
	if !sawFailed {
		t.Error("no heartbeat told the portal about the outage")
	}
}

// kitClock is a kit clock a test moves.
type kitClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *kitClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *kitClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// stallingCamera sends frames until stall is set, then hangs in Next
// without an error, as some UVC firmware does; or, with giveUp, returns
// the stall watch's error (camera.StallWatch, which roomd wraps around
// every camera) at once.
type stallingCamera struct {
	fakeCamera
	giveUp  bool
	stall   atomic.Bool
	stalled chan struct{} // closed once a read hangs or gives up
	once    sync.Once
}

// Status is the stall watch's while it gives up: present, with the silence.
func (c *stallingCamera) Status() drivers.Status {
	st := c.fakeCamera.Status()
	if c.giveUp && c.stall.Load() {
		st.Error = "No frames for 10 s; the camera was reopened."
	}
	return st
}

func (c *stallingCamera) Next(ctx context.Context) (camera.Frame, error) {
	if !c.stall.Load() {
		return c.fakeCamera.Next(ctx)
	}
	c.once.Do(func() { close(c.stalled) })
	if c.giveUp {
		return camera.Frame{}, &camera.StallError{Quiet: camera.StallLimit}
	}
	<-ctx.Done()
	return camera.Frame{}, ctx.Err()
}

// TestHealthCameraStall: a camera that stops sending frames without an
// error, or whose stall watch gave up on it, is failed once StallAfter
// has passed on the kit's clock, in the check's words.
func TestHealthCameraStall(t *testing.T) {
	for _, tc := range []struct {
		name   string
		giveUp bool
	}{
		{"hangs", false},
		{"the stall watch gives up", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &kitClock{t: time.Date(2026, 12, 5, 9, 14, 0, 0, time.UTC)}
			cam := &stallingCamera{fakeCamera: *stillCamera(64, 36), giveUp: tc.giveUp, stalled: make(chan struct{})}
			h := startWith(t, newFakePortal(t), t.TempDir(), func(c *Config) { c.Camera, c.Now = cam, clk.now })
			lastRead := func() (frame time.Time, err error) {
				h.kit.health.mu.Lock()
				defer h.kit.health.mu.Unlock()
				return h.kit.health.lastFrame, h.kit.health.frameErr
			}
			h.until("a frame read", func(Status, ui.View) bool { f, _ := lastRead(); return !f.IsZero() })
			cam.stall.Store(true)
			<-cam.stalled
			if tc.giveUp {
				h.until("the stall recorded", func(Status, ui.View) bool { _, err := lastRead(); return err != nil })
			}
			// Before the limit the driver's own words decide (the stall
			// watch's "reopened" is degraded).
			if n, _ := node(h.kit.Health(clk.now()), health.NameCamera); n.Status == health.Failed {
				t.Fatalf("camera %s %q before any time passed", n.Status, n.Detail)
			}
			clk.add(12 * time.Second)
			n, _ := node(h.kit.Health(clk.now()), health.NameCamera)
			if n.Status != health.Failed || n.Line() != "Camera: no frames for 12 s" {
				t.Errorf("got %s %q, want failed \"Camera: no frames for 12 s\"", n.Status, n.Line())
			}
		})
	}
}

// stuckSpeakerphone is a speakerphone whose audio thread hangs in the
// driver, as alsa.Manager reports with Stuck.
type stuckSpeakerphone struct{ audio.Speakerphone }

func (stuckSpeakerphone) Stuck() bool { return true }

// noMic is present with a problem: a speaker without a microphone.
type noMic struct{ audio.Speakerphone }

func (noMic) Status() drivers.Status {
	return drivers.Status{Kind: "speakerphone", Name: "HDMI audio", Present: true, Error: "The speakerphone \"HDMI audio\" has no microphone"}
}

// TestHealthDevices evaluates the tree of a kit that is not running, for
// each device setup: what IT would read in `roomctl health`.
func TestHealthDevices(t *testing.T) {
	unplugged := audiotest.NewSynthetic(0)
	unplugged.Unplug()
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
		want map[string]string // check name -> "status: detail"
	}{
		{"no camera, no touch", func(*Config) {}, map[string]string{
			health.NameCamera: "failed: No camera configured",
			health.NameTouch:  "degraded: no touch input configured: the screen cannot be used",
		}},
		{"a speaker without a microphone", func(c *Config) { c.Speakerphone = noMic{audiotest.NewSynthetic(0)} }, map[string]string{
			health.NameSpeakerphone: "ok: HDMI audio",
			health.NameMicrophone:   `failed: The speakerphone "HDMI audio" has no microphone`,
			health.NameSpeaker:      "ok: working",
		}},
		{"an unplugged speakerphone", func(c *Config) { c.Speakerphone = unplugged }, map[string]string{
			health.NameSpeakerphone: "failed: The speakerphone is unplugged. Check its USB cable.",
			health.NameMicrophone:   "failed: dependency Speakerphone failed",
			health.NameAudioThread:  "ok: running",
		}},
		{"a stuck audio thread", func(c *Config) { c.Speakerphone = stuckSpeakerphone{audiotest.NewSynthetic(0)} }, map[string]string{
			health.NameAudioThread: "failed: stuck in the sound driver after an unplug; roomd restarts when no meeting is on",
		}},
		{"a portal URL the kit refuses", func(c *Config) { c.PortalURL = "http://portal.example.com" }, map[string]string{
			health.NamePortal: "failed: " + msgPlainHTTPRefused(t),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{StateDir: t.TempDir(), PortalURL: "http://127.0.0.1:1", Display: displaytest.New(64, 36),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			tc.cfg(&cfg)
			k, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			k.health.interfaces = func() ([]health.Interface, error) {
				return []health.Interface{{Name: "eth0", Up: true, Addrs: []string{"192.0.2.7"}}}, nil
			}
			r := k.Health(k.now())
			for name, want := range tc.want {
				n, ok := node(r, name)
				if got := string(n.Status) + ": " + n.Detail; !ok || got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		})
	}
}

// msgPlainHTTPRefused is the line the kit shows for a plain-HTTP portal
// beyond the machine: the portal check repeats it.
func msgPlainHTTPRefused(t *testing.T) string {
	t.Helper()
	e, _ := portalLines("http://portal.example.com", false)
	if e == "" {
		t.Fatal("the kit accepts plain HTTP to a remote portal")
	}
	return e
}

// TestHealthRunningFromMemory: a kit that cannot use its state directory
// says so in the storage check.
func TestHealthRunningFromMemory(t *testing.T) {
	k, err := New(Config{StateDir: "/nonexistent/roomkit", PortalURL: "http://127.0.0.1:1", Display: displaytest.New(64, 36),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.link.loadMemory(errors.New("mkdir /nonexistent: read-only file system")); err != nil {
		t.Fatal(err)
	}
	n, _ := node(k.Health(k.now()), health.NameStorage)
	if n.Status != health.Failed || !strings.Contains(n.Detail, "runs from memory") {
		t.Errorf("storage: %s %q", n.Status, n.Detail)
	}
}
