package images

// The over-the-air update test: a real amd64 kit (the test kernel's
// camera and speakerphone, which the trial compares) in QEMU updates
// itself from a signed repository that a real portal serves, through
// gokrazy's update API, with power cuts (kill -9 of QEMU) at the
// moments that matter. It also measures the update's speed, memory and
// downtime (docs/benchmarks.md, "Updates (issue 13)").
//
// The repository is made with the release tool's binary: this package's
// tests cannot import ota/repo, which imports this package.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkit/appliance"
	"roomkit/appliance/control"
	"roomkit/ota"
	"roomkit/portal"
	"roomkit/portal/sfu"
	"roomkit/settings"
)

var (
	powercutN    = flag.Int("powercut.n", 0, "TestQEMUPowerCut: how many power cuts at random moments of updates (make powercut N=…); 0 skips it")
	otaQuick     = flag.Bool("ota.quick", false, "TestQEMUUpdate: v2 without its five power cuts (to work on the later parts; make test runs them all)")
	powercutSeed = flag.Uint64("powercut.seed", 0, "TestQEMUPowerCut: the random cut times' seed (0: from the clock; the test prints it)")
)

// The kit's timings in the update test: checks every 15 s, a trial boot
// commits after 20 s of health and rolls back when not healthy after 90 s.
var otaRoomdArgs = []string{"-ota-check", "15s", "-ota-settle", "20s", "-ota-deadline", "90s"}

const (
	otaRoomctlPort = 7445             // the probe forwards this guest port to roomd's control API
	otaBallast     = 64 << 20         // random bytes that make v3's root the larger of two sizes
	otaPushPath    = "/push.root"     // the control server's copy of a release root, for gokrazy's own push
	otaTimeout     = 75 * time.Minute // the whole test's context
	otaHostAlias   = "10.0.2.2"       // QEMU's user network: the host's loopback
)

// TestQEMUUpdate: v1 → v2 (committed), v3 (its camera is gone: rolled
// back by itself, the reason in the admin API), v4 (committed), with ten
// or more power cuts between them; then v5 published during a meeting,
// installed only once the meeting ends. It runs in a network namespace
// of its own with LiveKit, like TestQEMUKit.
func TestQEMUUpdate(t *testing.T) {
	otaSkips(t)
	if _, err := sfu.FindBinary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set, so setup should have installed it)", err)
		}
		t.Skipf("QEMU update test skipped: %v", err)
	}
	if os.Getenv(kitNetnsEnv) == "" {
		t.Parallel() // beside the other QEMU tests: each guest is one host thread
		runInNetns(t, otaTimeout+5*time.Minute, fmt.Sprintf("-ota.quick=%t", *otaQuick))
		return
	}
	o := newOTARig(t, otaTimeout)
	o.bootV1("1.1.0", "1.2.0", "1.3.0", "1.4.0")

	// v2: cut twice mid-download, after the download, right after the
	// reboot request that follows testboot, and in the trial boot before
	// init and roomd; then it commits.
	v2 := o.release("1.1.0")
	o.publish(v2)
	if !*otaQuick {
		o.v2Cuts()
	}
	o.waitCommitted("1.1.0")
	o.checkRoom("1.1.0", ota.Healthy, "")
	report := o.v3AndV4()
	o.v5InMeeting()
	report()
}

// v2Cuts cuts the power five times in v2's update.
func (o *otaRig) v2Cuts() {
	o.cutWhen("v2 download ≥ 30 %", o.downloading("1.1.0", 0.3))
	o.expectGood("1.0.0")
	o.cutWhen("v2 download ≥ 70 %", o.downloading("1.1.0", 0.7))
	o.expectGood("1.0.0")
	o.cutWhen("v2 downloaded and verified", o.logged("update downloaded and verified", 0))
	o.expectGood("1.0.0", "1.1.0")
	o.cutWhen("right after testboot, reboot requested", o.rebooting("1.1.0"))
	// No wait for ready: the next boot may be the trial already.
	o.cutWhen("v2 trial boot, before init and roomd", o.trialKernel("1.1.0"))
	o.expectGood("1.0.0", "1.1.0")
}

