package portalapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestEndMeeting: the request the kit sends, and the portal's answers as
// the kit sees them.
func TestEndMeeting(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string // the error's words; "" for success
		token  bool   // the error asks for a fresh token
	}{
		{"ended", 204, "", "", false},
		{"not the organiser", 403, `{"error":"Only the meeting's organiser can end it."}`, "end meeting: Only the meeting's organiser can end it.", false},
		{"already over", 410, `{"error":"This meeting has ended."}`, "end meeting: This meeting has ended.", false},
		{"stale token", 401, `{"error":"invalid_token"}`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization")
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := &Client{PortalURL: srv.URL}
			err := c.EndMeeting(context.Background(), "acc", "123456789")
			if want := "POST /api/v1/device/meetings/123456789/end Bearer acc"; got != want {
				t.Errorf("request %q, want %q", got, want)
			}
			switch {
			case tc.token:
				if !errors.Is(err, ErrInvalidToken) {
					t.Errorf("EndMeeting: %v, want an invalid token", err)
				}
			case tc.want == "":
				if err != nil {
					t.Errorf("EndMeeting: %v", err)
				}
			case err == nil || err.Error() != tc.want:
				t.Errorf("EndMeeting: %v, want %q", err, tc.want)
			default:
				var me *MeetingError
				if !errors.As(err, &me) || me.Status != tc.status {
					t.Errorf("EndMeeting: %#v is not the portal's refusal %d", err, tc.status)
				}
			}
		})
	}
}
