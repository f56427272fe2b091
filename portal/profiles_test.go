package portal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"roomkit/internal/textfield"
	"roomkit/ota"
	"roomkit/profile"
	"roomkit/settings"
)

func intp(n int) *int    { return &n }
func boolp(b bool) *bool { return &b }

// TestProfileLayering: group profile < room profile < overrides, field by
// field; where each value comes from; the effective time zone; what the
// kit is sent (no update fields) and when.
func TestProfileLayering(t *testing.T) {
	zurich := &namedValues{ID: 1, Name: "Zurich", Values: profile.Values{TimeZone: "Europe/Zurich", Language: "de-CH", Volume: intp(40),
		Camera: &profile.Camera{Name: "Logitech"}, UpdateChannel: "beta"}}
	board := &namedValues{ID: 2, Name: "Boardrooms", Values: profile.Values{Volume: intp(60), Camera: &profile.Camera{Prefer1080p: boolp(true)},
		GPIO: &settings.GPIO{MuteButton: "GPIO17"}}}
	for _, tc := range []struct {
		name     string
		l        configLayers
		want     profile.Values
		sources  map[string]string
		tz       string
		sends    bool
		channel  string
		windowed bool
	}{
		{name: "nothing", l: configLayers{}, want: profile.Values{}, sources: map[string]string{}, tz: "UTC"},
		{name: "only the pairing zone", l: configLayers{Overrides: profile.Values{TimeZone: "Asia/Tokyo"}},
			want: profile.Values{TimeZone: "Asia/Tokyo"}, sources: map[string]string{"time_zone": fromOverride}, tz: "Asia/Tokyo"},
		{name: "group profile under the pairing zone", l: configLayers{GroupProfile: zurich, Overrides: profile.Values{TimeZone: "Asia/Tokyo"}},
			want: profile.Values{TimeZone: "Asia/Tokyo", Language: "de-CH", Volume: intp(40), Camera: &profile.Camera{Name: "Logitech"}, UpdateChannel: "beta"},
			sources: map[string]string{"time_zone": fromOverride, "language": fromGroupProfile, "volume": fromGroupProfile, "camera": fromGroupProfile,
				"update_channel": fromGroupProfile}, tz: "Asia/Tokyo", sends: true, channel: "beta"},
		{name: "group profile once the override is cleared", l: configLayers{GroupProfile: zurich},
			want: profile.Values{TimeZone: "Europe/Zurich", Language: "de-CH", Volume: intp(40), Camera: &profile.Camera{Name: "Logitech"}, UpdateChannel: "beta"},
			sources: map[string]string{"time_zone": fromGroupProfile, "language": fromGroupProfile, "volume": fromGroupProfile, "camera": fromGroupProfile,
				"update_channel": fromGroupProfile}, tz: "Europe/Zurich", sends: true, channel: "beta"},
		{name: "room profile over group profile, camera merged", l: configLayers{GroupProfile: zurich, RoomProfile: board,
			Overrides: profile.Values{Volume: intp(75), UpdateWindow: &ota.Window{Start: "22:00", End: "23:00"}}},
			want: profile.Values{TimeZone: "Europe/Zurich", Language: "de-CH", Volume: intp(75), Camera: &profile.Camera{Name: "Logitech", Prefer1080p: boolp(true)},
				GPIO: &settings.GPIO{MuteButton: "GPIO17"}, UpdateChannel: "beta", UpdateWindow: &ota.Window{Start: "22:00", End: "23:00"}},
			sources: map[string]string{"time_zone": fromGroupProfile, "language": fromGroupProfile, "volume": fromOverride, "camera": fromRoomProfile,
				"gpio": fromRoomProfile, "update_channel": fromGroupProfile, "update_window": fromOverride},
			tz: "Europe/Zurich", sends: true, channel: "beta", windowed: true},
		{name: "an override alone", l: configLayers{Overrides: profile.Values{DisplayRotation: intp(180)}},
			want: profile.Values{DisplayRotation: intp(180)}, sources: map[string]string{"display_rotation": fromOverride}, tz: "UTC", sends: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.l.merged()
			if valuesJSON(got) != valuesJSON(tc.want) {
				t.Errorf("merged %s, want %s", valuesJSON(got), valuesJSON(tc.want))
			}
			if fmt.Sprint(tc.l.sources()) != fmt.Sprint(tc.sources) {
				t.Errorf("sources %v, want %v", tc.l.sources(), tc.sources)
			}
			if tz := tc.l.timeZone(); tz != tc.tz {
				t.Errorf("time zone %q, want %q", tz, tc.tz)
			}
			if tc.l.sendsConfig() != tc.sends {
				t.Errorf("sends config %v, want %v", tc.l.sendsConfig(), tc.sends)
			}
			c := kitConfig(got)
			if c.Values.UpdateChannel != "" || c.Values.UpdateWindow != nil {
				t.Errorf("the kit is sent update fields: %s", valuesJSON(c.Values))
			}
			if c.Revision != c.Values.Revision() {
				t.Errorf("revision %s of %s", c.Revision, valuesJSON(c.Values))
			}
			ul := updateLayer(got)
			if (ul.Channel != nil) != (tc.channel != "") || (ul.Channel != nil && *ul.Channel != tc.channel) || (ul.Window != nil) != tc.windowed {
				t.Errorf("update layer %+v", ul)
			}
		})
	}
}

