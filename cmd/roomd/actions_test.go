package main

import (
	"context"
	"image/color"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"roomkit/appliance"
	"roomkit/drivers/display/displaytest"
	"roomkit/internal/logbuffer"
)

// TestRemoteActions, end to end on loopback: a portal and a sim kit as
// roomd wires them (a log ring, a fake reboot at the hardware boundary),
// paired; identify, restart, reboot and logs asked through the admin
// API, seen done on the kit (its screen flashes the room's name, its
// state machine starts again, the reboot is called, its log lines
// arrive without the secret it logged) and confirmed in the portal.
func TestRemoteActions(t *testing.T) {
	p := startPortal(t, "")

	state := t.TempDir()
	logs := &logbuffer.Buffer{}
	ring := appliance.NewLogRing()
	log := slog.New(ring.Handler(slog.NewTextHandler(logs, nil)))
	screen := displaytest.New(640, 360)
	rebooted := make(chan struct{}, 4)
	var kit *appliance.Kit
	var err error
	cfg := simKit(state, p.URL, "0.1.0", log)
	cfg.Display, cfg.Logs = screen, ring
	// The fake reboot: gokrazy would stop roomd and boot again; the kit's
	// state machine starting again stands for it.
	cfg.Reboot = func(ctx context.Context) error {
		rebooted <- struct{}{}
		kit.Restart("0.1.0")
		return nil
	}
	kit, err = appliance.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	until := runKit(t, kit, logs)
	until("a pairing code", func() bool { return kit.Status().UserCode != "" })
	room := p.pair(kit.Status().UserCode, "Boardroom", "")
	until("ready", func() bool { return kit.Status().State == appliance.Ready })
	// Something secret in the kit's log, as a careless line might have.
	log.Info("token refreshed", "access_token", "sekrit-123", "via", "Authorization: Bearer abc.def.ghi")

	type action struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	status := func(id string) string {
		var d struct {
			Actions []action `json:"actions"`
		}
		p.api("GET", "/api/v1/admin/rooms/"+room, "", &d)
		for _, a := range d.Actions {
			if a.ID == id {
				return a.Status
			}
		}
		return ""
	}
	ask := func(kind string) string {
		t.Helper()
		var out struct {
			Action action `json:"action"`
		}
		if code := p.api("POST", "/api/v1/admin/rooms/"+room+"/"+kind, "", &out); code != 202 || out.Action.ID == "" {
			t.Fatalf("%s: %d %+v", kind, code, out)
		}
		return out.Action.ID
	}

	// Identify: the screen flashes the room's name on the bright colour.
	id := ask("identify")
	until("the screen flashes", func() bool {
		f := screen.Frame()
		return f != nil && f.RGBAAt(2, 2) == (color.RGBA{0x2f, 0x7c, 0xf6, 0xff})
	})
	until("identify confirmed", func() bool { return status(id) == "done" })

	// Restart: the state machine starts again, and comes back ready.
	id = ask("restart")
	until("restart confirmed", func() bool { return status(id) == "done" })
	if !strings.Contains(strings.Join(ring.Lines(), "\n"), "msg=restarting") {
		t.Errorf("the kit's log does not show the restart:\n%s", logs)
	}
	until("ready after the restart", func() bool { return kit.Status().State == appliance.Ready })

	// Reboot: the (fake) reboot is called, and the kit that comes back
	// confirms it and does not reboot again.
	id = ask("reboot")
	<-rebooted
	until("reboot confirmed", func() bool { return status(id) == "done" })
	// The portal records "done" as the heartbeat arrives; the kit drops
	// its saved "done" once that heartbeat's answer is back.
	until("the reboot's saved \"done\" dropped once confirmed", func() bool {
		_, err := os.Stat(filepath.Join(state, "remote-actions.json"))
		return os.IsNotExist(err)
	})
	select {
	case <-rebooted:
		t.Error("the kit rebooted twice for one request")
	default:
	}

	// Logs: 202 until the kit uploaded, then its lines, without secrets.
	var lines struct {
		Lines []string `json:"lines"`
	}
	if code := p.api("GET", "/api/v1/admin/rooms/"+room+"/logs", "", nil); code != 202 {
		t.Fatalf("logs at first: %d; want 202", code)
	}
	until("logs uploaded", func() bool { return p.api("GET", "/api/v1/admin/rooms/"+room+"/logs", "", &lines) == 200 })
	all := strings.Join(lines.Lines, "\n")
	if !strings.Contains(all, "remote action") || !strings.Contains(all, "token refreshed") {
		t.Errorf("uploaded logs lack the kit's lines:\n%s", all)
	}
	if strings.Contains(all, "sekrit-123") || strings.Contains(all, "abc.def.ghi") {
		t.Errorf("a secret left the kit:\n%s", all)
	}
	if n := p.api("POST", "/api/v1/admin/rooms/rm_nope/restart", "", nil); n != 404 {
		t.Errorf("restart of an unknown room: %d", n)
	}
}
