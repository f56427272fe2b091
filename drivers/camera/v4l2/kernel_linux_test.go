package v4l2

// Tests against the kernel's vivid driver, inside the QEMU test kernel
// (images/kernel/testdevices/smoke.sh). vivid registers, with its default
// parameters, a capture node (/dev/video0, "vivid-000-vid-cap", a webcam
// input with discrete sizes), an output node, two metadata nodes, VBI,
// radio, SDR and touch nodes: only the first is a camera.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"roomkit/drivers/camera"
	"roomkit/drivers/kerneltest"
	"roomkit/internal/clock"
)

const (
	vividNode   = "/dev/video0"
	vividDriver = "/sys/bus/platform/drivers/vivid"
	vividDevice = "vivid.0"
)

func TestKernelVividScan(t *testing.T) {
	kerneltest.Require(t)
	// The nodes vivid made that are not cameras must be there, or skipping
	// them proves nothing.
	for _, n := range []string{"video1", "video2", "video3", "vbi0", "radio0", "swradio0", "v4l-touch0"} {
		if _, err := os.Stat(filepath.Join("/dev", n)); err != nil {
			t.Errorf("vivid's non-camera node: %v", err)
		}
	}
	devs, err := Scan("")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(devs, "", "  ")
	kerneltest.Record(t, "vivid-scan.json", append(js, '\n'))
	if len(devs) != 1 {
		t.Fatalf("scan found %d cameras, want only vivid's capture node (output, metadata, VBI, radio, SDR and touch skipped):\n%s", len(devs), js)
	}
	d := devs[0]
	if d.Path != vividNode || d.Driver != "vivid" || d.Mode != "YUYV 1280x720@30" || d.Unusable != "" {
		t.Errorf("scan found %s (%s, driver %s) streaming %q, want %s (vivid) streaming YUYV 1280x720@30", d.Path, d.Name, d.Driver, d.Mode, vividNode)
	}
	t.Logf("vivid offers %d formats; YUYV sizes %v", len(d.Formats), sizesOf(d, "YUYV"))
}

func sizesOf(d DeviceInfo, fourcc string) []string {
	for _, f := range d.Formats {
		if f.FourCC == fourcc {
			return f.Sizes
		}
	}
	return nil
}

// TestKernelVividRecord records vivid as `roomctl record-camera` would: the
// fixture testdata/vivid-yuyv-720p.v4l2.gz (RECORD=… smoke.sh).
func TestKernelVividRecord(t *testing.T) {
	kerneltest.Require(t)
	var raw bytes.Buffer
	info, err := Record(context.Background(), RecordOptions{Frames: 2, Source: "recorded from vivid in the QEMU test kernel (Linux 6.12, images/kernel/testdevices)"}, &raw)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode != "YUYV 1280x720@30" {
		t.Errorf("recorded mode %q, want YUYV 1280x720@30", info.Mode)
	}
	fx, err := parseFixture(raw.Bytes())
	if err != nil {
		t.Fatalf("the recording does not parse: %v", err)
	}
	if len(fx.frames) != 2 {
		t.Fatalf("recorded %d frames, want 2", len(fx.frames))
	}
	t.Logf("negotiated %+v at %d/%d s", fx.Negotiated, fx.Interval.Num, fx.Interval.Den)
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	kerneltest.Record(t, "vivid-yuyv-720p.v4l2.gz", z.Bytes())
}

// TestKernelVividStream streams vivid's 720p, checks a converted frame
// shows its colour bars, and measures the frame rate and the conversion.
func TestKernelVividStream(t *testing.T) {
	kerneltest.Require(t)
	c, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info := c.Info()
	if info.Path != vividNode || info.Format != camera.YUYV || info.Width != 1280 || info.Height != 720 || info.FPS != 30 {
		t.Fatalf("opened %+v, want %s YUYV 1280x720 at 30 fps", info, vividNode)
	}
	if st := c.Status(); !st.Present || st.Error != "" || !strings.Contains(st.Name, "YUYV 1280x720 at 30 fps") {
		t.Errorf("status %+v", st)
	}

	// One thread converts, so its CPU time is the conversion's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		conv   camera.Converter
		cpu    time.Duration
		n      int
		start  time.Time
		i420   []byte
		lastTS time.Duration
	)
	const frames = 40
	for i := 0; i < frames+1; i++ {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if i == 0 { // the rate is timed from the first frame on
			start = time.Now()
			continue
		}
		if f.Timestamp <= lastTS {
			t.Errorf("frame %d at %v, not after the previous one at %v", i, f.Timestamp, lastTS)
		}
		lastTS = f.Timestamp
		before := threadCPU(t)
		if i420, err = conv.I420(f, info); err != nil {
			t.Fatalf("convert frame %d: %v", i, err)
		}
		cpu += threadCPU(t) - before
		n++
	}
	elapsed := time.Since(start)
	if err := checkBars(i420, info.Width, info.Height); err != nil {
		t.Errorf("the last frame: %v", err)
	}
	st := c.Stats()
	if st.Frames != frames+1 || st.Dropped != 0 {
		t.Errorf("stats %+v, want %d frames and none dropped", st, frames+1)
	}
	t.Logf("MEASURED vivid 1280x720 YUYV: %.1f frames/s in the guest (%d frames in %v, vivid asked for 30); YUYV->I420 %.2f ms CPU per frame",
		float64(n)/elapsed.Seconds(), n, elapsed.Round(time.Millisecond), float64(cpu.Microseconds())/1000/float64(n))
}

