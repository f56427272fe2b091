package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"roomkit/appliance/meeting"
	"roomkit/health"
	"roomkit/ota"
	"roomkit/ui"
)

// recordingUpdater stands in for the update agent in the kit's own tests:
// it records the policies the kit hands it and answers with what the test
// set. (The agent itself has its tests in ota/agent.)
type recordingUpdater struct {
	mu       sync.Mutex
	policies []ota.Policy
	report   ota.Report
	health   health.Result
}

func (u *recordingUpdater) SetPolicy(p ota.Policy) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.policies = append(u.policies, p)
}

func (u *recordingUpdater) Report() ota.Report {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.report
}

func (u *recordingUpdater) Health(time.Time) health.Result {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.health
}

func (u *recordingUpdater) policyCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.policies)
}

// TestBeginUpdate: the agent gets the kit only when it is ready and no
// meeting runs or is starting; while it has it, the screen says so and
// joins, Meet Now and a factory reset are refused with a sentence; release
// gives the kit back.
func TestBeginUpdate(t *testing.T) {
	h, ss := startMeetingKit(t)
	ctx := context.Background()

	if id, loc, ok := h.kit.Room(); !ok || id == "" || loc.String() != "Europe/Zurich" {
		t.Errorf("Room() = %q, %v, %v; want the device ID, the room's zone, paired", id, loc, ok)
	}
	if why := h.kit.Busy(); why != "" {
		t.Errorf("Busy() at home = %q", why)
	}

	// A meeting is running.
	if err := h.kit.MeetNow(ctx); err != nil {
		t.Fatal(err)
	}
	if why := h.kit.Busy(); why != "a meeting is running" {
		t.Errorf("Busy() in a meeting = %q", why)
	}
	if _, ok := h.kit.BeginUpdate("1.5.0"); ok {
		t.Fatal("BeginUpdate during a meeting: ok")
	}
	if err := h.kit.Leave(); err != nil {
		t.Fatal(err)
	}

	// A meeting is starting: the join waits inside the session's connect.
	connecting, letGo := make(chan struct{}), make(chan struct{})
	h.kit.meetings.joinSession = func(ctx context.Context, cfg meeting.Config) (session, error) {
		close(connecting)
		<-letGo
		return ss.join(ctx, cfg)
	}
	joined := make(chan error, 1)
	go func() { joined <- h.kit.MeetNow(ctx) }()
	select {
	case <-connecting:
	case err := <-joined:
		t.Fatalf("Meet Now ended before connecting: %v", err)
	}
	if why := h.kit.Busy(); why != "a meeting is starting" {
		t.Errorf("Busy() while joining = %q", why)
	}
	if _, ok := h.kit.BeginUpdate("1.5.0"); ok {
		t.Fatal("BeginUpdate while a join is under way: ok")
	}
	close(letGo)
	if err := <-joined; err != nil {
		t.Fatalf("the join the update waited for: %v", err)
	}
	h.kit.meetings.joinSession = ss.join
	if err := h.kit.Leave(); err != nil {
		t.Fatal(err)
	}

	// Ready: the update takes the kit.
	release, ok := h.kit.BeginUpdate("1.5.0")
	if !ok {
		t.Fatal("BeginUpdate at home refused")
	}
	if _, again := h.kit.BeginUpdate("1.5.0"); again {
		t.Error("a second BeginUpdate while updating: ok")
	}
	h.displays("the updating screen", func(v ui.View) bool { return v.Screen == ui.Updating && v.UpdateVersion == "1.5.0" })
	if s := h.kit.Status(); s.State != Updating || s.RoomName != boardroom.Name {
		t.Errorf("status while updating: state %q, room %q", s.State, s.RoomName)
	}
	for name, try := range map[string]func() error{
		"meet now":      func() error { return h.kit.MeetNow(ctx) },
		"join":          func() error { return h.kit.JoinMeeting(ctx, "123456789") },
		"factory reset": func() error { return h.kit.FactoryReset(ctx) },
	} {
		if err := try(); !errors.Is(err, ErrUpdating) {
			t.Errorf("%s while updating: %v, want %q", name, err, ErrUpdating)
		}
	}
	if _, _, ok := h.kit.Room(); !ok {
		t.Error("Room() while updating: not paired")
	}

	// The install failed: the kit is back, and meets again.
	release()
	release() // twice is once
	h.until("home again", func(s Status, v ui.View) bool { return s.State == Ready && v.Screen == ui.Home })
	if err := h.kit.MeetNow(ctx); err != nil {
		t.Errorf("Meet Now after the update was released: %v", err)
	}
}