// v3AndV4: v3 rolls back, v4 commits, with cuts. It returns what reports
// the numbers, for after v5 (whose reboot adds a downtime).
func (o *otaRig) v3AndV4() (report func()) {
	t := o.t
	// v3 is the larger root: the memory's second size. The kit runs v2
	// from the partition its command line does not name until it
	// restarts: it restarts once before downloading (cut there). v3's
	// probe unbinds the camera at start: the trial sees the camera that
	// was there before gone, stays unhealthy and rolls back. Cut in its
	// trial (a trial without a verdict is tried again) and in the reboot
	// that rolls it back.
	v3 := o.release("1.2.0")
	idle3 := o.vm.freshProbe(t)
	o.publish(v3)
	o.cutWhen("v3: the restart before its download", o.nextBoot())
	o.expectGood("1.1.0")
	o.waitUntil("v3 downloaded", 15*time.Minute, o.logged("update downloaded and verified", 0))
	mem3 := o.peakAnon(idle3.RoomdAnon, 0)
	o.cutWhen("v3 trial boot, roomd judging it", o.inTrial("1.2.0"))
	o.expectGood("1.1.0")
	o.cutWhen("v3 rollback, verdict recorded, reboot next", o.logged("trial boot failed", o.mark()))
	o.expectGood("1.1.0")
	o.waitStatus("v3 rolled back", func(s appliance.Status) bool {
		return s.Version == "1.1.0" && s.Update != nil && s.Update.State == ota.RolledBack
	})
	o.checkRoom("1.1.0", ota.RolledBack, "Camera")

	// gokrazy's own push of v4's root, to the partition the agent writes
	// next; then the agent's download of the same root, uncut (speed and
	// the memory's first size); cuts mid-settle, right before and right
	// after the switch.
	v4 := o.release("1.3.0")
	push := o.gokrazyPush(v4)
	idle4 := o.vm.freshProbe(t)
	mark := o.mark()
	pubAt := time.Now()
	o.publish(v4)
	stream := o.agentStream(v4, pubAt, mark)
	mem4 := o.peakAnon(idle4.RoomdAnon, mark)
	o.downtimeInto("1.3.0", mark)
	o.cutWhen("v4 trial, mid-settle", o.settled("1.3.0", 8*time.Second))
	o.expectGood("1.1.0", "1.3.0")
	o.cutWhen("v4 trial, right before the switch", o.settled("1.3.0", 18*time.Second))
	o.expectGood("1.1.0", "1.3.0")
	if st := o.status(); st.Version != "1.3.0" || st.Update == nil || st.Update.State != ota.Healthy {
		o.cutWhen("v4 right after the switch", o.committed("1.3.0"))
		o.expectGood("1.3.0")
	}
	o.waitCommitted("1.3.0")
	o.checkRoom("1.3.0", ota.Healthy, "")

	if n := len(o.cuts); n < 10 {
		t.Errorf("%d power cuts, want at least 10: %q", n, o.cuts)
	}
	t.Logf("power cuts (%d), each followed by a good root and the update finishing: %s", len(o.cuts), strings.Join(o.cuts, "; "))
	return func() { o.report(push, stream, mem4, mem3, v3.size) }
}

// v5InMeeting: a release published while the room meets downloads, but
// the kit installs it only once the meeting is over (the agent says it
// waits for the meeting; the kit stays in it, on v4).
func (o *otaRig) v5InMeeting() {
	t := o.t
	o.rc.run(t, "meet-now")
	o.rc.waitStatus(t, "the meeting", func(s appliance.Status) bool { return s.State == appliance.InMeeting })
	o.publish(o.release("1.4.0"))
	st := o.waitStatus("v5 downloaded, waiting for the meeting", func(s appliance.Status) bool {
		return s.Update != nil && s.Update.TargetVersion == "1.4.0" && strings.Contains(s.Update.Detail, "meeting")
	})
	if st.State != appliance.InMeeting || st.Version != "1.3.0" {
		t.Fatalf("while v5 waits for the meeting the kit is %s on %s, want %s on 1.3.0", st.State, st.Version, appliance.InMeeting)
	}
	t.Logf("v5 during the meeting: %q; the kit stays in the meeting on 1.3.0", st.Update.Detail)
	mark := o.mark()
	o.rc.run(t, "leave")
	o.downtimeInto("1.4.0", mark)
	o.waitCommitted("1.4.0")
	o.checkRoom("1.4.0", ota.Healthy, "")
}

// TestQEMUPowerCut cuts the power N times at random moments of updates
// (-powercut.n; make powercut N=100): after each cut the kit must boot a
// good root, and the update must finish later. Releases alternate between
// two roots, each published under the next version.
//
// A release takes one or two cuts: the first at a random moment after its
// publish, the second at a random moment after the kit is back. Not more:
// a trial boot cut three times is, by design, a release that does not come
// up, and the kit gives it up (docs/ota.md) instead of finishing it.
func TestQEMUPowerCut(t *testing.T) {
	if *powercutN <= 0 {
		t.Skip("power-cut series: run with -powercut.n N (make powercut N=100)")
	}
	otaSkips(t)
	if os.Getenv(kitNetnsEnv) == "" {
		runInNetns(t, 0, fmt.Sprintf("-powercut.n=%d", *powercutN), fmt.Sprintf("-powercut.seed=%d", *powercutSeed))
		return
	}
	seed := *powercutSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := mrand.New(mrand.NewPCG(seed, 0))
	t.Logf("power-cut seed %d (-powercut.seed to repeat)", seed)
	o := newOTARig(t, time.Duration(*powercutN)*15*time.Minute)
	version := func(i int) string { return fmt.Sprintf("2.%d.0", i) }
	o.bootV1(version(1))
	running, cuts, good, finished := "1.0.0", 0, 0, 0
	phases := map[string]int{}
	for i := 1; cuts < *powercutN; i++ {
		v := version(i)
		rel := o.release(v)
		o.build(version(i + 1)) // the next, while this one installs
		o.publish(rel)
		since, inRelease := time.Now(), 0
		for inRelease < 2 && cuts < *powercutN {
			// From a publish to its commit an update here takes two to
			// three minutes, and after a cut what is left of it: cut
			// anywhere in them.
			window := 150 * time.Second
			if inRelease > 0 {
				window = 100 * time.Second
			}
			after := time.Duration(rng.Int64N(int64(window)))
			var phase string
			committed := o.waitUntil(fmt.Sprintf("cut %d at %s", cuts+1, after.Round(time.Second)), 10*time.Minute, func() (bool, bool) {
				st := o.status()
				if st.Version == v && installed(st.Update, v) {
					return true, true
				}
				phase = updatePhase(st, v)
				return time.Since(since) >= after, false
			})
			if committed {
				t.Logf("%s committed before the cut at %s", v, after.Round(time.Second))
				break
			}
			cuts++
			inRelease++
			phases[phase]++
			o.cut(fmt.Sprintf("%s at %s, %s", v, after.Round(time.Second), phase))
			if r := o.expectGood(running, v); r.Version == running || r.Version == v {
				good++
			}
			since = time.Now()
		}
		o.waitCommitted(v)
		finished += inRelease
		running = v
		t.Logf("so far: %d cuts, %d booted a good root, %d finished the update later", cuts, good, finished)
	}
	var where []string
	for p, n := range phases {
		where = append(where, fmt.Sprintf("%d %s", n, p))
	}
	sort.Strings(where)
	t.Logf("where the cuts fell: %s", strings.Join(where, "; "))
	t.Logf("%d runs: %d booted a good root, %d finished the update later", cuts, good, finished)
	fmt.Printf("%d runs: %d booted a good root, %d finished the update later\n", cuts, good, finished)
}

