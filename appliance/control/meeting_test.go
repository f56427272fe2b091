package control

import (
	"context"
	"errors"
	"strings"
	"testing"

	"roomkit/appliance"
	"roomkit/portalapi"
)

// The meeting verbs of fakeKit: a meeting 123456789 exists, 555666777 is
// locked, everything else is unknown.

func (k *fakeKit) MeetNow(ctx context.Context) error {
	if err := k.JoinMeeting(ctx, "123456789"); err != nil {
		return err
	}
	k.mu.Lock()
	k.status.Meeting.Organizer = true
	k.mu.Unlock()
	return nil
}

func (k *fakeKit) JoinMeeting(ctx context.Context, id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	digits := strings.ReplaceAll(id, "-", "")
	switch {
	case k.status.Meeting != nil:
		return appliance.ErrInMeeting
	case len(digits) != 9:
		return &portalapi.MeetingError{Status: 400, Message: "That is not a meeting ID: it has 9 digits, like 123-456-789."}
	case digits == "555666777":
		return &portalapi.MeetingError{Status: 403, Message: "This meeting is locked."}
	case digits != "123456789":
		return errors.New("join: " + (&portalapi.MeetingError{Status: 404, Message: "No meeting has the ID 987-654-321."}).Error())
	}
	k.status.State = appliance.InMeeting
	k.status.Meeting = &appliance.MeetingStatus{ID: digits, Title: "Meet Now", Volume: 70}
	return nil
}

func (k *fakeKit) Leave() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.status.Meeting == nil {
		return appliance.ErrNotInMeeting
	}
	k.status.Meeting, k.status.State = nil, appliance.Ready
	return nil
}

func (k *fakeKit) SetMuted(muted bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.status.Muted = muted
}

func (k *fakeKit) SetCameraOff(off bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.status.Meeting == nil {
		return appliance.ErrNotInMeeting
	}
	k.status.Meeting.CameraOff = off
	return nil
}

func (k *fakeKit) SetVolume(v int) error {
	if v < 0 || v > 100 {
		return errors.New("volume 101: want 0 to 100")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.status.Volume = v
	return nil
}

// A meeting 123456789 the room joined through MeetNow is the room's own
// (it organises it); one it joined by ID is not.
func (k *fakeKit) organised() error {
	switch {
	case k.status.Meeting == nil:
		return appliance.ErrNotInMeeting
	case !k.status.Meeting.Organizer:
		return appliance.ErrNotOrganizer
	}
	return nil
}

func (k *fakeKit) EndMeeting(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.organised(); err != nil {
		return err
	}
	k.status.Meeting, k.status.State = nil, appliance.Ready
	return nil
}

func (k *fakeKit) LockMeeting(ctx context.Context, locked bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.organised(); err != nil {
		return err
	}
	k.status.Meeting.Locked = locked
	return nil
}

func TestMeetingVerbsAuth(t *testing.T) {
	addr, _, token := serve(t, &fakeKit{status: readyStatus})
	for _, path := range []string{"/v1/meeting/meet-now", "/v1/meeting/join", "/v1/meeting/leave", "/v1/microphone", "/v1/meeting/camera", "/v1/volume", "/v1/meeting/end", "/v1/meeting/lock"} {
		for _, tc := range []struct {
			name, method, auth string
			want               int
		}{
			{"no token", "POST", "", 401},
			{"wrong token", "POST", "Bearer " + strings.Repeat("y", len(token)), 401},
			{"GET is refused", "GET", "Bearer " + token, 405},
		} {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				if code, body := send(t, tc.method, "http://"+addr+path, tc.auth, `{}`); code != tc.want {
					t.Errorf("%s %s: %d %s, want %d", tc.method, path, code, body, tc.want)
				}
			})
		}
	}
}

