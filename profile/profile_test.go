package profile

import (
	"strings"
	"testing"

	"roomkit/ota"
	"roomkit/settings"
)

func ptr[T any](v T) *T { return &v }

func TestParse(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"empty", `{}`, ""},
		{"all fields", `{"time_zone":"Europe/Zurich","language":"de-CH","display_rotation":180,"volume":40,
			"camera":{"name":"Logitech","prefer_1080p":true},"gpio":{"mute_button":"GPIO17","active_low":true},
			"update_channel":"beta","update_window":{"start":"02:00","end":"05:00"}}`, ""},
		{"unknown field", `{"rotation":90}`, `unknown field "rotation"`},
		{"bad time zone", `{"time_zone":"Mars/Olympus"}`, "not a time zone"},
		{"Local is not a zone", `{"time_zone":"Local"}`, "not a time zone"},
		{"bad language", `{"language":"German"}`, "language tag"},
		{"bad rotation", `{"display_rotation":45}`, "want 0, 90, 180 or 270"},
		{"loud", `{"volume":130}`, "want 0 to 100"},
		{"negative volume", `{"volume":-1}`, "want 0 to 100"},
		{"bad pin", `{"gpio":{"mute_led":"pin 4"}}`, "gpio.mute_led"},
		{"bad channel", `{"update_channel":"nightly!"}`, "update_channel"},
		{"bad window", `{"update_window":{"start":"25:00","end":"04:00"}}`, "update_window"},
		{"two objects", `{}{}`, "more than one"},
		{"not JSON", `volume=3`, "profile:"},
		{"too big", `{"language":"` + strings.Repeat("a", MaxBytes) + `"}`, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Parse: %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	group := Values{TimeZone: "Europe/Zurich", Volume: ptr(50), Camera: &Camera{Name: "Logitech"}, GPIO: &settings.GPIO{MuteButton: "GPIO17"}, UpdateChannel: "stable"}
	room := Values{Volume: ptr(0), Camera: &Camera{Prefer1080p: ptr(true)}, GPIO: &settings.GPIO{Presence: "GPIO4"}}
	override := Values{TimeZone: "Europe/Berlin", UpdateWindow: &ota.Window{Start: "22:00", End: "23:00"}}
	m := Merge(group, room, override)
	switch {
	case m.TimeZone != "Europe/Berlin":
		t.Errorf("time zone %q: the override wins", m.TimeZone)
	case m.Volume == nil || *m.Volume != 0:
		t.Errorf("volume %v: the room's 0 is a value, not unset", m.Volume)
	case m.Camera.Name != "Logitech" || m.Camera.Prefer1080p == nil || !*m.Camera.Prefer1080p:
		t.Errorf("camera %+v: merged field by field", m.Camera)
	case *m.GPIO != (settings.GPIO{Presence: "GPIO4"}):
		t.Errorf("gpio %+v: replaced whole", m.GPIO)
	case m.UpdateChannel != "stable" || m.UpdateWindow.Start != "22:00":
		t.Errorf("update %q %+v", m.UpdateChannel, m.UpdateWindow)
	}
	if group.Camera.Prefer1080p != nil {
		t.Error("Merge changed a layer")
	}
	if Merge().Revision() != (Values{}).Revision() || m.Revision() == group.Revision() {
		t.Error("revisions: equal values must match, different ones must not")
	}
	if r := m.Revision(); len(r) != 16 || Merge(group, room, override).Revision() != r {
		t.Errorf("revision %q not stable", r)
	}
}

func TestStatusCheck(t *testing.T) {
	rev := Values{}.Revision()
	tests := []struct {
		name string
		s    Status
		ok   bool
	}{
		{"applied", Status{Revision: rev, State: Applied}, true},
		{"rejected", Status{Revision: rev, State: Rejected, Rejected: []Rejection{{"language", "this kit's screen speaks en only"}}}, true},
		{"applied with rejections", Status{Revision: rev, State: Applied, Rejected: []Rejection{{"language", "x"}}}, false},
		{"rejected without any", Status{Revision: rev, State: Rejected}, false},
		{"unknown state", Status{Revision: rev, State: "pending"}, false},
		{"short revision", Status{Revision: "abc", State: Applied}, false},
		{"not hex", Status{Revision: strings.Repeat("z", 16), State: Applied}, false},
		{"unknown field", Status{Revision: rev, State: Rejected, Rejected: []Rejection{{"colour", "no"}}}, false},
		{"no reason", Status{Revision: rev, State: Rejected, Rejected: []Rejection{{"volume", ""}}}, false},
	}
	for _, tt := range tests {
		if err := tt.s.Check(); (err == nil) != tt.ok {
			t.Errorf("%s: Check() = %v", tt.name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"time_zone":"Europe/Zurich","volume":40,"camera":{"name":"x"}}`))
	f.Add([]byte(`{"gpio":{"mute_button":"GPIO17"},"update_window":{"start":"01:00","end":"04:00"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b)
		if err != nil {
			return
		}
		if v.Check() != nil {
			t.Fatal("Parse accepted values Check refuses")
		}
		// A merged, valid profile stays valid and keeps its revision.
		if m := Merge(Values{}, v); m.Check() != nil || m.Revision() != v.Revision() {
			t.Fatalf("Merge changed %+v", v)
		}
	})
}
