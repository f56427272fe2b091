package v4l2

import (
	"bytes"
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"roomkit/drivers/camera/cameratest"
)

var update = flag.Bool("update", false, "rewrite the fixtures in testdata")

// Cameras as their ioctls describe them, after real models: what
// VIDIOC_QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES and ENUM_FRAMEINTERVALS say.
var (
	fps30    = []fract{{1, 30}, {1, 24}, {1, 20}, {1, 15}, {1, 10}, {1, 5}}
	uvcCaps  = capability{Driver: "uvcvideo", BusInfo: "usb-0000:00:14.0-2", Caps: capVideoCapture | capStreaming | 0x00200000}
	metaCaps = capability{Driver: "uvcvideo", BusInfo: "usb-0000:00:14.0-2", Caps: capMetaCapture | capStreaming | 0x00200000}

	// An H.264 webcam (Logitech C920 class): YUYV is slow at 720p.
	h264Cam = fixtureHeader{
		Capability: named(uvcCaps, "HD Pro Webcam C920"),
		Formats: []fixtureFmt{
			{formatDesc{fmtYUYV, "YUYV 4:2:2", 0}, sizes([][3]any{{640, 480, fps30}, {1280, 720, fps30[4:]}, {1920, 1080, fps30[5:]}})},
			{formatDesc{fmtH264, "H.264", 1}, sizes([][3]any{{640, 480, fps30}, {1280, 720, fps30}, {1920, 1080, fps30}})},
			{formatDesc{fmtMJPEG, "Motion-JPEG", 1}, sizes([][3]any{{640, 480, fps30}, {1280, 720, fps30}, {1920, 1080, fps30}})},
		},
	}
	// An MJPEG webcam (C270 class): 720p tops, YUYV at 7.5 fps there.
	mjpegCam = fixtureHeader{
		Capability: named(uvcCaps, "UVC Camera (046d:0825)"),
		Formats: []fixtureFmt{
			{formatDesc{fmtYUYV, "YUYV 4:2:2", 0}, sizes([][3]any{{640, 480, fps30}, {1280, 720, []fract{{2, 15}, {1, 5}}}})},
			{formatDesc{fmtMJPEG, "Motion-JPEG", 1}, sizes([][3]any{{640, 480, fps30}, {800, 600, fps30}, {1280, 720, fps30}})},
		},
	}
	// A YUYV-only USB 2 camera: 720p at 10 fps, 640×480 at 30.
	yuyvSlowCam = fixtureHeader{
		Capability: named(uvcCaps, "USB2.0 HD UVC WebCam"),
		Formats: []fixtureFmt{
			{formatDesc{fmtYUYV, "YUYV 4:2:2", 0}, sizes([][3]any{{640, 480, fps30}, {1280, 720, []fract{{1, 10}}}})},
		},
	}
	// A YUYV camera on USB 3 that does 720p at 30.
	yuyvCam = fixtureHeader{
		Capability: named(uvcCaps, "USB3 Video Capture"),
		Formats: []fixtureFmt{
			{formatDesc{fmtYUYV, "YUYV 4:2:2", 0}, sizes([][3]any{{640, 480, fps30}, {1280, 720, fps30}, {1920, 1080, fps30}})},
		},
	}
	// The infrared camera of a Windows Hello laptop: grey only.
	irCam = fixtureHeader{
		Capability: named(uvcCaps, "Integrated IR Camera"),
		Formats: []fixtureFmt{
			{formatDesc{code("GREY"), "8-bit Greyscale", 0}, sizes([][3]any{{640, 360, []fract{{1, 15}}}})},
			{formatDesc{code("Y16 "), "16-bit Greyscale", 0}, sizes([][3]any{{640, 360, []fract{{1, 15}}}})},
		},
	}
	// A capture card with a scaler: any size in a stepwise range (vivid's
	// HDMI input answers so; its default webcam input has discrete sizes,
	// see testdata/vivid-yuyv-720p.v4l2.gz, recorded from the kernel).
	stepwiseCam = fixtureHeader{
		Capability: capability{Driver: "vivid", Card: "vivid", BusInfo: "platform:vivid-000", Caps: capVideoCapture | capStreaming},
		Formats: []fixtureFmt{
			{formatDesc{fmtYUYV, "YUYV 4:2:2", 0}, []fixtureSize{{frameSize{Width: 16, Height: 16, MaxWidth: 4096, MaxHeight: 2160, StepWidth: 2, StepHeight: 2}, []fract{{1, 25}, {1, 30}, {1, 50}}}}},
		},
	}
	// A UVC metadata node: what every UVC camera adds beside its video node.
	metaNode = fixtureHeader{Capability: named(metaCaps, "HD Pro Webcam C920")}
)

func named(c capability, card string) capability { c.Card = card; return c }

func sizes(s [][3]any) []fixtureSize {
	out := make([]fixtureSize, len(s))
	for i, e := range s {
		out[i] = fixtureSize{frameSize: frameSize{Width: e[0].(int), Height: e[1].(int)}, Intervals: e[2].([]fract)}
	}
	return out
}

// negotiated fills in what the driver answers to S_FMT for a mode.
func negotiated(h fixtureHeader, f fourcc, w, hh int, iv fract) fixtureHeader {
	h.Negotiated = pixFormat{PixelFormat: f, Width: w, Height: hh, SizeImage: w * hh * 2}
	if f == fmtYUYV {
		h.Negotiated.BytesPerLine = w * 2
	}
	h.Interval = iv
	h.Format = fixtureFormat
	return h
}

