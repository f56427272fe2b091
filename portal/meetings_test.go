package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
)

const (
	testLiveKitURL    = "ws://127.0.0.1:7880"
	testLiveKitKey    = "APItestkey"
	testLiveKitSecret = "test-secret-test-secret-test-secret-0123"
)

// fakeConference stands in for LiveKit's RoomService: participants per
// meeting, and a record of what was muted and ended.
type fakeConference struct {
	mu      sync.Mutex
	people  map[string][]*livekit.ParticipantInfo
	count   map[string]int // extra participants beyond people, for "full"
	opened  map[string]int
	muted   []string // "meeting/identity/trackSID"
	ended   []string
	removed []string // "meeting/identity"
	err     error
}

func newFakeConference() *fakeConference {
	return &fakeConference{people: map[string][]*livekit.ParticipantInfo{}, count: map[string]int{}, opened: map[string]int{}}
}

func (f *fakeConference) open(ctx context.Context, meeting string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, f.err
	}
	f.opened[meeting]++
	return len(f.people[meeting]) + f.count[meeting], nil
}

func (f *fakeConference) participants(ctx context.Context, meeting string) ([]*livekit.ParticipantInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.people[meeting], f.err
}

func (f *fakeConference) muteTrack(ctx context.Context, meeting, identity, sid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.muted = append(f.muted, meeting+"/"+identity+"/"+sid)
	return f.err
}

func (f *fakeConference) end(ctx context.Context, meeting string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, meeting)
	return f.err
}

func (f *fakeConference) lock(ctx context.Context, meeting string, locked bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fakeConference) remove(ctx context.Context, meeting, identity string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, meeting+"/"+identity)
	return f.err
}

func (f *fakeConference) set(meeting string, people ...*livekit.ParticipantInfo) {
	f.mu.Lock()
	f.people[meeting] = people
	f.mu.Unlock()
}

func person(identity, name string, tracks ...*livekit.TrackInfo) *livekit.ParticipantInfo {
	return &livekit.ParticipantInfo{Identity: identity, Name: name, State: livekit.ParticipantInfo_ACTIVE, Tracks: tracks}
}

func audioTrack(sid string, muted bool) *livekit.TrackInfo {
	return &livekit.TrackInfo{Sid: sid, Type: livekit.TrackType_AUDIO, Muted: muted}
}

func videoTrack(sid string) *livekit.TrackInfo {
	return &livekit.TrackInfo{Sid: sid, Type: livekit.TrackType_VIDEO}
}

// meetingEnv is a portal with LiveKit settings, a fake conference, a fake
// livekit-client build, and one paired room (Europe/Zurich).
type meetingEnv struct {
	*env
	fake   *fakeConference
	roomID string
	access string // the room kit's access token
}

func newMeetingEnv(t *testing.T) *meetingEnv {
	t.Helper()
	return newMeetingEnvWith(t, true)
}

func newMeetingEnvWith(t *testing.T, assets bool) *meetingEnv {
	t.Helper()
	dir := t.TempDir()
	assetDir := filepath.Join(dir, "assets")
	os.MkdirAll(assetDir, 0o755)
	if assets {
		os.WriteFile(filepath.Join(assetDir, liveKitClientFile), []byte("window.LivekitClient = {};\n"), 0o644)
	}
	return newFakeMeetingEnv(t, Config{DataDir: filepath.Join(dir, "data"), AssetsDir: assetDir})
}

// newFakeMeetingEnv is a meeting environment on the fake conference
// with cfg and the test LiveKit settings.
func newFakeMeetingEnv(t *testing.T, cfg Config) *meetingEnv {
	t.Helper()
	cfg.LiveKit = LiveKit{URL: testLiveKitURL, APIKey: testLiveKitKey, APISecret: testLiveKitSecret}
	fake := newFakeConference()
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)} // a Monday; 10:00 in Zurich
	e := startEnv(t, httptest.NewUnstartedServer(nil), c, cfg, func(s *Server) { s.conf = fake })
	return e.withBoardroom(fake)
}

// withBoardroom is e with a room kit paired as "Boardroom".
func (e *env) withBoardroom(fake *fakeConference) *meetingEnv {
	e.t.Helper()
	me := &meetingEnv{env: e, fake: fake}
	me.roomID, me.access = e.pairKit(e.newKit(), "Boardroom")
	return me
}

// kitCall is a kit API request with the room's access token.
func (e *env) kitCall(access, method, path, body string) (int, []byte) {
	e.t.Helper()
	code, _, b := e.do(method, path, "application/json", []byte(body), map[string]string{"Authorization": "Bearer " + access})
	return code, b
}

func (e *meetingEnv) guestJoin(id, body string) (int, []byte) {
	e.t.Helper()
	code, _, b := e.do("POST", "/api/v1/meetings/"+id+"/join", "application/json", []byte(body), nil)
	return code, b
}

func (e *meetingEnv) meetNow() joinAnswer {
	e.t.Helper()
	code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings", "")
	if code != 201 {
		e.t.Fatalf("Meet Now: %d %s", code, b)
	}
	var ans joinAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		e.t.Fatal(err)
	}
	return ans
}