// TestBeginUpdateNotPaired: a kit that is pairing is not taken.
func TestBeginUpdateNotPaired(t *testing.T) {
	h := start(t, newFakePortal(t), t.TempDir())
	h.showingCode()
	if _, ok := h.kit.BeginUpdate("1.5.0"); ok {
		t.Error("BeginUpdate while pairing: ok")
	}
	if _, _, ok := h.kit.Room(); ok {
		t.Error("Room() while pairing: ok")
	}
}

// TestUpdateStatusAndHealth: roomctl status -json's "update" carries the
// pinned fields, absent without an agent; the Updates check is the
// agent's verdict, or says updates are off.
func TestUpdateStatusAndHealth(t *testing.T) {
	p := newFakePortal(t)
	h := start(t, p, t.TempDir())
	h.pairAs(boardroom)
	now := time.Now()

	b, _ := json.Marshal(h.kit.Status())
	var plain map[string]json.RawMessage
	json.Unmarshal(b, &plain)
	if _, ok := plain["update"]; ok {
		t.Errorf("status without an agent has an update: %s", plain["update"])
	}
	if n, ok := h.kit.Health(now).Find(health.NameUpdates); !ok || n.Status != health.OK || n.Detail != updatesOff {
		t.Errorf("Updates check without an agent: %+v, %v", n, ok)
	}

	u := &recordingUpdater{
		report: ota.Report{Status: ota.Status{State: ota.Downloading, TargetVersion: "1.5.0", Progress: 0.5}, Channel: "stable"},
		health: health.Degrade("downloading 1.5.0: retrying (connection reset)"),
	}
	h.kit.UseUpdater(u)
	b, _ = json.Marshal(h.kit.Status())
	var st struct {
		Version string                     `json:"version"`
		Update  map[string]json.RawMessage `json:"update"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"state", "target_version", "error"} {
		if _, ok := st.Update[k]; !ok {
			t.Errorf("status update %s lacks the pinned %q", b, k)
		}
	}
	if st.Version != "0.1.0-test" || string(st.Update["state"]) != `"downloading"` || string(st.Update["target_version"]) != `"1.5.0"` {
		t.Errorf("status: %s", b)
	}
	n, ok := h.kit.Health(now).Find(health.NameUpdates)
	if !ok || n.Status != health.Degraded || n.Detail != u.health.Detail {
		t.Errorf("Updates check: %+v, %v; want the agent's", n, ok)
	}
}

// TestHeartbeatUpdateGating: the heartbeat carries the agent's report only
// after an answer carried a policy (an older portal refuses the field);
// each policy reaches the agent; a portal put back to an older version
// gets heartbeats without the field again after one refusal.
func TestHeartbeatUpdateGating(t *testing.T) {
	p := newFakePortal(t)
	u := &recordingUpdater{report: ota.Report{Status: ota.Status{State: ota.Idle}, Channel: "stable"}}
	h := startWith(t, p, t.TempDir(), func(*Config) {})
	h.kit.UseUpdater(u)
	h.pairAs(boardroom)

	beats := func() []bool { // whether each accepted heartbeat had an update
		p.mu.Lock()
		defer p.mu.Unlock()
		var out []bool
		for _, b := range p.beats {
			out = append(out, b.Update != nil)
		}
		return out
	}
	waitBeats := func(what string, cond func([]bool) bool) {
		t.Helper()
		h.until(what, func(Status, ui.View) bool { return cond(beats()) })
	}
	count := func(v bool) func([]bool) int {
		return func(bs []bool) int {
			n := 0
			for _, b := range bs {
				if b == v {
					n++
				}
			}
			return n
		}
	}

	// An older portal: no policy, so no update in the heartbeat.
	p.mu.Lock()
	p.old = true
	p.mu.Unlock()
	waitBeats("three heartbeats to an older portal", func(bs []bool) bool { return len(bs) >= 3 })
	if slices.Contains(beats(), true) || u.policyCount() != 0 {
		t.Fatalf("heartbeats to a portal without updates: %v, policies %d", beats(), u.policyCount())
	}

	// The portal learns updates: its policy reaches the agent, and the
	// next heartbeats carry the report.
	policy := ota.Policy{Channel: "stable", Window: ota.DefaultWindow, Allowed: "1.5.0"}
	p.mu.Lock()
	p.old, p.policy = false, &policy
	p.mu.Unlock()
	waitBeats("heartbeats with the update report", func(bs []bool) bool { return count(true)(bs) >= 2 })
	u.mu.Lock()
	if len(u.policies) == 0 {
		t.Error("the agent got no policy")
	} else if got := u.policies[0]; got != policy {
		t.Errorf("policy %+v, want %+v", got, policy)
	}
	u.mu.Unlock()

	// Put back to an older version: one refusal, then without.
	p.mu.Lock()
	p.old, p.policy = true, nil
	withBefore := count(false)(p.beatsLocked())
	p.mu.Unlock()
	waitBeats("heartbeats without the report again", func(bs []bool) bool { return count(false)(bs) >= withBefore+2 })
	p.mu.Lock()
	refused := p.refused
	p.mu.Unlock()
	if refused != 1 {
		t.Errorf("the older portal refused %d heartbeats, want 1", refused)
	}
}

func (p *fakePortal) beatsLocked() []bool {
	var out []bool
	for _, b := range p.beats {
		out = append(out, b.Update != nil)
	}
	return out
}

// TestRestart: a sim kit's update "reboots" the kit on the new version.
func TestRestart(t *testing.T) {
	p := newFakePortal(t)
	h := start(t, p, t.TempDir())
	h.pairAs(boardroom)
	if _, ok := h.kit.BeginUpdate("0.2.0"); !ok {
		t.Fatal("BeginUpdate refused")
	}
	h.kit.Restart("0.2.0")
	h.until("ready on 0.2.0", func(s Status, v ui.View) bool {
		return s.State == Ready && s.Version == "0.2.0" && v.Screen == ui.Home && v.Version == "0.2.0"
	})
	b := p.beatCount()
	h.until("a heartbeat from 0.2.0", func(Status, ui.View) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.beats) > b && p.beats[len(p.beats)-1].Version == "0.2.0"
	})
}

func TestVersionLine(t *testing.T) {
	zurich, _ := time.LoadLocation("Europe/Zurich")
	now := time.Date(2026, 12, 5, 9, 30, 0, 0, zurich)
	at := time.Date(2026, 12, 5, 0, 12, 0, 0, time.UTC) // 01:12 in Zurich
	for _, tc := range []struct {
		name string
		u    Updater
		want string
	}{
		{"no agent", nil, "Version 1.5.0 · updates off"},
		{"never updated", &recordingUpdater{}, "Version 1.5.0"},
		{"healthy", &recordingUpdater{report: ota.Report{Status: ota.Status{Last: &ota.Result{Version: "1.5.0", Outcome: ota.Healthy, At: at}}}},
			"Version 1.5.0 · last update: healthy 01:12"},
		{"rolled back", &recordingUpdater{report: ota.Report{Status: ota.Status{Last: &ota.Result{Version: "1.6.0", Outcome: ota.RolledBack, Reason: "Camera: not found", At: at}}}},
			"Version 1.5.0 · last update: 1.6.0 rolled back 01:12 (Camera: not found)"},
		{"failed yesterday", &recordingUpdater{report: ota.Report{Status: ota.Status{Last: &ota.Result{Version: "1.6.0", Outcome: ota.Failed, Reason: "the download did not match", At: at.Add(-24 * time.Hour)}}}},
			"Version 1.5.0 · last update: 1.6.0 failed 4 Dec 01:12 (the download did not match)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionLine("1.5.0", tc.u, now, zurich); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// clockProbe is an updater that asks the kit for its clock offset when a
// policy arrives, as the update agent does right after.
type clockProbe struct {
	recordingUpdater
	kit   *Kit
	known []bool
}

func (c *clockProbe) SetPolicy(p ota.Policy) {
	_, known := c.kit.ClockOffset()
	c.mu.Lock()
	c.known = append(c.known, known)
	c.mu.Unlock()
	c.recordingUpdater.SetPolicy(p)
}

// TestClockOffsetWithPolicy: the kit's clock offset is unknown before the
// portal answered, and already measured when the first policy reaches the
// agent (it checks at once, and needs a trusted clock to).
func TestClockOffsetWithPolicy(t *testing.T) {
	p := newFakePortal(t)
	policy := ota.Policy{Channel: "stable", Window: ota.DefaultWindow}
	p.policy = &policy
	h := startWith(t, p, t.TempDir(), func(*Config) {})
	if _, known := h.kit.ClockOffset(); known {
		t.Fatal("a clock offset known before the portal answered")
	}
	u := &clockProbe{kit: h.kit}
	h.kit.UseUpdater(u)
	h.pairAs(boardroom)
	h.until("a policy", func(Status, ui.View) bool { return u.policyCount() > 0 })
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.known[0] {
		t.Error("the first policy reached the agent before the clock offset was measured")
	}
}
