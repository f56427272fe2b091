package appliance

import (
	"context"
	"errors"
	"slices"
	"testing"

	"roomkit/appliance/meeting"
	"roomkit/ui"
)

// TestRejoinFetchesFreshToken: when the meeting session must join again
// from scratch (the SFU restarted, or the first token expired), it asks
// the portal for a fresh token rather than retrying the first one; once
// the portal says the meeting is gone, the kit stops trying.
func TestRejoinFetchesFreshToken(t *testing.T) {
	h, ss := startMeetingKit(t)
	h.tap(ui.MeetNow)
	h.until("in the meeting", func(s Status, v ui.View) bool { return s.State == InMeeting })
	sess := ss.last()
	first := sess.cfg.Token
	if sess.cfg.Renew == nil {
		t.Fatal("the session has no way to get a fresh token for a rejoin")
	}

	for _, tc := range []struct {
		name   string
		before func()
		// over: the session must give up. A lock refuses a new token but
		// removes nobody: the session keeps trying with the one it has.
		over    bool
		refusal string // the portal's words, when it gives no token
	}{
		{"the meeting goes on", func() {}, false, ""},
		{"another room's meeting, locked", func() {
			h.portal.mu.Lock()
			m := h.portal.meetings.byID["111222333"]
			m.Organizer, m.Locked = "rm_other", true
			h.portal.mu.Unlock()
		}, false, "join: This meeting is locked."},
		{"the portal deleted the meeting", func() {
			h.portal.mu.Lock()
			delete(h.portal.meetings.byID, "111222333")
			h.portal.mu.Unlock()
		}, true, "the meeting is over for this kit: join: No meeting has the ID 111-222-333."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.before()
			h.portal.mu.Lock()
			joins := len(h.portal.meetings.joined)
			h.portal.mu.Unlock()
			url, tok, err := sess.cfg.Renew(context.Background())
			if tc.over {
				if !errors.Is(err, meeting.ErrMeetingOver) {
					t.Fatalf("renew for a deleted meeting: %v, want ErrMeetingOver", err)
				}
				if err.Error() != tc.refusal {
					t.Errorf("error %q does not say why in the portal's words", err)
				}
				return
			}
			if errors.Is(err, meeting.ErrMeetingOver) {
				t.Fatalf("renew: %v: the kit would give up the meeting", err)
			}
			if tc.refusal != "" {
				if err == nil || err.Error() != tc.refusal {
					t.Errorf("renew in a locked meeting: %v, want the portal's refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("renew: %v", err)
			}
			if tok == first || tok == "" || url == "" {
				t.Errorf("renew gave %q at %q, want a token other than the first (%q)", tok, url, first)
			}
			h.portal.mu.Lock()
			joined := slices.Clone(h.portal.meetings.joined)
			h.portal.mu.Unlock()
			if len(joined) != joins+1 || joined[len(joined)-1] != "111222333" {
				t.Errorf("the portal saw joins %v, want one more for 111222333", joined)
			}
		})
	}
}
