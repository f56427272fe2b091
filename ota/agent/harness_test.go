package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkit/health"
	"roomkit/ota"
	"roomkit/ota/gokrazytest"
)

// fakeClock is the agent's time and its only way to wait in these tests:
// the agent registers one wake-up at a time (After), the test moves time
// to it (Advance). Kicks (a new policy) wake the agent at the same time.
type fakeClock struct {
	mu      sync.Mutex
	cond    *sync.Cond
	now     time.Time
	waiter  *waiter
	kicked  bool
	stopped bool
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{now: t}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiter = nil
	if d <= 0 || c.kicked {
		c.kicked = false
		ch <- c.now
	} else {
		c.waiter = &waiter{c.now.Add(d), ch}
	}
	c.cond.Broadcast()
	return ch
}

func (c *fakeClock) Kick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waiter != nil {
		c.waiter.ch <- c.now
		c.waiter = nil
	} else {
		c.kicked = true
	}
}

// start and stop bracket one agent's Run.
func (c *fakeClock) start() {
	c.mu.Lock()
	c.stopped, c.waiter, c.kicked = false, nil, false
	c.mu.Unlock()
}

func (c *fakeClock) stop() {
	c.mu.Lock()
	c.stopped = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

// settle waits until the agent waits for time to pass (true) or its Run
// ended (false).
func (c *fakeClock) settle(t *testing.T) bool {
	t.Helper()
	timeout := time.AfterFunc(20*time.Second, func() {
		c.mu.Lock()
		c.stopped = true // unblock; reported below
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timeout.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.waiter == nil && !c.stopped {
		c.cond.Wait()
	}
	return c.waiter != nil
}

// Advance moves time by d, waking the agent at each wake-up it asked for
// on the way. It returns early when the agent's Run ends.
func (c *fakeClock) Advance(t *testing.T, d time.Duration) {
	t.Helper()
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for c.settle(t) {
		c.mu.Lock()
		w := c.waiter
		if w.at.After(end) {
			c.now = end
			c.mu.Unlock()
			return
		}
		c.now, c.waiter = w.at, nil
		w.ch <- w.at
		c.mu.Unlock()
	}
}

// fakeHost is the kit: its health, room, meetings.
type fakeHost struct {
	mu       sync.Mutex
	report   health.Report
	busy     string
	loc      *time.Location
	begun    []string
	released int
	// The portal's clock minus the kit's, as the portal link measured
	// it; clockUnknown: not measured yet.
	offset       time.Duration
	clockUnknown bool
}

func healthy(camera, speaker string) health.Report {
	return health.Report{Status: health.OK, Checks: []health.Node{
		{Name: health.NameCamera, Status: health.OK, Detail: camera},
		{Name: health.NameSpeakerphone, Status: health.OK, Detail: speaker},
	}}
}

func noCamera() health.Report {
	return health.Report{Status: health.Failed, Checks: []health.Node{
		{Name: health.NameCamera, Status: health.Failed, Detail: "camera not found"},
		{Name: health.NameSpeakerphone, Status: health.OK, Detail: "Jabra Speak 510"},
	}}
}

func (h *fakeHost) Health(time.Time) health.Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.report
}

func (h *fakeHost) Room() (string, *time.Location, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return "dev-1", h.loc, true
}

func (h *fakeHost) Busy() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.busy
}

func (h *fakeHost) ClockOffset() (time.Duration, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.offset, !h.clockUnknown
}

func (h *fakeHost) BeginUpdate(v string) (func(), bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy != "" {
		return nil, false
	}
	h.begun = append(h.begun, v)
	return func() {
		h.mu.Lock()
		h.released++
		h.mu.Unlock()
	}, true
}

func (h *fakeHost) set(f func(h *fakeHost)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

// fakeRepo is the verified repository, in memory.
type fakeRepo struct {
	mu       sync.Mutex
	kernel   string // of every release
	releases map[string][]byte
	tamper   bool
	fetches  []int64 // offsets asked for
	checks   int
}

func (r *fakeRepo) Latest(_ context.Context, channel, target, floor string) (candidate, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks++
	var vs []string
	for v := range r.releases {
		if ota.Compare(v, floor) > 0 {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return candidate{}, false, nil
	}
	sort.Slice(vs, func(i, j int) bool { return ota.Compare(vs[i], vs[j]) > 0 })
	img := r.releases[vs[0]]
	sum := sha256.Sum256(img)
	return candidate{Release: ota.Release{Version: vs[0], Channels: []string{channel}, Target: target, Kernel: r.kernel},
		Path: ota.TargetPath(vs[0], target), Length: int64(len(img)), SHA256: sum[:], URL: "mem://" + vs[0]}, true, nil
}

func (r *fakeRepo) checkCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checks
}

func (r *fakeRepo) Fetch(_ context.Context, c candidate, offset int64) (io.ReadCloser, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetches = append(r.fetches, offset)
	img := r.releases[c.Release.Version]
	if r.tamper {
		img = bytes.Clone(img)
		img[len(img)/2] ^= 0xff
	}
	return io.NopCloser(bytes.NewReader(img[offset:])), nil
}

// image is a release's root: recognisable by its first line.
func image(version string, size int) []byte {
	b := make([]byte, size)
	copy(b, "roomkit root "+version+"\n")
	for i := 64; i < size; i++ {
		b[i] = byte(i*7 + len(version))
	}
	return b
}

// world is a kit: a fake gokrazy disk, a state dir, the agent of the
// current boot.
type world struct {
	t          *testing.T
	dir        string
	fake       *gokrazytest.Fake
	clock      *fakeClock
	host       *fakeHost
	repo       *fakeRepo
	src        source // nil: repo
	target     string
	kernel     string // the running kernel; releases' Kernel (fakeRepo)
	firstCheck time.Duration
	deadline   time.Duration // the agent's Deadline (0: the default)
	mu         sync.Mutex
	throttled  time.Duration // the download's throttle waited this long
	base       string        // the first root's version
	policy     ota.Policy
	noPolicy   bool             // the portal has not answered with a policy yet
	cut        func(state) bool // power cut after this state write
	agent      *Agent
	cancel     context.CancelFunc
	done       chan error
	rebooted   bool
}

func newWorld(t *testing.T, start time.Time) *world {
	w := &world{
		t:      t,
		dir:    t.TempDir(),
		fake:   gokrazytest.NewFake(t),
		clock:  newClock(start),
		host:   &fakeHost{report: healthy("Logitech BRIO", "Jabra Speak 510")},
		repo:   &fakeRepo{releases: map[string][]byte{"1.1.0": image("1.1.0", 1_500_000)}},
		base:   "1.0.0",
		target: "amd64",
		policy: ota.Policy{Channel: "stable", Window: ota.Window{Start: "01:00", End: "04:00"},
			Allowed: "1.1.0"},
	}
	t.Cleanup(w.stop)
	return w
}

// running is the version of the root the fake booted.
func (w *world) running() string {
	b, err := w.fake.Slot(w.fake.Booted().Running)
	if err != nil || len(b) == 0 {
		return w.base
	}
	var v string
	if _, err := fmt.Sscanf(string(b), "roomkit root %s\n", &v); err != nil {
		return w.base
	}
	return v
}

// boot starts the agent of the running root.
func (w *world) boot() {
	w.t.Helper()
	w.stop()
	a, err := New(Config{Host: w.host, StateDir: w.dir, Target: w.target, Version: w.running(),
		Gokrazy: w.fake.Client(), Log: slog.New(slog.NewTextHandler(testWriter{w.t}, nil)), Deadline: w.deadline,
		OnReboot: func() {}})
	if err != nil {
		w.t.Fatal(err)
	}
	a.src, a.now, a.after, a.wakeHook, a.reconnect = w.repo, w.clock.Now, w.clock.After, w.clock.Kick, 0
	if w.src != nil {
		a.src = w.src
	}
	a.kernel, a.firstCheck = w.kernel, w.firstCheck
	a.sleep = func(d time.Duration) { // the download's throttle: counted, not slept
		w.mu.Lock()
		w.throttled += d
		w.mu.Unlock()
	}
	a.saveEvery = 256 << 10
	if w.cut != nil {
		cut := w.cut
		a.saved = func(s state) error {
			if cut(s) {
				return errPowerCut
			}
			return nil
		}
	}
	w.agent = a
	if !w.noPolicy {
		a.SetPolicy(w.policy)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan error, 1)
	w.clock.start()
	go func() {
		err := a.Run(ctx)
		w.clock.stop()
		w.done <- err
	}()
}

// stop ends the current agent's Run (a process that ends), returning its
// error.
func (w *world) stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	<-w.done
	w.cancel = nil
}

// ended waits for Run to end by itself (a reboot or a power cut).
func (w *world) ended() error {
	w.t.Helper()
	select {
	case err := <-w.done:
		w.cancel()
		w.cancel = nil
		return err
	case <-time.After(20 * time.Second):
		w.t.Fatal("the agent did not stop")
		return nil
	}
}

// trialBoot installs 1.1.0 at an admin's request and reboots into its
// trial; the trial's agent is not started.
func (w *world) trialBoot() {
	w.t.Helper()
	w.policy.InstallNow = "r-1"
	w.boot()
	if err := w.ended(); err != nil {
		w.t.Fatal(err)
	}
	if b := w.fake.Booted(); b.Running == b.Cmdline {
		w.t.Fatalf("not a trial boot: %+v", b)
	}
}

// powerCycle is a new boot of the fake disk (gokrazy's boot rules).
func (w *world) powerCycle() {
	w.t.Helper()
	w.fake.Close()
	f, err := gokrazytest.New(w.fake.Dir)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { f.Close() })
	w.fake = f
}