func (e *meetingEnv) schedule(req scheduleRequest) Meeting {
	e.t.Helper()
	code, _, b := e.admin("POST", "/api/v1/admin/rooms/"+e.roomID+"/meetings", req)
	if code != 201 {
		e.t.Fatalf("schedule %+v: %d %s", req, code, b)
	}
	var ans meetingAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		e.t.Fatal(err)
	}
	return ans.Meeting
}

// grantOf verifies a LiveKit token with the test secret and returns its claims.
func grantOf(t *testing.T, token string) *auth.ClaimGrants {
	t.Helper()
	v, err := auth.ParseAPIToken(token)
	if err != nil {
		t.Fatalf("not a LiveKit token: %v", err)
	}
	if v.APIKey() != testLiveKitKey {
		t.Errorf("token's API key %q, want %q", v.APIKey(), testLiveKitKey)
	}
	claims, grants, err := v.Verify(testLiveKitSecret)
	if err != nil {
		t.Fatalf("token does not verify with the LiveKit secret: %v", err)
	}
	if claims.ExpiresAt == nil || claims.ExpiresAt.Sub(time.Now()) > meetingTokenTTL+time.Minute {
		t.Errorf("token expires %v, want within %v", claims.ExpiresAt, meetingTokenTTL)
	}
	return grants
}

// checkGrantOnlyFor fails unless the token can join exactly the one room
// and do nothing beyond publishing and subscribing there.
func checkGrantOnlyFor(t *testing.T, g *auth.ClaimGrants, room string) {
	t.Helper()
	v := g.Video
	if v == nil {
		t.Fatal("token has no video grant")
	}
	isTrue := func(b *bool) bool { return b != nil && *b }
	switch {
	case !v.RoomJoin || v.Room != room:
		t.Errorf("grant joins %q (join %v), want exactly %q", v.Room, v.RoomJoin, room)
	case !isTrue(v.CanPublish) || !isTrue(v.CanSubscribe):
		t.Errorf("grant lacks publish/subscribe: %+v", v)
	case v.GetCanPublishData():
		t.Errorf("grant allows data messages, which nothing uses: %+v", v)
	case v.RoomCreate || v.RoomList || v.RoomRecord || v.RoomAdmin || v.IngressAdmin || v.Hidden || v.Recorder || v.Agent:
		t.Errorf("grant allows more than joining one room: %+v", v)
	}
}

func TestParseMeetingID(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"123456789", "123456789", true},
		{"123-456-789", "123456789", true},
		{"012345678", "012345678", true}, // well formed; no meeting has it (404, not 400)
		{"", "", false},
		{"12345678", "", false},
		{"1234567890", "", false},
		{"123-456-78", "", false},
		{"12-3456-789", "", false},
		{"123 456 789", "", false},
		{"123_456_789", "", false},
		{"12345678a", "", false},
		{"+23456789", "", false},
		{"１２３４５６７８９", "", false}, // full-width digits
		{"123-456-7890", "", false},
	} {
		got, err := parseMeetingID(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMeetingID(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && err.Error() != "That is not a meeting ID: it has 9 digits, like 123-456-789." {
			t.Errorf("parseMeetingID(%q) error %q is not the protocol's words", tc.in, err)
		}
	}
}

func TestNewMeetingID(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id := newMeetingID()
		if got, err := parseMeetingID(id); err != nil || got != id || id[0] == '0' {
			t.Fatalf("newMeetingID() = %q: not 9 digits without a leading 0", id)
		}
		if seen[id] {
			t.Fatalf("newMeetingID() repeated %s within 200 draws", id)
		}
		seen[id] = true
	}
}

func TestMeetNow(t *testing.T) {
	e := newMeetingEnv(t)
	ans := e.meetNow()
	m := ans.Meeting
	// 09:00 UTC is 10:00 in the room's time zone, Europe/Zurich.
	if m.Title != "2026-11-02 10:00 Meet Now" {
		t.Errorf("title %q, want %q", m.Title, "2026-11-02 10:00 Meet Now")
	}
	if m.Organizer != e.roomID || m.Locked || m.Recurrence != "" || m.Start != "2026-11-02T10:00:00+01:00" {
		t.Errorf("meeting %+v", m)
	}
	if want := e.ts.URL + "/join/" + formatMeetingID(m.ID); m.JoinURL != want {
		t.Errorf("join_url %q, want %q", m.JoinURL, want)
	}
	if ans.URL != testLiveKitURL {
		t.Errorf("url %q, want %q", ans.URL, testLiveKitURL)
	}
	g := grantOf(t, ans.Token)
	checkGrantOnlyFor(t, g, m.ID)
	if g.Identity != e.roomID || g.Name != "Boardroom" {
		t.Errorf("kit joins as %q/%q, want the room %q/Boardroom", g.Identity, g.Name, e.roomID)
	}
	if e.fake.opened[m.ID] != 1 {
		t.Errorf("LiveKit room opened %d times, want once", e.fake.opened[m.ID])
	}
	// Two Meet Nows are two meetings.
	if again := e.meetNow(); again.Meeting.ID == m.ID {
		t.Errorf("second Meet Now reused meeting %s", m.ID)
	}
}

