package images

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"roomkit/appliance"
	"roomkit/appliance/control"
	"roomkit/appliance/meeting/meetingtest"
	"roomkit/drivers"
	"roomkit/portal"
	"roomkit/portal/sfu"
	"roomkit/settings"
)

// The QEMU kit test runs in a network namespace of its own, where the
// portal, LiveKit and the test's control server listen on kitNet. The
// guest reaches that address through QEMU's user network (which makes
// ordinary sockets in the namespace), so WebRTC's UDP flows between the
// kit and LiveKit as on a LAN; the namespace has nothing else to reach.
const (
	kitNet        = "10.99.0.1"
	kitPeer       = "10.99.0.2" // the veth pair's other end
	kitPortal     = kitNet + ":8080"
	kitControl    = kitNet + ":8081" // the probe's actions
	kitNetnsEnv   = "ROOMKIT_KIT_NETNS"
	guestRoomctl  = 7445 // the probe forwards this guest port to roomd's control API
	vividCamera   = "vivid"
	kitTestTarget = "amd64-testdevices"
)

// TestQEMUKit boots the test image (the test kernel's virtual camera,
// sound cards and touch screens) once and drives the whole kit on real
// kernel drivers: roomd's V4L2 driver on vivid, its ALSA driver choosing
// QEMU's USB speakerphone, the EFI framebuffer, taps from QEMU's USB
// tablet and from a uhid multitouch screen, and a meeting through LiveKit
// whose H.264 video decodes to vivid's colour bars. The host drives roomd
// with roomctl through a forwarded port.
func TestQEMUKit(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU kit test: skipped with -short (it boots the test kit and holds a meeting, several minutes)")
	}
	if err := NeedTools("qemu-system-x86_64", ovmfCode, ovmfVars, "mksquashfs", "mkfs.vfat", "mcopy", "mkfs.ext4", "debugfs", systemdBoot, "ip"); err != nil {
		t.Skipf("QEMU kit test skipped: %v", err)
	}
	if _, err := sfu.FindBinary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set, so setup should have installed it)", err)
		}
		t.Skipf("QEMU kit test skipped: %v", err)
	}
	if os.Getenv(kitNetnsEnv) == "" {
		t.Parallel() // beside TestQEMUBoot
		runInNetns(t, 20*time.Minute)
		return
	}
	kitTest(t)
}

// netnsKits lets one runInNetns run at a time.
var netnsKits sync.Mutex

// runInNetns runs the test t again in a child process in a new network
// namespace (a user namespace too when not root), with the given test
// flags, and reports its output. While it runs, the output also goes to
// $ROOMKIT_ARTIFACTS/<test>.log when that is set (make powercut runs for
// hours: follow it there).
func runInNetns(t *testing.T, timeout time.Duration, flags ...string) {
	// One such kit at a time: each brings a guest, a LiveKit server and a
	// portal, and two of them beside the rest of make test starved the
	// kit test's guest until its roomctl leave ran out of time (fresh
	// clone, 2026-12-06). The other QEMU tests still run beside it.
	netnsKits.Lock()
	defer netnsKits.Unlock()
	args := append([]string{"-test.run=^" + t.Name() + "$", "-test.v", "-test.timeout=" + timeout.String()}, flags...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), kitNetnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	var out bytes.Buffer
	var w io.Writer = &out
	if dir := os.Getenv("ROOMKIT_ARTIFACTS"); dir != "" {
		if f, err := os.Create(filepath.Join(dir, t.Name()+".log")); err == nil {
			defer f.Close()
			w = io.MultiWriter(&out, f)
		}
	}
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	t.Logf("%s in its network namespace:\n%s", t.Name(), out.String())
	if err != nil {
		if strings.Contains(err.Error(), "operation not permitted") {
			t.Skipf("%s skipped: no network namespace for it: %v", t.Name(), err)
		}
		t.Fatalf("%s failed: %v", t.Name(), err)
	}
	if strings.Contains(out.String(), "--- SKIP: "+t.Name()) {
		t.Skipf("%s skipped (above)", t.Name())
	}
}

// kitNamespace brings up the namespace's network: loopback, and kitNet on
// one end of a veth pair. Not on lo: WebRTC stacks leave loopback
// interfaces out of their candidates, and the host's test participant
// needs an interface to reach LiveKit from.
func kitNamespace(t *testing.T) {
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "kit0", "type", "veth", "peer", "name", "kit1"},
		{"addr", "add", kitNet + "/24", "dev", "kit0"},
		{"addr", "add", kitPeer + "/24", "dev", "kit1"},
		{"link", "set", "kit0", "up"},
		{"link", "set", "kit1", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}

