package portal

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func FuzzMeetingID(f *testing.F) {
	for _, s := range []string{"123456789", "123-456-789", "012-345-678", "12-3456-789", "１２３", "123-456-7890", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseMeetingID(s)
		if err != nil {
			if id != "" {
				t.Fatalf("error with an ID %q", id)
			}
			return
		}
		if len(id) != 9 || strings.Trim(id, "0123456789") != "" {
			t.Fatalf("parseMeetingID(%q) = %q: not 9 digits", s, id)
		}
		// Both shown forms lead back to the same ID.
		for _, form := range []string{id, formatMeetingID(id)} {
			if again, err := parseMeetingID(form); err != nil || again != id {
				t.Fatalf("%q parses as %q, %v; want %q", form, again, err, id)
			}
		}
	})
}

func FuzzJoinBody(f *testing.F) {
	for _, s := range []string{`{"name":"Ada"}`, `{"name":"<b>x</b>"}`, `{"name":""}`, `{"name":"a\u0000b"}`,
		`{"name":"` + strings.Repeat("é", 65) + `"}`, `{"name":1}`, `{"name":"a"} x`, `null`, `{"name":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		name, herr := parseJoinRequest(body)
		if herr != nil {
			if herr.msg == "" || (herr.status != 400 && herr.status != 413) {
				t.Fatalf("error %d %q", herr.status, herr.msg)
			}
			return
		}
		if name == "" || name != strings.TrimSpace(name) || !utf8.ValidString(name) ||
			utf8.RuneCountInString(name) > maxJoinNameRunes || strings.ContainsFunc(name, unicode.IsControl) {
			t.Fatalf("accepted the name %q", name)
		}
	})
}

func FuzzScheduleBody(f *testing.F) {
	f.Add([]byte(`{"title":"Weekly sync","start":"2026-10-19T09:30","end":"2026-10-19T10:00","recurrence":"weekly"}`))
	f.Add([]byte(`{"title":"x","start":"2026-03-29T02:30","minutes":30,"recurrence":"daily"}`))
	f.Add([]byte(`{"title":"x","start":"2026-11-02T14:00:00Z","minutes":-5}`))
	loc := roomLocation("Europe/Zurich")
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseScheduleRequest(body)
		if err != nil {
			return
		}
		m, herr := checkSchedule(req, loc)
		if herr != nil {
			if herr.status != 400 || herr.msg == "" {
				t.Fatalf("error %d %q", herr.status, herr.msg)
			}
			return
		}
		if m.minutes <= 0 || m.minutes > maxMeetingMinutes || m.title == "" {
			t.Fatalf("accepted %+v", m)
		}
		if _, err := time.ParseInLocation(localLayout, m.startLocal, loc); err != nil {
			t.Fatalf("stored start %q does not parse back: %v", m.startLocal, err)
		}
	})
}

func FuzzMuteBody(f *testing.F) {
	f.Add([]byte(`{"identity":"guest-abc"}`))
	f.Add([]byte(`{"all":true}`))
	f.Add([]byte(`{"identity":"x","all":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, herr := parseMuteRequest(body)
		if herr != nil {
			return
		}
		if (req.Identity == "") == !req.All {
			t.Fatalf("accepted %+v: it must name one participant or all", req)
		}
	})
}
