package appliance

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"roomkit/portalapi"
	"roomkit/provisioning"
)

// steppedLink is a portal link on its own, against p, whose waits are
// steps the test takes: every time the link would wait, it sends the
// wait on steps and goes on only once the test sends on resume, so what
// the test changes in between is in place before the link's next
// request. Nothing sleeps, and the test sees each poll coming.
type steppedLink struct {
	*portalLink
	steps  chan time.Duration
	resume chan struct{}
}

func newSteppedLink(t *testing.T, p *fakePortal) *steppedLink {
	t.Helper()
	l := newPortalLink(linkConfig{
		StateDir: t.TempDir(), PortalURL: p.srv.URL, HTTPClient: p.client(),
		HeartbeatInterval: time.Minute, Logger: slog.New(slog.DiscardHandler), Now: time.Now, BaseLocation: time.UTC,
		Report: func(bool) portalapi.Report { return portalapi.Report{State: string(Ready), Version: "0.1.0-test"} },
		Signal: func() {},
	})
	sl := &steppedLink{portalLink: l, steps: make(chan time.Duration), resume: make(chan struct{})}
	l.sleep = func(ctx context.Context, d time.Duration) error {
		select {
		case sl.steps <- d:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-sl.resume:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if paired, err := l.load(); err != nil || paired {
		t.Fatalf("a new kit's link: paired %v, %v", paired, err)
	}
	return sl
}

// pairWith runs the link's pairing while the portal misbehaves as fault
// says for the first poll; from the next wait on, the portal behaves and
// approves the newest code for room. It returns how many codes the
// portal issued.
func (sl *steppedLink) pairWith(t *testing.T, p *fakePortal, room provisioning.Room, fault func()) int {
	t.Helper()
	done := make(chan bool)
	go func() { done <- sl.pair(t.Context()) }()
	for first := true; ; first = false {
		select {
		case <-sl.steps:
			// The link waits before its next request: change the portal
			// while it does.
			if first {
				fault()
			} else {
				p.busy.Store(0)
				p.down.Store(false)
				p.refuse.Store(false)
				if c := p.lastCode(); c != "" && p.codeState(c) == "pending" {
					p.setCode(c, "approved", &room)
				}
			}
			sl.resume <- struct{}{}
		case paired := <-done:
			if !paired {
				t.Fatal("pairing gave up")
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			return len(p.issued)
		}
	}
}

// TestLinkPairing: what the link does with a code when a poll fails. A
// portal that cannot answer for now (503, or unreachable) keeps the code
// on screen: an admin may be typing it. A refusal or a code that ran out
// gets a fresh one.
func TestLinkPairing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(p *fakePortal)
		codes int
	}{
		{"approved at once", func(p *fakePortal) {}, 1},
		{"503 temporarily_unavailable keeps the code", func(p *fakePortal) { p.busy.Store(2) }, 1},
		{"unreachable keeps the code", func(p *fakePortal) { p.down.Store(true) }, 1},
		{"a refused assertion starts over", func(p *fakePortal) { p.refuse.Store(true) }, 2},
		{"an expired code is replaced", func(p *fakePortal) { p.setCode(p.lastCode(), "expired", nil) }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePortal(t)
			sl := newSteppedLink(t, p)
			codes := sl.pairWith(t, p, boardroom, func() { tc.fault(p) })
			if codes != tc.codes {
				t.Errorf("the portal issued %d codes, want %d", codes, tc.codes)
			}
			s := sl.status(time.Now())
			if s.Room == nil || s.Room.Name != boardroom.Name || !s.Connected || s.Code != nil || s.Error != "" {
				t.Errorf("after pairing: %+v", s)
			}
			if st, err := provisioning.LoadState(sl.cfg.StateDir); err != nil || st.Room == nil || st.Room.ID != boardroom.ID {
				t.Errorf("saved state %+v, %v", st, err)
			}
		})
	}
}

// TestLinkHeartbeat: one heartbeat of a paired link, and what the portal
// makes of it.
func TestLinkHeartbeat(t *testing.T) {
	for _, tc := range []struct {
		name     string
		portal   func(p *fakePortal)
		err      error
		ok, fail uint64 // heartbeats counted
		room     string // the room's name after it
	}{
		{"answered", func(p *fakePortal) {}, nil, 1, 0, "Boardroom"},
		{"renamed in the admin center", func(p *fakePortal) { p.rename("Aquarium") }, nil, 1, 0, "Aquarium"},
		{"token revoked: a fresh one", func(p *fakePortal) { p.revokeTokens() }, nil, 1, 0, "Boardroom"},
		{"portal down", func(p *fakePortal) { p.down.Store(true) }, portalapi.ErrUnreachable, 0, 1, "Boardroom"},
		{"unpaired", func(p *fakePortal) { p.unpairAll() }, portalapi.ErrNotPaired, 0, 1, "Boardroom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePortal(t)
			sl := newSteppedLink(t, p)
			sl.pairWith(t, p, boardroom, func() {})
			tc.portal(p)
			err := sl.heartbeat(t.Context())
			if !errors.Is(err, tc.err) {
				t.Fatalf("heartbeat: %v, want %v", err, tc.err)
			}
			s := sl.status(time.Now())
			if s.Metrics.HeartbeatsOK != tc.ok || s.Metrics.HeartbeatsFailed != tc.fail || s.Connected != (tc.err == nil) {
				t.Errorf("after the heartbeat: metrics %+v, connected %v", s.Metrics, s.Connected)
			}
			if s.Room == nil || s.Room.Name != tc.room {
				t.Errorf("room %+v, want %q", s.Room, tc.room)
			}
		})
	}
}

// TestLinkUnpaired: keepInTouch returns errUnpaired once the portal no
// longer knows the kit, with the room forgotten on disk and the reason
// for the pairing screen.
func TestLinkUnpaired(t *testing.T) {
	p := newFakePortal(t)
	sl := newSteppedLink(t, p)
	sl.pairWith(t, p, boardroom, func() {})
	done := make(chan error)
	go func() { done <- sl.keepInTouch(t.Context()) }()
	if d := <-sl.steps; d != time.Minute {
		t.Errorf("after a heartbeat the link waits %v, want the interval", d)
	}
	p.unpairAll()
	sl.resume <- struct{}{}
	if err := <-done; !errors.Is(err, errUnpaired) {
		t.Fatalf("keepInTouch: %v, want errUnpaired", err)
	}
	if s := sl.status(time.Now()); s.Room != nil || s.Message != msgUnpaired {
		t.Errorf("after unpairing: %+v", s)
	}
	if st, err := provisioning.LoadState(sl.cfg.StateDir); err != nil || st.Room != nil {
		t.Errorf("saved state %+v, %v; want no room", st, err)
	}
}