func TestJoin(t *testing.T) {
	e := newMeetingEnv(t)
	open := e.meetNow().Meeting
	locked := e.meetNow().Meeting
	if code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+locked.ID+"/lock", `{"locked": true}`); code != 200 {
		t.Fatalf("lock: %d %s", code, b)
	}
	full := e.meetNow().Meeting
	e.fake.count[full.ID] = maxParticipants
	almost := e.meetNow().Meeting
	e.fake.count[almost.ID] = maxParticipants - 1
	unknown := "987654321"
	if unknown == open.ID || unknown == locked.ID || unknown == full.ID || unknown == almost.ID {
		unknown = "987654322"
	}

	for _, tc := range []struct {
		name, id, body string
		code           int
		want           string // error text, or "" for success
	}{
		{"by plain ID", open.ID, `{"name":"Ada"}`, 200, ""},
		{"by dashed ID", formatMeetingID(open.ID), `{"name":"Ada"}`, 200, ""},
		{"name of 64 characters", open.ID, `{"name":"` + strings.Repeat("é", 64) + `"}`, 200, ""},
		{"HTML in the name", open.ID, `{"name":"<img src=x onerror=alert(1)>"}`, 200, ""},
		{"24 in the meeting", almost.ID, `{"name":"Ada"}`, 200, ""},
		{"malformed ID", "12345", `{"name":"Ada"}`, 400, "That is not a meeting ID: it has 9 digits, like 123-456-789."},
		{"letters", "abc-def-ghi", `{"name":"Ada"}`, 400, "That is not a meeting ID: it has 9 digits, like 123-456-789."},
		{"unknown ID", unknown, `{"name":"Ada"}`, 404, "No meeting has the ID " + formatMeetingID(unknown) + "."},
		{"leading zero", "012-345-678", `{"name":"Ada"}`, 404, "No meeting has the ID 012-345-678."},
		{"locked", locked.ID, `{"name":"Ada"}`, 403, "This meeting is locked."},
		{"full", full.ID, `{"name":"Ada"}`, 403, "This meeting is full."},
		{"name too long", open.ID, `{"name":"` + strings.Repeat("a", 65) + `"}`, 413, "Your name is longer than 64 characters; use a shorter one."},
		{"no name", open.ID, `{"name":"   "}`, 400, "Type your name, so the others know who joined."},
		{"control character", open.ID, `{"name":"Ada\u0007"}`, 400, "Your name contains a control character (U+0007) at character 4; use one line of plain text."},
		{"unknown field", open.ID, `{"name":"Ada","admin":true}`, 400, `Bad join request: the body does not fit: json: unknown field "admin"`},
		{"not JSON", open.ID, `name=Ada`, 400, "Bad join request: the body is not valid JSON (at byte 2): invalid character 'a' in literal null (expecting 'u')"},
		{"huge body", open.ID, `{"name":"` + strings.Repeat("a", maxBody) + `"}`, 413, "The body is larger than 64 KiB."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.guestJoin(tc.id, tc.body)
			if code != tc.code {
				t.Fatalf("%d %s, want %d", code, b, tc.code)
			}
			if tc.want != "" {
				if got := errCode(t, b); got != tc.want {
					t.Fatalf("error %q, want %q", got, tc.want)
				}
				return
			}
			var ans joinAnswer
			if err := json.Unmarshal(b, &ans); err != nil {
				t.Fatal(err)
			}
			id, _ := parseMeetingID(tc.id)
			g := grantOf(t, ans.Token)
			checkGrantOnlyFor(t, g, id)
			var body joinRequest
			json.Unmarshal([]byte(tc.body), &body)
			if !strings.HasPrefix(g.Identity, "guest-") || len(g.Identity) < len("guest-")+10 || g.Name != body.Name {
				t.Errorf("guest joins as %q named %q, want guest-<random> named %q", g.Identity, g.Name, body.Name)
			}
			if ans.Meeting.ID != id || ans.URL != testLiveKitURL {
				t.Errorf("answer %+v", ans)
			}
		})
	}

	// The organiser may join its own locked meeting; another kit may not.
	if code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+formatMeetingID(locked.ID)+"/join", ""); code != 200 {
		t.Errorf("organiser joining its locked meeting: %d %s", code, b)
	}
	_, other := e.pairKit(e.newKit(), "Huddle")
	if code, b := e.kitCall(other, "POST", "/api/v1/device/meetings/"+locked.ID+"/join", ""); code != 403 || errCode(t, b) != "This meeting is locked." {
		t.Errorf("another kit joining a locked meeting: %d %s", code, b)
	}
	code, b := e.kitCall(other, "POST", "/api/v1/device/meetings/"+open.ID+"/join", "")
	var ans joinAnswer
	json.Unmarshal(b, &ans)
	if code != 200 || grantOf(t, ans.Token).Name != "Huddle" {
		t.Errorf("another kit joining by ID: %d %s", code, b)
	}
}

