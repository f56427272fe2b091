package systemtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/appliance"
	"roomkit/appliance/meeting/meetingtest"
)

// TestEndMeetingForEveryone: the organising kit ends its Meet Now
// meeting; LiveKit disconnects the other participant, the kit is home
// again, and the meeting cannot be joined any more.
func TestEndMeetingForEveryone(t *testing.T) {
	lk := meetingtest.StartLiveKit(t)
	p := startPortalWith(t, t.TempDir(), "127.0.0.1:0", liveKitConfig(lk))
	k := startKit(t, t.TempDir(), p.URL)
	pairKit(t, p, k, "Boardroom")
	ctx := context.Background()

	st, err := k.control.MeetNow(ctx)
	if err != nil || st.Meeting == nil {
		t.Fatalf("meet-now: %+v, %v", st, err)
	}
	id := st.Meeting.ID

	code, url, token, msg := guestJoin(t, p.URL, id, "Ada")
	if code != 200 {
		t.Fatalf("guest join: %d %s", code, msg)
	}
	gone := make(chan struct{}, 1)
	cb := lksdk.NewRoomCallback()
	cb.OnDisconnected = func() {
		select {
		case gone <- struct{}{}:
		default:
		}
	}
	ada, err := lksdk.ConnectToRoomWithToken(url, token, cb)
	if err != nil {
		t.Fatalf("participant join: %v", err)
	}
	t.Cleanup(ada.Disconnect)
	waitFor(t, 30*time.Second, "Ada in the kit's participant list", func() (bool, string) {
		names := participantNames(k.status(t))
		return len(names) == 1 && names[0] == "Ada", fmt.Sprint(names)
	})

	if err := k.EndMeeting(ctx); err != nil {
		t.Fatalf("end meeting: %v", err)
	}
	select {
	case <-gone:
		// The SDK's own reasons fold ROOM_DELETED into "other reasons".
		if r := ada.DisconnectReason(); r != livekit.DisconnectReason_ROOM_DELETED {
			t.Errorf("the participant was disconnected because %v, want %v", r, livekit.DisconnectReason_ROOM_DELETED)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the participant is still connected 30 s after the kit ended the meeting")
	}
	st = k.status(t)
	if st.State != appliance.Ready || st.Meeting != nil {
		t.Errorf("after End the kit is %s with meeting %+v, want ready", st.State, st.Meeting)
	}
	rs := lksdk.NewRoomServiceClient(lk.URL, lk.APIKey, lk.APISecret)
	if res, err := rs.ListRooms(ctx, &livekit.ListRoomsRequest{Names: []string{id}}); err != nil || len(res.Rooms) != 0 {
		t.Errorf("LiveKit still has the meeting's room: %v, %v", res, err)
	}
	if code, _, _, msg := guestJoin(t, p.URL, id, "Late"); code != 410 || msg != "This meeting has ended." {
		t.Errorf("a join after End: %d %q, want 410 %q", code, msg, "This meeting has ended.")
	}
	if _, err := k.control.Join(ctx, id); err == nil || err.Error() != "roomd: join: This meeting has ended." {
		t.Errorf("the kit rejoins: %v", err)
	}
}
