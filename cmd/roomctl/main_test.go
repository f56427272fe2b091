package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"roomkit/appliance"
	"roomkit/appliance/meeting"
	"roomkit/drivers"
)

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{nil, "no command"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"status", "extra"}, "status takes no arguments"},
		{[]string{"status", "-yaml"}, "status"},
		{[]string{"factory-reset", "now"}, "factory-reset takes no arguments"},
		{[]string{"-nope", "status"}, "nope"},
	} {
		var out, errOut bytes.Buffer
		err := run(tc.args, &out, &errOut)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("roomctl %q: %v; want a usage error mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestPrintStatus(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, appliance.Status{
		State: appliance.Pairing, PortalURL: "http://127.0.0.1:8080", UserCode: "BCDF-GHJK",
		VerificationURI: "http://127.0.0.1:8080/admin/pair", Version: "0.1.0", DeviceID: "dev", UptimeSeconds: 75,
		CodeExpiresAt: time.Date(2026, 11, 3, 9, 10, 0, 0, time.UTC),
		Devices:       []drivers.Status{{Kind: "camera", Name: "USB camera", Present: false, Error: "unplugged"}},
	})
	got := b.String()
	for _, want := range []string{
		"state:        pairing\n",
		"portal:       http://127.0.0.1:8080 (offline)\n",
		"user code:    BCDF-GHJK\n",
		"uptime:       1m15s\n",
		"camera:       USB camera (missing): unplugged\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "room:") {
		t.Errorf("an unpaired kit's status names a room:\n%s", got)
	}
}

func TestMeetingVerbUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the usage error; "" means the arguments are fine
	}{
		{[]string{"meet-now"}, ""},
		{[]string{"meet-now", "now"}, "meet-now takes no arguments"},
		{[]string{"leave"}, ""},
		{[]string{"leave", "please"}, "leave takes no arguments"},
		{[]string{"mute"}, ""},
		{[]string{"unmute", "all"}, "unmute takes no arguments"},
		{[]string{"join"}, "join takes one meeting ID"},
		{[]string{"join", "123456789"}, ""},
		{[]string{"join", "123-456-789"}, ""},
		{[]string{"join", "123-456-78"}, `join "123-456-78": that is not a meeting ID`},
		{[]string{"join", "12345678a"}, "that is not a meeting ID"},
		{[]string{"join", "123 456 789"}, "that is not a meeting ID"},
		{[]string{"join", "123456789", "now"}, "join takes one meeting ID"},
		{[]string{"camera"}, "camera takes on or off"},
		{[]string{"camera", "on"}, ""},
		{[]string{"camera", "off"}, ""},
		{[]string{"camera", "maybe"}, "camera takes on or off"},
		{[]string{"volume"}, "volume takes a number"},
		{[]string{"volume", "0"}, ""},
		{[]string{"volume", "100"}, ""},
		{[]string{"volume", "55%"}, ""},
		{[]string{"volume", "101"}, `volume "101": want a number from 0 to 100`},
		{[]string{"volume", "-1"}, "want a number from 0 to 100"},
		{[]string{"volume", "loud"}, "want a number from 0 to 100"},
		{[]string{"end"}, ""},
		{[]string{"end", "now"}, "end takes no arguments"},
		{[]string{"lock"}, ""},
		{[]string{"lock", "meeting"}, "lock takes no arguments"},
		{[]string{"unlock"}, ""},
		{[]string{"unlock", "123456789"}, "unlock takes no arguments"},
	} {
		_, err := parseVerb(tc.args[0], tc.args[1:])
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("roomctl %q: %v; want it accepted", tc.args, err)
		case tc.want != "" && (!errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("roomctl %q: %v; want a usage error mentioning %q", tc.args, err, tc.want)
		}
		// Through run, too: a bad line never reaches roomd (there is none here).
		if tc.want != "" {
			var out, errOut bytes.Buffer
			if err := run(append([]string{"-state", t.TempDir()}, tc.args...), &out, &errOut); !errors.Is(err, errUsage) {
				t.Errorf("run %q: %v; want a usage error", tc.args, err)
			}
		}
	}
}

func TestPrintMeetingStatus(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, appliance.Status{
		State: appliance.InMeeting, RoomName: "Boardroom", PortalURL: "http://127.0.0.1:8080", PortalConnected: true, Muted: true, Volume: 60,
		Meeting: &appliance.MeetingStatus{ID: "123456789", Title: "2026-11-22 09:30 Meet Now", JoinURL: "http://127.0.0.1:8080/join/123-456-789",
			Organizer: true, Connection: "connected", CameraOff: true, Sharing: "Ada",
			Participants: []meeting.Participant{{Identity: "guest-a", Name: "Ada"}, {Identity: "guest-b", Name: "Bob", AudioMuted: true}}},
	})
	got := b.String()
	for _, want := range []string{
		"state:        in-meeting\n",
		"meeting:      123-456-789 2026-11-22 09:30 Meet Now\n",
		"join link:    http://127.0.0.1:8080/join/123-456-789\n",
		"meeting is:   organiser\n",
		"participants: 2: Ada, Bob (muted)\n",
		"sharing:      Ada\n",
		"video:        off\n",
		"microphone:   muted\n",
		"volume:       60%\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status lacks %q:\n%s", want, got)
		}
	}
}

func TestEndLockSummary(t *testing.T) {
	inMeeting := func(locked bool) appliance.Status {
		return appliance.Status{State: appliance.InMeeting, Meeting: &appliance.MeetingStatus{ID: "123456789", Organizer: true, Locked: locked}}
	}
	for _, tc := range []struct {
		cmd  string
		st   appliance.Status
		want string
	}{
		{"end", appliance.Status{State: appliance.Ready}, "ended the meeting for everyone; the kit is ready"},
		{"lock", inMeeting(true), "meeting 123-456-789 locked: nobody new can join"},
		{"unlock", inMeeting(false), "meeting 123-456-789 unlocked: guests with the link can join"},
	} {
		if got := summary(tc.cmd, tc.st); got != tc.want {
			t.Errorf("roomctl %s prints %q, want %q", tc.cmd, got, tc.want)
		}
	}
}