func TestLockAndMute(t *testing.T) {
	e := newMeetingEnv(t)
	m := e.meetNow().Meeting
	_, other := e.pairKit(e.newKit(), "Huddle")
	e.fake.set(m.ID,
		person(e.roomID, "Boardroom", audioTrack("TR_room_a", false), videoTrack("TR_room_v")),
		person("guest-ada", "Ada", audioTrack("TR_ada_a", false), videoTrack("TR_ada_v")),
		person("guest-bob", "<b>Bob</b>", audioTrack("TR_bob_a", true), audioTrack("TR_bob_a2", false)),
	)
	for _, tc := range []struct {
		name, access, path, body string
		code                     int
		want                     string
		muted                    []string
	}{
		{"lock by another room", other, "lock", `{"locked": true}`, 403, "Only the meeting's organiser can lock it.", nil},
		{"lock without a value", e.access, "lock", `{}`, 400, `Bad lock request: say {"locked": true} or {"locked": false}.`, nil},
		{"mute by another room", other, "mute", `{"all": true}`, 403, "Only the meeting's organiser can mute participants.", nil},
		{"mute nobody", e.access, "mute", `{}`, 400, `Bad mute request: say {"identity": "…"} or {"all": true}.`, nil},
		{"mute both", e.access, "mute", `{"identity":"guest-ada","all":true}`, 400, `Bad mute request: say {"identity": "…"} or {"all": true}.`, nil},
		{"mute a stranger", e.access, "mute", `{"identity":"guest-eve"}`, 404, `Nobody with the identity "guest-eve" is in this meeting.`, nil},
		{"mute one", e.access, "mute", `{"identity":"guest-ada"}`, 204, "", []string{m.ID + "/guest-ada/TR_ada_a"}},
		// Everybody but the organiser; tracks already muted are left alone.
		{"mute all", e.access, "mute", `{"all":true}`, 204, "", []string{m.ID + "/guest-ada/TR_ada_a", m.ID + "/guest-bob/TR_bob_a2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fake.mu.Lock()
			e.fake.muted = nil
			e.fake.mu.Unlock()
			code, b := e.kitCall(tc.access, "POST", "/api/v1/device/meetings/"+m.ID+"/"+tc.path, tc.body)
			if code != tc.code || (tc.want != "" && errCode(t, b) != tc.want) {
				t.Fatalf("%d %s, want %d %q", code, b, tc.code, tc.want)
			}
			if fmt.Sprint(e.fake.muted) != fmt.Sprint(tc.muted) {
				t.Errorf("muted %v, want %v", e.fake.muted, tc.muted)
			}
		})
	}

	code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+m.ID+"/lock", `{"locked": true}`)
	var ans meetingAnswer
	json.Unmarshal(b, &ans)
	if code != 200 || !ans.Meeting.Locked {
		t.Fatalf("lock: %d %s", code, b)
	}
	if code, b := e.guestJoin(m.ID, `{"name":"Ada"}`); code != 403 || errCode(t, b) != "This meeting is locked." {
		t.Errorf("join while locked: %d %s", code, b)
	}
	if code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+m.ID+"/lock", `{"locked": false}`); code != 200 {
		t.Fatalf("unlock: %d %s", code, b)
	}
	if code, b := e.guestJoin(m.ID, `{"name":"Ada"}`); code != 200 {
		t.Errorf("join after unlock: %d %s", code, b)
	}
}

func TestMeetingsNeedLiveKit(t *testing.T) {
	e := newMeetingEnv(t)
	m := e.meetNow().Meeting

	e.fake.mu.Lock()
	e.fake.err = liveKitError(errors.New("dial tcp 127.0.0.1:7880: connect: connection refused"))
	e.fake.mu.Unlock()
	code, b := e.guestJoin(m.ID, `{"name":"Ada"}`)
	if code != 502 || !strings.Contains(errCode(t, b), "The meeting service is not working right now") {
		t.Errorf("join with LiveKit down: %d %s", code, b)
	}

	e.srv.conf = nil // as if the portal had no LiveKit settings
	for _, call := range []func() (int, []byte){
		func() (int, []byte) { return e.guestJoin(m.ID, `{"name":"Ada"}`) },
		func() (int, []byte) { return e.kitCall(e.access, "POST", "/api/v1/device/meetings", "") },
	} {
		if code, b := call(); code != 503 || errCode(t, b) != "Meetings are not set up on this portal: it has no LiveKit server." {
			t.Errorf("without LiveKit: %d %s", code, b)
		}
	}
}

