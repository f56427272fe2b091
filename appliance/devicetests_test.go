package appliance

import (
	"context"
	"errors"
	"image"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roomkit/drivers"
	"roomkit/drivers/audio"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera"
	"roomkit/drivers/camera/cameratest"
	"roomkit/drivers/gpio/gpiotest"
	"roomkit/drivers/input"
	"roomkit/provisioning"
	"roomkit/settings"
	"roomkit/ui"
	"roomkit/ui/uitest"
)

// kitDevices are the synthetic devices of one test kit.
type kitDevices struct {
	cam   *cameratest.Synthetic
	sp    *audiotest.Synthetic
	mic   *countingMic
	panel *gpiotest.Panel
}

// withDevices gives the kit a small synthetic camera, a synthetic
// speakerphone whose microphone hears toneHz, and a fake GPIO panel.
func withDevices(toneHz float64) (*kitDevices, func(*Config)) {
	d := &kitDevices{
		cam:   cameratest.NewSynthetic(320, 180, 30),
		sp:    audiotest.NewSynthetic(toneHz),
		panel: gpiotest.New(8),
	}
	d.mic = &countingMic{Speakerphone: d.sp}
	return d, func(c *Config) {
		c.Camera, c.Speakerphone, c.GPIO = d.cam, d.mic, d.panel
	}
}

// countingMic counts microphone reads and keeps the context of the last
// one, so a test can tell that the kit reads the microphone and that it
// stopped.
type countingMic struct {
	audio.Speakerphone
	reads atomic.Int64

	mu      sync.Mutex
	lastCtx context.Context
}

func (m *countingMic) Read(ctx context.Context, buf []int16) error {
	m.reads.Add(1)
	m.mu.Lock()
	m.lastCtx = ctx
	m.mu.Unlock()
	return m.Speakerphone.Read(ctx, buf)
}

// readingStopped reports whether the kit's last microphone read belongs
// to device tests that have ended.
func (m *countingMic) readingStopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastCtx == nil || m.lastCtx.Err() != nil
}

func deviceStatus(s Status, kind string) drivers.Status {
	for _, d := range s.Devices {
		if d.Kind == kind {
			return d
		}
	}
	return drivers.Status{}
}

func (h *harness) openSettings() {
	h.t.Helper()
	h.tap(ui.OpenSettings)
	h.until("the settings screen", func(s Status, v ui.View) bool { return v.Screen == ui.Settings && v.Settings != nil })
}

func TestMissingDeviceBanner(t *testing.T) {
	for _, tc := range []struct {
		name   string
		unplug func(d *kitDevices)
		replug func(d *kitDevices)
		banner string
		gone   []string
	}{
		{"camera", func(d *kitDevices) { d.cam.Unplug() }, func(d *kitDevices) { d.cam.Replug() },
			"No camera: check its USB cable", []string{"camera"}},
		{"speakerphone", func(d *kitDevices) { d.sp.Unplug() }, func(d *kitDevices) { d.sp.Replug() },
			"No speakerphone: check its USB cable", []string{"speakerphone"}},
		{"both", func(d *kitDevices) { d.cam.Unplug(); d.sp.Unplug() }, func(d *kitDevices) { d.cam.Replug(); d.sp.Replug() },
			"No camera, no speakerphone: see Settings", []string{"camera", "speakerphone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, with := withDevices(440)
			h := startWith(t, newFakePortal(t), t.TempDir(), with)
			h.pairAs(boardroom)
			_, v := h.until("home without a banner", func(s Status, v ui.View) bool { return v.Screen == ui.Home })
			if v.Banner != "" {
				t.Errorf("banner %q with every device plugged in", v.Banner)
			}

			tc.unplug(d)
			s, _ := h.until("the banner", func(s Status, v ui.View) bool { return v.Banner == tc.banner })
			for _, kind := range tc.gone {
				if st := deviceStatus(s, kind); st.Present || st.Error == "" {
					t.Errorf("%s status while unplugged: %+v", kind, st)
				}
			}
			// The rest keeps working: Meet Now still answers.
			h.tap(ui.MeetNow)
			h.until("the notice", func(s Status, v ui.View) bool { return v.Notice != "" })

			// Settings lists the missing device; the tests do not crash.
			h.openSettings()
			h.tap(ui.PlayTone)
			_, v = h.until("the device list", func(s Status, v ui.View) bool {
				return v.Settings != nil && !v.Settings.TonePlaying && len(v.Settings.Devices) == 5
			})
			for _, dev := range v.Settings.Devices {
				want := !strings.Contains(strings.Join(tc.gone, ","), dev.Kind)
				if dev.Present != want {
					t.Errorf("settings lists %+v; want present=%v", dev, want)
				}
			}
			h.tap(ui.CloseSettings)

			tc.replug(d)
			h.until("the banner goes", func(s Status, v ui.View) bool { return v.Screen == ui.Home && v.Banner == "" })
			if s := h.kit.Status(); s.State != Ready {
				t.Errorf("after replug: %+v", s)
			}
		})
	}
}