// profileAPI is a portal with two paired rooms, east and west.
type profileAPI struct {
	e                *env
	east, west       string // room IDs
	eastTok, westTok string // their kits' access tokens
}

func newProfileAPI(t *testing.T) *profileAPI {
	t.Helper()
	e := newEnv(t)
	f := &profileAPI{e: e}
	f.east, f.eastTok = e.pairKit(e.newKit(), "Boardroom East")
	f.west, f.westTok = e.pairKit(e.newKit(), "Huddle West")
	for id, g := range map[string]string{f.east: "east", f.west: "west"} {
		if code, _, b := e.admin("PUT", "/api/v1/admin/rooms/"+id+"/group", map[string]string{"group": g}); code != 200 {
			t.Fatalf("group: %d %s", code, b)
		}
	}
	return f
}

func (f *profileAPI) createProfile(t *testing.T, name, values string) profileView {
	t.Helper()
	code, _, b := f.e.admin("POST", "/api/v1/admin/profiles", `{"name":"`+name+`","values":`+values+`}`)
	if code != 201 {
		t.Fatalf("create profile: %d %s", code, b)
	}
	var pv profileView
	if err := json.Unmarshal(b, &pv); err != nil {
		t.Fatal(err)
	}
	return pv
}

func (f *profileAPI) config(t *testing.T, room string) roomConfigView {
	t.Helper()
	code, _, b := f.e.admin("GET", "/api/v1/admin/rooms/"+room+"/config", nil)
	if code != 200 {
		t.Fatalf("get config: %d %s", code, b)
	}
	var v roomConfigView
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// configAnswer is the parts of a heartbeat answer these tests read.
type configAnswer struct {
	Room   roomConfig      `json:"room"`
	Update *ota.Policy     `json:"update"`
	Config *profile.Config `json:"config"`
}

func beatConfig(t *testing.T, e *env, tok, body string) (configAnswer, string) {
	t.Helper()
	code, b := e.heartbeat(tok, body)
	if code != 200 {
		t.Fatalf("heartbeat: %d %s", code, b)
	}
	var a configAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a, string(b)
}

// withConfig is goodHeartbeat with a config status.
func withConfig(status string) string {
	return strings.TrimSuffix(goodHeartbeat, "}") + `,"config":` + status + `}`
}

// TestProfileHeartbeat: a room nobody configured gets no "config"; a
// group profile reaches the kit; the kit's status is stored and shown
// as applied, rejected because …, or applying… for an old revision.
func TestProfileHeartbeat(t *testing.T) {
	f := newProfileAPI(t)
	e := f.e
	a, raw := beatConfig(t, e, f.eastTok, goodHeartbeat)
	if a.Config != nil || strings.Contains(raw, `"config"`) {
		t.Fatalf("an unconfigured room's answer has config: %s", raw)
	}
	if st := f.config(t, f.east).Status; st.State != kitNoConfig {
		t.Errorf("status before any profile: %+v", st)
	}
	pv := f.createProfile(t, "Standard", `{"language":"de-CH","volume":40}`)
	if code, _, b := e.admin("PUT", "/api/v1/admin/groups/east/profile", map[string]int64{"profile_id": pv.ID}); code != 200 ||
		!strings.Contains(string(b), `"rooms":1`) {
		t.Fatalf("assign: %d %s", code, b)
	}
	a, _ = beatConfig(t, e, f.eastTok, goodHeartbeat)
	if a.Config == nil || a.Config.Values.Language != "de-CH" || *a.Config.Values.Volume != 40 || a.Config.Values.TimeZone != "Europe/Zurich" {
		t.Fatalf("config in the answer: %+v", a.Config)
	}
	if a.Config.Revision != a.Config.Values.Revision() {
		t.Errorf("revision %s does not name the values", a.Config.Revision)
	}
	if w, _ := beatConfig(t, e, f.westTok, goodHeartbeat); w.Config != nil {
		t.Errorf("the west room got the east group's profile: %+v", w.Config)
	}
	if st := f.config(t, f.east).Status; st.State != kitApplying || st.Words != "applying…" {
		t.Errorf("before the kit reports: %+v", st)
	}
	rev := a.Config.Revision
	rejected := `{"revision":"` + rev + `","state":"rejected","rejected":[{"field":"language","reason":"this kit's screen speaks en only"}]}`
	beatConfig(t, e, f.eastTok, withConfig(rejected))
	if rows := roomsPage(t, e); !strings.Contains(rows, "Configuration rejected because screen language: this kit&#39;s screen speaks en only") {
		t.Errorf("the rooms page does not flag the rejection: %s", rows)
	}
	st := f.config(t, f.east).Status
	if st.State != profile.Rejected || st.Words != "rejected because screen language: this kit's screen speaks en only" ||
		st.Reported == nil || st.Reported.Revision != rev {
		t.Errorf("after the rejection: %+v", st)
	}
	// The admin fixes the profile: the rejection is of an old revision.
	if code, _, b := e.admin("PUT", "/api/v1/admin/profiles/"+fmt.Sprint(pv.ID), `{"name":"Standard","values":{"language":"en","volume":40}}`); code != 200 {
		t.Fatalf("update profile: %d %s", code, b)
	}
	a, _ = beatConfig(t, e, f.eastTok, withConfig(rejected))
	if a.Config == nil || a.Config.Revision == rev || a.Config.Values.Language != "en" {
		t.Fatalf("config after the change: %+v", a.Config)
	}
	if st := f.config(t, f.east).Status; st.State != kitApplying || st.Reported.State != profile.Rejected {
		t.Errorf("an old revision's rejection: %+v", st)
	}
	if rows := roomsPage(t, e); strings.Contains(rows, "Configuration rejected") {
		t.Errorf("the rooms page still shows an old revision's rejection")
	}
	beatConfig(t, e, f.eastTok, withConfig(`{"revision":"`+a.Config.Revision+`","state":"applied"}`))
	if st := f.config(t, f.east).Status; st.State != profile.Applied || st.Words != "applied" {
		t.Errorf("after applying: %+v", st)
	}
	// Stored, not only cached: a new portal on the same data says the same.
	var state string
	if err := e.srv.db.QueryRow("SELECT state FROM config_status WHERE room_id = ?", f.east).Scan(&state); err != nil || state != "applied" {
		t.Errorf("stored status %q, %v", state, err)
	}
}

// TestHeartbeatConfigStatusBad: a status that does not fit is refused
// with a sentence, like the rest of a heartbeat.
func TestHeartbeatConfigStatusBad(t *testing.T) {
	f := newProfileAPI(t)
	for _, tc := range []struct{ status, want string }{
		{`{"revision":"abc","state":"applied"}`, `config.revision "abc": want 16 hex digits`},
		{`{"revision":"0123456789abcdef","state":"done"}`, `config.state "done" with 0 rejected fields`},
		{`{"revision":"0123456789abcdef","state":"rejected"}`, `config.state "rejected" with 0 rejected fields`},
		{`{"revision":"0123456789abcdef","state":"rejected","rejected":[{"field":"colour","reason":"no"}]}`, `unknown field "colour"`},
		{`{"revision":"0123456789abcdef","state":"rejected","rejected":[{"field":"volume","reason":""}]}`, `want a reason of 1 to 200 bytes`},
		{`{"revision":"0123456789abcdef","state":"rejected","rejected":[{"field":"volume","reason":"a\nb"}]}`, `config.rejected volume: the reason`},
		{`{"revision":"0123456789abcdef","state":"applied","extra":1}`, `unknown field "extra"`},
		{`{"revision":"0123456789abcdef","state":"applied","rejected":"x"}`, `field "config.rejected" must be a JSON slice`},
	} {
		code, b := f.e.heartbeat(f.eastTok, withConfig(tc.status))
		if code != 400 || !strings.HasPrefix(errCode(t, b), "Bad heartbeat: ") || !strings.Contains(errCode(t, b), tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.status, code, b, tc.want)
		}
	}
	var n int
	f.e.srv.db.QueryRow("SELECT COUNT(*) FROM config_status").Scan(&n)
	if n != 0 {
		t.Errorf("%d statuses stored from bad heartbeats", n)
	}
}