func TestMeetingIDGuessing(t *testing.T) {
	e := newMeetingEnv(t)
	m := e.meetNow().Meeting
	for i := range 20 {
		id := fmt.Sprintf("%09d", 100000000+i)
		if id == m.ID {
			id = "999999999"
		}
		if code, _ := e.guestJoin(id, `{"name":"Eve"}`); code != 404 {
			t.Fatalf("guess %d: %d, want 404", i, code)
		}
	}
	// Locked out now, even with the right ID.
	code, hdr, b := e.do("POST", "/api/v1/meetings/"+m.ID+"/join", "application/json", []byte(`{"name":"Eve"}`), nil)
	if code != 429 || hdr.Get("Retry-After") == "" || !strings.HasPrefix(errCode(t, b), "Too many unknown meeting IDs.") {
		t.Fatalf("after 20 wrong IDs: %d %s (Retry-After %q)", code, b, hdr.Get("Retry-After"))
	}
	// The kit is a different caller and is not affected.
	if code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+m.ID+"/join", ""); code != 200 {
		t.Errorf("kit join during a guest's lockout: %d %s", code, b)
	}
}

func TestScheduledMeetings(t *testing.T) {
	e := newMeetingEnv(t)
	weekly := e.schedule(scheduleRequest{Title: "Weekly sync", Start: "2026-10-19T09:30", End: "2026-10-19T10:00", Recurrence: "weekly"})
	// Scheduled in summer time (+02:00); the wall-clock hour is kept.
	if weekly.Start != "2026-10-19T09:30:00+02:00" || weekly.End != "2026-10-19T10:00:00+02:00" || weekly.Organizer != e.roomID {
		t.Errorf("weekly meeting %+v", weekly)
	}
	once := e.schedule(scheduleRequest{Title: "Budget", Start: "2026-11-02T14:00:00Z", Minutes: 45})
	if once.Start != "2026-11-02T15:00:00+01:00" || once.End != "2026-11-02T15:45:00+01:00" {
		t.Errorf("one-off meeting %+v", once)
	}
	e.schedule(scheduleRequest{Title: "Tomorrow", Start: "2026-11-03T08:00", Minutes: 30})

	for _, tc := range []struct {
		name string
		room string
		req  string
		code int
		want string
	}{
		{"unknown room", "rm_nope", `{"title":"x","start":"2026-11-02T09:00","minutes":30}`, 404, `There is no room with the ID "rm_nope".`},
		{"no title", e.roomID, `{"title":" ","start":"2026-11-02T09:00","minutes":30}`, 400, `Give the meeting a title, for example "Weekly sync".`},
		{"title with a bidi override", e.roomID, `{"title":"Sync \u202Egnp.exe","start":"2026-11-02T09:00","minutes":30}`, 400, "The meeting title contains an invisible text-direction control (U+202E) at character 6; use one line of plain text."},
		{"title with a line break", e.roomID, `{"title":"Sync\nEvil","start":"2026-11-02T09:00","minutes":30}`, 400, "The meeting title contains a line break (U+000A) at character 5; use one line of plain text."},
		{"bad start", e.roomID, `{"title":"x","start":"tomorrow","minutes":30}`, 400, `The start "tomorrow" is not a time: use 2026-11-23T09:30 (the room's local time).`},
		{"ends before it starts", e.roomID, `{"title":"x","start":"2026-11-02T09:00","end":"2026-11-02T08:00"}`, 400, "The meeting must end after it starts."},
		{"too long", e.roomID, `{"title":"x","start":"2026-11-02T09:00","minutes":1441}`, 400, "A meeting can last at most 24 hours."},
		{"bad recurrence", e.roomID, `{"title":"x","start":"2026-11-02T09:00","minutes":30,"recurrence":"monthly"}`, 400, `Recurrence "monthly" is not one of: none (""), daily, weekdays, weekly.`},
		{"unknown field", e.roomID, `{"title":"x","start":"2026-11-02T09:00","minutes":30,"owner":"me"}`, 400, `Bad meeting: the body does not fit: json: unknown field "owner"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, b := e.admin("POST", "/api/v1/admin/rooms/"+tc.room+"/meetings", tc.req)
			if code != tc.code || errCode(t, b) != tc.want {
				t.Fatalf("%d %s, want %d %q", code, b, tc.code, tc.want)
			}
		})
	}

	code, _, b := e.admin("GET", "/api/v1/admin/rooms/"+e.roomID+"/meetings", nil)
	var list meetingsAnswer
	json.Unmarshal(b, &list)
	if code != 200 || len(list.Meetings) != 3 || list.Meetings[0].ID != weekly.ID {
		t.Fatalf("admin list: %d %s", code, b)
	}

	// The kit sees today's meetings (Monday 2 November in Zurich), the
	// weekly one expanded to today, in order.
	code, b = e.kitCall(e.access, "GET", "/api/v1/device/meetings", "")
	var today meetingsAnswer
	json.Unmarshal(b, &today)
	if code != 200 || len(today.Meetings) != 2 ||
		today.Meetings[0].ID != weekly.ID || today.Meetings[0].Start != "2026-11-02T09:30:00+01:00" ||
		today.Meetings[1].ID != once.ID {
		t.Fatalf("today's meetings: %d %s", code, b)
	}

	// A scheduled meeting is joined by ID like any other.
	if code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+weekly.ID+"/join", ""); code != 200 {
		t.Errorf("start the scheduled meeting: %d %s", code, b)
	}

	// Deleting ends it in LiveKit too, and the ID stops working.
	if code, _, b := e.admin("DELETE", "/api/v1/admin/meetings/"+formatMeetingID(weekly.ID), nil); code != 204 {
		t.Fatalf("delete: %d %s", code, b)
	}
	if fmt.Sprint(e.fake.ended) != "["+weekly.ID+"]" {
		t.Errorf("LiveKit rooms ended: %v, want [%s]", e.fake.ended, weekly.ID)
	}
	if code, b := e.guestJoin(weekly.ID, `{"name":"Ada"}`); code != 404 {
		t.Errorf("join a deleted meeting: %d %s", code, b)
	}
	if code, _, b := e.admin("DELETE", "/api/v1/admin/meetings/"+weekly.ID, nil); code != 404 || errCode(t, b) != "No meeting has the ID "+formatMeetingID(weekly.ID)+"." {
		t.Errorf("delete again: %d %s", code, b)
	}
	if code, _, b := e.admin("DELETE", "/api/v1/admin/meetings/12", nil); code != 400 {
		t.Errorf("delete a malformed ID: %d %s", code, b)
	}

	// Unpairing the room deletes its meetings.
	if code, _, b := e.admin("DELETE", "/api/v1/admin/rooms/"+e.roomID, nil); code != 204 {
		t.Fatalf("unpair: %d %s", code, b)
	}
	if code, _ := e.guestJoin(once.ID, `{"name":"Ada"}`); code != 404 {
		t.Errorf("join a meeting of an unpaired room: %d", code)
	}
}

func TestOccurrenceOn(t *testing.T) {
	zurich := roomLocation("Europe/Zurich")
	auckland := roomLocation("Pacific/Auckland")
	la := roomLocation("America/Los_Angeles")
	// "Now" is Monday 2 November 2026, 23:30 UTC: already Tuesday in
	// Zurich and Auckland, still Monday in Los Angeles.
	now := time.Date(2026, 11, 2, 23, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		m     meetingRow
		loc   *time.Location
		want  string // "" when not today
		today string // the weekday it is in loc, for the reader
	}{
		{"once, today", meetingRow{startLocal: "2026-11-03T09:00", recurrence: ""}, zurich, "2026-11-03T09:00:00+01:00", "Tuesday"},
		{"once, yesterday", meetingRow{startLocal: "2026-11-02T09:00", recurrence: ""}, zurich, "", "Tuesday"},
		{"once, UTC date is not the room's", meetingRow{startLocal: "2026-11-02T09:00", recurrence: ""}, la, "2026-11-02T09:00:00-08:00", "Monday"},
		{"daily", meetingRow{startLocal: "2026-10-01T08:15", recurrence: "daily"}, zurich, "2026-11-03T08:15:00+01:00", "Tuesday"},
		{"daily, not started yet", meetingRow{startLocal: "2026-11-04T08:15", recurrence: "daily"}, zurich, "", "Tuesday"},
		{"weekdays on a Tuesday", meetingRow{startLocal: "2026-10-31T12:00", recurrence: "weekdays"}, auckland, "2026-11-03T12:00:00+13:00", "Tuesday"},
		{"weekdays on a Saturday", meetingRow{startLocal: "2026-10-01T12:00", recurrence: "weekdays"}, zurich, "", "Saturday"},
		{"weekly, same weekday, across DST", meetingRow{startLocal: "2026-10-20T09:30", recurrence: "weekly"}, zurich, "2026-11-03T09:30:00+01:00", "Tuesday"},
		{"weekly, other weekday", meetingRow{startLocal: "2026-10-19T09:30", recurrence: "weekly"}, zurich, "", "Tuesday"},
		{"weekly, Monday in Los Angeles", meetingRow{startLocal: "2026-10-19T09:30", recurrence: "weekly"}, la, "2026-11-02T09:30:00-08:00", "Monday"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			day := now
			if tc.today == "Saturday" {
				day = time.Date(2026, 11, 7, 10, 0, 0, 0, time.UTC)
			}
			if got := day.In(tc.loc).Weekday().String(); got != tc.today {
				t.Fatalf("test setup: it is %s in %s, not %s", got, tc.loc, tc.today)
			}
			start, ok := tc.m.occurrenceOn(day, tc.loc)
			got := ""
			if ok {
				got = start.Format(time.RFC3339)
			}
			if got != tc.want {
				t.Errorf("occurrence %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMeetingsExpire(t *testing.T) {
	e := newMeetingEnv(t)
	instant := e.meetNow().Meeting
	once := e.schedule(scheduleRequest{Title: "Budget", Start: "2026-11-02T11:00", Minutes: 60})
	daily := e.schedule(scheduleRequest{Title: "Stand-up", Start: "2026-11-02T09:00", Minutes: 15, Recurrence: "daily"})
	e.clock.Advance(25 * time.Hour)
	for _, tc := range []struct {
		id   string
		code int
	}{{instant.ID, 404}, {once.ID, 200}, {daily.ID, 200}} {
		if code, b := e.guestJoin(tc.id, `{"name":"Ada"}`); code != tc.code {
			t.Errorf("meeting %s a day later: %d %s, want %d", tc.id, code, b, tc.code)
		}
	}
	e.clock.Advance(24 * time.Hour) // the one-off meeting ended more than a day ago
	if err := e.srv.sweep(); err != nil {
		t.Fatal(err)
	}
	var n int
	e.srv.db.QueryRow("SELECT COUNT(*) FROM meetings").Scan(&n)
	if n != 1 {
		t.Errorf("%d meetings after the sweep, want only the recurring one", n)
	}
	if code, b := e.guestJoin(daily.ID, `{"name":"Ada"}`); code != 200 {
		t.Errorf("recurring meeting two days later: %d %s", code, b)
	}
}

func TestJoinPage(t *testing.T) {
	e := newMeetingEnv(t)
	m := e.schedule(scheduleRequest{Title: `<script>alert("x")</script> Review`, Start: "2026-11-02T11:00", Minutes: 30})

	code, hdr, b := e.do("GET", "/join/"+formatMeetingID(m.ID), "", nil, nil)
	page := string(b)
	if code != 200 {
		t.Fatalf("join page: %d\n%s", code, page)
	}
	for _, want := range []string{
		`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Review`,
		`data-meeting="` + m.ID + `"`,
		`Meeting ID <strong id="meeting-id">` + formatMeetingID(m.ID) + `</strong>`,
		`<script src="/joinpage/livekit-client.umd.js"></script>`,
		`<script src="/joinpage/join.js"></script>`,
		`id="name"`, `>Join</button>`, `>Share screen</button>`, `>Leave</button>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("join page lacks %q", want)
		}
	}
	if strings.Contains(page, `<script>alert`) {
		t.Error("join page has the title's HTML unescaped")
	}
	csp := hdr.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "connect-src 'self' ws://127.0.0.1:7880 http://127.0.0.1:7880;") {
		t.Errorf("CSP %q: scripts must come from the portal, connections go only to it and LiveKit", csp)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("join page refers to another host:\n%s", page)
	}

	for _, tc := range []struct {
		path, want string
		code       int
	}{
		{"/join/123", "That is not a meeting ID: it has 9 digits, like 123-456-789.", 400},
		{"/join/000-000-000", "No meeting has the ID 000-000-000.", 404},
		{"/join/%3Cb%3E", "That is not a meeting ID", 400},
	} {
		code, _, b := e.do("GET", tc.path, "", nil, nil)
		if code != tc.code || !strings.Contains(string(b), tc.want) || strings.Contains(string(b), `id="join-form"`) {
			t.Errorf("GET %s: %d, want %d with %q and no form:\n%s", tc.path, code, tc.code, tc.want, b)
		}
	}

	for _, tc := range []struct {
		path, want string
	}{
		{"/joinpage/livekit-client.umd.js", "window.LivekitClient"},
		{"/joinpage/join.js", "videoCodec: 'h264', simulcast: true"},
		{"/joinpage/join.css", ".tile"},
	} {
		code, hdr, b := e.do("GET", tc.path, "", nil, nil)
		if code != 200 || !strings.Contains(string(b), tc.want) || !strings.Contains(hdr.Get("Content-Type"), "/") {
			t.Errorf("GET %s: %d %s", tc.path, code, hdr.Get("Content-Type"))
		}
	}
}