func TestPlayTone(t *testing.T) {
	d, with := withDevices(0)
	h := startWith(t, newFakePortal(t), t.TempDir(), with)
	h.pairAs(boardroom)
	if peak, written := d.sp.Level(); peak != 0 || written != 0 {
		t.Fatalf("the speaker played before the test: peak %d, %d samples", peak, written)
	}
	h.openSettings()
	h.tap(ui.PlayTone)
	var peak int16
	h.until("the tone", func(s Status, v ui.View) bool {
		p, written := d.sp.Level()
		peak = max(peak, p)
		return written >= audio.SampleRate && peak > 0
	})
	// −12 dBFS at the synthetic speaker's volume of 70 %: about 5700.
	if peak < 4000 || peak > 7000 {
		t.Errorf("tone peak %d, want about 5700 (−12 dBFS at 70 %% volume)", peak)
	}
	h.until("the tone ends", func(s Status, v ui.View) bool { return v.Settings != nil && !v.Settings.TonePlaying })
	// Played once: exactly one second of samples.
	if _, written := d.sp.Level(); written != audio.SampleRate {
		t.Errorf("%d samples written, want %d (1 s)", written, audio.SampleRate)
	}
	// A second tap plays it again.
	h.tap(ui.PlayTone)
	h.until("the second tone", func(s Status, v ui.View) bool {
		_, written := d.sp.Level()
		return written >= 2*audio.SampleRate
	})
}

func TestMicLevel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		toneHz   float64
		min, max float64
	}{
		// A sine of peak −12 dBFS is −15 dBFS RMS: 0.75 on a meter from −60 dBFS.
		{"tone", 440, 0.70, 0.80},
		{"silence", 0, 0, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, with := withDevices(tc.toneHz)
			h := startWith(t, newFakePortal(t), t.TempDir(), with)
			h.pairAs(boardroom)
			if n := d.mic.reads.Load(); n != 0 {
				t.Errorf("the microphone was read %d times before Settings opened", n)
			}
			h.openSettings()
			_, v := h.until("the meter", func(s Status, v ui.View) bool {
				// 10 reads of 20 ms fill the meter's 100 ms window twice.
				return d.mic.reads.Load() >= 10 && v.Settings != nil && v.Settings.MicLevel >= tc.min && v.Settings.MicLevel <= tc.max
			})
			t.Logf("level %.3f", v.Settings.MicLevel)

			h.tap(ui.CloseSettings)
			h.until("the microphone is let go", func(s Status, v ui.View) bool { return v.Screen == ui.Home && d.mic.readingStopped() })
		})
	}
}

func TestUnpluggedMicrophoneInSettings(t *testing.T) {
	d, with := withDevices(440)
	h := startWith(t, newFakePortal(t), t.TempDir(), with)
	h.pairAs(boardroom)
	h.openSettings()
	h.until("the meter", func(s Status, v ui.View) bool { return v.Settings.MicLevel > 0.5 })
	d.sp.Unplug()
	_, v := h.until("the meter drops", func(s Status, v ui.View) bool { return v.Settings != nil && v.Settings.MicLevel == 0 })
	if st := v.Settings.Devices[1]; st.Kind != "speakerphone" || st.Present {
		t.Errorf("device list while unplugged: %+v", v.Settings.Devices)
	}
	d.sp.Replug()
	h.until("the meter is back", func(s Status, v ui.View) bool { return v.Settings != nil && v.Settings.MicLevel > 0.5 })
}