// TestProfileTimeZone: the pairing zone is the room's override; cleared,
// the profile's zone rules everywhere the portal uses the room's zone.
func TestProfileTimeZone(t *testing.T) {
	f := newProfileAPI(t)
	e := f.e
	pv := f.createProfile(t, "New York", `{"time_zone":"America/New_York"}`)
	e.admin("PUT", "/api/v1/admin/groups/east/profile", map[string]int64{"profile_id": pv.ID})
	if v := f.config(t, f.east); v.TimeZone != "Europe/Zurich" || v.Sources["time_zone"] != fromOverride {
		t.Errorf("with the pairing zone: %q from %q", v.TimeZone, v.Sources["time_zone"])
	}
	code, _, b := e.admin("DELETE", "/api/v1/admin/rooms/"+f.east+"/config", nil)
	if code != 200 {
		t.Fatalf("clear overrides: %d %s", code, b)
	}
	if v := f.config(t, f.east); v.TimeZone != "America/New_York" || v.Sources["time_zone"] != fromGroupProfile {
		t.Errorf("after clearing: %q from %q", v.TimeZone, v.Sources["time_zone"])
	}
	a, _ := beatConfig(t, e, f.eastTok, goodHeartbeat)
	if a.Room.TimeZone != "America/New_York" || a.Update == nil || a.Update.TimeZone != "America/New_York" ||
		a.Config == nil || a.Config.Values.TimeZone != "America/New_York" {
		t.Errorf("the kit's answer: room %+v update %+v config %+v", a.Room, a.Update, a.Config)
	}
	if d := roomDetailOf(t, e, f.east); d.TimeZone != "America/New_York" {
		t.Errorf("the room's zone in the admin API: %q", d.TimeZone)
	}
	// Out of the group: no profile, no override: UTC.
	e.admin("PUT", "/api/v1/admin/rooms/"+f.east+"/group", map[string]string{"group": ""})
	if a, _ := beatConfig(t, e, f.eastTok, goodHeartbeat); a.Room.TimeZone != "UTC" || a.Config != nil {
		t.Errorf("out of the group: room %+v config %+v", a.Room, a.Config)
	}
	// An override sets it again.
	if code, _, b := e.admin("PUT", "/api/v1/admin/rooms/"+f.east+"/config", `{"time_zone":"Asia/Tokyo"}`); code != 200 {
		t.Fatalf("override: %d %s", code, b)
	}
	if a, _ := beatConfig(t, e, f.eastTok, goodHeartbeat); a.Room.TimeZone != "Asia/Tokyo" || a.Config != nil {
		t.Errorf("with a zone override only: room %+v config %+v", a.Room, a.Config)
	}
}