// devs serves fixtures by path, for Open, Scan and record. Each open
// gets a fresh replay; frames end with the device unplugged.
type devs map[string]*fixture

func (d devs) open(path string) (device, error) {
	fx, ok := d[path]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	}
	return newReplay(fx, false), nil
}

// dir makes a directory with empty files named after the fixtures, for
// drivers.Nodes to find.
func (d devs) dir(t testing.TB) string {
	dir := t.TempDir()
	for path := range d {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// inDir rekeys devs by their base name under dir.
func (d devs) inDir(dir string) devs {
	out := devs{}
	for path, fx := range d {
		out[filepath.Join(dir, filepath.Base(path))] = fx
	}
	return out
}

var patternTime = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

// Recorded streams, regenerated with -update. Frames are the test pattern
// of cameratest in the camera's format, 30 fps apart.
func h264Stream(n int) []fixtureFrame {
	enc := cameratest.NewH264(1280, 720)
	i420 := make([]byte, 1280*720*3/2)
	var out []fixtureFrame
	for i := 0; i < n; i++ {
		cameratest.Draw(i420, 1280, 720, i, patternTime.Add(time.Duration(i)*time.Second/30))
		key := i == 0 || i == 4 // frame 4: the camera obeyed a keyframe request
		var flags uint32
		if key {
			flags = bufFlagKeyframe
		}
		out = append(out, fixtureFrame{Sequence: uint32(i), Flags: flags, Timestamp: time.Duration(i) * time.Second / 30, Data: enc.Frame(i420, key)})
	}
	return out
}

func mjpegStream(n int) []fixtureFrame {
	var out []fixtureFrame
	for i := 0; i < n; i++ {
		out = append(out, fixtureFrame{Sequence: uint32(i), Timestamp: time.Duration(i) * time.Second / 30,
			Data: cameratest.JPEG(1280, 720, i, patternTime.Add(time.Duration(i)*time.Second/30), 60)})
	}
	return out
}

// yuyvStream has whole frames, a frame cut short (frame 2) and a frame the
// driver flagged as corrupt (frame 4).
func yuyvStream(n int) []fixtureFrame {
	var out []fixtureFrame
	for i := 0; i < n; i++ {
		buf := make([]byte, 1280*720*2)
		cameratest.DrawYUYV(buf, 1280, 720, i, patternTime.Add(time.Duration(i)*time.Second/30))
		f := fixtureFrame{Sequence: uint32(i), Timestamp: time.Duration(i) * time.Second / 30, Data: buf}
		switch i {
		case 2:
			f.Data = f.Data[:len(f.Data)*2/3]
		case 4:
			f.Flags = bufFlagError
		}
		out = append(out, f)
	}
	return out
}

var fixtureFiles = map[string]func() *fixture{
	"uvc-h264-720p.v4l2.gz": func() *fixture {
		h := negotiated(h264Cam, fmtH264, 1280, 720, fract{1, 30})
		h.Path, h.Source = "/dev/video2", "synthetic: cameratest's pattern in I_PCM H.264, after a C920's answers"
		h.Keyframe = &fixtureKeyReq{BeforeFrame: 3, Method: "uvc-xu"}
		return &fixture{h, h264Stream(6)}
	},
	"uvc-mjpeg-720p.v4l2": func() *fixture {
		h := negotiated(mjpegCam, fmtMJPEG, 1280, 720, fract{1, 30})
		h.Path, h.Source = "/dev/video0", "synthetic: cameratest's pattern as JPEG, after a C270's answers"
		return &fixture{h, mjpegStream(3)}
	},
	"uvc-yuyv-720p.v4l2.gz": func() *fixture {
		h := negotiated(yuyvCam, fmtYUYV, 1280, 720, fract{1, 30})
		h.Path, h.Source = "/dev/video0", "synthetic: cameratest's pattern as YUYV, one frame cut short, one flagged"
		return &fixture{h, yuyvStream(6)}
	},
	// A camera that keeps its stream on and falls silent after two frames,
	// as a UVC camera whose firmware hung does: no error, no buffers.
	"uvc-mjpeg-stalled.v4l2": func() *fixture {
		h := negotiated(mjpegCam, fmtMJPEG, 1280, 720, fract{1, 30})
		h.Path, h.Source = "/dev/video0", "synthetic: cameratest's pattern as JPEG, then silence, after a C270's answers"
		h.Ends = endsStalled
		return &fixture{h, mjpegStream(2)}
	},
	"ir-grey.v4l2": func() *fixture {
		h := negotiated(irCam, code("GREY"), 640, 360, fract{1, 15})
		h.Path, h.Source = "/dev/video2", "synthetic: an infrared camera's answers"
		return &fixture{h, nil}
	},
}

func TestWriteFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata")
	}
	for name, mk := range fixtureFiles {
		fx := mk()
		var b bytes.Buffer
		if err := writeFixtureHeader(&b, fx.fixtureHeader); err != nil {
			t.Fatal(err)
		}
		for _, f := range fx.frames {
			if err := writeFixtureFrame(&b, f); err != nil {
				t.Fatal(err)
			}
		}
		out := b.Bytes()
		if filepath.Ext(name) == ".gz" {
			var z bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
			zw.Write(out)
			zw.Close()
			out = z.Bytes()
		}
		if err := os.WriteFile(filepath.Join("testdata", name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// load reads a fixture from testdata.
func load(t testing.TB, name string) *fixture {
	t.Helper()
	fx, err := loadFixture(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// header makes a frameless fixture of a described camera.
func header(h fixtureHeader) *fixture { h.Format = fixtureFormat; return &fixture{fixtureHeader: h} }
