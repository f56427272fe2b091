package images

import (
	"bytes"
	"context"
	"crypto/sha256"
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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkit/portal"
	"roomkit/ui/uitest"
)

// The QEMU boot test's firmware and emulator (Debian's ovmf and
// qemu-system-x86, installed by scripts/setup-image.sh).
var (
	ovmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// The portal and the test's control server as the guest sees them:
// QEMU's user network forwards these addresses (and only these) to
// servers on the host's loopback.
// QEMU names each forward after its guest port, so the ports differ.
const (
	guestPortal  = "10.0.2.100"    // port 80
	guestControl = "10.0.2.101:81" // kitprobe's actions and the update's root
)

// probeReport mirrors kitprobe's Report.
type probeReport struct {
	Uptime    float64 `json:"uptime"`
	State     string  `json:"state"`
	UserCode  string  `json:"user_code"`
	RoomName  string  `json:"room_name"`
	RoomdRSS  int     `json:"roomd_rss_kb"`
	RoomdAnon int     `json:"roomd_rss_anon_kb"`
	RoomdFile int     `json:"roomd_rss_file_kb"`
	RoomdDev  int     `json:"roomd_rss_dev_kb"`
	RoomdCPU  float64 `json:"roomd_cpu_s"`
	Root      string  `json:"root"`
	Version   string  `json:"version"`
	BootID    string  `json:"boot_id"`
	Cmdline   string  `json:"cmdline"`
	Error     string  `json:"error"`
	Done      string  `json:"done"`
	ActErr    string  `json:"action_error"`
}

// probeAction mirrors kitprobe's Action.
type probeAction struct {
	ID       string    `json:"id"`
	Root     string    `json:"root,omitempty"`
	SHA256   string    `json:"sha256,omitempty"`
	Testboot bool      `json:"testboot,omitempty"`
	Reboot   bool      `json:"reboot,omitempty"`
	Kexec    bool      `json:"kexec,omitempty"`
	Tap      *probeTap `json:"tap,omitempty"`
	Camera   string    `json:"camera,omitempty"`
	Dump     bool      `json:"dump_roomd,omitempty"`
}

// TestQEMUBoot builds the amd64 image, boots it under QEMU (software
// emulation, UEFI), sees roomd show its pairing code on the framebuffer,
// pairs it with a portal on the host's loopback and sees it ready. Then,
// in the same VM, the A/B update (abUpdate): a second root written through
// gokrazy's update API, trial-booted, and the first root back after the
// next reboot.
func TestQEMUBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU boot test: skipped with -short (it boots a whole kit three times, about four minutes)")
	}
	if err := NeedTools("qemu-system-x86_64", ovmfCode, ovmfVars, "mksquashfs", "mkfs.vfat", "mcopy", "mkfs.ext4", "debugfs", systemdBoot); err != nil {
		t.Skipf("QEMU boot test skipped: %v", err)
	}
	// Beside TestQEMUKit: each guest's emulated CPU is one host thread.
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()

	// The portal, on loopback.
	portalAddr, token := startTestPortal(t, "127.0.0.1:0", "http://"+guestPortal, portal.LiveKit{})

	// The image, with the probe, and the update's root (shared_test.go).
	cfg, _ := sharedAMD64(t, "a")
	cfgB, resB := sharedAMD64(t, "b")
	disk := cfg.Out
	ctl := newControlServer(t, "127.0.0.1:0", map[string]string{"/root-b.squashfs": resB.Root})

	vm := startQEMU(t, ctx, "qemu", dir, disk, restrictedNIC(
		guestfwd{guestPortal + ":80", mustPort(t, portalAddr)},
		guestfwd{guestControl, ctl.port}))
	bootStart := time.Now()

	// roomd starts and shows a pairing code.
	r := vm.waitProbe(t, func(r probeReport) bool { return r.State == "pairing" && r.UserCode != "" })
	t.Logf("pairing screen after %.1fs of guest uptime (%.1fs wall); roomd RSS %d kB (anonymous %d, file %d, of which /dev %d); kernel→init %s",
		r.Uptime, time.Since(bootStart).Seconds(), r.RoomdRSS, r.RoomdAnon, r.RoomdFile, r.RoomdDev, vm.initAt())
	if !strings.Contains(vm.console(), "Run /gokrazy/init as init process") {
		t.Errorf("the serial console does not show gokrazy's init starting:\n%s", tail(vm.console(), 2000))
	}

	// The framebuffer shows roomd's pairing screen. Its code, URL and
	// clock differ from the golden's, so compare the parts that do not:
	// the title and the Reset button.
	pairingGolden := readGolden(t, "pairing-800p.png")
	shot := vm.waitScreen(t, ctx, "pairing", func(img image.Image) bool { return matches(img, pairingGolden, pairingStatic) })
	saveArtifact(t, "qemu-pairing.png", shot)

	// A tap on Reset (usb-tablet → evdev) asks for confirmation; Cancel
	// goes back.
	vm.tap(t, ctx, shot.Bounds(), image.Pt(1150, 740))
	confirmGolden := readGolden(t, "confirm-reset-800p.png")
	whole := []image.Rectangle{confirmGolden.Bounds()}
	confirm := vm.waitScreen(t, ctx, "confirm-reset", func(img image.Image) bool { return matches(img, confirmGolden, whole) })
	saveArtifact(t, "qemu-confirm-reset.png", confirm)
	vm.tap(t, ctx, shot.Bounds(), image.Pt(447, 503))
	vm.waitScreen(t, ctx, "pairing after Cancel", func(img image.Image) bool { return matches(img, pairingGolden, pairingStatic) })

	pairKit(t, ctx, "http://"+portalAddr, token, r.UserCode, "QEMU Room")
	r = vm.waitProbe(t, func(r probeReport) bool { return r.State == "ready" })
	if r.RoomName != "QEMU Room" {
		t.Errorf("roomctl status: room %q, want %q", r.RoomName, "QEMU Room")
	}
	t.Logf("ready after %.1fs of guest uptime; roomd RSS %d kB (anonymous %d, file %d, of which /dev %d); root %s", r.Uptime, r.RoomdRSS, r.RoomdAnon, r.RoomdFile, r.RoomdDev, r.Root)
	// roomd says ready when it has paired; its screen goroutine draws the
	// home screen after that, as fast as the emulated CPU allows.
	home := vm.waitScreen(t, ctx, "the home screen after pairing", func(img image.Image) bool { return !matches(img, pairingGolden, pairingStatic) })
	saveArtifact(t, "qemu-home.png", home)

	abUpdate(t, vm, ctl, r, resB.Root, cfg.Version, cfgB.Version)
}

