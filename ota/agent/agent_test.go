package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"roomkit/health"
	"roomkit/ota"
	"roomkit/ota/gokrazy"
	"roomkit/ota/rollout"
)

// noon is outside the default window 01:00–04:00 UTC.
var noon = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// TestWindowInstallAndTrialCommits: the release downloads at once, waits
// for the window, boots on trial, stays healthy for Settle and is made
// permanent.
func TestWindowInstallAndTrialCommits(t *testing.T) {
	w := newWorld(t, noon)
	w.boot()
	r := w.report()
	if r.State != ota.Idle || r.Available != "1.1.0" || !strings.Contains(r.Detail, "1.1.0 downloaded; installs in the window 01:00–04:00") {
		t.Fatalf("before the window: %+v", r)
	}
	if got := w.fake.Calls(); !slices.Equal(got, []string{"PUT /update/root"}) {
		t.Fatalf("gokrazy calls before the window: %q", got)
	}
	if !bytes.Equal(w.fake.Root(), w.repo.releases["1.1.0"]) {
		t.Fatal("the inactive partition does not hold 1.1.0")
	}
	w.clock.Advance(t, 12*time.Hour) // 00:00 next day
	if w.calls("POST /update/testboot") != 0 {
		t.Fatal("installed outside the window")
	}
	w.clock.Advance(t, 4*time.Hour) // up to 04:00: the jitter is < 1.5 h
	if err := w.ended(); err != nil {
		t.Fatal(err)
	}
	at := w.clock.Now()
	if !rollout.InWindow(at, time.UTC, w.policy.Window) {
		t.Fatalf("installed at %s, outside the window", at)
	}
	if b := w.fake.Booted(); b.Running != 3 || b.Cmdline != 2 {
		t.Fatalf("not a trial boot: %+v", b)
	}
	w.boot() // 1.1.0's agent
	r = w.report()
	if r.State != ota.Installing || r.Detail != "trial boot of 1.1.0: healthy for 0 s of 2 min" {
		t.Fatalf("trial: %+v", r)
	}
	if h := w.agent.Health(at); h.Status != health.Degraded || !strings.HasPrefix(h.Detail, "trial boot of 1.1.0") {
		t.Fatalf("Updates check in the trial: %+v", h)
	}
	w.clock.Advance(t, 40*time.Second)
	if r := w.report(); r.Detail != "trial boot of 1.1.0: healthy for 40 s of 2 min" {
		t.Fatalf("trial: %q", r.Detail)
	}
	w.clock.Advance(t, 80*time.Second)
	r = w.report()
	if r.State != ota.Healthy || r.Last == nil || r.Last.Version != "1.1.0" || r.Last.Outcome != ota.Healthy {
		t.Fatalf("after the trial: %+v", r)
	}
	if w.calls("POST /update/switch") != 1 || w.fake.Booted().Root != 3 {
		t.Fatalf("not switched: %q %+v", w.fake.Calls(), w.fake.Booted())
	}
	if h := w.agent.Health(w.clock.Now()); h.Status != health.OK {
		t.Fatalf("Updates check after the update: %+v", h)
	}
}

// TestMeetingDefersInstall: the download goes on during a meeting; the
// install waits for its end.
func TestMeetingDefersInstall(t *testing.T) {
	w := newWorld(t, noon)
	w.policy.Window = ota.Window{Start: "00:00", End: "00:00"} // always
	w.host.busy = "a meeting is running"
	w.boot()
	r := w.report()
	if r.Detail != "1.1.0 downloaded; waiting: a meeting is running" || w.calls("PUT /update/root") != 1 {
		t.Fatalf("during the meeting: %+v, calls %q", r, w.fake.Calls())
	}
	// 1.5 MB at 2 MiB/s during the meeting.
	if w.throttled < 700*time.Millisecond || w.throttled > 720*time.Millisecond {
		t.Fatalf("the download during the meeting was throttled for %s, want 0.72 s", w.throttled)
	}
	w.clock.Advance(t, 10*time.Minute)
	if w.calls("POST /update/testboot") != 0 || len(w.host.begun) != 0 {
		t.Fatal("installed during a meeting")
	}
	w.host.set(func(h *fakeHost) { h.busy = "" })
	w.clock.Advance(t, time.Minute)
	if err := w.ended(); err != nil {
		t.Fatal(err)
	}
	if w.calls("POST /update/testboot") != 1 || !slices.Equal(w.host.begun, []string{"1.1.0"}) {
		t.Fatalf("after the meeting: %q, begun %q", w.fake.Calls(), w.host.begun)
	}
}

