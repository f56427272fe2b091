package portal

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/appliance/meeting/meetingtest"
	"roomkit/portal/sfu"
)

// newHookedLiveEnv is a portal on a real LiveKit server that posts its
// webhooks to the portal, as the supervised LiveKit of `portal -livekit
// dev` does.
func newHookedLiveEnv(t *testing.T) (*meetingEnv, *sfu.Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	lk := meetingtest.StartLiveKitWith(t, sfu.Options{WebhookURL: "http://" + ts.Listener.Addr().String() + WebhookPath})
	return newLiveEnvOn(t, ts, LiveKit{URL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret}, ""), lk
}

// watched is a participant on the LiveKit SDK that knows when, and why,
// LiveKit disconnected it.
type watched struct {
	*lksdk.Room
	gone chan struct{}
}

func joinWatched(url, token string) (*watched, error) {
	w := &watched{gone: make(chan struct{})}
	cb := lksdk.NewRoomCallback()
	cb.OnDisconnected = func() { close(w.gone) }
	r, err := lksdk.ConnectToRoomWithToken(url, token, cb, lksdk.WithAutoSubscribe(false))
	if err != nil {
		return nil, err
	}
	w.Room = r
	return w, nil
}

// waitGone waits until LiveKit disconnected w and returns why.
func (w *watched) waitGone(t *testing.T, ctx context.Context, who string) livekit.DisconnectReason {
	t.Helper()
	select {
	case <-w.gone:
		return w.DisconnectReason()
	case <-ctx.Done():
		t.Fatalf("%s is still in the meeting", who)
		return 0
	}
}

// guestToken fetches a guest's token through the join API.
func (e *meetingEnv) guestToken(id, name string) joinAnswer {
	e.t.Helper()
	code, b := e.guestJoin(id, fmt.Sprintf(`{"name":%q}`, name))
	if code != 200 {
		e.t.Fatalf("guest %s: %d %s", name, code, b)
	}
	var a joinAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// TestLiveKitLockKeepsOldTokensOut: locking a meeting removes nobody,
// refuses new tokens, and a guest who fetched a token before the lock
// but joins after it is put out by LiveKit (the portal's webhook), while
// a guest who was in at the lock may come back after a drop.
func TestLiveKitLockKeepsOldTokensOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, lk := newHookedLiveEnv(t)
	rs := lksdk.NewRoomServiceClient(lk.URL, lk.APIKey, lk.APISecret)

	ans := e.meetNow()
	id := ans.Meeting.ID
	kit, err := joinWatched(ans.URL, ans.Token)
	if err != nil {
		t.Fatalf("kit: %v", err)
	}
	defer kit.Disconnect()
	ada := e.guestToken(id, "Ada")
	adaRoom, err := joinWatched(ada.URL, ada.Token)
	if err != nil {
		t.Fatalf("Ada: %v", err)
	}
	early := e.guestToken(id, "Early") // fetched, not used yet
	later := e.guestToken(id, "Later")

	if code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+id+"/lock", `{"locked":true}`); code != 200 {
		t.Fatalf("lock: %d %s", code, b)
	}
	if code, b := e.guestJoin(id, `{"name":"New"}`); code != 403 || errCode(t, b) != "This meeting is locked." {
		t.Errorf("a new guest's join after the lock: %d %s, want 403 This meeting is locked.", code, b)
	}

	// The old token still passes LiveKit's own check; the portal puts
	// its holder out as soon as LiveKit reports the join.
	late, err := joinWatched(early.URL, early.Token)
	if err != nil {
		t.Logf("LiveKit refused the late guest at once: %v", err)
	} else if r := late.waitGone(t, ctx, "a guest with a token from before the lock"); r != livekit.DisconnectReason_PARTICIPANT_REMOVED {
		t.Errorf("the late guest left because %v, want %v", r, livekit.DisconnectReason_PARTICIPANT_REMOVED)
	} else {
		t.Logf("the late guest was put out: %v", r)
	}

	// Ada drops and comes back (a full reconnect, as after a network
	// change): she was in at the lock, so she stays. A second late guest,
	// reported after her, shows the portal has judged Ada's return.
	adaRoom.Disconnect()
	adaBack, err := joinWatched(ada.URL, ada.Token)
	if err != nil {
		t.Fatalf("Ada back: %v", err)
	}
	defer adaBack.Disconnect()
	if late2, err := joinWatched(later.URL, later.Token); err == nil {
		late2.waitGone(t, ctx, "a second guest with a token from before the lock")
	}
	got := participantIdentities(t, rs, id)
	if _, ok := got[adaBack.LocalParticipant.Identity()]; !ok || len(got) != 2 {
		t.Errorf("after the lock LiveKit has %v, want the kit and Ada", got)
	}
	select {
	case <-kit.gone:
		t.Error("locking removed the organiser")
	default:
	}

	// Unlocked, a new guest gets in and stays.
	if code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+id+"/lock", `{"locked":false}`); code != 200 {
		t.Fatalf("unlock: %d %s", code, b)
	}
	bea := e.guestToken(id, "Bea")
	beaRoom, err := joinWatched(bea.URL, bea.Token)
	if err != nil {
		t.Fatalf("Bea after unlock: %v", err)
	}
	defer beaRoom.Disconnect()
	if got := participantIdentities(t, rs, id); len(got) != 3 {
		t.Errorf("after the unlock LiveKit has %v, want the kit, Ada and Bea", got)
	}
}

