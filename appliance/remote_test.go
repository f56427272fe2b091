package appliance

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roomkit/portalapi"
)

// TestRemoteActionsInMeeting: restart and reboot wait for no meeting
// unless the admin said "even during a meeting"; identify does not wait;
// an action the kit does not know is answered, not ignored; each runs
// once however often the portal lists it.
func TestRemoteActionsInMeeting(t *testing.T) {
	for _, tc := range []struct {
		name      string
		action    portalapi.Action
		wantErr   string
		restarted bool
		rebooted  bool
	}{
		{"restart waits for the meeting", portalapi.Action{ID: "a1", Kind: portalapi.ActionRestart}, "a meeting is running", false, false},
		{"reboot waits for the meeting", portalapi.Action{ID: "a2", Kind: portalapi.ActionReboot}, "a meeting is running", false, false},
		{"restart even during a meeting", portalapi.Action{ID: "a3", Kind: portalapi.ActionRestart, Force: true}, "", true, false},
		{"reboot even during a meeting", portalapi.Action{ID: "a4", Kind: portalapi.ActionReboot, Force: true}, "", false, true},
		{"identify does not wait", portalapi.Action{ID: "a5", Kind: portalapi.ActionIdentify}, "", false, false},
		{"unknown", portalapi.Action{ID: "a6", Kind: "self-destruct"}, "does not know the action self-destruct", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, _ := newScreenKit(t, Ready)
			rebooted := 0
			k.cfg.Reboot = func(context.Context) error { rebooted++; return nil } // the fake gokrazy reboot
			inFakeMeeting(k)
			ans := portalapi.HeartbeatAnswer{ActionsKnown: true, Actions: []portalapi.Action{tc.action}}
			k.link.remoteAnswered(ans, 0, 0)
			k.link.remoteAnswered(ans, 0, 0) // listed again before the "done" got through
			k.devWG.Wait()
			rep := portalapi.Report{}
			if n := k.link.addRemote(&rep); n != 1 {
				t.Fatalf("%d \"done\"s for one action run twice: %+v", n, rep.ActionsDone)
			}
			d := rep.ActionsDone[0]
			if d.ID != tc.action.ID || (tc.wantErr == "") != (d.Error == "") || !strings.Contains(d.Error, tc.wantErr) {
				t.Errorf("done %+v; want error %q", d, tc.wantErr)
			}
			if got := k.state() == Booting; got != tc.restarted {
				t.Errorf("restarted %v, want %v", got, tc.restarted)
			}
			if (rebooted == 1) != tc.rebooted || rebooted > 1 {
				t.Errorf("rebooted %d times", rebooted)
			}
			if tc.rebooted {
				// Saved before rebooting, so the kit that comes back says so.
				b, err := os.ReadFile(filepath.Join(k.cfg.StateDir, remoteFile))
				if err != nil || !strings.Contains(string(b), tc.action.ID) {
					t.Errorf("saved reboot: %s, %v", b, err)
				}
				l2 := newPortalLink(k.link.cfg)
				l2.mu.Lock()
				l2.loadRemoteLocked()
				l2.mu.Unlock()
				if !l2.remote.took(tc.action.ID) || len(l2.remote.done) != 1 {
					t.Errorf("after the reboot: %+v", l2.remote)
				}
			}
			// Delivered: the "done" goes, and the saved file with it.
			k.link.remoteAnswered(portalapi.HeartbeatAnswer{ActionsKnown: true}, 1, 0)
			if rep := (portalapi.Report{}); k.link.addRemote(&rep) != 0 {
				t.Errorf("a delivered \"done\" is sent again: %+v", rep.ActionsDone)
			}
			if _, err := os.Stat(filepath.Join(k.cfg.StateDir, remoteFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the saved file outlives its delivery: %v", err)
			}
		})
	}
}

// TestLogRing: the ring keeps the newest lines, and no secret reaches it
// whether it is an attribute, in the message or in a group.
func TestLogRing(t *testing.T) {
	r := NewLogRing()
	log := slog.New(r.Handler(slog.DiscardHandler))
	log.Info("token refreshed", "access_token", "sekrit-1", "room", "Boardroom")
	log.With("client_assertion", "sekrit-2").Info("asked for a token")
	log.WithGroup("http").Info("request", "header", "Authorization: Bearer sekrit-3", "password", "sekrit-4")
	log.Info("sent body device_code=sekrit-5&grant_type=x")
	lines := r.Lines()
	all := strings.Join(lines, "\n")
	for _, s := range []string{"sekrit-1", "sekrit-2", "sekrit-3", "sekrit-4", "sekrit-5"} {
		if strings.Contains(all, s) {
			t.Errorf("%s reached the ring:\n%s", s, all)
		}
	}
	if len(lines) != 4 || !strings.Contains(lines[0], "room=Boardroom") || !strings.Contains(lines[0], "access_token=[redacted]") {
		t.Errorf("lines:\n%s", all)
	}
	for i := range MaxLogLines + 10 {
		log.Info("line", "n", i)
	}
	lines = r.Lines()
	if len(lines) != MaxLogLines || !strings.Contains(lines[0], "n=10") || !strings.Contains(lines[len(lines)-1], "n=509") {
		t.Errorf("after %d more lines: %d kept, first %q, last %q", MaxLogLines+10, len(lines), lines[0], lines[len(lines)-1])
	}
	log.Info(strings.Repeat("x", 2*MaxLogLineBytes))
	if l := r.Lines()[MaxLogLines-1]; len(l) > MaxLogLineBytes+len("…") {
		t.Errorf("a long line is kept whole: %d bytes", len(l))
	}
}