// TestInstallNow: an admin's request installs outside the window, once.
func TestInstallNow(t *testing.T) {
	w := newWorld(t, noon)
	w.policy.Allowed = "" // the rollout has not reached the room
	w.boot()
	if r := w.report(); r.Detail != "1.1.0 is available; the rollout has not reached this room yet" || w.calls("PUT /update/root") != 0 {
		t.Fatalf("before the request: %+v", r)
	}
	w.policy.InstallNow = "r-8f2c"
	w.agent.SetPolicy(w.policy)
	if err := w.ended(); err != nil {
		t.Fatal(err)
	}
	if w.clock.Now() != noon || w.calls("POST /update/testboot") != 1 {
		t.Fatalf("at %s: %q", w.clock.Now(), w.fake.Calls())
	}
	w.boot()
	r := w.drive(isState(ota.Healthy))
	if r.Last.Version != "1.1.0" {
		t.Fatalf("%+v", r)
	}
	// The same request again (every heartbeat carries it) does nothing.
	w.repo.publish("1.2.0", image("1.2.0", 1000))
	w.clock.Advance(t, 5*time.Minute)
	if n := w.calls("PUT /update/root"); n != 1 {
		t.Fatalf("the request acted on twice: %d uploads", n)
	}
}

// TestTrialUnhealthyRollsBack: a trial that is not healthy by the
// deadline reboots into the old root, which reports rolled-back with
// the failing check's sentence and never tries that version again.
func TestTrialUnhealthyRollsBack(t *testing.T) {
	for _, tt := range []struct {
		name   string
		trial  health.Report
		reason string
	}{
		{"camera missing", noCamera(), "Camera: camera not found"},
		{"another camera", healthy("vivid", "Jabra Speak 510"), "Camera: vivid instead of Logitech BRIO as before the update"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, noon)
			w.trialBoot()
			w.host.set(func(h *fakeHost) { h.report = tt.trial })
			w.boot()
			trialStart := w.clock.Now()
			w.clock.Advance(t, 9*time.Minute)
			if r := w.report(); !strings.Contains(r.Detail, "not healthy ("+tt.reason+"); rolls back in 60 s") {
				t.Fatalf("in the trial: %q", r.Detail)
			}
			w.clock.Advance(t, 2*time.Minute)
			if err := w.ended(); err != nil {
				t.Fatal(err)
			}
			if d := w.clock.Now().Sub(trialStart); d != 10*time.Minute {
				t.Fatalf("rolled back after %s", d)
			}
			if b := w.fake.Booted(); b.Running != 2 || w.calls("POST /update/switch") != 0 {
				t.Fatalf("not back on the old root: %+v %q", b, w.fake.Calls())
			}
			w.host.set(func(h *fakeHost) { h.report = healthy("Logitech BRIO", "Jabra Speak 510") })
			w.boot() // 1.0.0 again
			r := w.report()
			if r.State != ota.RolledBack || r.Last == nil || r.Last.Outcome != ota.RolledBack || r.Last.Reason != tt.reason {
				t.Fatalf("after the rollback: %+v last %+v", r, r.Last)
			}
			if h := w.agent.Health(w.clock.Now()); h.Status != health.Degraded || h.Detail != "1.1.0 rolled back: "+tt.reason {
				t.Fatalf("Updates check: %+v", h)
			}
			// Blocked: the next checks do not download it again.
			w.clock.Advance(t, 3*time.Hour)
			if n := w.calls("PUT /update/root"); n != 1 || w.agent.Report().Available != "" {
				t.Fatalf("1.1.0 tried again: %d uploads, %+v", n, w.agent.Report())
			}
		})
	}
}