func TestJoinPageWithoutLiveKitClient(t *testing.T) {
	e := newMeetingEnvWith(t, false)
	m := e.meetNow().Meeting
	code, _, b := e.do("GET", "/join/"+m.ID, "", nil, nil)
	if code != 503 || !strings.Contains(string(b), "An administrator must run scripts/setup-npm.sh") || strings.Contains(string(b), `id="join-form"`) {
		t.Errorf("join page without livekit-client: %d\n%s", code, b)
	}
	if code, _, b := e.do("GET", "/joinpage/livekit-client.umd.js", "", nil, nil); code != 404 || !strings.Contains(string(b), "scripts/setup-npm.sh") {
		t.Errorf("missing livekit-client: %d %s", code, b)
	}
}

func TestMeetingsAdminCenter(t *testing.T) {
	e := newMeetingEnv(t)
	if err := e.srv.CreateAdmin("it@example.com", "correct4horse"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if code, page := b.login("it@example.com", "correct4horse"); code != 200 || !strings.Contains(page, `/admin/rooms/`+e.roomID+`/meetings`) {
		t.Fatalf("rooms page lacks the Meetings link: %d\n%s", code, page)
	}
	path := "/admin/rooms/" + e.roomID + "/meetings"
	_, page := b.get(path)
	csrf := csrfOf(t, page)
	if !strings.Contains(page, "No meetings are scheduled") || !strings.Contains(page, `value="2026-11-02"`) {
		t.Fatalf("empty meetings page:\n%s", page)
	}
	form := url.Values{"csrf": {csrf}, "title": {"Weekly <i>sync</i>"}, "date": {"2026-11-02"}, "start": {"11:00"}, "end": {"11:30"}, "recurrence": {"weekly"}}

	if code, _ := b.post(path, url.Values{"title": {"x"}}, ""); code != 403 {
		t.Errorf("create without CSRF token: %d, want 403", code)
	}
	bad := url.Values{"csrf": {csrf}, "title": {"Late"}, "date": {"2026-11-02"}, "start": {"11:00"}, "end": {"10:00"}}
	if code, page := b.post(path, bad, ""); code != 400 || !strings.Contains(page, "The meeting must end after it starts.") || !strings.Contains(page, `value="Late"`) {
		t.Errorf("bad form: %d, want 400 with the error and the form kept:\n%s", code, page)
	}
	code, page := b.post(path, form, "")
	if code != 200 || !strings.Contains(page, "was scheduled") || !strings.Contains(page, "Every Monday, 11:00–11:30, from Mon 2 Nov 2026") {
		t.Fatalf("after creating: %d\n%s", code, page)
	}
	if !strings.Contains(page, "Weekly &lt;i&gt;sync&lt;/i&gt;") || strings.Contains(page, "<i>sync</i>") {
		t.Errorf("the title's HTML is not escaped:\n%s", page)
	}
	rows, _ := e.srv.scheduledMeetings(roomConfig{ID: e.roomID, TimeZone: "Europe/Zurich"})
	if len(rows) != 1 {
		t.Fatalf("%d meetings stored, want 1", len(rows))
	}
	id := rows[0].id

	// Who is in the meeting, with a guest's HTML name shown as text.
	e.fake.set(id, person("guest-x", `<img src=x onerror=alert(1)>`), person(e.roomID, "Boardroom"))
	_, page = b.get(path)
	if !strings.Contains(page, `<span class="person">&lt;img src=x onerror=alert(1)&gt;</span>, <span class="person">Boardroom</span>`) ||
		strings.Contains(page, "<img src=x") {
		t.Errorf("participants not shown escaped:\n%s", page)
	}

	if code, page := b.post("/admin/meetings/"+id+"/delete", url.Values{"csrf": {csrf}, "room": {e.roomID}}, "https://evil.example"); code != 403 {
		t.Errorf("delete from another site: %d\n%s", code, page)
	}
	code, page = b.post("/admin/meetings/"+id+"/delete", url.Values{"csrf": {csrf}, "room": {e.roomID}}, "")
	if code != 200 || !strings.Contains(page, "The meeting was deleted.") || strings.Contains(page, formatMeetingID(id)) {
		t.Errorf("after deleting: %d\n%s", code, page)
	}
	_, page = b.get("/admin/audit")
	if !strings.Contains(page, "schedule meeting") || !strings.Contains(page, "delete meeting") {
		t.Errorf("audit log lacks the meeting changes")
	}
}

func TestLiveKitConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		lk   LiveKit
		want string // "" for accepted
	}{
		{"off", LiveKit{}, ""},
		{"cluster", LiveKit{URL: "wss://livekit.example.com", APIKey: "APIx", APISecret: testLiveKitSecret}, ""},
		{"no secret", LiveKit{URL: "wss://livekit.example.com", APIKey: "APIx"}, "needs an API key and secret"},
		{"short secret", LiveKit{URL: "wss://livekit.example.com", APIKey: "APIx", APISecret: "short"}, "at least 32 characters"},
		{"not a URL", LiveKit{URL: "livekit.example.com", APIKey: "APIx", APISecret: testLiveKitSecret}, "must look like wss://"},
		{"secret without URL", LiveKit{APIKey: "APIx", APISecret: testLiveKitSecret}, "without a LiveKit URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{DataDir: t.TempDir(), URL: "http://127.0.0.1:1", LiveKit: tc.lk})
			if err == nil {
				s.Close()
			}
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("New = %v, want %q", err, tc.want)
			}
		})
	}
}

// BenchmarkMeetingToken measures minting one LiveKit token, the work
// every join does beyond a database lookup.
func BenchmarkMeetingToken(b *testing.B) {
	s := &Server{lk: LiveKit{URL: testLiveKitURL, APIKey: testLiveKitKey, APISecret: testLiveKitSecret}}
	for b.Loop() {
		if _, err := s.meetingToken("123456789", "guest-abcdefghijkl", "Ada Lovelace"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTodaysMeetings measures expanding a room's day with 50
// scheduled meetings, what a kit asks for on its home screen.
func BenchmarkTodaysMeetings(b *testing.B) {
	loc := roomLocation("Europe/Zurich")
	day := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var rows []meetingRow
	for i := range 50 {
		rows = append(rows, meetingRow{startLocal: fmt.Sprintf("2026-10-%02dT%02d:00", 1+i%28, 8+i%10), minutes: 30, recurrence: recurrences[i%4]})
	}
	for b.Loop() {
		n := 0
		for _, m := range rows {
			if _, ok := m.occurrenceOn(day, loc); ok {
				n++
			}
		}
		if n == 0 {
			b.Fatal("no meetings today")
		}
	}
}