// abUpdate is the A/B test on a running, paired kit (report ready) that
// booted root A from vda2: the probe writes root B (file rootB, build
// versionB) to the inactive partition through gokrazy's update API,
// requests a trial boot and reboots through the firmware; the kit comes up
// from vda3 with B, still paired. A second reboot, without /update/switch,
// brings back A from vda2.
func abUpdate(t *testing.T, vm *qemu, ctl *controlServer, ready probeReport, rootB, versionA, versionB string) {
	if ready.Root != "vda2" || ready.Version != versionA {
		t.Fatalf("before the update the kit runs %q from %q, want %q from vda2", ready.Version, ready.Root, versionA)
	}
	sum, err := fileSHA256(rootB)
	if err != nil {
		t.Fatal(err)
	}

	// Trial boot: through the firmware (kexec=off), so systemd-boot reads
	// the loader entry that gokrazy's testboot edited.
	start := time.Now()
	ctl.act(probeAction{ID: "update-b", Root: "/root-b.squashfs", SHA256: sum, Testboot: true, Reboot: true})
	r := vm.waitProbe(t, func(r probeReport) bool { return r.Done == "update-b" || r.ActErr != "" })
	if r.ActErr != "" {
		t.Fatalf("the update failed in the guest: %s", r.ActErr)
	}
	written := time.Since(start)
	r = vm.waitProbe(t, func(r probeReport) bool { return r.BootID != "" && r.BootID != ready.BootID })
	if r.Root != "vda3" || r.Version != versionB {
		t.Fatalf("the trial boot runs %q from %q, want %q from vda3 (cmdline %q)", r.Version, r.Root, versionB, r.Cmdline)
	}
	if !strings.Contains(r.Cmdline, "gokrazy.try_boot_inactive=1") {
		t.Errorf("the trial boot's command line lacks testboot's flag: %q", r.Cmdline)
	}
	trial := vm.waitProbe(t, func(r probeReport) bool { return r.State == "ready" })
	if trial.Root != "vda3" || trial.RoomName != ready.RoomName {
		t.Errorf("the trial boot: root %q, room %q; want vda3 and %q (pairing kept in /perm)", trial.Root, trial.RoomName, ready.RoomName)
	}
	t.Logf("A/B: root B written in %.1fs; trial boot on %s: probe at %.1fs of guest uptime, ready at %.1fs (%.1fs wall from the request)",
		written.Seconds(), trial.Root, r.Uptime, trial.Uptime, time.Since(start).Seconds())

	// A reboot without /update/switch: back on A. Through kexec this time,
	// as gokrazy reboots by default: it reads the cmdline.txt that the
	// trial boot rewrote.
	start = time.Now()
	ctl.act(probeAction{ID: "reboot", Reboot: true, Kexec: true})
	if r := vm.waitProbe(t, func(r probeReport) bool { return r.Done == "reboot" || r.ActErr != "" }); r.ActErr != "" {
		t.Fatalf("the reboot failed in the guest: %s", r.ActErr)
	}
	r = vm.waitProbe(t, func(r probeReport) bool { return r.BootID != "" && r.BootID != trial.BootID })
	if r.Root != "vda2" || r.Version != versionA {
		t.Fatalf("after the trial boot the kit runs %q from %q, want %q from vda2 (cmdline %q)", r.Version, r.Root, versionA, r.Cmdline)
	}
	if strings.Contains(r.Cmdline, "try_boot_inactive") {
		t.Errorf("the trial boot's flag outlived it: %q", r.Cmdline)
	}
	back := vm.waitProbe(t, func(r probeReport) bool { return r.State == "ready" })
	if back.RoomName != ready.RoomName {
		t.Errorf("back on A: room %q, want %q", back.RoomName, ready.RoomName)
	}
	how := "the firmware (gokrazy's kexec failed)"
	if strings.Contains(vm.console(), "kexec_core: Starting new kernel") {
		how = "kexec"
	}
	t.Logf("A/B: back on %s through %s: probe at %.1fs of guest uptime, ready at %.1fs (%.1fs wall from the request)",
		back.Root, how, r.Uptime, back.Uptime, time.Since(start).Seconds())
}

