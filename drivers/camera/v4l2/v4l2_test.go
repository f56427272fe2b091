package v4l2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"roomkit/drivers/camera"
)

func TestNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cam    fixtureHeader
		prefer bool
		want   string
	}{
		{"H.264 camera streams H.264 at 720p", h264Cam, false, "H264 1280x720@30"},
		{"H.264 camera at 1080p when configured", h264Cam, true, "H264 1920x1080@30"},
		{"MJPEG camera streams MJPEG, not slow YUYV", mjpegCam, false, "MJPEG 1280x720@30"},
		{"MJPEG camera without 1080p stays at 720p", mjpegCam, true, "MJPEG 1280x720@30"},
		{"slow YUYV camera trades size for rate", yuyvSlowCam, false, "YUYV 640x480@30"},
		{"USB 3 YUYV camera does 720p at 30", yuyvCam, false, "YUYV 1280x720@30"},
		{"continuous sizes are aligned to 720p", stepwiseCam, false, "YUYV 1280x720@30"},
		{"continuous sizes give 1080p when configured", stepwiseCam, true, "YUYV 1920x1080@30"},
		{"vivid as the kernel answers: 720p at 30 of 64 formats", load(t, "vivid-yuyv-720p.v4l2.gz").fixtureHeader, false, "YUYV 1280x720@30"},
		{"vivid as the kernel answers, 1080p when configured", load(t, "vivid-yuyv-720p.v4l2.gz").fixtureHeader, true, "YUYV 1920x1080@30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := describe(newReplay(header(tc.cam), false))
			if err != nil {
				t.Fatal(err)
			}
			m, _, err := choose(o, tc.prefer)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.String(); got != tc.want {
				t.Errorf("chose %s, want %s", got, tc.want)
			}
		})
	}
}

func TestOpenPicksTheBestCamera(t *testing.T) {
	d := devs{
		"video0": header(yuyvSlowCam), // the laptop's own camera
		"video1": header(metaNode),
		"video2": load(t, "uvc-h264-720p.v4l2.gz"),
		"video3": header(metaNode),
		"video4": header(irCam),
	}
	dir := d.dir(t)
	d = d.inDir(dir)
	for _, tc := range []struct {
		prefer bool
		want   camera.Info
	}{
		{false, camera.Info{Name: "HD Pro Webcam C920", Path: filepath.Join(dir, "video2"), Format: camera.H264, Width: 1280, Height: 720, FPS: 30}},
		{true, camera.Info{Name: "HD Pro Webcam C920", Path: filepath.Join(dir, "video2"), Format: camera.H264, Width: 1920, Height: 1080, FPS: 30}},
	} {
		c, err := openWith(d.open, Options{Dir: dir, Prefer1080p: tc.prefer})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Info(); got != tc.want {
			t.Errorf("Prefer1080p=%v: opened %+v, want %+v", tc.prefer, got, tc.want)
		}
		st := c.Status()
		if !st.Present || !strings.Contains(st.Name, "H264 1280x720") && !strings.Contains(st.Name, "H264 1920x1080") {
			t.Errorf("status %+v does not report the camera and its mode", st)
		}
		c.Close()
	}

	// A profile's camera preference picks by name, any case; a name
	// that matches none leaves the best.
	for _, tc := range []struct{ name, want string }{{"usb2.0", "video0"}, {"C920", "video2"}, {"Logitech", "video2"}} {
		c, err := openWith(d.open, Options{Dir: dir, Name: tc.name})
		if err != nil {
			t.Fatal(err)
		}
		if got := filepath.Base(c.Info().Path); got != tc.want {
			t.Errorf("Name %q: opened %s, want %s", tc.name, got, tc.want)
		}
		c.Close()
	}

	infos, err := scanWith(d.open, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, i := range infos {
		paths = append(paths, filepath.Base(i.Path)+":"+i.Mode)
	}
	if got, want := strings.Join(paths, " "), "video0:YUYV 640x480@30 video2:H264 1280x720@30 video4:"; got != want {
		t.Errorf("scan found %q, want %q (metadata nodes left out)", got, want)
	}
}

func TestUnusableCamera(t *testing.T) {
	d := devs{"video0": load(t, "ir-grey.v4l2"), "video1": header(metaNode)}
	dir := d.dir(t)
	_, err := openWith(d.inDir(dir).open, Options{Dir: dir})
	if !errors.Is(err, ErrNoUsableFormat) {
		t.Fatalf("open: %v, want ErrNoUsableFormat", err)
	}
	for _, want := range []string{"Integrated IR Camera", "GREY (8-bit Greyscale) 640x360", "Y16 (16-bit Greyscale)", "H.264, MJPEG or YUYV"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestMissingDevices(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		opts Options
		is   error
		says string
	}{
		{"no video nodes", Options{Dir: empty}, ErrNoCamera, "no camera found in " + empty},
		{"only a metadata node", Options{Dir: devs{"video1": header(metaNode)}.dir(t)}, ErrNoCamera, "no camera found"},
		{"no such directory", Options{Dir: filepath.Join(empty, "nope")}, os.ErrNotExist, "scan cameras"},
		{"fixed path gone", Options{Path: filepath.Join(empty, "video7")}, os.ErrNotExist, "video7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := devs{"video1": header(metaNode)}.inDir(tc.opts.Dir)
			_, err := openWith(d.open, tc.opts)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("open: %v, want %v saying %q", err, tc.is, tc.says)
			}
		})
	}
}

