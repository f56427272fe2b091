package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roomkit/appliance"
	"roomkit/drivers/camera/cameratest"
	"roomkit/internal/logbuffer"
	"roomkit/ota"
	"roomkit/ota/repo"
	"roomkit/settings"
)

func TestRepoURL(t *testing.T) {
	for _, tc := range []struct {
		name, flag, setting, want string
	}{
		{"the flag wins", "https://cdn.example/a", "https://cdn.example/b", "https://cdn.example/a"},
		{"then settings.json", "", "https://cdn.example/b", "https://cdn.example/b"},
		{"else beside the portal", "", "", "https://portal.example/ota"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := repoURL(tc.flag, settings.Settings{OTAURL: tc.setting}, "https://portal.example/"); got != tc.want {
				t.Errorf("repoURL = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNoRootNoAgent: without -ota-root there is no agent.
func TestNoRootNoAgent(t *testing.T) {
	u, err := newUpdates(otaOptions{StateDir: t.TempDir(), Portal: "http://127.0.0.1:1", Sim: true}, slog.Default())
	if u != nil || err != nil {
		t.Errorf("newUpdates without a root = %v, %v; want nothing", u, err)
	}
	if v, bad := u.booted("0.1.0"); v != "0.1.0" || bad {
		t.Errorf("booted without updates = %q, %v", v, bad)
	}
	if _, err := newUpdates(otaOptions{Root: filepath.Join(t.TempDir(), "missing.json"), StateDir: t.TempDir()}, slog.Default()); err == nil || !strings.Contains(err.Error(), "-ota-root") {
		t.Errorf("a missing root file: %v", err)
	}
}

// TestSimUpdate is the sim kit end to end: a real portal serving a real
// signed repository, a sim kit paired with it, a "sim" release 0.2.0
// published, an admin's "update now": the kit downloads and verifies it,
// installs it through the fake gokrazy, "reboots" into it on trial,
// commits it, and roomctl status -json says version 0.2.0, update
// healthy. Then an unhealthy 0.3.0 rolls back to 0.2.0 with the reason.
func TestSimUpdate(t *testing.T) {
	if testing.Short() {
		t.Skip("a trial boot takes seconds")
	}
	otaDir := filepath.Join(t.TempDir(), "ota")
	if err := repo.Init(otaDir, repo.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	publish := func(v string, unhealthy bool) {
		t.Helper()
		img := filepath.Join(t.TempDir(), "sim-"+v+".img")
		f, err := os.Create(img)
		if err != nil {
			t.Fatal(err)
		}
		if err := repo.WriteSimImage(f, repo.SimImage{Version: v, Unhealthy: unhealthy}, 1<<20); err != nil {
			t.Fatal(err)
		}
		f.Close()
		r, err := repo.Open(otaDir)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Publish(img, ota.Release{Version: v, Channels: []string{"stable"}, Target: "sim"}); err != nil {
			t.Fatal(err)
		}
	}

	// The portal, serving the repository at /ota/.
	p := startPortal(t, otaDir)
	api := func(method, path string, body any, out any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		return p.api(method, path, string(b), out)
	}

	// The sim kit, as roomd wires it.
	state := t.TempDir()
	logs := &logbuffer.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	upd, err := newUpdates(otaOptions{Root: filepath.Join(otaDir, "metadata", "1.root.json"), Settle: time.Second, Deadline: 8 * time.Second,
		StateDir: state, Portal: p.URL, Sim: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer upd.close()
	cam := cameratest.NewSynthetic(320, 240, 15)
	devs := &devices{camera: cam, simCamera: cam}
	running, _ := upd.booted("0.1.0")
	cfg := simKit(state, p.URL, running, log)
	cfg.Camera = cam
	kit, err := appliance.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { kit.Run(ctx); done <- struct{}{} }()
	go func() { upd.run(ctx, kit, running, devs.simUnhealthy); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()

	until := func(what string, limit time.Duration, cond func(appliance.Status) bool) appliance.Status {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			s := kit.Status()
			if cond(s) {
				return s
			}
			if time.Now().After(deadline) {
				b, _ := json.Marshal(s)
				t.Fatalf("never: %s\nstatus: %s\nlog:\n%s", what, b, logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	s := until("a pairing code", 20*time.Second, func(s appliance.Status) bool { return s.UserCode != "" })
	room := p.pair(s.UserCode, "Boardroom", "")
	until("ready", 20*time.Second, func(s appliance.Status) bool { return s.State == appliance.Ready && s.Update != nil })

	publish("0.2.0", false)
	if code := api("POST", "/api/v1/admin/rooms/"+room+"/update", nil, nil); code != 202 {
		t.Fatalf("update now: %d", code)
	}
	s = until("0.2.0 installed and healthy", 60*time.Second, func(s appliance.Status) bool {
		return s.State == appliance.Ready && s.Version == "0.2.0" && s.Update != nil && s.Update.Last != nil && s.Update.Last.Outcome == ota.Healthy
	})
	b, _ := json.Marshal(s)
	var pinned struct {
		Version string                     `json:"version"`
		Update  map[string]json.RawMessage `json:"update"`
	}
	json.Unmarshal(b, &pinned)
	for _, k := range []string{"state", "target_version", "error"} {
		if _, ok := pinned.Update[k]; !ok {
			t.Errorf("status -json update lacks %q: %s", k, b)
		}
	}

	// An image that fails its trial (its camera is missing): back on
	// 0.2.0, and the reason is shown.
	publish("0.3.0", true)
	if code := api("POST", "/api/v1/admin/rooms/"+room+"/update", nil, nil); code != 202 {
		t.Fatalf("update now: %d", code)
	}
	s = until("0.3.0 rolled back", 90*time.Second, func(s appliance.Status) bool {
		return s.State == appliance.Ready && s.Version == "0.2.0" && s.Update != nil && s.Update.Last != nil && s.Update.Last.Outcome == ota.RolledBack
	})
	if l := s.Update.Last; l.Version != "0.3.0" || !strings.Contains(l.Reason, "Camera") {
		t.Errorf("last update %+v; want 0.3.0 rolled back because of the camera", l)
	}
}