// TestLiveKitEndedMeetingStaysClosed: after End, a delete and an unpair,
// the LiveKit room is gone, everyone in it is disconnected, and a token
// fetched before cannot bring the room back (LiveKit creates no rooms).
func TestLiveKitEndedMeetingStaysClosed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, lk := newHookedLiveEnv(t)
	rs := lksdk.NewRoomServiceClient(lk.URL, lk.APIKey, lk.APISecret)

	for _, tc := range []struct {
		name  string
		start func() string                 // opens a meeting, returns its ID
		close func(id string) (int, []byte) // ends it
	}{
		{"End", func() string { return e.meetNow().Meeting.ID },
			func(id string) (int, []byte) {
				return e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+id+"/end", "")
			}},
		{"delete", func() string {
			m := e.schedule(scheduleRequest{Title: "Weekly sync", Start: e.clock.Now().Format(localLayout), Minutes: 60})
			if code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+m.ID+"/join", ""); code != 200 {
				t.Fatalf("start the scheduled meeting: %d %s", code, b)
			}
			return m.ID
		}, func(id string) (int, []byte) {
			code, _, b := e.admin("DELETE", "/api/v1/admin/meetings/"+id, nil)
			return code, b
		}},
		{"unpair", func() string { return e.meetNow().Meeting.ID },
			func(id string) (int, []byte) {
				code, _, b := e.admin("DELETE", "/api/v1/admin/rooms/"+e.roomID, nil)
				return code, b
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.start()
			ada := e.guestToken(id, "Ada")
			kept := e.guestToken(id, "Kept") // fetched, used only after the end
			in, err := joinWatched(ada.URL, ada.Token)
			if err != nil {
				t.Fatalf("Ada: %v", err)
			}
			defer in.Disconnect()

			if code, b := tc.close(id); code != 204 {
				t.Fatalf("%s: %d %s", tc.name, code, b)
			}
			// LiveKit may report Ada's join after the meeting is gone
			// from the portal; the webhook then removes her before the
			// room goes. Either way she is out.
			if r := in.waitGone(t, ctx, "Ada"); r != livekit.DisconnectReason_ROOM_DELETED && r != livekit.DisconnectReason_PARTICIPANT_REMOVED {
				t.Errorf("Ada left because %v, want %v", r, livekit.DisconnectReason_ROOM_DELETED)
			}
			if r, err := joinWatched(kept.URL, kept.Token); err == nil {
				r.Disconnect()
				t.Fatal("a token fetched before the end joined the meeting again")
			}
			if res, err := rs.ListRooms(ctx, &livekit.ListRoomsRequest{Names: []string{id}}); err != nil || len(res.Rooms) != 0 {
				t.Errorf("LiveKit has the meeting's room again: %v %v", res, err)
			}
		})
	}
}