// report waits until the agent waits, then returns its report.
func (w *world) report() ota.Report {
	w.t.Helper()
	w.clock.settle(w.t)
	return w.agent.Report()
}

func (w *world) calls(path string) int {
	n := 0
	for _, c := range w.fake.Calls() {
		if c == path {
			n++
		}
	}
	return n
}

// drive moves time in steps, booting the agent of whatever root comes
// up after each reboot, until done says so.
func (w *world) drive(done func(ota.Report) bool) ota.Report {
	w.t.Helper()
	for i := 0; i < 500; i++ {
		if w.clock.settle(w.t) {
			if r := w.agent.Report(); done(r) {
				return r
			}
			w.clock.Advance(w.t, 5*time.Second)
			continue
		}
		err := w.ended()
		if err != nil && !errors.Is(err, errPowerCut) {
			w.t.Fatalf("Run: %v", err)
		}
		if errors.Is(err, errPowerCut) {
			w.cut = nil
			w.powerCycle()
		}
		w.boot()
	}
	w.t.Fatalf("not done: %+v", w.agent.Report())
	return ota.Report{}
}

func isState(s ota.State) func(ota.Report) bool {
	return func(r ota.Report) bool { return r.State == s }
}

// testWriter logs through t.Log: shown for failing tests only.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