// startTestPortal serves a portal with meetings on lk (none when lk.URL
// is empty) on listen until t ends, known to kits as url. It returns its
// address and an admin API token.
func startTestPortal(t *testing.T, listen, url string, lk portal.LiveKit) (addr, apiToken string) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := portal.New(portal.Config{DataDir: filepath.Join(t.TempDir(), "portal"), URL: url, LiveKit: lk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	if apiToken, err = srv.CreateAPIToken("qemu-test"); err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String(), apiToken
}

func mustPort(t *testing.T, addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pairKit approves the kit's user code through the admin REST API, as IT
// would in the admin center, and returns the room's ID (the kit's
// identity in meetings).
func pairKit(t *testing.T, ctx context.Context, portalURL, apiToken, code, name string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"user_code": code, "name": name, "location": "Test rack"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, portalURL+"/api/v1/admin/pairings", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apiToken)
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
	var paired struct {
		Room struct {
			ID string `json:"id"`
		} `json:"room"`
	}
	if err := json.Unmarshal(answer, &paired); err != nil || paired.Room.ID == "" {
		t.Fatalf("pairing: no room ID in %s (%v)", answer, err)
	}
	return paired.Room.ID
}

// controlServer is the test's side of the probe's actions: it hands out
// one action at a time and serves the files they name.
type controlServer struct {
	port    int
	pending chan probeAction

	mu     sync.Mutex
	served map[string]time.Time // when each file's last request came in (the update test times pushes)
}

// servedAt is when path was last requested; zero: never.
func (c *controlServer) servedAt(path string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.served[path]
}

func newControlServer(t *testing.T, addr string, files map[string]string) *controlServer {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &controlServer{port: ln.Addr().(*net.TCPAddr).Port, pending: make(chan probeAction, 1), served: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /action", func(w http.ResponseWriter, r *http.Request) {
		select {
		case a := <-c.pending:
			json.NewEncoder(w).Encode(a)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	for path, file := range files {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			c.mu.Lock()
			c.served[path] = time.Now()
			c.mu.Unlock()
			http.ServeFile(w, r, file)
		})
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return c
}

// act queues a for the probe, which takes it within a second or so.
func (c *controlServer) act(a probeAction) { c.pending <- a }

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// qemuKernelArgs go on the command line of every image these tests boot
// under emulation. no_timer_check: at boot the kernel checks that the
// IO-APIC timer ticks within a busy-wait; under TCG on a loaded host the
// emulated ticks come late, the check fails, and the kernel panics ("IO-APIC
// + timer doesn't work!", seen in a trial boot of TestQEMUUpdate at load
// 10). Virtual machines' kernels commonly skip the check; a kit's real
// hardware passes it, so the images themselves keep it.
var qemuKernelArgs = []string{"no_timer_check"}

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
	probeSeen int    // bytes of probeLog that waitProbe has consumed
	qmpSocket string
	exited    chan error
}

// guestfwd makes a host loopback port reachable from the guest at
// guestAddr (ip:port).
type guestfwd struct {
	guestAddr string
	hostPort  int
}

// restrictedNIC is a user-mode network with no way out but the forwards:
// restrict=on cuts the guest off from the host and the outside; each
// guestfwd reaches one loopback port.
func restrictedNIC(fwds ...guestfwd) string {
	nic := "user,restrict=on,model=virtio-net-pci"
	for _, f := range fwds {
		nic += fmt.Sprintf(",guestfwd=tcp:%s-tcp:127.0.0.1:%d", f.guestAddr, f.hostPort)
	}
	return nic
}

// startQEMU boots disk with the network nic (a -nic argument) and, after
// the USB tablet, the further devices (QEMU arguments).
// Its serial logs become the artifacts NAME-console.log and NAME-probe.log.
func startQEMU(t *testing.T, ctx context.Context, name, dir, disk, nic string, devices ...string) *qemu {
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
	args := []string{
		// One CPU: with two, multi-threaded TCG now and then misses the
		// kernel's live code patching at boot (an int3 oops in
		// sched_clock_cpu, "Fatal exception in interrupt"), with the
		// stock kernel and the test kernel alike.
		"-machine", "q35", "-accel", "tcg", "-m", "1024", "-smp", "1",
		"-drive", "if=pflash,format=raw,readonly=on,file=" + ovmfCode,
		"-drive", "if=pflash,format=raw,file=" + vars,
		"-drive", "file=" + disk + ",format=raw,if=virtio",
		"-nic", nic,
		"-device", "qemu-xhci", "-device", "usb-tablet",
	}
	args = append(args, devices...)
	args = append(args,
		"-vga", "std", "-display", "none",
		"-serial", "file:"+vm.serial, "-serial", "file:"+vm.probeLog,
		"-qmp", "unix:"+vm.qmpSocket+",server=on,wait=off",
		// Reboots reset the machine (the A/B test reboots the guest);
		// waitProbe watches the console for panics instead of -no-reboot.
		"-monitor", "none",
	)
	vm.cmd = exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	var stderr bytes.Buffer
	vm.cmd.Stderr = &stderr
	if err := vm.cmd.Start(); err != nil {
		t.Fatalf("start QEMU: %v", err)
	}
	go func() { vm.exited <- vm.cmd.Wait() }()
	t.Cleanup(func() {
		vm.cmd.Process.Kill()
		<-vm.exited
		saveArtifactBytes(t, name+"-console.log", []byte(vm.console()))
		probeLog, _ := os.ReadFile(vm.probeLog)
		saveArtifactBytes(t, name+"-probe.log", probeLog)
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

// waitProbe waits for a probe report, later than the one it last
// returned, that satisfies ok. It gives up when QEMU exits, the guest's
// kernel panics or the test's deadline nears; there is no shorter timeout,
// since software emulation's speed depends on the machine.
// freshProbe waits for a report written after the call.
func (vm *qemu) freshProbe(t *testing.T) probeReport {
	t.Helper()
	b, _ := os.ReadFile(vm.probeLog)
	if i := bytes.LastIndexByte(b, '\n'); i >= vm.probeSeen {
		vm.probeSeen = i + 1 // skip what was reported before
	}
	return vm.waitProbe(t, func(probeReport) bool { return true })
}

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
		if c := vm.console(); strings.Contains(c, "Kernel panic") {
			t.Fatalf("the guest's kernel panicked; last probe report %+v; console:\n%s", last, tail(c, 3000))
		}
		b, _ := os.ReadFile(vm.probeLog)
		for vm.probeSeen < len(b) {
			n := bytes.IndexByte(b[vm.probeSeen:], '\n')
			if n < 0 {
				break // a line still being written
			}
			line := b[vm.probeSeen : vm.probeSeen+n]
			vm.probeSeen += n + 1
			rest, found := bytes.CutPrefix(line, []byte("kitprobe "))
			if !found {
				continue
			}
			var r probeReport
			if json.Unmarshal(rest, &r) != nil {
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
// pairingStatic are the parts of the pairing screen that do not change
// with its code, URL and clock: the title and the Reset button.
var pairingStatic = []image.Rectangle{image.Rect(0, 0, 760, 135), image.Rect(1060, 690, 1240, 790)}

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
	start := time.Now()
	for i := 0; ; i++ {
		img := vm.screendump(t, ctx, filepath.Join(t.TempDir(), "screen.ppm"))
		if ok(img) {
			return img
		}
		if d, has := t.Deadline(); has && time.Until(d) < 30*time.Second {
			name := "qemu-" + strings.ReplaceAll(what, " ", "-") + "-actual.png"
			saveArtifact(t, name, img)
			t.Fatalf("the screen never showed %s: %d screenshots over %s; the last is %s in $ROOMKIT_ARTIFACTS, the serial logs beside it",
				what, i+1, time.Since(start).Round(time.Second), name)
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