// updatePhase names the moment of an update that status shows, for the
// power-cut series' tally.
func updatePhase(st appliance.Status, v string) string {
	switch u := st.Update; {
	case st.Version == "":
		return "kit not answering (booting or rebooting)"
	case u == nil || u.State == ota.Idle || u.TargetVersion != v:
		return "before the download"
	case u.State == ota.Downloading:
		tenth := int(u.Progress * 10)
		return fmt.Sprintf("downloading (%d-%d %%)", tenth*10, tenth*10+10)
	case u.State == ota.Installing && strings.Contains(u.Detail, "trial boot"):
		return "trial boot, being judged"
	default:
		return string(u.State)
	}
}

// otaRig is one kit under test, its repository, portal and VM.
type otaRig struct {
	t        *testing.T
	ctx      context.Context
	dir      string
	disk     string
	nic      string
	devices  []string
	vm       *qemu
	boots    int
	ctl      *controlServer
	rc       *roomctlRunner
	release_ string // the roomkit-release binary
	repo     string
	otaRoot  []byte
	portal   string // host URL
	// The portal and the control server as the guest reaches them.
	portalGuest, controlGuest string
	token                     string
	roomID                    string
	targets                   *targetLog
	probe                     string // the kitprobe binary
	ctlToken                  string
	timeServers               []string // the guest's NTP servers

	builds   map[string]chan otaBuild
	building sync.Mutex
	cuts     []string
	downtime []downtime
}

// downtime is one reboot into an update's version: from the agent's
// request to roomd ready (the home screen) on the new version.
type downtime struct {
	version string
	took    time.Duration
}

// status is roomctl status (zero while roomd does not answer).
func (o *otaRig) status() appliance.Status { return o.rc.statusOrZero() }

// downtimeInto measures an uncut reboot into version v's trial: from
// the agent asking for it (roomd's log line after mark, or the status
// saying so, whichever the test sees first) to roomd ready on v (the home
// screen, saved as an artifact).
func (o *otaRig) downtimeInto(v string, mark int) {
	o.t.Helper()
	inLog, inStatus := o.logged("restarting into "+v, mark), o.rebooting(v)
	late := o.waitUntil(v+"'s reboot request", 20*time.Minute, func() (bool, bool) {
		if seen, _ := inLog(); seen {
			return true, false
		}
		return inStatus()
	})
	if late {
		o.t.Fatalf("the kit runs %s already: the test missed the reboot request it measures from", v)
	}
	asked := time.Now()
	o.waitStatus(v+" ready after its reboot", func(s appliance.Status) bool { return s.Version == v && s.State == appliance.Ready })
	d := downtime{v, time.Since(asked)}
	o.downtime = append(o.downtime, d)
	o.t.Logf("downtime into %s: %.1fs from the reboot request to roomd ready on it", d.version, d.took.Seconds())
	saveArtifact(o.t, "ota-home-"+v+".png", o.vm.screendump(o.t, o.ctx, filepath.Join(o.dir, "home.ppm")))
}

// mark is the length of this VM's probe log: what later waits read from.
func (o *otaRig) mark() int {
	b, _ := os.ReadFile(o.vm.probeLog)
	return len(b)
}

type otaBuild struct {
	root string
	size int64
	err  error
	took time.Duration
}

// otaSkips skips the update tests where they cannot run.
func otaSkips(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU update test: skipped with -short (it boots a kit about twenty times)")
	}
	if err := NeedTools("qemu-system-x86_64", ovmfCode, ovmfVars, "mksquashfs", "unsquashfs", "mkfs.vfat", "mcopy", "mkfs.ext4", "debugfs", systemdBoot, "ip"); err != nil {
		t.Skipf("QEMU update test skipped: %v", err)
	}
}