func TestCameraPreview(t *testing.T) {
	d, with := withDevices(0)
	h := startWith(t, newFakePortal(t), t.TempDir(), with)
	h.pairAs(boardroom)
	h.openSettings()
	_, v := h.until("the preview", func(s Status, v ui.View) bool { return v.Settings != nil && v.Settings.Preview != nil })
	img, ok := v.Settings.Preview.(*image.YCbCr)
	if !ok || img.Bounds() != image.Rect(0, 0, 320, 180) {
		t.Fatalf("preview %T %v; want a 320x180 YCbCr", v.Settings.Preview, v.Settings.Preview.Bounds())
	}
	// The synthetic camera's colour bars: the left and right edges differ.
	l, r := img.YCbCrAt(10, 90), img.YCbCrAt(310, 90)
	if l == r {
		t.Errorf("preview shows one colour (%v) where the camera draws bars", l)
	}

	d.cam.Unplug()
	_, v = h.until("no preview while unplugged", func(s Status, v ui.View) bool { return v.Settings != nil && v.Settings.Preview == nil })
	if st := v.Settings.Devices[0]; st.Kind != "camera" || st.Present {
		t.Errorf("device list while unplugged: %+v", v.Settings.Devices)
	}
	d.cam.Replug()
	h.until("the preview is back", func(s Status, v ui.View) bool { return v.Settings != nil && v.Settings.Preview != nil })

	h.tap(ui.CloseSettings)
	h.until("home, the preview let go", func(s Status, v ui.View) bool {
		var preview image.Image
		h.kit.onScreen(func(s *screenState) { preview = s.preview })
		return v.Screen == ui.Home && preview == nil
	})
	// Settings again: a fresh preview.
	h.openSettings()
	h.until("the preview again", func(s Status, v ui.View) bool { return v.Settings != nil && v.Settings.Preview != nil })
}

// fakeCamera streams one fixed frame of any format.
type fakeCamera struct {
	info  camera.Info
	frame []byte
	held  atomic.Bool // a reader is inside Next
	fail  atomic.Bool // Next ran concurrently with itself
}

func (c *fakeCamera) Info() camera.Info { return c.info }

func (c *fakeCamera) Next(ctx context.Context) (camera.Frame, error) {
	if !c.held.CompareAndSwap(false, true) {
		c.fail.Store(true)
	}
	defer c.held.Store(false)
	t := time.NewTimer(time.Second / 30)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return camera.Frame{}, ctx.Err()
	case <-t.C:
	}
	return camera.Frame{Data: c.frame, Keyframe: true}, nil
}

func (c *fakeCamera) RequestKeyframe() {}
func (c *fakeCamera) Status() drivers.Status {
	return drivers.Status{Kind: "camera", Name: c.info.Name, Present: true}
}
func (c *fakeCamera) Close() error { return nil }

// stillCamera shows the synthetic camera's first frame, always.
func stillCamera(w, h int) *fakeCamera {
	frame := make([]byte, w*h*3/2)
	cameratest.Draw(frame, w, h, 0, time.Date(2026, 11, 3, 9, 41, 0, 0, time.UTC))
	return &fakeCamera{info: camera.Info{Name: "Synthetic camera", Format: camera.I420, Width: w, Height: h, FPS: 30}, frame: frame}
}

func TestPreviewFormats(t *testing.T) {
	at := time.Date(2026, 11, 3, 9, 41, 0, 0, time.UTC)
	yuyv := make([]byte, 640*360*2)
	cameratest.DrawYUYV(yuyv, 640, 360, 0, at)
	for _, tc := range []struct {
		name string
		cam  *fakeCamera
		size image.Point
		h264 bool
	}{
		{"I420 720p is halved", stillCamera(1280, 720), image.Pt(640, 360), false},
		{"YUYV", &fakeCamera{info: camera.Info{Name: "YUYV camera", Format: camera.YUYV, Width: 640, Height: 360}, frame: yuyv}, image.Pt(640, 360), false},
		{"MJPEG", &fakeCamera{info: camera.Info{Name: "MJPEG camera", Format: camera.MJPEG, Width: 640, Height: 360},
			frame: cameratest.JPEG(640, 360, 0, at, 80)}, image.Pt(640, 360), false},
		{"H.264", &fakeCamera{info: camera.Info{Name: "H.264 camera", Format: camera.H264, Width: 1280, Height: 720},
			frame: []byte{0, 0, 0, 1, 0x65}}, image.Point{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startWith(t, newFakePortal(t), t.TempDir(), func(c *Config) { c.Camera = tc.cam })
			h.pairAs(boardroom)
			h.openSettings()
			_, v := h.until("the preview", func(s Status, v ui.View) bool { return v.Settings != nil && v.Settings.Preview != nil })
			p := v.Settings.Preview
			if tc.h264 {
				if p != camera.H264Placeholder() {
					t.Errorf("an H.264 camera's preview is %T, want the placeholder", p)
				}
				return
			}
			if p.Bounds().Size() != tc.size {
				t.Errorf("preview %v, want %v", p.Bounds().Size(), tc.size)
			}
			// The bars: white at the left edge, black-ish at the right.
			if y0, y1 := p.(*image.YCbCr).YCbCrAt(4, tc.size.Y/2).Y, p.(*image.YCbCr).YCbCrAt(tc.size.X-4, tc.size.Y/2).Y; y0 < 150 || y1 > 100 {
				t.Errorf("preview luma %d at the left, %d at the right; want the bars (light, dark)", y0, y1)
			}
		})
	}
}