// TestProfileUpdatePolicy: a profile's update channel and window sit
// above the fleet's policy and below the Updates page's group and room
// policies.
func TestProfileUpdatePolicy(t *testing.T) {
	f := newProfileAPI(t)
	e := f.e
	put := func(path string, body any) {
		t.Helper()
		if code, _, b := e.admin("PUT", path, body); code != 200 {
			t.Fatalf("PUT %s: %d %s", path, code, b)
		}
	}
	put("/api/v1/admin/update-policy/fleet", `{"channel":"stable","window":{"start":"01:00","end":"04:00"}}`)
	pv := f.createProfile(t, "Beta", `{"update_channel":"beta","update_window":{"start":"22:00","end":"23:30"}}`)
	put("/api/v1/admin/groups/east/profile", map[string]int64{"profile_id": pv.ID})
	for _, tc := range []struct {
		name         string
		setup        func()
		channel, win string
	}{
		{"profile over the fleet", func() {}, "beta", "22:00"},
		{"group policy over the profile", func() { put("/api/v1/admin/update-policy/group:east", `{"channel":"stable"}`) }, "stable", "22:00"},
		{"room override over the profile", func() {
			put("/api/v1/admin/rooms/"+f.east+"/config", `{"update_window":{"start":"02:00","end":"03:00"}}`)
		}, "stable", "02:00"},
		{"room policy over all", func() { put("/api/v1/admin/update-policy/room:"+f.east, `{"window":{"start":"05:00","end":"06:00"}}`) }, "stable", "05:00"},
	} {
		tc.setup()
		a, _ := beatConfig(t, e, f.eastTok, goodHeartbeat)
		if a.Update == nil || a.Update.Channel != tc.channel || a.Update.Window.Start != tc.win {
			t.Errorf("%s: the kit's update policy %+v, want %s from %s", tc.name, a.Update, tc.channel, tc.win)
		}
		if v := f.config(t, f.east); v.Update.Channel != tc.channel || v.Update.Window.Start != tc.win {
			t.Errorf("%s: the config view's update policy %+v", tc.name, v.Update)
		}
		if v := getPolicy(t, e, "room:"+f.east).Effective; v.Channel != tc.channel || v.Window.Start != tc.win {
			t.Errorf("%s: the room's policy view %+v", tc.name, v)
		}
		if a.Config != nil && (a.Config.Values.UpdateChannel != "" || a.Config.Values.UpdateWindow != nil) {
			t.Errorf("%s: update fields in config too: %+v", tc.name, a.Config.Values)
		}
	}
	if g := getPolicy(t, e, "group:east").Effective; g.Channel != "stable" || g.Window.Start != "22:00" {
		t.Errorf("the group's policy view (its policy's channel, its profile's window): %+v", g)
	}
	if w, _ := beatConfig(t, e, f.westTok, goodHeartbeat); w.Update.Channel != "stable" || w.Update.Window.Start != "01:00" {
		t.Errorf("the west room follows the fleet: %+v", w.Update)
	}
}