// openFixture opens a testdata fixture as the only camera.
func openFixture(t testing.TB, name string) (*Camera, *fixture, *replay) {
	t.Helper()
	fx := load(t, name)
	var r *replay
	c, err := openWith(func(string) (device, error) { r = newReplay(fx, false); return r, nil }, Options{Path: fx.Path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, fx, r
}

func TestH264Passthrough(t *testing.T) {
	c, fx, r := openFixture(t, "uvc-h264-720p.v4l2.gz")
	ctx := context.Background()
	var keys []bool
	for i := range fx.frames {
		if i == 3 {
			c.RequestKeyframe()
		}
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if &f.Data[0] != &fx.frames[i].Data[0] || len(f.Data) != len(fx.frames[i].Data) {
			t.Errorf("frame %d was copied or cut: H.264 must pass through as the driver filled it", i)
		}
		if want := fx.frames[i].Timestamp; f.Timestamp != want {
			t.Errorf("frame %d at %v, want %v", i, f.Timestamp, want)
		}
		keys = append(keys, f.Keyframe)
	}
	if want := []bool{true, false, false, false, true, false}; !equal(keys, want) {
		t.Errorf("keyframes %v, want %v", keys, want)
	}
	if r.keyReqs != 1 {
		t.Errorf("the camera was asked for %d keyframes, want 1", r.keyReqs)
	}
	if st := c.Stats(); st.Frames != 6 || st.Dropped != 0 || st.KeyframeRequests != 1 || st.KeyframeFailures != 0 {
		t.Errorf("stats %+v", st)
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPartialFramesAreDropped(t *testing.T) {
	c, fx, _ := openFixture(t, "uvc-yuyv-720p.v4l2.gz")
	var seqs []int
	for {
		f, err := c.Next(context.Background())
		if errors.Is(err, camera.ErrUnplugged) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Data) != 1280*720*2 {
			t.Fatalf("frame of %d bytes passed on, want whole 720p YUYV frames", len(f.Data))
		}
		for i, ff := range fx.frames {
			if bytes.Equal(ff.Data, f.Data) {
				seqs = append(seqs, i)
			}
		}
	}
	if got, want := seqs, []int{0, 1, 3, 5}; len(got) != len(want) || got[0] != 0 || got[2] != 3 || got[3] != 5 {
		t.Errorf("passed on frames %v, want %v (2 is cut short, 4 flagged)", got, want)
	}
	if st := c.Stats(); st.Dropped != 2 || st.Frames != 4 {
		t.Errorf("stats %+v, want 4 frames and 2 dropped", st)
	}
}

func TestUnplugMidStream(t *testing.T) {
	c, fx, _ := openFixture(t, "uvc-mjpeg-720p.v4l2")
	for range fx.frames {
		if _, err := c.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Status(); !st.Present {
		t.Fatalf("status before the unplug: %+v", st)
	}
	_, err := c.Next(context.Background())
	if !errors.Is(err, camera.ErrUnplugged) {
		t.Fatalf("Next after the cable was pulled: %v, want ErrUnplugged", err)
	}
	if st := c.Status(); st.Present || st.Error != UnpluggedMessage {
		t.Errorf("status after the unplug: %+v, want not present, %q", st, UnpluggedMessage)
	}
	if err := c.Close(); err != nil {
		t.Errorf("close after unplug: %v", err)
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Next after Close: %v, want os.ErrClosed", err)
	}
}

func TestCloseWakesNext(t *testing.T) {
	fx := load(t, "uvc-mjpeg-720p.v4l2")
	r := newReplay(fx, false)
	r.end = nil // a camera that stops sending without going away
	c, err := openWith(func(string) (device, error) { return r, nil }, Options{Path: fx.Path})
	if err != nil {
		t.Fatal(err)
	}
	for range fx.frames {
		if _, err := c.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error)
	go func() { _, err := c.Next(context.Background()); done <- err }()
	c.Close()
	if err := <-done; !errors.Is(err, os.ErrClosed) {
		t.Errorf("blocked Next after Close: %v, want os.ErrClosed", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c2, _ := openWith(func(string) (device, error) { r := newReplay(fx, false); r.end = nil; return r, nil }, Options{Path: fx.Path})
	defer c2.Close()
	for range fx.frames {
		c2.Next(context.Background())
	}
	if _, err := c2.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: %v", err)
	}
}

func TestKeyframeRequestUnsupported(t *testing.T) {
	fx := load(t, "uvc-h264-720p.v4l2.gz")
	fx.Keyframe = nil // this camera has neither the control nor the unit
	c, err := openWith(func(string) (device, error) { return newReplay(fx, false), nil }, Options{Path: fx.Path})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.RequestKeyframe()
	c.RequestKeyframe()
	if st := c.Stats(); st.KeyframeRequests != 2 || st.KeyframeFailures != 2 {
		t.Errorf("stats %+v, want 2 requests, both failed", st)
	}
	if st := c.Status(); !st.Present || st.Error != "" {
		t.Errorf("a camera that cannot force keyframes still streams: status %+v", st)
	}
}

func TestIsIDR(t *testing.T) {
	for _, tc := range []struct {
		name string
		au   []byte
		want bool
	}{
		{"SPS PPS IDR", []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 0x88}, true},
		{"P slice", []byte{0, 0, 0, 1, 0x41, 0x9a, 0, 0, 1, 0x65}, false},
		{"SEI then IDR, 3-byte start codes", []byte{0, 0, 1, 0x06, 5, 1, 0, 0, 1, 0x25, 0xb8}, true},
		{"empty", nil, false},
		{"no start code", []byte{0x65, 0x65, 0x65, 0x65}, false},
	} {
		if got := isIDR(tc.au); got != tc.want {
			t.Errorf("%s: isIDR = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	src := load(t, "uvc-h264-720p.v4l2.gz")
	src.Keyframe = &fixtureKeyReq{Method: "control"}
	d := devs{"video2": src}
	dir := d.dir(t)
	var out bytes.Buffer
	info, err := record(context.Background(), d.inDir(dir).open, RecordOptions{Options: Options{Dir: dir}, Frames: 4, KeyframeAt: 2, Source: "test"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode != "H264 1280x720@30" || info.Name != "HD Pro Webcam C920" {
		t.Errorf("recorded %+v", info)
	}
	got, err := parseFixture(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.frames) != 4 || got.Negotiated != src.Negotiated || got.Interval != src.Interval || got.Source != "test" {
		t.Errorf("recording has %d frames, negotiated %+v at %v", len(got.frames), got.Negotiated, got.Interval)
	}
	if got.Keyframe == nil || got.Keyframe.Method != "control" || got.Keyframe.BeforeFrame != 2 {
		t.Errorf("keyframe request recorded as %+v", got.Keyframe)
	}
	for i, f := range got.frames {
		if !bytes.Equal(f.Data, src.frames[i].Data) || f.Flags != src.frames[i].Flags {
			t.Errorf("frame %d differs from what the camera sent", i)
		}
	}
	// The recording opens like the camera it came from.
	c, err := openWith(func(string) (device, error) { return newReplay(got, false), nil }, Options{Path: "/dev/video2"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if i := c.Info(); i.Format != camera.H264 || i.Width != 1280 {
		t.Errorf("replayed recording: %+v", i)
	}
}

func TestParseFixtureErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "uvc-mjpeg-720p.v4l2"))
	if err != nil {
		t.Fatal(err)
	}
	nl := bytes.IndexByte(good, '\n')
	for _, tc := range []struct {
		name string
		b    []byte
		says string
	}{
		{"empty", nil, "no header line"},
		{"wrong format", []byte(`{"format":"roomkit-evdev/1"}` + "\n"), `format "roomkit-evdev/1"`},
		{"not JSON", []byte("hello\n"), "header"},
		{"truncated frame", good[:len(good)-100], "left in the file"},
		{"stray bytes", append(good[:nl+1:nl+1], 1, 2, 3), "stray bytes"},
	} {
		if _, err := parseFixture(tc.b); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.says)
		}
	}
}

func FuzzParseFixture(f *testing.F) {
	for _, name := range []string{"uvc-mjpeg-720p.v4l2", "ir-grey.v4l2", "uvc-mjpeg-stalled.v4l2"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 4096)])
		f.Add(b[:bytes.IndexByte(b, '\n')+1]) // the header alone: a camera without frames
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fx, err := parseFixture(b)
		if err != nil {
			return
		}
		// Whatever parses must open or fail cleanly, never panic.
		c, err := openWith(func(string) (device, error) { return newReplay(fx, false), nil }, Options{Path: "/dev/video0"})
		if err == nil {
			// Ended already, so that waiting on a camera that fell silent
			// ("ends":"stalled") returns at once; recorded frames still come.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			for range 3 {
				if _, err := c.Next(ctx); err != nil {
					break
				}
			}
			c.Close()
		}
	})
}

// The recording of vivid from the test kernel replays as the camera it
// was: kernel-true answers, and frames that convert to its colour bars.
func TestVividRecording(t *testing.T) {
	c, fx, _ := openFixture(t, "vivid-yuyv-720p.v4l2.gz")
	want := camera.Info{Name: "vivid", Path: "/dev/video0", Format: camera.YUYV, Width: 1280, Height: 720, FPS: 30}
	if got := c.Info(); got != want {
		t.Fatalf("opened %+v, want %+v", got, want)
	}
	if fx.Negotiated.BytesPerLine != 2560 || fx.Negotiated.SizeImage != 1280*720*2 {
		t.Errorf("vivid negotiated %+v, want 2560 bytes per line, no padding", fx.Negotiated)
	}
	var conv camera.Converter
	for i := range fx.frames {
		f, err := c.Next(context.Background())
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		i420, err := conv.I420(f, c.Info())
		if err != nil {
			t.Fatal(err)
		}
		if err := checkBars(i420, 1280, 720); err != nil {
			t.Errorf("frame %d: %v", i, err)
		}
	}
	// A frame that is not the bars must fail the check, or it proves nothing.
	grey := make([]byte, 1280*720*3/2)
	for i := range grey {
		grey[i] = 128
	}
	if err := checkBars(grey, 1280, 720); err == nil {
		t.Error("checkBars accepts a grey frame")
	}
}

// busyDevice answers S_FMT as V4L2 does while another program streams.
type busyDevice struct{ *replay }

func (busyDevice) setFormat(fourcc, int, int) (pixFormat, error) {
	return pixFormat{}, fmt.Errorf("pix format failed: %w", syscall.EBUSY)
}

func TestCameraInUse(t *testing.T) {
	fx := load(t, "vivid-yuyv-720p.v4l2.gz")
	_, err := openWith(func(string) (device, error) { return busyDevice{newReplay(fx, false)}, nil }, Options{Path: fx.Path})
	if !errors.Is(err, syscall.EBUSY) || !strings.Contains(err.Error(), "/dev/video0 (vivid) is in use by another program") {
		t.Errorf("open of a camera another program streams: %v; want it named and said to be in use", err)
	}
}

// TestStalledCamera: a camera that falls silent gives no error of its own:
// Next waits, and only its context ends the wait. camera.StallWatch is what
// turns that into a failure (drivers/camera/stall_test.go replays the same
// fixture through it).
func TestStalledCamera(t *testing.T) {
	c, fx, _ := openFixture(t, "uvc-mjpeg-stalled.v4l2")
	if fx.Ends != endsStalled || len(fx.frames) != 2 {
		t.Fatalf("fixture ends %q after %d frames", fx.Ends, len(fx.frames))
	}
	for range fx.frames {
		if _, err := c.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := c.Next(ctx); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Next on the silent camera: %v, want the context's end", err)
	}
	if st := c.Status(); !st.Present || st.Error != "" {
		t.Errorf("the silent camera reports %+v: it cannot tell", st)
	}
}

// TestRecordStall: a recording ends, marked, when the camera falls silent,
// and replays as silent.
func TestRecordStall(t *testing.T) {
	src := load(t, "uvc-mjpeg-stalled.v4l2")
	d := devs{"video0": src}
	dir := d.dir(t)
	var out bytes.Buffer
	// The replayed camera never sends a third buffer: however short the
	// limit, the recording can only end one way.
	if _, err := record(context.Background(), d.inDir(dir).open, RecordOptions{Options: Options{Dir: dir}, Frames: 10, StallAfter: 10 * time.Millisecond}, &out); err != nil {
		t.Fatal(err)
	}
	got, err := parseFixture(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got.Ends != endsStalled || len(got.frames) != 2 {
		t.Errorf("recording ends %q after %d frames, want %q after 2", got.Ends, len(got.frames), endsStalled)
	}
	if _, err := parseFixture([]byte(`{"format":"roomkit-v4l2/1","ends":"exploded"}` + "\n")); err == nil || !strings.Contains(err.Error(), `ends "exploded"`) {
		t.Errorf("unknown ending: %v", err)
	}
}