func TestHoldCamera(t *testing.T) {
	cam := stillCamera(160, 90)
	h := startWith(t, newFakePortal(t), t.TempDir(), func(c *Config) { c.Camera = cam })
	h.pairAs(boardroom)
	h.openSettings()
	h.until("the preview", func(s Status, v ui.View) bool { return v.Settings.Preview != nil })
	// A meeting takes the camera: the kit's reader is out of Next and
	// stays out until release.
	release := h.kit.meetings.holdCamera()
	for range 20 {
		if _, err := cam.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	release()
	if cam.fail.Load() {
		t.Error("the kit read the camera while it was held")
	}
}

func TestMuteButton(t *testing.T) {
	d, with := withDevices(0)
	h := startWith(t, newFakePortal(t), t.TempDir(), with)
	h.pairAs(boardroom)
	for i, want := range []bool{true, false, true} {
		d.panel.Press()
		s, _ := h.until("mute follows the button", func(s Status, v ui.View) bool { return s.Muted == want })
		if d.panel.LED() != want {
			t.Errorf("press %d: muted %v but the LED is %v", i+1, s.Muted, d.panel.LED())
		}
	}
	d.panel.SetPresence(true)
	h.until("presence logged", func(Status, ui.View) bool { return strings.Contains(h.logs.String(), "presence") })
	if st := deviceStatus(h.kit.Status(), "gpio"); !st.Present {
		t.Errorf("GPIO panel missing from the devices: %+v", h.kit.Status().Devices)
	}
}

func TestKeyboard(t *testing.T) {
	for _, tc := range []struct {
		name string
		taps []ui.ActionKind // each opens the next screen
		from ui.Screen
		to   ui.Screen
	}{
		{"Escape closes Settings", []ui.ActionKind{ui.OpenSettings}, ui.Settings, ui.Home},
		{"Escape cancels a reset", []ui.ActionKind{ui.OpenSettings, ui.OpenReset}, ui.ConfirmReset, ui.Settings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, with := withDevices(440)
			h := startWith(t, newFakePortal(t), t.TempDir(), with)
			h.pairAs(boardroom)
			for _, a := range tc.taps {
				before := h.kit.view().Screen
				h.tap(a)
				h.until("the screen after "+a.String(), func(s Status, v ui.View) bool { return v.Screen != before })
			}
			h.until(tc.from.String(), func(s Status, v ui.View) bool { return v.Screen == tc.from })
			h.touch.Send(input.Event{Kind: input.Key, Key: "Escape"})
			h.until(tc.to.String(), func(s Status, v ui.View) bool { return v.Screen == tc.to })
			if tc.to == ui.Home {
				h.until("the device tests stop", func(Status, ui.View) bool { return d.mic.readingStopped() })
			}
		})
	}
}

func TestSettingsFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       string // the start of the warning after "settings.json"
	}{
		{"syntax", "{\n  \"label\": \"Boardroom\",\n  \"time_zone\": \"Europe/Zurich\"\n  \"http_proxy\": \"\"\n}\n", "settings.json line 4: "},
		{"unknown field", "{\n  \"portal\": \"https://portal.example\"\n}\n", "settings.json line 2: "},
		{"bad time zone", "{\"time_zone\": \"Mars/Olympus_Mons\"}", "settings.json: time_zone \"Mars/Olympus_Mons\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, settings.File), []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := settings.Load(dir)
			if err == nil {
				t.Fatal("LoadSettings took a bad file")
			}
			h := startWith(t, newFakePortal(t), dir, func(c *Config) { c.Settings, c.SettingsErr = st, err })
			_, v := h.until("the warning while pairing", func(s Status, v ui.View) bool { return v.Screen == ui.Pairing && v.UserCode != "" })
			warn := v.Error + v.Message
			if !strings.HasPrefix(warn, tc.want) || !strings.HasSuffix(warn, " — using defaults") || strings.Contains(warn, dir) {
				t.Errorf("warning %q; want %q… — using defaults, without the path", warn, tc.want)
			}
			s := h.pairAs(boardroom)
			if s.SettingsError != warn {
				t.Errorf("status settings_error %q, want %q", s.SettingsError, warn)
			}
			if _, v := h.until("home", func(s Status, v ui.View) bool { return v.Screen == ui.Home }); v.Error != warn {
				t.Errorf("home screen error line %q, want the warning", v.Error)
			}
		})
	}
}

