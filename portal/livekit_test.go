package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/appliance/meeting/meetingtest"
)

// The SDK's clients log every connection step (tokens included) at info
// level; the tests say what matters themselves.
func init() { lksdk.SetLogger(protologger.GetDiscardLogger()) }

// newLiveEnv is a portal wired to a real LiveKit server, with one paired room.
func newLiveEnv(t *testing.T, lk LiveKit, assets string) *meetingEnv {
	t.Helper()
	return newLiveEnvOn(t, httptest.NewUnstartedServer(nil), lk, assets)
}

// newLiveEnvOn is newLiveEnv on ts, a server not started yet whose
// address LiveKit may already know (for its webhooks).
func newLiveEnvOn(t *testing.T, ts *httptest.Server, lk LiveKit, assets string) *meetingEnv {
	t.Helper()
	cfg := Config{DataDir: filepath.Join(t.TempDir(), "data"), LiveKit: lk, AssetsDir: assets}
	return startEnv(t, ts, &clock{t: time.Now()}, cfg, nil).withBoardroom(nil)
}

func connect(url, token string) (*lksdk.Room, error) {
	return lksdk.ConnectToRoomWithToken(url, token, &lksdk.RoomCallback{}, lksdk.WithAutoSubscribe(false))
}

func participantIdentities(t *testing.T, rs *lksdk.RoomServiceClient, room string) map[string]string {
	t.Helper()
	res, err := rs.ListParticipants(t.Context(), &livekit.ListParticipantsRequest{Room: room})
	if err != nil {
		t.Fatalf("ListParticipants: %v", err)
	}
	out := map[string]string{}
	for _, p := range res.Participants {
		out[p.Identity] = p.Name
	}
	return out
}

// TestLiveKitMeeting runs a meeting on a real LiveKit server: the portal's
// token is accepted and the kit sees itself in the room; 25 participants
// fill the meeting, and the 26th is refused by the portal and, with a
// token minted anyway, by LiveKit itself.
func TestLiveKitMeeting(t *testing.T) {
	lk := meetingtest.StartLiveKit(t)
	e := newLiveEnv(t, LiveKit{URL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret}, "")
	rs := lksdk.NewRoomServiceClient(lk.URL, lk.APIKey, lk.APISecret)

	ans := e.meetNow()
	kitRoom, err := connect(ans.URL, ans.Token)
	if err != nil {
		t.Fatalf("LiveKit refused the portal's token: %v", err)
	}
	defer kitRoom.Disconnect()
	if id := kitRoom.LocalParticipant.Identity(); id != e.roomID {
		t.Errorf("connected as %q, want the room %q", id, e.roomID)
	}
	if got := participantIdentities(t, rs, ans.Meeting.ID); got[e.roomID] != "Boardroom" || len(got) != 1 {
		t.Fatalf("LiveKit room %s has %v, want just the kit named Boardroom", ans.Meeting.ID, got)
	}
	// The LiveKit room carries the participant cap.
	rooms, err := rs.ListRooms(t.Context(), &livekit.ListRoomsRequest{Names: []string{ans.Meeting.ID}})
	if err != nil || len(rooms.Rooms) != 1 || rooms.Rooms[0].MaxParticipants != maxParticipants {
		t.Fatalf("LiveKit room: %v %v, want MaxParticipants %d", rooms, err, maxParticipants)
	}

	// 24 guests join through the portal: 25 in all.
	for i := 2; i <= maxParticipants; i++ {
		code, b := e.guestJoin(ans.Meeting.ID, fmt.Sprintf(`{"name":"Guest %d"}`, i))
		if code != 200 {
			t.Fatalf("participant %d: %d %s", i, code, b)
		}
		var g joinAnswer
		json.Unmarshal(b, &g)
		r, err := connect(g.URL, g.Token)
		if err != nil {
			t.Fatalf("participant %d: LiveKit refused the token: %v", i, err)
		}
		defer r.Disconnect()
	}
	if n := len(participantIdentities(t, rs, ans.Meeting.ID)); n != maxParticipants {
		t.Fatalf("%d in the LiveKit room, want %d", n, maxParticipants)
	}

	// The 26th: the portal says so in words.
	code, b := e.guestJoin(formatMeetingID(ans.Meeting.ID), `{"name":"Guest 26"}`)
	if code != 403 || errCode(t, b) != "This meeting is full." {
		t.Fatalf("26th participant: %d %s, want 403 This meeting is full.", code, b)
	}
	// A token minted past the portal's check is refused by LiveKit too.
	tok, err := e.srv.meetingToken(ans.Meeting.ID, "guest-late", "Late")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := connect(lk.URL, tok); err == nil {
		r.Disconnect()
		t.Fatal("LiveKit let a 26th participant in")
	}

	// Mute all: every guest's microphone would be muted; nobody publishes
	// here, so this checks the RoomService path answers.
	if code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings/"+ans.Meeting.ID+"/mute", `{"all":true}`); code != 204 {
		t.Errorf("mute all: %d %s", code, b)
	}
}

// TestLiveKitRefusesBadCredentials: a token signed with the wrong secret
// does not get into a meeting, and a portal configured with the wrong
// secret says the meeting service is not working rather than handing out
// useless tokens.
func TestLiveKitRefusesBadCredentials(t *testing.T) {
	lk := meetingtest.StartLiveKit(t)
	forged := auth.NewAccessToken(lk.APIKey, "not-the-secret-not-the-secret-not-the-secret")
	yes := true
	forged.SetIdentity("guest-forged").SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: "123456789", CanPublish: &yes, CanSubscribe: &yes})
	jwt, err := forged.ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	if r, err := connect(lk.URL, jwt); err == nil {
		r.Disconnect()
		t.Fatal("LiveKit accepted a token signed with the wrong secret")
	}

	e := newLiveEnv(t, LiveKit{URL: lk.URL, APIKey: lk.APIKey, APISecret: "wrong-secret-wrong-secret-wrong-secret"}, "")
	code, b := e.kitCall(e.access, "POST", "/api/v1/device/meetings", "")
	if code != 502 || errCode(t, b) != "The meeting service is not working right now, so nobody can join. An administrator can find the cause in the portal's log." {
		t.Fatalf("Meet Now with a wrong LiveKit secret: %d %s", code, b)
	}
	ctx, cancel := context.WithTimeout(t.Context(), liveKitTimeout)
	defer cancel()
	_, err = newRoomService(LiveKit{URL: lk.URL, APIKey: lk.APIKey, APISecret: "wrong-secret-wrong-secret-wrong-secret"}).open(ctx, "123456789")
	if err == nil || !contains(err.Error(), "LiveKit refused the portal's API key or secret") {
		t.Errorf("open with a wrong secret: %v", err)
	}
}
