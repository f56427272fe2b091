package main

import (
	"encoding/json"
	"log/slog"
	"testing"

	"roomkit/appliance"
	"roomkit/internal/logbuffer"
)

// TestProfilesEndToEnd, on loopback: a portal and a sim kit, paired; a
// profile assigned to the room's group through the admin API reaches the
// kit, which applies the volume and rejects the language its screen does
// not speak; the portal's room configuration says "rejected because …".
// Fixed, the profile is applied, and the portal says so.
func TestProfilesEndToEnd(t *testing.T) {
	p := startPortal(t, "")
	api := p.api

	logs := &logbuffer.Buffer{}
	kit, err := appliance.New(simKit(t.TempDir(), p.URL, "0.1.0", slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	until := runKit(t, kit, logs)
	until("a pairing code", func() bool { return kit.Status().UserCode != "" })
	room := p.pair(kit.Status().UserCode, "Boardroom", "Europe/Zurich")
	until("ready", func() bool { return kit.Status().State == appliance.Ready })
	if code := api("PUT", "/api/v1/admin/rooms/"+room+"/group", `{"group":"zurich"}`, nil); code != 200 {
		t.Fatalf("group: %d", code)
	}

	var prof struct {
		ID int64 `json:"id"`
	}
	if code := api("POST", "/api/v1/admin/profiles", `{"name":"Zurich","values":{"language":"de-CH","volume":45}}`, &prof); code != 201 {
		t.Fatalf("create profile: %d", code)
	}
	if code := api("PUT", "/api/v1/admin/groups/zurich/profile", `{"profile_id":`+jsonInt(prof.ID)+`}`, nil); code != 200 {
		t.Fatalf("assign: %d", code)
	}
	type roomConfig struct {
		Config *struct {
			Revision string `json:"revision"`
		} `json:"config"`
		Status struct {
			State string `json:"state"`
			Words string `json:"words"`
		} `json:"status"`
	}
	var rc roomConfig
	until("the portal shows the kit's rejection", func() bool {
		api("GET", "/api/v1/admin/rooms/"+room+"/config", "", &rc)
		return rc.Status.State == "rejected"
	})
	if rc.Status.Words != "rejected because screen language: this kit's screen speaks en only" {
		t.Errorf("the portal says %q", rc.Status.Words)
	}
	if s := kit.Status(); s.Volume != 45 || s.Config == nil || s.Config.Revision != rc.Config.Revision {
		t.Errorf("the kit: volume %d, config %+v, want the revision %s", s.Volume, s.Config, rc.Config.Revision)
	}

	// Fixed: English, and a room override for the volume.
	if code := api("PUT", "/api/v1/admin/profiles/"+jsonInt(prof.ID), `{"name":"Zurich","values":{"language":"en","volume":45}}`, nil); code != 200 {
		t.Fatalf("update profile: %d", code)
	}
	if code := api("PUT", "/api/v1/admin/rooms/"+room+"/config", `{"time_zone":"Europe/Zurich","volume":60}`, nil); code != 200 {
		t.Fatalf("override: %d", code)
	}
	until("the portal shows the profile applied", func() bool {
		api("GET", "/api/v1/admin/rooms/"+room+"/config", "", &rc)
		return rc.Status.State == "applied"
	})
	if s := kit.Status(); s.Volume != 60 || s.Config == nil || s.Config.Revision != rc.Config.Revision {
		t.Errorf("the kit after the fix: volume %d, config %+v", s.Volume, s.Config)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