func TestSettingsTimeZone(t *testing.T) {
	for _, tc := range []struct {
		name, settings, room, want string
	}{
		{"settings only", "Asia/Tokyo", "", "Asia/Tokyo"},
		{"the room's wins", "Asia/Tokyo", "Europe/Zurich", "Europe/Zurich"},
		{"neither", "", "", "UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startWith(t, newFakePortal(t), t.TempDir(), func(c *Config) { c.Settings.TimeZone = tc.settings })
			if tc.settings != "" {
				h.until("the pairing clock in the installer's zone", func(s Status, v ui.View) bool {
					return v.Screen == ui.Pairing && v.Now.Location().String() == tc.settings
				})
			}
			h.pairAs(provisioning.Room{ID: "rm_1", Name: "Room", TimeZone: tc.room})
			h.until("the clock in "+tc.want, func(s Status, v ui.View) bool { return v.Now.Location().String() == tc.want })
		})
	}
}

func TestProxyFromSettings(t *testing.T) {
	p := newFakePortal(t)
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A forward proxy gets the absolute URL.
		if !strings.HasPrefix(r.RequestURI, p.srv.URL) {
			http.Error(w, "not a proxy request: "+r.RequestURI, http.StatusBadRequest)
			return
		}
		proxied.Add(1)
		out, _ := http.NewRequestWithContext(r.Context(), r.Method, r.RequestURI, r.Body)
		out.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			w.Write(buf[:n])
			if err != nil {
				break
			}
		}
	}))
	t.Cleanup(proxy.Close)
	h := startWith(t, p, t.TempDir(), func(c *Config) {
		c.HTTPClient = nil
		c.Settings.HTTPProxy = proxy.URL
	})
	h.pairAs(boardroom)
	if proxied.Load() == 0 {
		t.Error("the kit reached the portal without the proxy from settings.json")
	}
}

func TestSettingsWarning(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("/perm/roomkit/settings.json: line 3: invalid character '}'"), "settings.json line 3: invalid character '}' — using defaults"},
		{errors.New("/perm/roomkit/settings.json: label: at most 64 characters\ndisplay.rotate 45: want 0, 90, 180 or 270"),
			"settings.json: label: at most 64 characters; display.rotate 45: want 0, 90, 180 or 270 — using defaults"},
		{errors.New("read settings: permission denied"), "settings.json: read settings: permission denied — using defaults"},
	} {
		if got := settingsWarning(tc.err); got != tc.want {
			t.Errorf("settingsWarning(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestMeterPosition(t *testing.T) {
	for _, tc := range []struct{ dbfs, want float64 }{
		{audio.SilenceDBFS, 0}, {-60, 0}, {-30, 0.5}, {-15, 0.75}, {0, 1}, {3, 1},
	} {
		if got := meterPosition(tc.dbfs); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("meterPosition(%v) = %v, want %v", tc.dbfs, got, tc.want)
		}
	}
}

// TestSettingsScreenGolden is the Settings screen as the kit shows it
// with its devices: the device list, the meter at the synthetic
// microphone's steady tone (or at rest) and the camera's still picture
// (or why there is none).
func TestSettingsScreenGolden(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cam      *fakeCamera
		unplug   bool // the speakerphone
		min, max float64
	}{
		{"settings-synthetic", stillCamera(1280, 720), false, 0.74, 0.76},
		{"settings-h264-no-speakerphone", &fakeCamera{info: camera.Info{Name: "USB H.264 camera", Format: camera.H264, Width: 1920, Height: 1080},
			frame: []byte{0, 0, 0, 1, 0x65}}, true, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := audiotest.NewSynthetic(440)
			if tc.unplug {
				sp.Unplug()
			}
			h := startWith(t, newFakePortal(t), t.TempDir(), func(c *Config) {
				c.Camera, c.Speakerphone, c.GPIO = tc.cam, sp, gpiotest.New(1)
			})
			h.pairAs(boardroom)
			h.openSettings()
			_, v := h.until("the meter and the preview", func(s Status, v ui.View) bool {
				return v.Settings != nil && v.Settings.Preview != nil && v.Settings.MicLevel >= tc.min && v.Settings.MicLevel <= tc.max && v.PortalConnected
			})
			v.Now = time.Date(2026, 11, 3, 9, 41, 0, 0, time.UTC)
			uitest.Golden(t, tc.name, ui.NewRenderer(testSize).Render(v))
		})
	}
}