// TestPowerCut cuts the power right after each recorded step; the kit
// boots a good root and the update completes.
func TestPowerCut(t *testing.T) {
	for _, tt := range []struct {
		name string
		cut  func(state) bool
	}{
		{"downloading", func(s state) bool { return s.Phase == phaseDownloading && s.Written >= 512<<10 }},
		{"downloaded", func(s state) bool { return s.Phase == phaseDownloaded }},
		{"testboot-set", func(s state) bool { return s.Phase == phaseTestbootSet }},
		{"rebooting", func(s state) bool { return s.Phase == phaseRebooting }},
		{"trial", func(s state) bool { return s.Phase == phaseTrial }},
		{"switching", func(s state) bool { return s.Phase == phaseSwitching }},
		{"committed", func(s state) bool { return s.Phase == phaseCommitted }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, noon)
			w.policy.InstallNow = "r-1"
			w.cut = tt.cut
			for i := 0; ; i++ {
				w.boot()
				for w.clock.settle(t) {
					w.clock.Advance(t, 5*time.Second)
				}
				err := w.ended() // the cut, or a reboot before it
				if err == errPowerCut {
					break
				}
				if err != nil || i == 3 {
					t.Fatalf("Run = %v, want the power cut", err)
				}
			}
			w.cut = nil
			w.powerCycle()
			if v := w.running(); v != "1.0.0" && v != "1.1.0" {
				t.Fatalf("booted %q", v)
			}
			w.boot()
			if tt.name == "downloading" {
				w.clock.settle(t)
				if w.agent.resumedFrom == 0 {
					t.Error("the download started over instead of resuming")
				}
			}
			r := w.drive(isState(ota.Healthy))
			if r.Last.Version != "1.1.0" || w.running() != "1.1.0" || w.fake.Booted().Root != 3 {
				t.Fatalf("%+v, running %s, boot %+v", r, w.running(), w.fake.Booted())
			}
			if !bytes.Equal(w.fake.Root(), w.repo.releases["1.1.0"]) {
				t.Fatal("the root differs from the release")
			}
		})
	}
}

// TestTrialDiesThreeTimes: a root that never reaches its verdict (panic,
// hang) is given up after three trial boots.
func TestTrialDiesThreeTimes(t *testing.T) {
	w := newWorld(t, noon)
	w.policy.InstallNow = "r-1"
	w.cut = func(s state) bool { return s.Phase == phaseTrial }
	r := func() ota.Report {
		w.boot()
		for i := 0; ; i++ {
			err := w.ended()
			if err != nil && err != errPowerCut {
				t.Fatal(err)
			}
			if err == errPowerCut {
				w.powerCycle()
			}
			w.boot()
			if w.clock.settle(t) {
				return w.agent.Report()
			}
			if i > 10 {
				t.Fatal("no end")
			}
		}
	}()
	if r.State != ota.RolledBack || r.Last.Reason != "1.1.0 did not finish its trial boot 3 times" {
		t.Fatalf("%+v %+v", r, r.Last)
	}
	if w.calls("POST /update/switch") != 0 || w.running() != "1.0.0" {
		t.Fatal("switched")
	}
}

// TestTamperedDownload: bytes that do not hash to the signed SHA-256 are
// never booted.
func TestTamperedDownload(t *testing.T) {
	w := newWorld(t, noon)
	w.policy.InstallNow = "r-1"
	w.repo.tamper = true
	w.boot()
	r := w.report()
	if r.State != ota.Failed || r.Error != "The download did not match the signed release; nothing was installed" || r.TargetVersion != "1.1.0" {
		t.Fatalf("%+v", r)
	}
	if got := w.fake.Calls(); !slices.Equal(got, []string{"PUT /update/root"}) {
		t.Fatalf("gokrazy calls: %q", got)
	}
	if h := w.agent.Health(w.clock.Now()); h.Status != health.Failed {
		t.Fatalf("Updates check: %+v", h)
	}
}

// TestGokrazyDropsUpload: a lost connection to gokrazy is retried, and
// the retry resumes after the part already written.
func TestGokrazyDropsUpload(t *testing.T) {
	w := newWorld(t, noon)
	w.policy.InstallNow = "r-1"
	w.fake.DropAfter(900_000)
	w.boot()
	r := w.report()
	if r.State != ota.Downloading || !strings.Contains(r.Error, "trying again") {
		t.Fatalf("%+v", r)
	}
	w.clock.Advance(t, time.Minute)
	if err := w.ended(); err != nil {
		t.Fatal(err)
	}
	if w.agent.resumedFrom == 0 || w.calls("POST /update/testboot") != 1 {
		t.Fatalf("resumed from %d, calls %q", w.agent.resumedFrom, w.fake.Calls())
	}
	if !slices.Contains(w.repo.fetches, w.agent.resumedFrom) {
		t.Fatalf("fetches %v: no Range from %d", w.repo.fetches, w.agent.resumedFrom)
	}
}