// TestProfileAPIBadInput: each bad request is refused in words, and
// nothing changes.
func TestProfileAPIBadInput(t *testing.T) {
	f := newProfileAPI(t)
	e := f.e
	pv := f.createProfile(t, "Standard", `{"volume":40}`)
	e.admin("PUT", "/api/v1/admin/groups/east/profile", map[string]int64{"profile_id": pv.ID})
	e.admin("PUT", "/api/v1/admin/rooms/"+f.west+"/profile", map[string]int64{"profile_id": pv.ID})
	eastAdmin, _, err := e.srv.CreateAPITokenWith("east admin", TokenOptions{Role: RoleAdmin, Group: "east"})
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(pv.ID)
	for _, tc := range []struct {
		method, path, body string
		token              string // "" the account's admin token
		code               int
		want               string
	}{
		{"POST", "/api/v1/admin/profiles", `{"name":"Loud","values":{"volume":130}}`, "", 400, "Bad profile values: volume 130: want 0 to 100."},
		{"POST", "/api/v1/admin/profiles", `{"name":"Tilted","values":{"display_rotation":45,"time_zone":"Mars/Olympus"}}`, "", 400,
			`time_zone "Mars/Olympus": not a time zone (like Europe/Zurich); display_rotation 45: want 0, 90, 180 or 270`},
		{"POST", "/api/v1/admin/profiles", `{"name":"Typo","values":{"volum":40}}`, "", 400, `unknown field "volum"`},
		{"POST", "/api/v1/admin/profiles", `{"name":"","values":{}}`, "", 400, "A profile's name must be one line"},
		{"POST", "/api/v1/admin/profiles", `{"name":"standard","values":{}}`, "", 409, `There is already a profile named "standard".`},
		{"POST", "/api/v1/admin/profiles", `{"name":"X","values":{},"colour":1}`, "", 400, `unknown field "colour"`},
		{"GET", "/api/v1/admin/profiles/999", "", "", 404, "There is no profile with the ID 999."},
		{"GET", "/api/v1/admin/profiles/abc", "", "", 404, `There is no profile with the ID "abc".`},
		{"PUT", "/api/v1/admin/profiles/999", `{"name":"X","values":{}}`, "", 404, "There is no profile with the ID 999."},
		{"DELETE", "/api/v1/admin/profiles/" + id, "", "", 409,
			`The profile "Standard" is in use by the groups "east" and the rooms "Huddle West" (` + f.west + `). Assign those another profile or none first.`},
		{"PUT", "/api/v1/admin/rooms/rm_nope/config", `{"volume":10}`, "", 404, `There is no room with the ID "rm_nope".`},
		{"GET", "/api/v1/admin/rooms/rm_nope/config", "", "", 404, `There is no room with the ID "rm_nope".`},
		{"PUT", "/api/v1/admin/rooms/rm_nope/profile", `{"profile_id":` + id + `}`, "", 404, `There is no room with the ID "rm_nope".`},
		{"PUT", "/api/v1/admin/rooms/" + f.east + "/config", `{"language":"German"}`, "", 400, `Bad overrides: language "German": want a language tag like en or de-CH.`},
		{"PUT", "/api/v1/admin/rooms/" + f.east + "/config", `{"gpio":{"mute_button":"17"}}`, "", 400, `gpio.mute_button "17": want a pin like GPIO17`},
		{"PUT", "/api/v1/admin/rooms/" + f.east + "/config", `{"update_window":{"start":"25:00","end":"04:00"}}`, "", 400, `update_window:`},
		{"PUT", "/api/v1/admin/rooms/" + f.east + "/profile", `{"profile_id":999}`, "", 400, "There is no profile with the ID 999."},
		{"PUT", "/api/v1/admin/rooms/" + f.east + "/profile", `{}`, "", 400, `send {"profile_id": ID}`},
		{"PUT", "/api/v1/admin/groups/east/profile", `{"profile_id":999}`, "", 400, "There is no profile with the ID 999."},
		{"PUT", "/api/v1/admin/groups/a,b/profile", `{"profile_id":` + id + `}`, "", 400, "A group's name must be one line"},
		// A group admin: its own rooms and groups only, and no profile edits.
		{"GET", "/api/v1/admin/rooms/" + f.west + "/config", "", eastAdmin, 403, "Not allowed: you manage only the rooms of the groups east"},
		{"PUT", "/api/v1/admin/rooms/rm_nope/config", `{}`, eastAdmin, 403, "Not allowed: you manage only the rooms of the groups east"},
		{"PUT", "/api/v1/admin/groups/west/profile", `{"profile_id":` + id + `}`, eastAdmin, 403, "Not allowed: you manage only the rooms of the groups east"},
		{"PUT", "/api/v1/admin/profiles/" + id, `{"name":"Mine","values":{}}`, eastAdmin, 403, "Not allowed: this is account-wide"},
	} {
		tok := e.token
		if tc.token != "" {
			tok = tc.token
		}
		code, _, b := e.do(tc.method, tc.path, "application/json", []byte(tc.body), map[string]string{"Authorization": "Bearer " + tok})
		if code != tc.code || !strings.Contains(errCode(t, b), tc.want) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", tc.method, tc.path, tc.body, code, b, tc.code, tc.want)
		}
	}
	// Nothing changed: the profile and assignments are as they were.
	got := f.createProfileList(t)
	if len(got) != 1 || valuesJSON(got[0].Values) != `{"volume":40}` || fmt.Sprint(got[0].Groups) != "[east]" || len(got[0].Rooms) != 1 {
		t.Errorf("after the refusals: %+v", got)
	}
	// The group admin sees the profile, but only its own groups' uses.
	code, _, b := e.do("GET", "/api/v1/admin/profiles", "", nil, map[string]string{"Authorization": "Bearer " + eastAdmin})
	if code != 200 || strings.Contains(string(b), "Huddle West") || !strings.Contains(string(b), `"groups":["east"]`) {
		t.Errorf("the group admin's list: %d %s", code, b)
	}
	// Unassigned, it can go.
	e.admin("DELETE", "/api/v1/admin/groups/east/profile", nil)
	e.admin("DELETE", "/api/v1/admin/rooms/"+f.west+"/profile", nil)
	if code, _, b := e.admin("DELETE", "/api/v1/admin/profiles/"+id, nil); code != 204 {
		t.Errorf("delete unused: %d %s", code, b)
	}
}

