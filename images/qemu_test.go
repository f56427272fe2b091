package images

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roomkit/portal"
	"roomkit/provisioning"
	"roomkit/ui/uitest"
)

// The QEMU boot test's firmware and emulator (Debian's ovmf and
// qemu-system-x86, installed by scripts/setup-image.sh).
var (
	ovmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// The portal as the guest sees it: QEMU's user network forwards this
// address (and only this) to the test's portal on the host's loopback.
const guestPortal = "10.0.2.100"

// probeReport mirrors kitprobe's Report.
type probeReport struct {
	Uptime   float64 `json:"uptime"`
	State    string  `json:"state"`
	UserCode string  `json:"user_code"`
	RoomName string  `json:"room_name"`
	RoomdRSS int     `json:"roomd_rss_kb"`
	Root     string  `json:"root"`
	Error    string  `json:"error"`
}

// TestQEMUBoot builds the amd64 image, boots it under QEMU (software
// emulation, UEFI), sees roomd show its pairing code on the framebuffer,
// pairs it with a portal on the host's loopback and sees it ready.
func TestQEMUBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU boot test: skipped with -short (it boots a whole kit, about two minutes)")
	}
	if err := NeedTools("qemu-system-x86_64", ovmfCode, ovmfVars, "mksquashfs", "mkfs.vfat", "mcopy", "mkfs.ext4", "debugfs", systemdBoot); err != nil {
		t.Skipf("QEMU boot test skipped: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	dir := t.TempDir()

	// The portal, on loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := portal.New(portal.Config{DataDir: filepath.Join(dir, "portal"), URL: "http://" + guestPortal,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	defer srv.Close()
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	token, err := srv.CreateAPIToken("qemu-test")
	if err != nil {
		t.Fatal(err)
	}

	// The image, with the probe.
	probe := filepath.Join(dir, "kitprobe")
	build := exec.Command("go", "build", "-trimpath", "-o", probe, "./internal/kitprobe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build kitprobe: %v\n%s", err, out)
	}
	disk := filepath.Join(dir, "disk.img")
	start := time.Now()
	res, err := Build(ctx, Config{
		Target:   mustTarget(t, "amd64"),
		Repo:     repoRoot(t),
		Out:      disk,
		Settings: provisioning.Settings{PortalURL: "http://" + guestPortal, Label: "QEMU Test Room"},
		Extra:    []Program{{Name: "kitprobe", Path: probe}},
		Version:  "qemu-test",
	}, filepath.Join(dir, "work"))
	if err != nil {
		t.Fatalf("build image: %v", err)
	}
	t.Logf("image built in %.1fs (root squashfs %.1f MB): %v", time.Since(start).Seconds(), float64(res.RootSize)/1e6, res.BuildTimes)

	vm := startQEMU(t, ctx, dir, disk, ln.Addr().(*net.TCPAddr).Port)
	bootStart := time.Now()

	// roomd starts and shows a pairing code.
	r := vm.waitProbe(t, func(r probeReport) bool { return r.State == "pairing" && r.UserCode != "" })
	t.Logf("pairing screen after %.1fs of guest uptime (%.1fs wall); roomd RSS %d kB; kernel→init %s",
		r.Uptime, time.Since(bootStart).Seconds(), r.RoomdRSS, vm.initAt())
	if !strings.Contains(vm.console(), "Run /gokrazy/init as init process") {
		t.Errorf("the serial console does not show gokrazy's init starting:\n%s", tail(vm.console(), 2000))
	}

	// The framebuffer shows roomd's pairing screen. Its code, URL and
	// clock differ from the golden's, so compare the parts that do not:
	// the title and the Reset button.
	pairingGolden := readGolden(t, "pairing-800p.png")
	static := []image.Rectangle{image.Rect(0, 0, 760, 135), image.Rect(1060, 690, 1240, 790)}
	shot := vm.waitScreen(t, ctx, "pairing", func(img image.Image) bool { return matches(img, pairingGolden, static) })
	saveArtifact(t, "qemu-pairing.png", shot)

	// A tap on Reset (usb-tablet → evdev) asks for confirmation; Cancel
	// goes back.
	vm.tap(t, ctx, shot.Bounds(), image.Pt(1150, 740))
	confirmGolden := readGolden(t, "confirm-reset-800p.png")
	whole := []image.Rectangle{confirmGolden.Bounds()}
	confirm := vm.waitScreen(t, ctx, "confirm-reset", func(img image.Image) bool { return matches(img, confirmGolden, whole) })
	saveArtifact(t, "qemu-confirm-reset.png", confirm)
	vm.tap(t, ctx, shot.Bounds(), image.Pt(447, 503))
	shot = vm.waitScreen(t, ctx, "pairing after Cancel", func(img image.Image) bool { return matches(img, pairingGolden, static) })

	// Pair through the admin REST API, as IT would in the admin center.
	body, _ := json.Marshal(map[string]string{"user_code": r.UserCode, "name": "QEMU Room", "location": "Rack 1"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ln.Addr().String()+"/api/v1/admin/pairings", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("pairing: %s: %s", resp.Status, answer)
	}
	r = vm.waitProbe(t, func(r probeReport) bool { return r.State == "ready" })
	if r.RoomName != "QEMU Room" {
		t.Errorf("roomctl status: room %q, want %q", r.RoomName, "QEMU Room")
	}
	t.Logf("ready after %.1fs of guest uptime; roomd RSS %d kB; root %s", r.Uptime, r.RoomdRSS, r.Root)
	home := vm.screendump(t, ctx, filepath.Join(dir, "home.ppm"))
	saveArtifact(t, "qemu-home.png", home)
	if sameImage(shot, home) {
		t.Errorf("the screen did not change from the pairing screen after pairing")
	}
}

func mustTarget(t *testing.T, name string) Target {
	tg, err := LookupTarget(name)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func repoRoot(t testing.TB) string {
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

type qemu struct {
	cmd       *exec.Cmd
	serial    string // the console's log
	probeLog  string // the probe's serial port
	qmpSocket string
	exited    chan error
}

func startQEMU(t *testing.T, ctx context.Context, dir, disk string, portalPort int) *qemu {
	vars := filepath.Join(dir, "vars.fd")
	b, err := os.ReadFile(ovmfVars)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vars, b, 0o644); err != nil {
		t.Fatal(err)
	}
	vm := &qemu{serial: filepath.Join(dir, "console.log"), probeLog: filepath.Join(dir, "probe.log"),
		qmpSocket: filepath.Join(dir, "qmp.sock"), exited: make(chan error, 1)}
	vm.cmd = exec.CommandContext(ctx, "qemu-system-x86_64",
		"-machine", "q35", "-accel", "tcg", "-m", "1024", "-smp", "2",
		"-drive", "if=pflash,format=raw,readonly=on,file="+ovmfCode,
		"-drive", "if=pflash,format=raw,file="+vars,
		"-drive", "file="+disk+",format=raw,if=virtio",
		// No network but the portal: restrict=on cuts the guest off from
		// the host and the outside; guestfwd reaches only the portal.
		"-nic", fmt.Sprintf("user,restrict=on,model=virtio-net-pci,guestfwd=tcp:%s:80-tcp:127.0.0.1:%d", guestPortal, portalPort),
		"-device", "qemu-xhci", "-device", "usb-tablet",
		"-vga", "std", "-display", "none",
		"-serial", "file:"+vm.serial, "-serial", "file:"+vm.probeLog,
		"-qmp", "unix:"+vm.qmpSocket+",server=on,wait=off",
		"-monitor", "none", "-no-reboot",
	)
	var stderr bytes.Buffer
	vm.cmd.Stderr = &stderr
	if err := vm.cmd.Start(); err != nil {
		t.Fatalf("start QEMU: %v", err)
	}
	go func() { vm.exited <- vm.cmd.Wait() }()
	t.Cleanup(func() {
		vm.cmd.Process.Kill()
		<-vm.exited
		saveArtifactBytes(t, "qemu-console.log", []byte(vm.console()))
		if t.Failed() {
			t.Logf("QEMU stderr: %s\nconsole (tail):\n%s", stderr.String(), tail(vm.console(), 4000))
		}
	})
	return vm
}

func (vm *qemu) console() string {
	b, _ := os.ReadFile(vm.serial)
	return string(b)
}

// initAt returns when (kernel time) init started, from the console.
func (vm *qemu) initAt() string {
	for _, line := range strings.Split(vm.console(), "\n") {
		if strings.Contains(line, "Run /gokrazy/init") {
			if i := strings.Index(line, "]"); i > 0 {
				return strings.TrimSpace(strings.TrimPrefix(line[:i], "[")) + "s"
			}
		}
	}
	return "?"
}

// waitProbe waits for a probe report that satisfies ok. It gives up when
// QEMU exits or the test's deadline nears; there is no shorter timeout,
// since software emulation's speed depends on the machine.
func (vm *qemu) waitProbe(t *testing.T, ok func(probeReport) bool) probeReport {
	t.Helper()
	var last probeReport
	for {
		select {
		case err := <-vm.exited:
			vm.exited <- err
			t.Fatalf("QEMU exited (%v); last probe report %+v", err, last)
		case <-time.After(time.Second):
		}
		if d, ok := t.Deadline(); ok && time.Until(d) < 30*time.Second {
			t.Fatalf("gave up near the test deadline; last probe report %+v", last)
		}
		b, _ := os.ReadFile(vm.probeLog)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line, found := strings.CutPrefix(sc.Text(), "kitprobe ")
			if !found {
				continue
			}
			var r probeReport
			if json.Unmarshal([]byte(line), &r) != nil {
				continue
			}
			last = r
			if ok(r) {
				return r
			}
		}
	}
}

// qmp runs one QMP command.
func (vm *qemu) qmp(t *testing.T, ctx context.Context, cmd string, args any) {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", vm.qmpSocket)
	if err != nil {
		t.Fatalf("QMP: %v", err)
	}
	defer c.Close()
	dec := json.NewDecoder(c)
	var greeting map[string]any
	if err := dec.Decode(&greeting); err != nil {
		t.Fatalf("QMP greeting: %v", err)
	}
	for _, m := range []map[string]any{{"execute": "qmp_capabilities"}, {"execute": cmd, "arguments": args}} {
		if err := json.NewEncoder(c).Encode(m); err != nil {
			t.Fatalf("QMP %s: %v", m["execute"], err)
		}
		for {
			var resp map[string]any
			if err := dec.Decode(&resp); err != nil {
				t.Fatalf("QMP %s: %v", m["execute"], err)
			}
			if e, ok := resp["error"]; ok {
				t.Fatalf("QMP %s: %v", m["execute"], e)
			}
			if _, ok := resp["return"]; ok {
				break
			}
		}
	}
}

func (vm *qemu) screendump(t *testing.T, ctx context.Context, path string) image.Image {
	t.Helper()
	vm.qmp(t, ctx, "screendump", map[string]any{"filename": path})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := decodePPM(b)
	if err != nil {
		t.Fatalf("screendump: %v", err)
	}
	return img
}

// decodePPM decodes QEMU's screendump format (binary PPM, maxval 255).
func decodePPM(b []byte) (image.Image, error) {
	var w, h, max int
	r := bytes.NewReader(b)
	if _, err := fmt.Fscanf(r, "P6\n%d %d\n%d\n", &w, &h, &max); err != nil || max != 255 {
		return nil, fmt.Errorf("not a P6 PPM with maxval 255: %v", err)
	}
	pix := b[len(b)-r.Len():]
	if len(pix) < w*h*3 {
		return nil, fmt.Errorf("PPM: %d bytes of pixels, want %d", len(pix), w*h*3)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = pix[3*i], pix[3*i+1], pix[3*i+2], 255
	}
	return img, nil
}

// readGolden reads one of the UI's golden screens.
func readGolden(t *testing.T, name string) image.Image {
	f, err := os.Open(filepath.Join("..", "ui", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

// matches compares the regions of img and golden with the UI goldens'
// tolerances.
func matches(img, golden image.Image, regions []image.Rectangle) bool {
	if img.Bounds() != golden.Bounds() {
		return false
	}
	for _, r := range regions {
		a := img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(r)
		b := golden.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(r)
		differing, total := uitest.Diff(a, b, uitest.DefaultChannelTolerance)
		if float64(differing) > uitest.DefaultMaxFraction*float64(total) {
			return false
		}
	}
	return true
}

// waitScreen takes screenshots until one satisfies ok: the kit redraws
// on its own time. On giving up it saves the last one.
func (vm *qemu) waitScreen(t *testing.T, ctx context.Context, what string, ok func(image.Image) bool) image.Image {
	t.Helper()
	for i := 0; ; i++ {
		img := vm.screendump(t, ctx, filepath.Join(t.TempDir(), "screen.ppm"))
		if ok(img) {
			return img
		}
		if d, has := t.Deadline(); (has && time.Until(d) < 30*time.Second) || i == 300 {
			saveArtifact(t, "qemu-"+strings.ReplaceAll(what, " ", "-")+"-actual.png", img)
			t.Fatalf("the screen never showed %s (last screenshot saved in $ROOMKIT_ARTIFACTS)", what)
		}
		time.Sleep(time.Second)
	}
}

// tap touches the screen at p through QEMU's USB tablet, whose absolute
// axes run from 0 to 0x7fff over the whole screen.
func (vm *qemu) tap(t *testing.T, ctx context.Context, screen image.Rectangle, p image.Point) {
	t.Helper()
	abs := func(axis string, v, size int) map[string]any {
		return map[string]any{"type": "abs", "data": map[string]any{"axis": axis, "value": v * 0x7fff / (size - 1)}}
	}
	btn := func(down bool) map[string]any {
		return map[string]any{"type": "btn", "data": map[string]any{"down": down, "button": "left"}}
	}
	vm.qmp(t, ctx, "input-send-event", map[string]any{"events": []any{abs("x", p.X, screen.Dx()), abs("y", p.Y, screen.Dy()), btn(true)}})
	time.Sleep(100 * time.Millisecond) // a finger stays down for a moment
	vm.qmp(t, ctx, "input-send-event", map[string]any{"events": []any{btn(false)}})
}

func sameImage(a, b image.Image) bool {
	ra, okA := a.(*image.RGBA)
	rb, okB := b.(*image.RGBA)
	return okA && okB && ra.Bounds() == rb.Bounds() && bytes.Equal(ra.Pix, rb.Pix)
}

func saveArtifact(t *testing.T, name string, img image.Image) {
	var buf bytes.Buffer
	png.Encode(&buf, img)
	saveArtifactBytes(t, name, buf.Bytes())
}

// saveArtifactBytes keeps a file for people to look at: in
// $ROOMKIT_ARTIFACTS when set (make test), else nowhere.
func saveArtifactBytes(t *testing.T, name string, b []byte) {
	dir := os.Getenv("ROOMKIT_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Logf("artifact %s: %v", name, err)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