// TestFullPartition: a release larger than the root partition fails in
// words and is not booted.
func TestFullPartition(t *testing.T) {
	w := newWorld(t, noon)
	w.policy.InstallNow = "r-1"
	w.fake.SlotSize = 1_000_000
	w.boot()
	r := w.report()
	if r.State != ota.Failed || !strings.Contains(r.Error, "1.1.0 does not fit the kit's root partition") {
		t.Fatalf("%+v", r)
	}
	if w.calls("POST /update/testboot") != 0 {
		t.Fatal("booted")
	}
}

// TestStateFromAnotherVersion: after a rollback the old agent reads the
// newer agent's file: unknown fields and a newer schema are tolerated.
func TestStateFromAnotherVersion(t *testing.T) {
	dir := t.TempDir()
	b, _ := json.Marshal(map[string]any{"schema": 2, "phase": "idle", "floor": "1.4.0",
		"blocked": []string{"1.5.0"}, "boot_count": 3, "new_thing": map[string]int{"x": 1}})
	if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store{dir}.load()
	if err != nil || s.Floor != "1.4.0" || !s.blocked("1.5.0") {
		t.Fatalf("%+v, %v", s, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{\"phase\": "), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (store{dir}).load(); err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Fatalf("damaged state: %v", err)
	}
}

func FuzzStateLoad(f *testing.F) {
	f.Add([]byte(`{"schema":1,"phase":"trial","target":{"version":"1.1.0","length":3}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600)
		store{dir}.load() // must not panic
	})
}

// TestNextUpdateAfterSwitch: after a commit the kit runs from the
// partition gokrazy would write until it restarts; the next release
// restarts it once before downloading, and never trips the guard.
func TestNextUpdateAfterSwitch(t *testing.T) {
	w := newWorld(t, noon)
	w.policy.InstallNow = "r-1"
	w.boot()
	w.drive(isState(ota.Healthy))
	if b := w.fake.Booted(); b.Running == b.Cmdline {
		t.Fatalf("expected the switched, not rebooted, state: %+v", b)
	}
	n := len(w.fake.Calls())
	w.repo.publish("1.2.0", image("1.2.0", 400_000))
	w.policy.InstallNow, w.policy.Allowed = "r-2", "1.2.0"
	w.agent.SetPolicy(w.policy)
	r := w.drive(func(r ota.Report) bool { return r.State == ota.Healthy && r.Last.Version == "1.2.0" })
	if w.running() != "1.2.0" || w.fake.Booted().Root != 2 {
		t.Fatalf("%+v, running %s, %+v", r, w.running(), w.fake.Booted())
	}
	want := []string{"POST /reboot", "PUT /update/root", "POST /update/testboot", "POST /reboot", "POST /update/switch"}
	if got := w.fake.Calls()[n:]; !slices.Equal(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

// TestOtherKernel: the boot partition is not A/B, so a root built for
// another kernel is not installed.
func TestOtherKernel(t *testing.T) {
	w := newWorld(t, noon)
	w.policy.InstallNow = "r-1"
	w.kernel, w.repo.kernel = "6.12.9", "6.18.1"
	w.boot()
	r := w.report()
	if r.State != ota.Idle || r.Detail != "1.1.0 needs the kernel 6.18.1 (this kit runs 6.12.9): reflash this kit to install it" || len(w.fake.Calls()) != 0 {
		t.Fatalf("%+v %q", r, w.fake.Calls())
	}
}

// TestInstallNowWhileWaiting: a release waiting for the window installs
// at once when an admin asks.
func TestInstallNowWhileWaiting(t *testing.T) {
	w := newWorld(t, noon)
	w.boot()
	if r := w.report(); !strings.Contains(r.Detail, "installs in the window") {
		t.Fatalf("%+v", r)
	}
	w.policy.InstallNow = "r-2"
	w.agent.SetPolicy(w.policy)
	if err := w.ended(); err != nil {
		t.Fatal(err)
	}
	if w.clock.Now() != noon || w.calls("POST /update/testboot") != 1 {
		t.Fatalf("at %s: %q", w.clock.Now(), w.fake.Calls())
	}
}

// TestRoomdCrashLoopInTrial: roomd that keeps restarting in the trial
// rolls the update back without waiting for the deadline.
func TestRoomdCrashLoopInTrial(t *testing.T) {
	w := newWorld(t, noon)
	w.trialBoot()
	for i := 0; i < 6; i++ {
		w.boot() // a roomd that crashes and is restarted by gokrazy
		if !w.clock.settle(t) {
			break
		}
	}
	if err := w.ended(); err != nil {
		t.Fatal(err)
	}
	w.boot()
	r := w.report()
	if r.State != ota.RolledBack || r.Last.Reason != "roomd restarted 5 times during the trial boot" || w.running() != "1.0.0" {
		t.Fatalf("%+v %+v", r, r.Last)
	}
}

// TestFirstCheckWaits: after a start the first check waits a little (a
// building's kits back from a power cut spread out), then repeats about
// every CheckEvery; an install-now request does not wait.
func TestFirstCheckWaits(t *testing.T) {
	w := newWorld(t, noon)
	w.repo.releases = map[string][]byte{}
	w.firstCheck = 3 * time.Minute
	w.boot()
	w.clock.Advance(t, 2*time.Minute)
	if w.repo.checks != 0 {
		t.Fatal("checked at once")
	}
	w.clock.Advance(t, time.Minute)
	if r := w.report(); w.repo.checks != 1 || r.Detail != "1.0.0, up to date" {
		t.Fatalf("%d checks, %+v", w.repo.checks, r)
	}
	w.clock.Advance(t, 10*time.Minute)
	if h := w.agent.Health(w.clock.Now()); h.Status != health.OK || h.Detail != "1.0.0, up to date (checked 10 min ago)" {
		t.Fatalf("Updates check: %+v", h)
	}
	w.clock.Advance(t, 19*time.Minute) // CheckEvery 1 h ± 30 min
	if w.repo.checks != 1 {
		t.Fatalf("%d checks after 29 min", w.repo.checks)
	}
	w.clock.Advance(t, 61*time.Minute)
	if w.repo.checks < 2 {
		t.Fatalf("%d checks after 90 min", w.repo.checks)
	}
	n := w.repo.checks
	w.policy.InstallNow = "r-1"
	w.agent.SetPolicy(w.policy)
	if r := w.report(); w.repo.checks != n+1 || r.Detail != "asked to update now: 1.0.0 is the newest release" {
		t.Fatalf("%d checks, %+v", w.repo.checks, r)
	}
}

// TestReportFitsHeartbeat: whatever the errors say, the report passes the
// portal's validation (one line, bounded).
func TestReportFitsHeartbeat(t *testing.T) {
	for _, s := range []string{"short", strings.Repeat("é", 300), "line one\nline two\r\n", strings.Repeat("x", 500)} {
		got := oneLine(s)
		r := ota.Report{Status: ota.Status{State: ota.Failed, Error: got, Detail: got}}
		if err := r.Validate(); err != nil || !utf8.ValidString(got) {
			t.Errorf("%q: %v", got, err)
		}
	}
}

// TestRollbackWaitsForMeeting: meetings may run during a trial; a failed
// trial's reboot waits for the meeting to end.
func TestRollbackWaitsForMeeting(t *testing.T) {
	w := newWorld(t, noon)
	w.trialBoot()
	w.host.set(func(h *fakeHost) { h.report, h.busy = noCamera(), "a meeting is running" })
	w.boot()
	w.clock.Advance(t, 30*time.Minute)
	if r := w.report(); w.running() != "1.1.0" || !strings.Contains(r.Detail, "back to the previous version; waiting: a meeting is running") {
		t.Fatalf("%+v", r)
	}
	w.host.set(func(h *fakeHost) { h.busy = "" })
	w.clock.Advance(t, time.Minute)
	if err := w.ended(); err != nil {
		t.Fatal(err)
	}
	if w.running() != "1.0.0" {
		t.Fatalf("running %s", w.running())
	}
}

// TestResumeLostBytes: a cut can lose what gokrazy had not synced; the
// resumed download then does not verify and starts over, without calling
// the release tampered.
func TestResumeLostBytes(t *testing.T) {
	for _, tt := range []struct {
		name    string
		lose    func(slot []byte) []byte
		fetches int
	}{
		// Read back whole but wrong: found by the final hash.
		{"torn", func(b []byte) []byte { clear(b[100_000:200_000]); return b }, 3},
		// The partition ends before the recorded progress: found while
		// reading back, before any fetch.
		{"short", func(b []byte) []byte { return b[:100_000] }, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, noon)
			w.policy.InstallNow = "r-1"
			w.cut = func(s state) bool { return s.Phase == phaseDownloading && s.Written >= 512<<10 }
			w.boot()
			if err := w.ended(); err != errPowerCut {
				t.Fatal(err)
			}
			w.cut = nil
			w.fake.Close()
			slot, _ := w.fake.Slot(3)
			if err := os.WriteFile(filepath.Join(w.fake.Dir, "root3.img"), tt.lose(slot), 0o644); err != nil {
				t.Fatal(err)
			}
			w.powerCycle()
			w.boot()
			r := w.drive(func(r ota.Report) bool { return r.State == ota.Healthy || r.State == ota.Failed })
			if r.State != ota.Healthy || !bytes.Equal(w.fake.Root(), w.repo.releases["1.1.0"]) {
				t.Fatalf("%+v", r)
			}
			if got := w.repo.fetches; len(got) != tt.fetches || got[len(got)-1] != 0 || (tt.fetches == 3 && got[1] == 0) {
				t.Fatalf("fetch offsets %v: want 0, (a resume,) then 0 again", got)
			}
		})
	}
}

// TestTenUpdates: a kit takes any number of updates. gokrazy leaves its
// markers on the boot command line, which has room for two; the agent
// cleans the files before each testboot.
func TestTenUpdates(t *testing.T) {
	w := newWorld(t, noon)
	w.repo.releases = map[string][]byte{}
	w.boot()
	for i := 1; i <= 10; i++ {
		v := fmt.Sprintf("1.%d.0", i)
		w.repo.publish(v, image(v, 40_000))
		w.policy.InstallNow, w.policy.Allowed = fmt.Sprintf("r-%d", i), v
		w.agent.SetPolicy(w.policy)
		r := w.drive(func(r ota.Report) bool { return r.State == ota.Healthy && r.Last != nil && r.Last.Version == v })
		if r.Last.Outcome != ota.Healthy || w.running() != v {
			t.Fatalf("update %d: %+v, running %s", i, r, w.running())
		}
		b := w.fake.Booted()
		line, rest, ok := bytes.Cut(b.File, []byte("\n"))
		if !ok || len(bytes.Trim(rest, " ")) != 0 || bytes.Count(line, []byte(gokrazy.SwitchMarker)) != 1 || bytes.Contains(line, []byte(gokrazy.TryMarker)) {
			t.Fatalf("update %d: cmdline.txt %q", i, b.File)
		}
		if b.Root != b.Running {
			t.Fatalf("update %d: switched to %d, runs %d", i, b.Root, b.Running)
		}
	}
	if n := w.calls("POST /update/testboot"); n != 10 {
		t.Errorf("%d testboots for ten updates", n)
	}
}

// TestTrialProblems: a trial is judged against the kit's state before
// the update: checks that had failed already (a USB speaker without a
// microphone) do not fail it, new failures and a lost or other camera do.
func TestTrialProblems(t *testing.T) {
	noMic := func(camera string) health.Report {
		return health.Report{Status: health.Failed, Checks: []health.Node{
			{Name: health.NameCamera, Status: health.OK, Detail: camera},
			{Name: health.NameSpeakerphone, Status: health.OK, Detail: "QEMU USB Audio", Checks: []health.Node{
				{Name: health.NameMicrophone, Status: health.Failed, Detail: "no microphone"},
			}},
		}}
	}
	tests := []struct {
		name          string
		before, trial health.Report
		want          []string
	}{
		{"healthy before and after", healthy("vivid", "Jabra"), healthy("vivid", "Jabra"), nil},
		{"a check that failed before fails still", noMic("vivid"), noMic("vivid"), nil},
		{"a new failure", healthy("vivid", "QEMU USB Audio"), noMic("vivid"), []string{"Microphone: no microphone"}},
		{"the camera is gone", healthy("vivid", "Jabra Speak 510"), noCamera(), []string{"Camera: camera not found"}},
		{"another camera, the old failure kept", noMic("vivid"), noMic("sim"), []string{"Camera: sim instead of vivid as before the update"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := trialProblems(tt.trial, fingerprint(tt.before), failedChecks(tt.before))
			if !slices.Equal(got, tt.want) {
				t.Errorf("trialProblems = %q, want %q", got, tt.want)
			}
		})
	}
}