func (f *profileAPI) createProfileList(t *testing.T) []profileView {
	t.Helper()
	code, _, b := f.e.admin("GET", "/api/v1/admin/profiles", nil)
	if code != 200 {
		t.Fatalf("list: %d %s", code, b)
	}
	var ps []profileView
	if err := json.Unmarshal(b, &ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestProfileAudit: every change is in the audit log, with its room.
func TestProfileAudit(t *testing.T) {
	f := newProfileAPI(t)
	e := f.e
	pv := f.createProfile(t, "Standard", `{"volume":40}`)
	id := fmt.Sprint(pv.ID)
	for _, r := range []struct{ method, path, body string }{
		{"PUT", "/api/v1/admin/profiles/" + id, `{"name":"Standard","values":{"volume":50}}`},
		{"PUT", "/api/v1/admin/groups/east/profile", `{"profile_id":` + id + `}`},
		{"PUT", "/api/v1/admin/rooms/" + f.west + "/profile", `{"profile_id":` + id + `}`},
		{"PUT", "/api/v1/admin/rooms/" + f.west + "/config", `{"volume":10}`},
		{"DELETE", "/api/v1/admin/rooms/" + f.west + "/profile", ""},
		{"DELETE", "/api/v1/admin/groups/east/profile", ""},
		{"DELETE", "/api/v1/admin/profiles/" + id, ""},
	} {
		if code, _, b := e.admin(r.method, r.path, r.body); code >= 300 {
			t.Fatalf("%s %s: %d %s", r.method, r.path, code, b)
		}
	}
	entries, err := e.srv.auditLog(20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		if strings.Contains(en.Action, "profile") || en.Action == "set overrides" {
			got = append(got, en.Action)
		}
	}
	want := "[delete profile unassign profile unassign profile set overrides assign profile assign profile update profile create profile]"
	if fmt.Sprint(got) != want {
		t.Errorf("audit %v, want %s", got, want)
	}
	var room string
	e.srv.db.QueryRow("SELECT room FROM audit WHERE action = 'set overrides'").Scan(&room)
	if room != f.west {
		t.Errorf("the overrides' audit entry names room %q", room)
	}
}

// TestProfileWebForms: the Profiles page creates a profile and assigns it
// to a group; a bad value is refused in words with the form kept.
func TestProfileWebForms(t *testing.T) {
	f := newProfileAPI(t)
	e := f.e
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	br := e.browser()
	if code, page := br.login("it@example.com", "correct4horse"); code != 200 {
		t.Fatalf("login: %d %s", code, page)
	}
	_, page := br.get("/admin/profiles")
	csrf := csrfOf(t, page)
	post := func(path string, kv map[string]string) (int, string) {
		v := url.Values{"csrf": {csrf}}
		for k, x := range kv {
			v.Set(k, x)
		}
		return br.post(path, v, e.ts.URL)
	}
	code, body := post("/admin/profiles", map[string]string{"name": "Quiet", "volume": "300"})
	if code != http.StatusBadRequest || !strings.Contains(body, "The profile was not saved: volume 300: want 0 to 100.") || !strings.Contains(body, `value="Quiet"`) {
		t.Errorf("bad volume: %d %s", code, body)
	}
	code, body = post("/admin/profiles", map[string]string{"name": "Quiet", "volume": "20", "camera_resolution": "1080p", "gpio_mute_button": "GPIO17"})
	if code != 200 || !strings.Contains(body, "The profile was created") {
		t.Fatalf("create: %d %s", code, body)
	}
	ps := f.createProfileList(t)
	if len(ps) != 1 || valuesJSON(ps[0].Values) != `{"volume":20,"camera":{"prefer_1080p":true},"gpio":{"mute_button":"GPIO17"}}` {
		t.Fatalf("profiles: %+v", ps)
	}
	code, body = post("/admin/groups/east/profile", map[string]string{"profile_id": fmt.Sprint(ps[0].ID)})
	if code != 200 || !strings.Contains(body, "profile was saved. Its rooms get it") {
		t.Fatalf("assign: %d %s", code, body)
	}
	if v := f.config(t, f.east); v.Layers.GroupProfile == nil || v.Layers.GroupProfile.Name != "Quiet" {
		t.Errorf("east's layers: %+v", v.Layers)
	}
}

// FuzzConfigHeartbeat: a heartbeat's config status is accepted only when
// it passes profile.Status.Check and its reasons are one line each.
func FuzzConfigHeartbeat(f *testing.F) {
	f.Add([]byte(withConfig(`{"revision":"0123456789abcdef","state":"applied"}`)))
	f.Add([]byte(withConfig(`{"revision":"0123456789abcdef","state":"rejected","rejected":[{"field":"language","reason":"en only"}]}`)))
	f.Add([]byte(withConfig(`{"revision":"0123456789abcdef","state":"rejected","rejected":[{"field":"gpio","reason":"no GPIO17\u2028"}]}`)))
	f.Add([]byte(withConfig(`null`)))
	f.Fuzz(func(t *testing.T, body []byte) {
		hb, err := parseHeartbeat(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if c := hb.Config; c != nil {
			if err := c.Check(); err != nil {
				t.Fatalf("accepted %+v: %v", c, err)
			}
			for _, r := range c.Rejected {
				if textfieldErr(r.Reason) {
					t.Fatalf("accepted the reason %q", r.Reason)
				}
			}
		}
	})
}

// FuzzProfileInput: an accepted profile body has a name and values that
// pass profile.Check.
func FuzzProfileInput(f *testing.F) {
	f.Add([]byte(`{"name":"Standard","values":{"volume":40,"camera":{"name":"Logitech"}}}`))
	f.Add([]byte(`{"name":"X","values":null}`))
	f.Add([]byte(`{"name":" ","values":{"display_rotation":45}}`))
	f.Add([]byte(`{"name":"Y","values":{"gpio":{"mute_button":"GPIO17","active_low":true},"update_window":{"start":"01:00","end":"04:00"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		name, v, herr := parseProfileInput(body)
		if herr != nil {
			if herr.msg == "" || herr.status != http.StatusBadRequest {
				t.Fatalf("refusal %d %q", herr.status, herr.msg)
			}
			return
		}
		if name == "" || len([]rune(name)) > maxProfileName || v.Check() != nil {
			t.Fatalf("accepted %q %+v", name, v)
		}
	})
}

func textfieldErr(s string) bool { return textfield.Check(s, 200) != nil }

// roomsPage is the rooms page as an owner sees it.
func roomsPage(t *testing.T, e *env) string {
	t.Helper()
	if err := e.srv.CreateAdmin("rooms@example.com", "correct4horse"); err != nil && !strings.Contains(err.Error(), "exists") {
		t.Fatal(err)
	}
	br := e.browser()
	code, page := br.login("rooms@example.com", "correct4horse")
	if code != 200 {
		t.Fatalf("login: %d %s", code, page)
	}
	return page
}

// TestProfileRestart: profiles, assignments, overrides and the kit's
// status outlive a restart of the portal; the kit's answer is the same.
func TestProfileRestart(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	e := newEnvIn(t, dir, c)
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	e.admin("PUT", "/api/v1/admin/rooms/"+roomID+"/group", map[string]string{"group": "east"})
	code, _, b := e.admin("POST", "/api/v1/admin/profiles", `{"name":"Standard","values":{"language":"fr","update_channel":"beta"}}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	e.admin("PUT", "/api/v1/admin/groups/east/profile", `{"profile_id":1}`)
	e.admin("PUT", "/api/v1/admin/rooms/"+roomID+"/config", `{"volume":20}`)
	before, _ := beatConfig(t, e, tok, goodHeartbeat)
	beatConfig(t, e, tok, withConfig(`{"revision":"`+before.Config.Revision+`","state":"applied"}`))
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}

	e2 := newEnvIn(t, dir, c)
	e2.token = e.token
	after, _ := beatConfig(t, e2, tok, goodHeartbeat)
	if after.Config == nil || after.Config.Revision != before.Config.Revision || after.Update.Channel != "beta" || after.Room.TimeZone != "UTC" {
		t.Errorf("after the restart: config %+v update %+v room %+v", after.Config, after.Update, after.Room)
	}
	f := &profileAPI{e: e2}
	if v := f.config(t, roomID); v.Status.State != profile.Applied || *v.Effective.Volume != 20 {
		t.Errorf("the room's configuration after the restart: %+v", v)
	}
}

// TestProfileAPIDocAnswers: the profiles' answers, and a heartbeat with
// config both ways, have the fields docs/api.yaml says and no other.
func TestProfileAPIDocAnswers(t *testing.T) {
	d := loadAPIDoc(t)
	ops := d.operations()
	f := newProfileAPI(t)
	e := f.e
	pv := f.createProfile(t, "Standard", `{"language":"de-CH","volume":40,"camera":{"name":"Logitech","prefer_1080p":true},
		"gpio":{"mute_button":"GPIO17","active_low":true},"update_channel":"beta","update_window":{"start":"22:00","end":"23:00"}}`)
	id := fmt.Sprint(pv.ID)
	e.admin("PUT", "/api/v1/admin/rooms/"+f.west+"/profile", `{"profile_id":`+id+`}`)
	a, raw := beatConfig(t, e, f.westTok, goodHeartbeat)
	status := `{"revision":"` + a.Config.Revision + `","state":"rejected","rejected":[{"field":"language","reason":"this kit's screen speaks en only"}]}`
	beatConfig(t, e, f.westTok, withConfig(status))
	check := func(pattern, code string, body []byte, request bool) {
		t.Helper()
		op := ops[pattern]
		if op == nil {
			t.Errorf("%s: not documented", pattern)
			return
		}
		var schema any
		if request {
			schema = d.jsonSchema(t, op["requestBody"])
		} else if r := d.response(t, op, code); r != nil {
			schema = d.jsonSchema(t, r)
		} else {
			t.Errorf("%s: %s is not documented: %.200s", pattern, code, body)
			return
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: not JSON: %s", pattern, body)
		}
		d.checkValue(t, pattern, schema, v)
	}
	check("POST /api/v1/device/heartbeat", "200", []byte(raw), false)
	check("POST /api/v1/device/heartbeat", "", []byte(withConfig(status)), true)
	for _, c := range []struct{ pattern, method, path, body string }{
		{"GET /api/v1/admin/profiles", "GET", "/api/v1/admin/profiles", ""},
		{"GET /api/v1/admin/profiles/{id}", "GET", "/api/v1/admin/profiles/" + id, ""},
		{"PUT /api/v1/admin/groups/{group}/profile", "PUT", "/api/v1/admin/groups/east/profile", `{"profile_id":` + id + `}`},
		{"DELETE /api/v1/admin/groups/{group}/profile", "DELETE", "/api/v1/admin/groups/east/profile", ""},
		{"PUT /api/v1/admin/rooms/{id}/config", "PUT", "/api/v1/admin/rooms/" + f.west + "/config", `{"volume":20,"time_zone":"Asia/Tokyo"}`},
		{"GET /api/v1/admin/rooms/{id}/config", "GET", "/api/v1/admin/rooms/" + f.west + "/config", ""},
		{"GET /api/v1/admin/rooms/{id}/config", "GET", "/api/v1/admin/rooms/" + f.east + "/config", ""},
		{"DELETE /api/v1/admin/profiles/{id}", "DELETE", "/api/v1/admin/profiles/" + id, ""},
		{"POST /api/v1/admin/profiles", "POST", "/api/v1/admin/profiles", `{"name":"Loud","values":{"volume":130}}`},
	} {
		var body any
		if c.body != "" {
			body = c.body
			check(c.pattern, "", []byte(c.body), true)
		}
		code, _, b := e.admin(c.method, c.path, body)
		check(c.pattern, fmt.Sprint(code), b, false)
	}
}