// threadCPU is the calling thread's user and system CPU time.
func threadCPU(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestKernelVividBusyAndSizes: a second program cannot take the camera
// while the kit streams, and saying so must be clear; once it is free the
// kit streams another size.
func TestKernelVividBusyAndSizes(t *testing.T) {
	kerneltest.Require(t)
	c, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Options{Prefer1080p: true})
	if err == nil {
		t.Error("a second Open of a streaming camera worked, want an error")
	} else {
		t.Logf("second open: %v", err)
		if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), vividNode) || !strings.Contains(err.Error(), "in use by another program") {
			t.Errorf("second open: %v; want EBUSY, naming %s and saying it is in use", err, vividNode)
		}
	}
	if st := c.Status(); !st.Present {
		t.Errorf("the streaming camera's status after another open failed: %+v", st)
	}
	if _, err := c.Next(context.Background()); err != nil {
		t.Errorf("the streaming camera after another open failed: %v", err)
	}
	c.Close()

	c, err = Open(Options{Prefer1080p: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info := c.Info()
	if info.Format != camera.YUYV || info.Width != 1920 || info.Height != 1080 || info.FPS != 30 {
		t.Fatalf("with Prefer1080p opened %+v, want YUYV 1920x1080 at 30 fps", info)
	}
	f, err := c.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var conv camera.Converter
	i420, err := conv.I420(f, info)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkBars(i420, info.Width, info.Height); err != nil {
		t.Errorf("1080p: %v", err)
	}
}

// TestKernelVividUnplug unbinds vivid from its platform device, which
// removes its nodes the way a USB disconnect removes a UVC camera's, and
// binds it again.
func TestKernelVividUnplug(t *testing.T) {
	kerneltest.Require(t)
	m := NewManager(Options{})
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := m.Next(ctx); err != nil {
		t.Fatalf("before the unplug: %v", err)
	}
	bound := true
	t.Cleanup(func() {
		if !bound {
			os.WriteFile(filepath.Join(vividDriver, "bind"), []byte(vividDevice), 0)
		}
	})
	if err := os.WriteFile(filepath.Join(vividDriver, "unbind"), []byte(vividDevice), 0); err != nil {
		t.Fatalf("unbind vivid: %v", err)
	}
	bound = false
	var err error
	for i := 0; i < 100 && err == nil; i++ { // frames already queued may still come
		_, err = m.Next(ctx)
	}
	t.Logf("Next after the unbind: %v", err)
	if !errors.Is(err, camera.ErrUnplugged) {
		t.Fatalf("Next after vivid was unbound: %v, want ErrUnplugged", err)
	}
	if st := m.Status(); st.Present || st.Error != UnpluggedMessage {
		t.Errorf("status while unbound: %+v, want not present, %q", st, UnpluggedMessage)
	}
	if _, err := os.Stat(vividNode); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after the unbind: %v, want it gone", vividNode, err)
	}
	if _, err := m.Next(ctx); !errors.Is(err, camera.ErrUnplugged) {
		t.Errorf("Next while unbound: %v, want ErrUnplugged at once", err)
	}

	if err := os.WriteFile(filepath.Join(vividDriver, "bind"), []byte(vividDevice), 0); err != nil {
		t.Fatalf("bind vivid: %v", err)
	}
	bound = true
	// The Manager rescans every RescanInterval; the deadline is only
	// there to fail rather than hang.
	var f camera.Frame
	for {
		f, err = m.Next(ctx)
		if !errors.Is(err, camera.ErrUnplugged) {
			break
		}
		if err := clock.Sleep(ctx, 100*time.Millisecond); err != nil {
			t.Fatalf("no camera again after vivid was bound: %v; status %+v", err, m.Status())
		}
	}
	if err != nil {
		t.Fatalf("after the replug: %v", err)
	}
	info := m.Info()
	if st := m.Status(); !st.Present || st.Error != "" {
		t.Errorf("status after the replug: %+v", st)
	}
	var conv camera.Converter
	i420, err := conv.I420(f, info)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkBars(i420, info.Width, info.Height); err != nil {
		t.Errorf("after the replug: %v", err)
	}
	t.Logf("back: %s", describeInfo(info))
}
