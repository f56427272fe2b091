package portal

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestEndMeeting: the organiser ends a meeting for everyone; nobody else
// can, and a Meet Now meeting stays over while a scheduled one can be
// started again.
func TestEndMeeting(t *testing.T) {
	e := newMeetingEnv(t)
	_, other := e.pairKit(e.newKit(), "Huddle")
	instant := e.meetNow().Meeting
	scheduled := e.schedule(scheduleRequest{Title: "Weekly sync", Start: "2026-11-02T10:00", Minutes: 60})

	for _, tc := range []struct {
		name, access, id string
		code             int
		want             string // the error in words
		ended            []string
		// after: a guest's join once the request is done
		joinCode int
		joinWant string
	}{
		{"another room", other, instant.ID, 403, "Only the meeting's organiser can end it.", nil, 200, ""},
		{"unknown meeting", e.access, "123-456-789", 404, "No meeting has the ID 123-456-789.", nil, 404, "No meeting has the ID 123-456-789."},
		{"not a meeting ID", e.access, "12345", 400, "That is not a meeting ID: it has 9 digits, like 123-456-789.", nil, 400, "That is not a meeting ID: it has 9 digits, like 123-456-789."},
		{"the organiser ends a scheduled meeting", e.access, scheduled.ID, 204, "", []string{scheduled.ID}, 200, ""},
		{"the organiser ends Meet Now", e.access, formatMeetingID(instant.ID), 204, "", []string{instant.ID}, 410, "This meeting has ended."},
		{"ending it again", e.access, instant.ID, 410, "This meeting has ended.", nil, 410, "This meeting has ended."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fake.mu.Lock()
			e.fake.ended = nil
			e.fake.mu.Unlock()
			code, b := e.kitCall(tc.access, "POST", "/api/v1/device/meetings/"+tc.id+"/end", "")
			if code != tc.code || (tc.want != "" && errCode(t, b) != tc.want) {
				t.Fatalf("end: %d %s, want %d %q", code, b, tc.code, tc.want)
			}
			e.fake.mu.Lock()
			ended := e.fake.ended
			e.fake.mu.Unlock()
			if fmt.Sprint(ended) != fmt.Sprint(tc.ended) {
				t.Errorf("LiveKit rooms closed: %v, want %v", ended, tc.ended)
			}
			code, b = e.guestJoin(tc.id, `{"name":"Ada"}`)
			if code != tc.joinCode || (tc.joinWant != "" && errCode(t, b) != tc.joinWant) {
				t.Errorf("a guest's join afterwards: %d %s, want %d %q", code, b, tc.joinCode, tc.joinWant)
			}
		})
	}

	t.Run("the organiser cannot rejoin an ended Meet Now", func(t *testing.T) {
		code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+instant.ID+"/join", "")
		if code != 410 || errCode(t, b) != "This meeting has ended." {
			t.Errorf("rejoin: %d %s", code, b)
		}
	})
	t.Run("a scheduled meeting starts again after it was ended", func(t *testing.T) {
		code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+scheduled.ID+"/join", "")
		if code != 200 {
			t.Errorf("start again: %d %s", code, b)
		}
	})
	t.Run("an ended Meet Now is still swept after a day", func(t *testing.T) {
		e.clock.Advance(meetingKeep + time.Minute)
		e.fake.mu.Lock()
		e.fake.ended = nil
		e.fake.mu.Unlock()
		if err := e.srv.sweepMeetings(); err != nil {
			t.Fatal(err)
		}
		e.fake.mu.Lock()
		ended := slices.Contains(e.fake.ended, instant.ID)
		e.fake.mu.Unlock()
		if !ended {
			t.Error("the swept meeting's LiveKit room was not closed")
		}
		if code, b := e.guestJoin(instant.ID, `{"name":"Ada"}`); code != 404 {
			t.Errorf("join a swept meeting: %d %s", code, b)
		}
	})
}

// TestEndMeetingLiveKitDown: when LiveKit cannot close the room the kit
// is told the others are still in it, in words.
func TestEndMeetingLiveKitDown(t *testing.T) {
	e := newMeetingEnv(t)
	m := e.meetNow().Meeting
	e.fake.mu.Lock()
	e.fake.err = fmt.Errorf("%w: LiveKit is not reachable", errLiveKit)
	e.fake.mu.Unlock()
	code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+m.ID+"/end", "")
	if want := "The meeting service is not working right now, so the others are still in the meeting. An administrator can find the cause in the portal's log."; code != 502 || errCode(t, b) != want {
		t.Errorf("end with LiveKit down: %d %s", code, b)
	}
	// Nobody new gets in, even so.
	e.fake.mu.Lock()
	e.fake.err = nil
	e.fake.mu.Unlock()
	if code, b := e.guestJoin(m.ID, `{"name":"Ada"}`); code != 410 {
		t.Errorf("join after a half-done end: %d %s", code, b)
	}
}
