package portalapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseMeetingJoin(t *testing.T) {
	good := `{"url":"ws://127.0.0.1:7880","token":"eyJ.x.y","meeting":{"id":"123456789","title":"2026-11-22 09:30 Meet Now","join_url":"http://p/join/123-456-789","locked":false,"organizer":"rm_1","start":"2026-11-22T09:30:00+01:00","end":"2026-11-22T10:30:00+01:00","recurrence":""}}`
	for _, tc := range []struct {
		name   string
		status int
		body   string
		hdr    http.Header
		want   string // error text; "" for success
		is     error
		retry  time.Duration
	}{
		{"meet now", 201, good, nil, "", nil, 0},
		{"join", 200, good, nil, "", nil, 0},
		{"unknown", 404, `{"error":"No meeting has the ID 123-456-789."}`, nil, "No meeting has the ID 123-456-789.", nil, 0},
		{"locked", 403, `{"error":"This meeting is locked."}`, nil, "This meeting is locked.", nil, 0},
		{"full", 403, `{"error":"This meeting is full."}`, nil, "This meeting is full.", nil, 0},
		{"malformed", 400, `{"error":"That is not a meeting ID: it has 9 digits, like 123-456-789."}`, nil, "That is not a meeting ID: it has 9 digits, like 123-456-789.", nil, 0},
		{"guessing", 429, `{"error":"Too many unknown meeting IDs. Wait 15 minutes before trying again."}`, http.Header{"Retry-After": {"900"}}, "Too many unknown meeting IDs", nil, 15 * time.Minute},
		{"token", 401, `{"error":"invalid_token"}`, nil, "invalid_token", ErrInvalidToken, 0},
		{"gateway", 502, `<html>bad gateway</html>`, nil, "502", ErrUnreachable, 0},
		{"not JSON", 200, `<html>`, nil, "not JSON", ErrBadAnswer, 0},
		{"no token", 200, strings.Replace(good, `"eyJ.x.y"`, `""`, 1), nil, "without a token", ErrBadAnswer, 0},
		{"bad URL", 200, strings.Replace(good, `ws://127.0.0.1:7880`, `javascript:x`, 1), nil, "not a ws(s) URL", ErrBadAnswer, 0},
		{"bad ID", 200, strings.Replace(good, `"123456789"`, `"12345"`, 1), nil, "not 9 digits", ErrBadAnswer, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := parseMeetingJoin(tc.status, []byte(tc.body), tc.hdr)
			if tc.want == "" {
				if err != nil || j.Meeting.ID != "123456789" || j.Token == "" || j.Meeting.Start.Hour() != 9 {
					t.Fatalf("parse: %+v, %v", j, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			var me *MeetingError
			if tc.is == nil && (!errors.As(err, &me) || me.Status != tc.status || me.RetryAfter != tc.retry) {
				t.Errorf("error %#v: want a MeetingError with status %d, retry %v", err, tc.status, tc.retry)
			}
		})
	}
}

// TestMeetingCalls checks the paths, methods and bodies against a portal
// stand-in, and that the LiveKit token stays out of the join's log value.
func TestMeetingCalls(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 100)
		n, _ := r.Body.Read(b)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b[:n])+" "+r.Header.Get("Authorization"))
		switch {
		case r.Method == "GET":
			w.Write([]byte(`{"meetings":[{"id":"123456789","title":"Standup","start":"2026-11-22T09:00:00Z","end":"2026-11-22T09:15:00Z"}]}`))
		case strings.HasSuffix(r.URL.Path, "/lock"):
			w.Write([]byte(`{"meeting":{"id":"123456789","locked":true,"start":"2026-11-22T09:00:00Z","end":"2026-11-22T09:15:00Z"}}`))
		case strings.HasSuffix(r.URL.Path, "/mute"):
			w.WriteHeader(204)
		default:
			w.WriteHeader(201)
			w.Write([]byte(`{"url":"ws://127.0.0.1:7880","token":"lk-secret","meeting":{"id":"123456789","start":"2026-11-22T09:00:00Z","end":"2026-11-22T09:15:00Z"}}`))
		}
	}))
	defer srv.Close()
	c := &Client{PortalURL: srv.URL}
	ctx := context.Background()
	j, err := c.MeetNow(ctx, "acc")
	if err != nil || j.Token != "lk-secret" {
		t.Fatalf("MeetNow: %+v, %v", j, err)
	}
	if s := j.LogValue().String(); strings.Contains(s, "lk-secret") {
		t.Errorf("the join's log value shows the token: %s", s)
	}
	if _, err := c.JoinMeeting(ctx, "acc", "123-456-789"); err != nil {
		t.Fatal(err)
	}
	ms, err := c.Meetings(ctx, "acc")
	if err != nil || len(ms) != 1 || ms[0].Title != "Standup" {
		t.Fatalf("Meetings: %+v, %v", ms, err)
	}
	if m, err := c.LockMeeting(ctx, "acc", "123456789", true); err != nil || !m.Locked {
		t.Fatalf("Lock: %+v, %v", m, err)
	}
	if err := c.Mute(ctx, "acc", "123456789", "guest-ab"); err != nil {
		t.Fatal(err)
	}
	if err := c.MuteAll(ctx, "acc", "123456789"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST /api/v1/device/meetings  Bearer acc",
		"POST /api/v1/device/meetings/123-456-789/join  Bearer acc",
		"GET /api/v1/device/meetings  Bearer acc",
		`POST /api/v1/device/meetings/123456789/lock {"locked":true} Bearer acc`,
		`POST /api/v1/device/meetings/123456789/mute {"identity":"guest-ab"} Bearer acc`,
		`POST /api/v1/device/meetings/123456789/mute {"all":true} Bearer acc`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func FuzzParseMeetingAnswers(f *testing.F) {
	f.Add(200, []byte(`{"url":"ws://h:1","token":"t","meeting":{"id":"123456789","start":"2026-11-22T09:00:00Z","end":"2026-11-22T09:15:00Z"}}`))
	f.Add(200, []byte(`{"meetings":[{"id":"123456789","start":"2026-11-22T09:00:00Z","end":"2026-11-22T09:15:00Z"}]}`))
	f.Add(404, []byte(`{"error":"No meeting has the ID 123-456-789."}`))
	f.Add(403, []byte(`{"error":`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if j, err := parseMeetingJoin(status, body, http.Header{}); err == nil && (len(j.Meeting.ID) != 9 || j.Token == "") {
			t.Fatalf("accepted %+v", j)
		}
		if ms, err := parseMeetings(status, body, http.Header{}); err == nil {
			for _, m := range ms {
				if !validMeetingID(m.ID) {
					t.Fatalf("accepted meeting ID %q", m.ID)
				}
			}
		}
	})
}
