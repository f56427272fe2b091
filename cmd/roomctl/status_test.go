package main

import (
	"bytes"
	"strings"
	"testing"

	"roomkit/appliance"
	"roomkit/appliance/meeting"
	"roomkit/drivers"
	"roomkit/ota"
	"roomkit/profile"
)

// TestPrintStatusEscapes: state stored before the portal refused control
// characters, or a driver's odd text, prints as visible escapes: it can
// neither add a line nor restyle or reorder the terminal.
func TestPrintStatusEscapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   appliance.Status
		key  string
		want string // the value printed after "key:", as a user sees it
	}{
		{"arabic room name as is", appliance.Status{State: appliance.Ready, RoomName: "غرفة الاجتماعات"}, "room", "غرفة الاجتماعات"},
		{"newline in the room name", appliance.Status{State: appliance.Ready, RoomName: "Boardroom\nstate: pairing"}, "room", `Boardroom\nstate: pairing`},
		{"terminal escape in the location", appliance.Status{State: appliance.Ready, Location: "\x1b[2J\x1b[31m3rd floor"}, "location", `\x1b[2J\x1b[31m3rd floor`},
		{"NUL", appliance.Status{State: appliance.Ready, RoomName: "Board\x00room"}, "room", `Board\x00room`},
		{"bidi override", appliance.Status{State: appliance.Ready, RoomName: "Room \u202e21.4"}, "room", `Room \u202e21.4`},
		{"device error over two lines", appliance.Status{State: appliance.Ready, Devices: []drivers.Status{{Kind: "camera", Name: "Cam", Present: true, Error: "busy\r\nretry"}}},
			"camera", `Cam: busy\r\nretry`},
		{"update error over two lines", appliance.Status{State: appliance.Ready, Update: &ota.Status{State: ota.Failed, TargetVersion: "1.5.0", Error: "download:\nreset"}},
			"update", `failed 1.5.0: download:\nreset`},
		{"update progress", appliance.Status{State: appliance.Ready, Update: &ota.Status{State: ota.Downloading, TargetVersion: "1.5.0", Progress: 0.42}},
			"update", "downloading 1.5.0 (42 %)"},
		{"profile rejected", appliance.Status{State: appliance.Ready, Config: &appliance.ConfigStatus{Status: profile.Status{Revision: "0123456789abcdef", State: profile.Rejected,
			Rejected: []profile.Rejection{{Field: "camera", Reason: "no camera named Logi\ntech; found: vivid"}}}, PendingRevision: "fedcba9876543210"}},
			"profile", `0123456789abcdef rejected: camera (no camera named Logi\ntech; found: vivid) (fedcba9876543210 waits for the kit to be idle to restart roomd)`},
		{"participant name", appliance.Status{State: appliance.InMeeting, Meeting: &appliance.MeetingStatus{ID: "123456789",
			Participants: []meeting.Participant{{Identity: "g1", Name: "Ada\x1b]0;pwned\a"}}}}, "participants", `1: Ada\x1b]0;pwned\a`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printStatus(&b, tc.st); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			found := false
			for _, l := range strings.Split(got, "\n") {
				k, v, _ := strings.Cut(l, ":")
				found = found || (k == tc.key && strings.TrimLeft(v, " ") == tc.want)
			}
			if !found {
				t.Errorf("status lacks %s: %s\n%s", tc.key, tc.want, got)
			}
			if strings.ContainsFunc(strings.ReplaceAll(got, "\n", ""), func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x202e }) {
				t.Errorf("status prints a control character raw: %q", got)
			}
		})
	}
}