func kitTest(t *testing.T) {
	kitNamespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	testStart := time.Now()
	dir := t.TempDir()

	// LiveKit and the portal, on the namespace's address.
	lk, err := sfu.Start(ctx, sfu.Options{Dir: filepath.Join(dir, "livekit"), Address: kitNet})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Stop()
	_, apiToken := startTestPortal(t, kitPortal, "http://"+kitPortal,
		portal.LiveKit{URL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret})
	ctl := newControlServer(t, kitControl, nil)

	// The test image, with the probe, and roomctl's credential chosen by
	// the host (roomd keeps a control.token it finds).
	disk, roomctl, stateDir := buildKitImage(t, ctx, dir)

	// The forward for roomctl, on a free port of the namespace's loopback.
	fl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fwdPort := fl.Addr().(*net.TCPAddr).Port
	fl.Close()
	nic := fmt.Sprintf("user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:%d-:%d", fwdPort, guestRoomctl)
	vm := startQEMU(t, ctx, "kit", dir, disk, nic,
		// The bundled Opus and OpenH264 libraries use AVX: QEMU's default
		// CPU model lacks it (roomd dies of SIGILL joining a meeting), so
		// the guest gets every feature TCG emulates.
		"-cpu", "max",
		// The speakerphone: QEMU's USB audio device (playback only),
		// played into nothing.
		"-device", "usb-audio,id=speaker,audiodev=speaker", "-audiodev", "none,id=speaker")
	rc := &roomctlRunner{bin: roomctl, addr: fmt.Sprintf("127.0.0.1:%d", fwdPort), state: stateDir, giveUp: func() {
		ctl.act(probeAction{ID: "dump", Dump: true})
		vm.waitProbe(t, func(r probeReport) bool { return r.Done == "dump" || r.ActErr != "" })
		time.Sleep(5 * time.Second) // for the dump to reach the serial port
	}}

	// The pairing screen on the EFI framebuffer, at its real geometry.
	r := vm.waitProbe(t, func(r probeReport) bool { return r.State == "pairing" && r.UserCode != "" })
	t.Logf("pairing screen after %.1fs of guest uptime (%.1fs wall)", r.Uptime, time.Since(testStart).Seconds())
	pairingGolden := readGolden(t, "pairing-800p.png")
	shot := vm.waitScreen(t, ctx, "pairing", func(img image.Image) bool {
		return matches(img, pairingGolden, pairingStatic)
	})
	saveArtifact(t, "kit-pairing.png", shot)

	// roomd chose the kit's devices among the virtual ones.
	st := rc.status(t)
	checkDevices(t, st, shot.Bounds())

	roomID := pairKit(t, ctx, "http://"+kitPortal, apiToken, r.UserCode, "QEMU Kit Room")
	vm.waitProbe(t, func(r probeReport) bool { return r.State == "ready" })
	// The pairing screen's countdown changes it every second: wait for its
	// title and Reset button to go, not for any change.
	home := vm.waitScreen(t, ctx, "home", func(img image.Image) bool { return !matches(img, pairingGolden, pairingStatic) })
	saveArtifact(t, "kit-home.png", home)

	// A tap on Meet Now from QEMU's USB tablet starts a meeting.
	meetNow := image.Pt(343, 605)
	idle := vm.freshProbe(t)
	tapAt := time.Now()
	vm.tap(t, ctx, home.Bounds(), meetNow)
	changed := vm.waitScreen(t, ctx, "a change after the tap", func(img image.Image) bool { return !sameImage(img, home) })
	tapToScreen := time.Since(tapAt)
	saveArtifact(t, "kit-after-tap.png", changed)
	st = rc.waitStatus(t, "the meeting", func(s appliance.Status) bool {
		return s.State == appliance.InMeeting && s.Meeting != nil && s.Meeting.Connection == "connected"
	})
	tapToMeeting := time.Since(tapAt)
	meetingGolden := readGolden(t, "meeting-0-800p.png")
	inMeeting := vm.waitScreen(t, ctx, "the meeting screen", func(img image.Image) bool {
		return matches(img, meetingGolden, meetingStatic)
	})
	saveArtifact(t, "kit-meeting.png", inMeeting)
	t.Logf("tap on Meet Now: screen changed after %v, in the meeting (connected) after %v", tapToScreen.Round(time.Millisecond), tapToMeeting.Round(time.Millisecond))

	// A participant on the host sees the kit's camera: vivid's colour bars
	// through roomd's encoder, LiveKit and our decoder.
	ada := meetingtest.Join(t, lk.URL, meetingtest.Token(t, lk, st.Meeting.ID, "guest-ada", "Ada"), roomID)
	pic := waitPictures(t, ada, 3)
	saveArtifact(t, "kit-decoded.png", pic)
	if err := meetingtest.CheckBarsOf(pic, vividBars, 40); err != nil {
		t.Errorf("the kit's video does not show vivid's colour bars: %v", err)
	} else if err := meetingtest.CheckBarsOf(pic, vividBars, 8); err != nil {
		t.Logf("decoded bars within 40 of vivid's, not all within 8: %v", err)
	} else {
		t.Logf("decoded bars within 8 of vivid's on Y, Cb and Cr")
	}
	if pic.Rect.Dx() != 1280 || pic.Rect.Dy() != 720 {
		t.Errorf("the kit sends %dx%d video, want 1280x720", pic.Rect.Dx(), pic.Rect.Dy())
	}

	// Per-frame CPU in the guest: roomd's CPU time over pictures decoded
	// by the participant, minus roomd's idle rate.
	before, n0 := vm.freshProbe(t), ada.Stats().Pictures
	time.Sleep(20 * time.Second)
	after, n1 := vm.freshProbe(t), ada.Stats().Pictures
	if n1 > n0 {
		idleRate := idle.RoomdCPU / idle.Uptime
		busy := (after.RoomdCPU - before.RoomdCPU) - idleRate*(after.Uptime-before.Uptime)
		t.Logf("camera → RTP in the guest (TCG): %d pictures in %.1fs of guest time (%.1f fps), %.0f ms of roomd CPU per frame; roomd RSS %d kB",
			n1-n0, after.Uptime-before.Uptime, float64(n1-n0)/(after.Uptime-before.Uptime), 1000*busy/float64(n1-n0), after.RoomdRSS)
	}

	// The camera vanishes mid-meeting: the kit says so, the meeting goes
	// on; it comes back and video flows again.
	ctl.act(probeAction{ID: "camera-unbind", Camera: "unbind"})
	vm.waitProbe(t, func(r probeReport) bool { return r.Done == "camera-unbind" || r.ActErr != "" })
	st = rc.waitStatus(t, "the camera's removal", func(s appliance.Status) bool {
		c := device(s, "camera")
		return c.Kind != "" && !c.Present
	})
	if st.State != appliance.InMeeting {
		t.Errorf("after the camera's removal the kit is %s, want still in the meeting", st.State)
	}
	if c := device(st, "camera"); !strings.Contains(c.Error, "amera") {
		t.Errorf("the camera's status after its removal says %q, want words about the camera", c.Error)
	}
	// The self-view lets go of the last picture: no yellow bar left there.
	gone := vm.waitScreen(t, ctx, "the self-view without the camera", func(img image.Image) bool {
		r, g, b, _ := img.At(selfViewYellow.X, selfViewYellow.Y).RGBA()
		return !(r>>8 > 120 && g>>8 > 120 && b>>8 < 80)
	})
	saveArtifact(t, "kit-camera-gone.png", gone)
	ctl.act(probeAction{ID: "camera-bind", Camera: "bind"})
	rc.waitStatus(t, "the camera's return", func(s appliance.Status) bool {
		c := device(s, "camera")
		return c.Present && strings.Contains(c.Name, vividCamera)
	})
	n := ada.Stats().Pictures
	waitPictures(t, ada, n+3)

	// Leave through roomctl; then a tap on the uhid multitouch screen
	// (hid-multitouch → evdev, another axis range) starts the next one.
	rc.run(t, "leave")
	vm.waitProbe(t, func(r probeReport) bool { return r.State == "ready" })
	home = vm.waitScreen(t, ctx, "home after leaving", func(img image.Image) bool {
		return matches(img, home, []image.Rectangle{image.Rect(0, 500, 1280, 800)})
	})
	ctl.act(probeAction{ID: "uhid-tap", Tap: &probeTap{X: meetNow.X, Y: meetNow.Y, Width: home.Bounds().Dx(), Height: home.Bounds().Dy()}})
	r = vm.waitProbe(t, func(r probeReport) bool { return r.Done == "uhid-tap" || r.ActErr != "" })
	if r.ActErr != "" {
		t.Fatalf("uhid tap: %s", r.ActErr)
	}
	rc.waitStatus(t, "a meeting after the uhid tap", func(s appliance.Status) bool { return s.State == appliance.InMeeting })
	saveArtifact(t, "kit-meeting-uhid.png", vm.waitScreen(t, ctx, "the meeting screen after the uhid tap", func(img image.Image) bool {
		return matches(img, meetingGolden, meetingStatic)
	}))
	st = rc.status(t)
	if in := device(st, "input"); !strings.Contains(in.Name, "RoomKit Test Touchscreen") {
		t.Errorf("roomd's input devices %q lack the uhid touch screen", in.Name)
	}

	// The speakerphone is unplugged mid-meeting (QEMU removes the USB
	// device): the kit says so and the meeting goes on; plugged back in,
	// roomd opens it again. Last, as it leaves a miniaudio thread
	// spinning (drivers/audio/alsa's backend.go).
	vm.qmp(t, ctx, "device_del", map[string]any{"id": "speaker"})
	st = rc.waitStatus(t, "the speakerphone's removal", func(s appliance.Status) bool { return !device(s, "speakerphone").Present })
	if st.State != appliance.InMeeting {
		t.Errorf("after the speakerphone's removal the kit is %s, want still in the meeting", st.State)
	}
	t.Logf("speakerphone unplugged: %q", device(st, "speakerphone").Error)
	saveArtifact(t, "kit-speakerphone-gone.png", vm.screendump(t, ctx, filepath.Join(dir, "gone2.ppm")))
	vm.qmp(t, ctx, "device_add", map[string]any{"driver": "usb-audio", "id": "speaker", "audiodev": "speaker"})
	rc.waitStatus(t, "the speakerphone's return", func(s appliance.Status) bool {
		sp := device(s, "speakerphone")
		return sp.Present && strings.Contains(sp.Name, "USB Audio")
	})

	rc.run(t, "leave")

	// miniaudio's thread of the unplugged speaker usually stays stuck
	// (drivers/audio/alsa's backend.go): then roomd restarts once the
	// meeting is over, and the kit is ready again.
	upBefore := rc.status(t).UptimeSeconds
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if s := rc.statusOrZero(); s.State == appliance.Ready && s.UptimeSeconds < upBefore {
			t.Logf("roomd restarted after the meeting to free the stuck audio thread; ready again, speakerphone %+v", device(s, "speakerphone"))
			break
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("QEMU kit test: %.0fs wall in all", time.Since(testStart).Seconds())
}

// meetingStatic are the parts of the empty meeting's screen (golden
// meeting-0-800p.png) that every meeting shares: the heading and the
// buttons. The meeting ID, link, QR code, self-view, volume and banners
// are each meeting's own.
var meetingStatic = []image.Rectangle{image.Rect(400, 90, 880, 145), image.Rect(0, 700, 360, 800), image.Rect(455, 700, 1280, 800)}

// selfViewYellow is a point of vivid's yellow bar in the meeting screen's
// self-view at 1280x800 (ui's layout: the view's bottom-right corner).
var selfViewYellow = image.Pt(1073, 630)

// probeTap mirrors kitprobe's Tap.
type probeTap struct {
	X      int `json:"X"`
	Y      int `json:"Y"`
	Width  int `json:"Width"`
	Height int `json:"Height"`
}

// buildKitImage builds the test image and seeds roomd's control
// credential; it returns the disk, a host roomctl and a state directory
// holding the same credential for it.
func buildKitImage(t *testing.T, ctx context.Context, dir string) (disk, roomctl, stateDir string) {
	probe, err := buildKitprobe(dir)
	if err != nil {
		t.Fatal(err)
	}
	roomctl = filepath.Join(dir, "roomctl")
	if out, err := exec.Command("go", "build", "-o", roomctl, "../cmd/roomctl").CombinedOutput(); err != nil {
		t.Fatalf("build roomctl: %v\n%s", err, out)
	}
	cfg := Config{
		Target:     mustTarget(t, kitTestTarget),
		KernelArgs: qemuKernelArgs,
		Repo:       repoRoot(t),
		// The test portal serves plain HTTP on the namespace's link, which a
		// kit refuses unless its installer allows it (the screen says so).
		Settings: settings.Settings{PortalURL: "http://" + kitPortal, Label: "QEMU Kit", AllowPlainHTTP: true},
		Extra: []Program{{Name: "kitprobe", Path: probe,
			Args: []string{"-control", "http://" + kitControl, "-forward", fmt.Sprintf(":%d", guestRoomctl), "-roomd-log"}}},
		Version: "qemu-kit-test",
		Out:     filepath.Join(dir, "kit.img"),
	}
	start := time.Now()
	res, err := Build(ctx, cfg, filepath.Join(dir, "work"))
	if err != nil {
		t.Fatalf("build the test image: %v", err)
	}
	t.Logf("test image (%s) built in %.1fs", kitTestTarget, time.Since(start).Seconds())
	token, err := control.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := SeedPerm(ctx, cfg.Out, res.Layout.Perm(), map[string][]byte{"roomkit/" + control.TokenFile: []byte(token + "\n")}); err != nil {
		t.Fatal(err)
	}
	stateDir = filepath.Join(dir, "roomctl-state")
	os.MkdirAll(stateDir, 0o700)
	if err := os.WriteFile(filepath.Join(stateDir, control.TokenFile), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg.Out, roomctl, stateDir
}

// checkDevices checks roomd's choice of devices on the test kernel.
func checkDevices(t *testing.T, st appliance.Status, screen image.Rectangle) {
	t.Helper()
	cam := device(st, "camera")
	if !cam.Present || !strings.Contains(cam.Name, vividCamera) || !strings.Contains(cam.Name, "1280x720") || !strings.Contains(cam.Name, "/dev/video0") {
		t.Errorf("camera: %+v, want vivid's capture node /dev/video0 at 1280x720", cam)
	}
	sp := device(st, "speakerphone")
	if !sp.Present || !strings.Contains(sp.Name, "USB") {
		t.Errorf("speakerphone: %+v, want QEMU's USB audio device (not Dummy or Loopback)", sp)
	}
	disp := device(st, "display")
	if want := fmt.Sprintf("%dx%d", screen.Dx(), screen.Dy()); !disp.Present || !strings.Contains(disp.Name, want) {
		t.Errorf("display: %+v, want the EFI framebuffer at %s (QEMU's screen)", disp, want)
	}
	in := device(st, "input")
	if !in.Present || !strings.Contains(in.Name, "QEMU USB Tablet") {
		t.Errorf("input: %+v, want QEMU's USB tablet", in)
	}
	for _, d := range st.Devices {
		t.Logf("device %s: %s (present %v) %s", d.Kind, d.Name, d.Present, d.Error)
	}
}

// device is st's device of kind; a zero Status when it has none.
func device(st appliance.Status, kind string) drivers.Status {
	for _, d := range st.Devices {
		if d.Kind == kind {
			return d
		}
	}
	return drivers.Status{}
}

// waitPictures waits until p has decoded n pictures of the kit's video
// and returns the last.
func waitPictures(t *testing.T, p *meetingtest.Participant, n int) *image.YCbCr {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for p.Stats().Pictures < n {
		if time.Now().After(deadline) {
			t.Fatalf("waited 2 minutes for %d pictures of the kit's video; got %+v", n, p.Stats())
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, last := p.Pictures()
	return last
}

// vividBars are the Y, Cb, Cr of vivid's default test pattern, 75 %
// colour bars (white, yellow, cyan, green, magenta, red, blue, black),
// as its webcam input sends them in YUYV (BT.601, limited range).
var vividBars = [8][3]byte{
	{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
	{84, 184, 198}, {65, 100, 212}, {35, 212, 114}, {16, 128, 128},
}

// roomctlRunner runs the host's roomctl against the guest's roomd.
type roomctlRunner struct {
	bin, addr, state string
	// giveUp runs before waitStatus fails: the test has the probe dump
	// roomd's goroutines into the artifacts.
	giveUp func()
}

func (r *roomctlRunner) run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(r.bin, append([]string{"-control", r.addr, "-state", r.state}, args...)...).CombinedOutput()
	if err != nil {
		// roomd's goroutines into the probe log: what a command that
		// timed out was waiting for.
		if r.giveUp != nil {
			r.giveUp()
		}
		t.Fatalf("roomctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (r *roomctlRunner) status(t *testing.T) appliance.Status {
	t.Helper()
	var st appliance.Status
	out := r.run(t, "status", "-json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("roomctl status -json: %v\n%s", err, out)
	}
	return st
}

// statusOrZero is roomctl status, or a zero Status while roomd does not
// answer (it is restarting).
func (r *roomctlRunner) statusOrZero() appliance.Status {
	var st appliance.Status
	out, err := exec.Command(r.bin, "-control", r.addr, "-state", r.state, "status", "-json").Output()
	if err == nil {
		json.Unmarshal(out, &st)
	}
	return st
}

// waitStatus polls roomctl status until ok, for at most three minutes
// (a meeting's start under emulation takes tens of seconds).
func (r *roomctlRunner) waitStatus(t *testing.T, what string, ok func(appliance.Status) bool) appliance.Status {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st := r.status(t)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			if r.giveUp != nil {
				r.giveUp()
			}
			b, _ := json.Marshal(st)
			t.Fatalf("waited 3 minutes for %s; roomctl status: %s", what, b)
		}
		time.Sleep(time.Second)
	}
}
