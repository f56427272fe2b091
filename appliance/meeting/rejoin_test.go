package meeting

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/appliance/meeting/meetingtest"
	"roomkit/portal/sfu"
)

// portalStandIn does what the portal's join does for a rejoin: it opens
// the LiveKit room (the SFU creates none) and mints a fresh token.
func portalStandIn(srv *sfu.Server, room, identity string) func(ctx context.Context) (string, string, error) {
	return func(ctx context.Context) (string, string, error) {
		rs := lksdk.NewRoomServiceClient(srv.URL, srv.APIKey, srv.APISecret)
		if _, err := rs.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: room}); err != nil {
			return "", "", fmt.Errorf("create room: %w", err)
		}
		tok, err := auth.NewAccessToken(srv.APIKey, srv.APISecret).
			SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room}).
			SetIdentity(identity).SetValidFor(10 * time.Minute).ToJWT()
		return srv.URL, tok, err
	}
}

// TestRejoinAsksForFreshToken: after the SFU restarts (and forgets the
// room), the session gets back in with a fresh token from the portal, not
// the first one; when the portal says the meeting is over, the session
// ends instead of trying forever.
func TestRejoinAsksForFreshToken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts livekit-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := meetingtest.StartLiveKit(t)
	const room = "123456789"
	var renewals atomic.Int64
	var over atomic.Bool
	standIn := portalStandIn(srv, room, "kit")
	kit, err := Join(ctx, Config{
		URL: srv.URL, Token: meetingtest.Token(t, srv, room, "kit", "Board Room"), Logger: testLogger(t),
		Renew: func(ctx context.Context) (string, string, error) {
			renewals.Add(1)
			if over.Load() {
				return "", "", fmt.Errorf("%w: join: This meeting has ended.", ErrMeetingOver)
			}
			return standIn(ctx)
		},
	})
	if err != nil {
		t.Fatalf("kit join: %v", err)
	}
	defer kit.Leave()

	reconnects := kit.Stats().Reconnects
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the kit to be connected again", func() bool {
		return kit.Connection() == Connected && kit.Stats().Reconnects > reconnects
	})
	if renewals.Load() == 0 {
		t.Error("the kit joined again without asking the portal for a fresh token")
	}

	over.Store(true)
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the kit to give up on a meeting that is over", func() bool { return kit.Connection() == Disconnected })
}

// TestRejoinAfterSFUCrash: an SFU that dies without a goodbye leaves the
// SDK retrying a room the new SFU does not know; after RecoveryLimit the
// session gives that up and gets back in with a fresh token.
func TestRejoinAfterSFUCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts livekit-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := meetingtest.StartLiveKit(t)
	const room = "123456789"
	var renewals atomic.Int64
	standIn := portalStandIn(srv, room, "kit")
	kit, err := Join(ctx, Config{
		URL: srv.URL, Token: meetingtest.Token(t, srv, room, "kit", "Board Room"), Logger: testLogger(t),
		RecoveryLimit: time.Second,
		Renew: func(ctx context.Context) (string, string, error) {
			renewals.Add(1)
			return standIn(ctx)
		},
	})
	if err != nil {
		t.Fatalf("kit join: %v", err)
	}
	defer kit.Leave()

	reconnects := kit.Stats().Reconnects
	if err := srv.Crash(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the kit to be connected again", func() bool {
		return kit.Connection() == Connected && kit.Stats().Reconnects > reconnects
	})
	if renewals.Load() == 0 {
		t.Error("the kit joined again without asking the portal for a fresh token")
	}
}