func TestMeetingVerbs(t *testing.T) {
	kit := &fakeKit{status: readyStatus}
	addr, dir, token := serve(t, kit)
	c, err := Dial(addr, dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if _, err := c.Leave(ctx); err == nil || err.Error() != "roomd: not in a meeting" {
		t.Errorf("leave outside a meeting: %v", err)
	}
	if _, err := c.SetCameraOff(ctx, true); err == nil || !strings.Contains(err.Error(), "not in a meeting") {
		t.Errorf("camera off outside a meeting: %v", err)
	}
	for _, tc := range []struct{ id, want string }{
		{"987654321", "roomd: join: No meeting has the ID 987-654-321."},
		{"555-666-777", "roomd: This meeting is locked."},
		{"12345", "roomd: That is not a meeting ID: it has 9 digits, like 123-456-789."},
	} {
		if _, err := c.Join(ctx, tc.id); err == nil || err.Error() != tc.want {
			t.Errorf("join %s: %v, want %q", tc.id, err, tc.want)
		}
	}
	st, err := c.Join(ctx, "123-456-789")
	if err != nil || st.State != appliance.InMeeting || st.Meeting == nil || st.Meeting.ID != "123456789" {
		t.Fatalf("join: %+v, %v", st, err)
	}
	if _, err := c.MeetNow(ctx); err == nil || !strings.Contains(err.Error(), "already in a meeting") {
		t.Errorf("meet now in a meeting: %v", err)
	}
	if st, err := c.SetMuted(ctx, true); err != nil || !st.Muted {
		t.Errorf("mute: %+v, %v", st, err)
	}
	if st, err := c.SetCameraOff(ctx, true); err != nil || !st.Meeting.CameraOff {
		t.Errorf("camera off: %+v, %v", st.Meeting, err)
	}
	if st, err := c.SetVolume(ctx, 30); err != nil || st.Volume != 30 {
		t.Errorf("volume: %+v, %v", st, err)
	}
	if st, err := c.Leave(ctx); err != nil || st.State != appliance.Ready || st.Meeting != nil {
		t.Errorf("leave: %+v, %v", st, err)
	}

	// Bodies that are not what the verb takes.
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/meeting/join", `{}`, "say which meeting"},
		{"/v1/meeting/join", `{"id": 5}`, "bad request"},
		{"/v1/microphone", `{"mute": true}`, "unknown field"},
		{"/v1/microphone", `{}`, `say {\"muted\"`},
		{"/v1/volume", `{"volume": "loud"}`, "bad request"},
		{"/v1/volume", strings.Repeat(" ", maxRequest+1), "larger than"},
		{"/v1/meeting/lock", `{}`, `say {\"locked\"`},
		{"/v1/meeting/lock", `{"locked": "yes"}`, "bad request"},
	} {
		if code, b := send(t, "POST", "http://"+addr+tc.path, "Bearer "+token, tc.body); code < 400 || !strings.Contains(string(b), tc.want) {
			t.Errorf("POST %s %.40q: %d %s, want an error mentioning %q", tc.path, tc.body, code, b, tc.want)
		}
	}
}

// TestEndAndLock: the room that organises a meeting can lock, unlock and
// end it; outside a meeting or in somebody else's, the verbs say why not.
func TestEndAndLock(t *testing.T) {
	kit := &fakeKit{status: readyStatus}
	addr, dir, _ := serve(t, kit)
	c, err := Dial(addr, dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		do   func() (appliance.Status, error)
		want string // error; "" means it works
		// check looks at the status answered when it works.
		check func(appliance.Status) bool
	}{
		{"end outside a meeting", func() (appliance.Status, error) { return c.EndMeeting(ctx) }, "roomd: not in a meeting", nil},
		{"lock outside a meeting", func() (appliance.Status, error) { return c.SetLocked(ctx, true) }, "roomd: not in a meeting", nil},
		{"join another's meeting", func() (appliance.Status, error) { return c.Join(ctx, "123456789") }, "", nil},
		{"lock another's meeting", func() (appliance.Status, error) { return c.SetLocked(ctx, true) }, "roomd: only the meeting's organiser can do that", nil},
		{"end another's meeting", func() (appliance.Status, error) { return c.EndMeeting(ctx) }, "roomd: only the meeting's organiser can do that", nil},
		{"leave it", func() (appliance.Status, error) { return c.Leave(ctx) }, "", nil},
		{"meet now", func() (appliance.Status, error) { return c.MeetNow(ctx) }, "", nil},
		{"lock", func() (appliance.Status, error) { return c.SetLocked(ctx, true) }, "",
			func(st appliance.Status) bool { return st.Meeting != nil && st.Meeting.Locked }},
		{"unlock", func() (appliance.Status, error) { return c.SetLocked(ctx, false) }, "",
			func(st appliance.Status) bool { return st.Meeting != nil && !st.Meeting.Locked }},
		{"end", func() (appliance.Status, error) { return c.EndMeeting(ctx) }, "",
			func(st appliance.Status) bool { return st.Meeting == nil && st.State == appliance.Ready }},
	} {
		st, err := tc.do()
		switch {
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "" && tc.check != nil && !tc.check(st):
			t.Errorf("%s: the kit's status afterwards is %+v (meeting %+v)", tc.name, st, st.Meeting)
		}
	}
}

func TestErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{appliance.ErrNotInMeeting, 409},
		{appliance.ErrInMeeting, 409},
		{appliance.ErrNotOrganizer, 403},
		{&portalapi.MeetingError{Status: 404, Message: "No meeting has the ID 123-456-789."}, 404},
		{errors.Join(errors.New("join"), &portalapi.MeetingError{Status: 403, Message: "This meeting is full."}), 403},
		{errors.Join(portalapi.ErrUnreachable), 502},
	} {
		if got := errorStatus(tc.err); got != tc.want {
			t.Errorf("errorStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