// newOTARig makes the repository, the portal and the tools for one kit.
// In the network namespace of runInNetns the portal has meetings on a
// LiveKit server there.
func newOTARig(t *testing.T, timeout time.Duration) *otaRig {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	dir := t.TempDir()
	o := &otaRig{t: t, ctx: ctx, dir: dir, builds: map[string]chan otaBuild{}}
	var lk portal.LiveKit
	if os.Getenv(kitNetnsEnv) != "" {
		kitNamespace(t)
		srv, err := sfu.Start(ctx, sfu.Options{Dir: filepath.Join(dir, "livekit"), Address: kitNet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Stop() })
		lk = portal.LiveKit{URL: srv.URL, APIKey: srv.APIKey, APISecret: srv.APISecret}
		// The guest's clock: gokrazy's ntp sets it back to the time it
		// saved at the last clean shutdown, so after a power cut it is
		// behind until a time server answers (and updates wait for it).
		startTimeServer(t, "127.0.0.1")
		o.timeServers = []string{otaHostAlias}
	}

	// The release tool, roomctl and the probe, for the host and guest.
	o.release_ = filepath.Join(dir, "roomkit-release")
	roomctl := filepath.Join(dir, "roomctl")
	for bin, pkg := range map[string]string{o.release_: "../cmd/roomkit-release", roomctl: "../cmd/roomctl"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	probe, err := buildKitprobe(dir)
	if err != nil {
		t.Fatal(err)
	}
	o.probe = probe

	// The repository and the portal that serves it.
	o.repo = filepath.Join(dir, "ota")
	o.releaseTool("init", "-repo", o.repo)
	if o.otaRoot, err = os.ReadFile(filepath.Join(o.repo, "metadata", "1.root.json")); err != nil {
		t.Fatal(err)
	}
	addr, token, targets := startOTAPortal(t, o.repo, lk)
	o.portal, o.token, o.targets = "http://"+addr, token, targets
	o.ctl = newControlServer(t, "127.0.0.1:0", map[string]string{otaPushPath: filepath.Join(dir, "push.root")})
	// The guest reaches them through QEMU's user network, whose 10.0.2.2
	// is the host's loopback: each guest connection its own (a guestfwd
	// is one connection that the guest's connections share, which mixes
	// a heartbeat's answer into a metadata download).
	o.portalGuest = fmt.Sprintf("http://%s:%d", otaHostAlias, mustPort(t, addr))
	o.controlGuest = fmt.Sprintf("http://%s:%d", otaHostAlias, o.ctl.port)

	// roomctl's credential, seeded into /perm.
	if o.ctlToken, err = control.NewToken(); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "roomctl-state")
	os.MkdirAll(stateDir, 0o700)
	if err := os.WriteFile(filepath.Join(stateDir, control.TokenFile), []byte(o.ctlToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fwdPort := fl.Addr().(*net.TCPAddr).Port
	fl.Close()
	o.rc = &roomctlRunner{bin: roomctl, addr: fmt.Sprintf("127.0.0.1:%d", fwdPort), state: stateDir}
	o.nic = fmt.Sprintf("user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:%d-:%d", fwdPort, otaRoomctlPort)
	o.devices = []string{
		// The speakerphone (QEMU's USB audio device, played into
		// nothing): the trial compares it with the one before.
		"-device", "usb-audio,id=speaker,audiodev=speaker", "-audiodev", "none,id=speaker",
		// A hung trial boot comes back through the watchdog (gokrazy
		// pings /dev/watchdog; the kernel has the driver built in).
		"-device", "i6300esb", "-action", "watchdog=reset",
	}
	if lk.URL != "" {
		// A meeting's Opus and OpenH264 need AVX (TestQEMUKit says why).
		o.devices = append(o.devices, "-cpu", "max")
	}
	return o
}

// releaseTool runs roomkit-release.
func (o *otaRig) releaseTool(args ...string) {
	o.t.Helper()
	if out, err := exec.Command(o.release_, args...).CombinedOutput(); err != nil {
		o.t.Fatalf("roomkit-release %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// config is the test image of version v.
func (o *otaRig) config(v string) Config {
	probeArgs := []string{"-control", o.controlGuest, "-forward", fmt.Sprintf(":%d", otaRoomctlPort), "-roomd-log"}
	cfg := Config{
		Target:     mustTarget(o.t, kitTestTarget),
		KernelArgs: qemuKernelArgs,
		Repo:       repoRoot(o.t),
		// Plain HTTP to the forwarded portal, allowed for the rig.
		Settings:    settings.Settings{PortalURL: o.portalGuest, Label: "QEMU OTA", AllowPlainHTTP: true},
		RoomdArgs:   otaRoomdArgs,
		OTARoot:     o.otaRoot,
		TimeServers: o.timeServers,
		Version:     v,
		Out:         filepath.Join(o.dir, "build-"+v+".img"),
	}
	if v == "1.2.0" {
		// The release that fails its trial: its camera is gone, and its
		// root is the larger one (a ballast program: the probe with
		// random bytes after its ELF image, which the loader ignores).
		probeArgs = append(probeArgs, "-camera-at-start", "unbind")
		cfg.Extra = append(cfg.Extra, Program{Name: "ballast", Path: o.ballast(), Args: []string{"-out", "/dev/null"}})
	}
	cfg.Extra = append(cfg.Extra, Program{Name: "kitprobe", Path: o.probe, Args: probeArgs})
	return cfg
}

func (o *otaRig) ballast() string {
	path := filepath.Join(o.dir, "ballast")
	b, err := os.ReadFile(o.probe)
	if err != nil {
		o.t.Fatal(err)
	}
	pad := make([]byte, otaBallast)
	rand.Read(pad)
	if err := os.WriteFile(path, append(b, pad...), 0o755); err != nil {
		o.t.Fatal(err)
	}
	return path
}

// build builds version v's image in the background (once); release
// waits for it.
func (o *otaRig) build(v string) chan otaBuild {
	if c, ok := o.builds[v]; ok {
		return c
	}
	cfg := o.config(v)
	c := make(chan otaBuild, 1)
	o.builds[v] = c
	go func() {
		o.building.Lock() // one at a time: two cores
		defer o.building.Unlock()
		start := time.Now()
		res, err := Build(o.ctx, cfg, filepath.Join(o.dir, "work-"+v))
		c <- otaBuild{root: res.Root, size: res.RootSize, err: err, took: time.Since(start)}
	}()
	return c
}

// release waits for version v's build and returns its root squashfs.
func (o *otaRig) release(v string) otaBuild {
	o.t.Helper()
	b := <-o.build(v)
	o.builds[v] <- b // for a second caller
	if b.err != nil {
		o.t.Fatalf("build %s: %v", v, b.err)
	}
	o.t.Logf("release %s built in %.0fs: root %.1f MB", v, b.took.Seconds(), float64(b.size)/1e6)
	return b
}

func (o *otaRig) publish(b otaBuild) {
	o.t.Helper()
	v := versionOf(b.root)
	o.releaseTool("publish", "-repo", o.repo, "-image", b.root, "-version", v, "-target", "amd64", "-channel", "stable")
	o.t.Logf("published %s (%.1f MB)", v, float64(b.size)/1e6)
}

// versionOf is the version a root was built as: its work directory's
// name (work-V/root.squashfs).
func versionOf(root string) string {
	return strings.TrimPrefix(filepath.Base(filepath.Dir(root)), "work-")
}

// bootV1 builds v1 (and starts the other releases' builds), boots it,
// pairs it through the admin API and opens the fleet's update policy:
// every ring, an always-open window.
func (o *otaRig) bootV1(prebuild ...string) {
	t := o.t
	cfg := o.config("1.0.0")
	start := time.Now()
	res, err := Build(o.ctx, cfg, filepath.Join(o.dir, "work-1.0.0"))
	if err != nil {
		t.Fatalf("build v1: %v", err)
	}
	t.Logf("v1 image built in %.0fs (root %.1f MB)", time.Since(start).Seconds(), float64(res.RootSize)/1e6)
	o.disk = cfg.Out
	if err := SeedPerm(o.ctx, o.disk, res.Layout.Perm(), map[string][]byte{"roomkit/" + control.TokenFile: []byte(o.ctlToken + "\n")}); err != nil {
		t.Fatal(err)
	}
	// The releases build one after another while v1 boots.
	for _, v := range prebuild {
		o.build(v)
	}
	o.boot()
	r := o.vm.waitProbe(t, func(r probeReport) bool { return r.State == "pairing" && r.UserCode != "" })
	o.roomID = pairKit(t, o.ctx, o.portal, o.token, r.UserCode, "QEMU OTA Room")
	r = o.vm.waitProbe(t, func(r probeReport) bool { return r.State == "ready" })
	if r.Version != "1.0.0" || r.Root != "vda2" {
		t.Fatalf("v1 runs %q from %s, want 1.0.0 from vda2", r.Version, r.Root)
	}
	st := o.rc.status(t)
	checkDevices(t, st, imageRect1280x800)
	if st.Version != "1.0.0" {
		t.Fatalf("roomctl status: version %q, want 1.0.0 (roomd is built with the image's version)", st.Version)
	}
	o.admin(http.MethodPut, "/api/v1/admin/update-policy/fleet", `{"rings":[100],"window":{"start":"00:00","end":"00:00"}}`, nil)
}

// boot starts QEMU on the kit's disk (again).
func (o *otaRig) boot() {
	o.boots++
	sub := filepath.Join(o.dir, fmt.Sprintf("boot%02d", o.boots))
	os.MkdirAll(sub, 0o755)
	o.vm = startQEMU(o.t, o.ctx, fmt.Sprintf("ota-boot%02d", o.boots), sub, o.disk, o.nic, o.devices...)
}

// cut kills QEMU (kill -9: the guest's caches are lost, as in a power
// cut) and boots the same disk again.
func (o *otaRig) cut(what string) {
	o.vm.cmd.Process.Kill()
	err := <-o.vm.exited
	o.vm.exited <- err
	o.cuts = append(o.cuts, what)
	o.t.Logf("power cut %d: %s (boot %d)", len(o.cuts), what, o.boots)
	o.boot()
}

// cutWhen waits for the moment when says has come and cuts the power
// then.
func (o *otaRig) cutWhen(what string, when func() (bool, bool)) {
	o.t.Helper()
	if late := o.waitUntil(what, 15*time.Minute, when); late {
		what += " (came late: the update had gone further)"
	}
	o.cut(what)
}

// waitUntil polls cond (every 200 ms) until it says done; it returns
// cond's second answer then. It fails the test when QEMU exits, the
// guest's kernel panics or d passes.
func (o *otaRig) waitUntil(what string, d time.Duration, cond func() (done, extra bool)) bool {
	o.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if done, extra := cond(); done {
			return extra
		}
		select {
		case err := <-o.vm.exited:
			o.vm.exited <- err
			o.t.Fatalf("waiting for %s: QEMU exited (%v)", what, err)
		case <-time.After(200 * time.Millisecond):
		}
		if c := o.vm.console(); strings.Contains(c, "Kernel panic") {
			o.t.Fatalf("waiting for %s: the guest's kernel panicked:\n%s", what, tail(c, 3000))
		}
		if time.Now().After(deadline) || o.ctx.Err() != nil {
			b, _ := json.Marshal(o.status())
			o.t.Fatalf("waited %s for %s; roomctl status: %s", d, what, b)
		}
	}
}

// Moments, for cutWhen. Each answers (the moment has come, _).

// downloading: the agent downloads v and has at least share of it; or
// already went further.
func (o *otaRig) downloading(v string, share float64) func() (bool, bool) {
	return o.every(time.Second, func() bool {
		st := o.status()
		u := st.Update
		if u == nil || u.TargetVersion != v {
			return false
		}
		return (u.State == ota.Downloading && u.Progress >= share) || u.State == ota.Installing || u.State == ota.Rebooting
	})
}

// logged: roomd logged msg in this VM's probe log after mark.
func (o *otaRig) logged(msg string, mark int) func() (bool, bool) {
	return func() (bool, bool) { return o.loggedAt(msg, mark) >= 0, false }
}

// loggedAt is where, after mark, the probe log has roomd's line with msg; -1: nowhere yet.
func (o *otaRig) loggedAt(msg string, mark int) int {
	b, _ := os.ReadFile(o.vm.probeLog)
	if mark > len(b) {
		return -1
	}
	for off := mark; off < len(b); {
		n := bytes.IndexByte(b[off:], '\n')
		if n < 0 {
			return -1
		}
		l := b[off : off+n]
		if bytes.HasPrefix(l, []byte("roomd ")) && bytes.Contains(l, []byte(msg)) {
			return off
		}
		off += n + 1
	}
	return -1
}

// rebooting: the agent asked gokrazy for the reboot into v's trial;
// late when the kit runs v already.
func (o *otaRig) rebooting(v string) func() (bool, bool) {
	var last time.Time
	return func() (bool, bool) {
		if time.Since(last) < 300*time.Millisecond {
			return false, false
		}
		last = time.Now()
		st := o.status()
		if u := st.Update; u != nil && u.State == ota.Rebooting && u.TargetVersion == v {
			return true, false
		}
		return st.Version == v, true
	}
}

// trialKernel: the kernel of a trial boot started (its command line
// carries testboot's flag), before init and roomd; late when the kit
// runs v already.
func (o *otaRig) trialKernel(v string) func() (bool, bool) {
	late := o.every(2*time.Second, func() bool { return o.status().Version == v })
	return func() (bool, bool) {
		c := o.vm.console()
		if i := strings.LastIndex(c, "Linux version"); i >= 0 {
			boot := c[i:]
			if strings.Contains(boot, "try_boot_inactive=1") && !strings.Contains(boot, "Run /gokrazy/init") {
				return true, false
			}
		}
		if l, _ := late(); l {
			return true, true
		}
		return false, false
	}
}

// nextBoot: the guest's kernel starts again (a reboot the kit asked for:
// too quick to see reliably through roomctl under emulation).
func (o *otaRig) nextBoot() func() (bool, bool) {
	n := strings.Count(o.vm.console(), "Linux version")
	return func() (bool, bool) { return strings.Count(o.vm.console(), "Linux version") > n, false }
}

// inTrial: roomd runs v on trial (and judges it).
func (o *otaRig) inTrial(v string) func() (bool, bool) {
	return o.every(time.Second, func() bool {
		st := o.status()
		return st.Version == v && st.Update != nil && st.Update.State == ota.Installing && strings.Contains(st.Update.Detail, "trial boot")
	})
}

// settled: v's trial has been healthy for at least d.
func (o *otaRig) settled(v string, d time.Duration) func() (bool, bool) {
	var since time.Time
	return o.every(300*time.Millisecond, func() bool {
		st := o.status()
		if st.Version == v && st.Update != nil && st.Update.State == ota.Healthy {
			return true // late: committed already, a cut after the switch
		}
		if st.Version != v || st.Update == nil || !strings.Contains(st.Update.Detail, "healthy for") {
			return false
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= d-time.Second
	})
}

// committed: v is made permanent (before the kit rebooted).
func (o *otaRig) committed(v string) func() (bool, bool) {
	return o.every(300*time.Millisecond, func() bool {
		st := o.status()
		return st.Version == v && st.Update != nil && st.Update.State == ota.Healthy
	})
}

// every runs an expensive check (roomctl) at most once per d.
func (o *otaRig) every(d time.Duration, f func() bool) func() (bool, bool) {
	var last time.Time
	return func() (bool, bool) {
		if time.Since(last) < d {
			return false, false
		}
		last = time.Now()
		return f(), false
	}
}

// expectGood checks the root the kit comes up on after a cut: one of
// versions, from vda2 or vda3. It judges the first probe report of the new
// boot that names a root, not the first "ready": a kit back on the old root
// after a cut in a trial may install the release again and reboot into a
// new trial before it was ever idle (seen: the test then saw only the
// trial's "ready" and took the new trial for the cut one).
func (o *otaRig) expectGood(versions ...string) probeReport {
	o.t.Helper()
	r := o.vm.waitProbe(o.t, func(r probeReport) bool { return r.Version != "" && r.Root != "" })
	good := false
	for _, v := range versions {
		good = good || r.Version == v
	}
	if !good || (r.Root != "vda2" && r.Root != "vda3") {
		o.t.Fatalf("after power cut %d (%s) the kit runs %q from %s, want one of %q (cmdline %q)", len(o.cuts), o.cuts[len(o.cuts)-1], r.Version, r.Root, versions, r.Cmdline)
	}
	o.t.Logf("after power cut %d: %s from %s (at %.0fs of uptime; roomd %q)", len(o.cuts), r.Version, r.Root, r.Uptime, r.State)
	return r
}

// installed says u reports v installed: healthy, or idle after a later
// boot with v's healthy outcome as the last.
func installed(u *ota.Status, v string) bool {
	if u == nil {
		return false
	}
	return u.State == ota.Healthy || (u.State == ota.Idle && u.Last != nil && u.Last.Version == v && u.Last.Outcome == ota.Healthy)
}

// waitCommitted waits for v to be installed and healthy.
func (o *otaRig) waitCommitted(v string) {
	o.t.Helper()
	o.waitStatus(v+" committed", func(st appliance.Status) bool { return st.Version == v && installed(st.Update, v) })
}

func (o *otaRig) waitStatus(what string, ok func(appliance.Status) bool) appliance.Status {
	o.t.Helper()
	var st appliance.Status
	o.waitUntil(what, 20*time.Minute, o.every(time.Second, func() bool { st = o.status(); return ok(st) }))
	return st
}

// checkRoom checks the admin API's view of the room: version, update
// state and, for a rollback, a reason naming the failed check.
func (o *otaRig) checkRoom(version string, state ota.State, reason string) {
	o.t.Helper()
	var room portal.Room
	deadline := time.Now().Add(2 * time.Minute)
	for {
		o.admin(http.MethodGet, "/api/v1/admin/rooms/"+o.roomID, "", &room)
		// A rollback is the last update's outcome: the state moves on (to
		// checking, idle) at the agent's next check.
		if u := room.Update; room.Version == version && u != nil && (u.State == state ||
			state == ota.Healthy && installed(&u.Status, version) ||
			state == ota.RolledBack && u.Last != nil && u.Last.Outcome == ota.RolledBack) {
			break
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(room)
			o.t.Fatalf("the admin API never showed %s %s: %s", version, state, b)
		}
		time.Sleep(time.Second)
	}
	if reason != "" {
		last := room.Update.Last
		if last == nil || last.Outcome != ota.RolledBack || !strings.Contains(last.Reason, reason) {
			o.t.Errorf("the admin API's last update is %+v, want rolled-back naming %q", last, reason)
		} else {
			o.t.Logf("admin API: %s, %s; last %s %s: %s", room.Version, room.Update.State, last.Version, last.Outcome, last.Reason)
		}
	}
}

// admin calls the portal's admin API.
func (o *otaRig) admin(method, path, body string, out any) {
	o.t.Helper()
	req, _ := http.NewRequestWithContext(o.ctx, method, o.portal+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+o.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		o.t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			o.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// rate is a write's size and duration.
type rate struct {
	bytes int64
	took  time.Duration
}

func (r rate) mbps() float64 { return float64(r.bytes) / 1e6 / r.took.Seconds() }

// gokrazyPush has the probe stream b's root from the host into gokrazy's
// PUT /update/root (what abUpdate does): from the host serving the first
// byte to the probe reporting gokrazy's matching hash.
func (o *otaRig) gokrazyPush(b otaBuild) rate {
	o.t.Helper()
	link := filepath.Join(o.dir, "push.root")
	os.Remove(link)
	if err := os.Symlink(b.root, link); err != nil {
		o.t.Fatal(err)
	}
	sum, err := fileSHA256(b.root)
	if err != nil {
		o.t.Fatal(err)
	}
	o.ctl.act(probeAction{ID: "push", Root: otaPushPath, SHA256: sum})
	var done time.Time
	o.waitUntil("gokrazy's own push", 10*time.Minute, func() (bool, bool) {
		b, _ := os.ReadFile(o.vm.probeLog)
		if bytes.Contains(b, []byte(`"done":"push"`)) {
			done = time.Now()
			return true, false
		}
		if i := bytes.Index(b, []byte(`"action_error":"push`)); i >= 0 {
			o.t.Fatalf("gokrazy's push failed: %s", b[i:min(len(b), i+300)])
		}
		return false, false
	})
	return rate{b.size, done.Sub(o.ctl.servedAt(otaPushPath))}
}

// agentStream times the agent's download of b: from the portal serving
// the target's first byte to roomd's "downloaded and verified" (both
// hashes checked, gokrazy's write synced).
func (o *otaRig) agentStream(b otaBuild, since time.Time, mark int) rate {
	o.t.Helper()
	o.waitUntil("the agent's download of "+versionOf(b.root), 10*time.Minute, o.logged("update downloaded and verified", mark))
	done := time.Now()
	g, ok := o.targets.first(since)
	if !ok {
		o.t.Fatal("the portal served no target")
	}
	if g.rng != "" {
		o.t.Errorf("the timed download was resumed (%s): not a whole stream", g.rng)
	}
	return rate{b.size, done.Sub(g.start)}
}

// peakAnon is roomd's peak anonymous memory in the probe's reports
// from mark to the download's end, above idle (kB).
func (o *otaRig) peakAnon(idle, mark int) int {
	b, _ := os.ReadFile(o.vm.probeLog)
	end := o.loggedAt("update downloaded and verified", mark)
	if end < 0 || mark > len(b) {
		o.t.Fatalf("no download in the probe log after %d", mark)
	}
	peak := idle
	for _, l := range strings.Split(string(b[mark:end]), "\n") {
		rest, ok := strings.CutPrefix(l, "kitprobe ")
		if !ok {
			continue
		}
		var r probeReport
		if json.Unmarshal([]byte(rest), &r) == nil && r.RoomdAnon > peak {
			peak = r.RoomdAnon
		}
	}
	return peak - idle
}

// report prints the numbers (docs/benchmarks.md, "Updates (issue 13)").
func (o *otaRig) report(push, stream rate, memSmall, memLarge int, largeSize int64) {
	ratio := stream.mbps() / push.mbps()
	var b strings.Builder
	fmt.Fprintf(&b, "\n| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| gokrazy's own push (PUT /update/root, probe streaming from the host), %.1f MB root | %.1f s, %.2f MB/s |\n", float64(push.bytes)/1e6, push.took.Seconds(), push.mbps())
	fmt.Fprintf(&b, "| agent: stream + SHA-256 + write + gokrazy's hash, same root | %.1f s, %.2f MB/s |\n", stream.took.Seconds(), stream.mbps())
	fmt.Fprintf(&b, "| ratio agent / push | %.2f |\n", ratio)
	fmt.Fprintf(&b, "| roomd anon RSS, peak during the download above idle, %.0f MB root | %.1f MB |\n", float64(stream.bytes)/1e6, float64(memSmall)/1024)
	fmt.Fprintf(&b, "| roomd anon RSS, peak during the download above idle, %.0f MB root | %.1f MB |\n", float64(largeSize)/1e6, float64(memLarge)/1024)
	for _, d := range o.downtime {
		fmt.Fprintf(&b, "| downtime into %s: reboot request → roomd ready (home screen) on it | %.1f s |\n", d.version, d.took.Seconds())
	}
	o.t.Logf("update numbers (TCG, 1 vCPU):%s", b.String())
	saveArtifactBytes(o.t, "ota-numbers.md", []byte(b.String()))
	if ratio < 0.9 {
		o.t.Logf("the agent's stream is below 0.9 of gokrazy's push (%.2f)", ratio)
	}
	if memSmall > 32<<10 || memLarge > 32<<10 {
		o.t.Errorf("roomd's extra memory during an update: %d kB and %d kB, want < 32 MB", memSmall, memLarge)
	}
}

// imageRect1280x800 is the EFI framebuffer's size in QEMU (std VGA).
var imageRect1280x800 = image.Rect(0, 0, 1280, 800)

// targetLog records the portal's answers for update targets.
type targetLog struct {
	mu   sync.Mutex
	gets []targetGet
}

type targetGet struct {
	path       string
	rng        string
	start, end time.Time
}

// first is the first target request that started after since.
func (l *targetLog) first(since time.Time) (targetGet, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, g := range l.gets {
		if g.start.After(since) {
			return g, true
		}
	}
	return targetGet{}, false
}

// startOTAPortal serves a portal with the repository otaDir at /ota/ and
// meetings on lk (none when lk.URL is empty) on loopback, known to kits
// by QEMU's alias for the host's loopback.
func startOTAPortal(t *testing.T, otaDir string, lk portal.LiveKit) (addr, apiToken string, log *targetLog) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://%s:%d", otaHostAlias, ln.Addr().(*net.TCPAddr).Port)
	srv, err := portal.New(portal.Config{DataDir: filepath.Join(t.TempDir(), "portal"), URL: url, OTADir: otaDir, LiveKit: lk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	log = &targetLog{}
	h := srv.Handler()
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/ota/targets/") {
			h.ServeHTTP(w, r)
			return
		}
		g := targetGet{path: r.URL.Path, rng: r.Header.Get("Range"), start: time.Now()}
		log.mu.Lock()
		i := len(log.gets)
		log.gets = append(log.gets, g)
		log.mu.Unlock()
		h.ServeHTTP(w, r)
		log.mu.Lock()
		log.gets[i].end = time.Now()
		log.mu.Unlock()
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	if apiToken, err = srv.CreateAPIToken("qemu-ota-test"); err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String(), apiToken, log
}