// TestMeetingTokenGrant: a guest's and a kit's LiveKit token join one
// room, publish and subscribe media, and nothing more (no data
// messages, no room administration), for minutes, not hours.
func TestMeetingTokenGrant(t *testing.T) {
	e := newMeetingEnv(t)
	kitAns := e.meetNow()
	var guestAns joinAnswer
	code, b := e.guestJoin(kitAns.Meeting.ID, `{"name":"Ada"}`)
	if code != 200 || json.Unmarshal(b, &guestAns) != nil {
		t.Fatalf("guest join: %d %s", code, b)
	}
	for _, tc := range []struct {
		name, token, identity string
	}{
		{"kit", kitAns.Token, e.roomID},
		{"guest", guestAns.Token, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := auth.ParseAPIToken(tc.token)
			if err != nil {
				t.Fatal(err)
			}
			reg, claims, err := v.Verify(e.srv.lk.APISecret)
			if err != nil {
				t.Fatal(err)
			}
			g := claims.Video
			if g == nil || !g.RoomJoin || g.Room != kitAns.Meeting.ID || !g.GetCanPublish() || !g.GetCanSubscribe() {
				t.Fatalf("grant %+v: want to join, publish and subscribe in %s", g, kitAns.Meeting.ID)
			}
			if g.GetCanPublishData() {
				t.Error("the token may publish data messages, which nothing uses")
			}
			if g.RoomCreate || g.RoomList || g.RoomAdmin || g.RoomRecord || g.Recorder || g.Hidden || g.Agent {
				t.Errorf("the token grants more than joining: %+v", g)
			}
			if tc.identity != "" && v.Identity() != tc.identity {
				t.Errorf("identity %q, want %q", v.Identity(), tc.identity)
			}
			if reg.ExpiresAt == nil || reg.NotBefore == nil {
				t.Fatalf("the token has no expiry: %+v", reg)
			}
			if life := reg.ExpiresAt.Sub(reg.NotBefore.Time); life > meetingTokenTTL {
				t.Errorf("the token lives %v, want at most %v", life, meetingTokenTTL)
			}
		})
	}
}

// TestLiveKitWebhook: the portal acts only on webhooks signed with its
// LiveKit key over the very body it got, and then removes exactly those
// a token no longer admits.
func TestLiveKitWebhook(t *testing.T) {
	e := newMeetingEnv(t)
	id := e.meetNow().Meeting.ID
	if code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+id+"/lock", `{"locked":true}`); code != 200 {
		t.Fatalf("lock: %d %s", code, b)
	}
	joined := func(room, identity string) string {
		return fmt.Sprintf(`{"event":"participant_joined","room":{"name":%q,"metadata":%q},"participant":{"identity":%q}}`,
			room, `{"locked":true,"present":["guest-ada"]}`, identity)
	}
	sign := func(secret, body string) string {
		sum := sha256.Sum256([]byte(body))
		tok, err := auth.NewAccessToken(testLiveKitKey, secret).SetValidFor(time.Minute).
			SetSha256(base64.StdEncoding.EncodeToString(sum[:])).ToJWT()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tc := range []struct {
		name, body, auth string
		code             int
		removed          []string
	}{
		{"a guest with a token from before the lock", joined(id, "guest-late"), sign(testLiveKitSecret, joined(id, "guest-late")), 204, []string{id + "/guest-late"}},
		{"a guest who was in at the lock comes back", joined(id, "guest-ada"), sign(testLiveKitSecret, joined(id, "guest-ada")), 204, nil},
		{"the organiser", joined(id, e.roomID), sign(testLiveKitSecret, joined(id, e.roomID)), 204, nil},
		{"a meeting the portal does not have", joined("987654321", "guest-x"), sign(testLiveKitSecret, joined("987654321", "guest-x")), 204, []string{"987654321/guest-x"}},
		{"a room that is not a meeting", joined("lobby", "guest-x"), sign(testLiveKitSecret, joined("lobby", "guest-x")), 204, nil},
		{"signed with another secret", joined(id, "guest-ada"), sign("another-secret-another-secret-another", joined(id, "guest-ada")), 401, nil},
		{"a body other than the one signed", joined(id, "guest-ada"), sign(testLiveKitSecret, joined(id, "guest-late")), 401, nil},
		{"unsigned", joined(id, "guest-late"), "", 401, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fake.mu.Lock()
			e.fake.removed = nil
			e.fake.mu.Unlock()
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			code, _, b := e.do("POST", WebhookPath, "application/webhook+json", []byte(tc.body), hdr)
			if code != tc.code {
				t.Fatalf("webhook: %d %s, want %d", code, b, tc.code)
			}
			e.fake.mu.Lock()
			removed := e.fake.removed
			e.fake.mu.Unlock()
			if fmt.Sprint(removed) != fmt.Sprint(tc.removed) {
				t.Errorf("removed %v, want %v", removed, tc.removed)
			}
		})
	}
}
