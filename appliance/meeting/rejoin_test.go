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

// rejoiner is a kit in a meeting on a real LiveKit whose Renew asks
// portalStandIn for a fresh token, as the kit asks the portal.
type rejoiner struct {
	kit      *Session
	renewals atomic.Int64 // how often the kit asked for a fresh token
	over     atomic.Bool  // Renew answers that the meeting has ended
}

// joinRejoiner starts LiveKit and joins a kit to a meeting on it, with
// cfg's other settings. The caller has the kit leave.
func joinRejoiner(t *testing.T, ctx context.Context, cfg Config) (*rejoiner, *sfu.Server) {
	t.Helper()
	srv := meetingtest.StartLiveKit(t)
	const room = "123456789"
	r := &rejoiner{}
	standIn := portalStandIn(srv, room, "kit")
	cfg.URL, cfg.Token, cfg.Logger = srv.URL, meetingtest.Token(t, srv, room, "kit", "Board Room"), testLogger(t)
	cfg.Renew = func(ctx context.Context) (string, string, error) {
		r.renewals.Add(1)
		if r.over.Load() {
			return "", "", fmt.Errorf("%w: join: This meeting has ended.", ErrMeetingOver)
		}
		return standIn(ctx)
	}
	kit, err := Join(ctx, cfg)
	if err != nil {
		t.Fatalf("kit join: %v", err)
	}
	r.kit = kit
	return r, srv
}

// rejoinsAfter makes the SFU go away with gone (a restart, a crash) and
// waits for the kit to be connected again, with a token it asked for.
func (r *rejoiner) rejoinsAfter(t *testing.T, ctx context.Context, gone func(context.Context) error) {
	t.Helper()
	reconnects := r.kit.Stats().Reconnects
	if err := gone(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the kit to be connected again", func() bool {
		return r.kit.Connection() == Connected && r.kit.Stats().Reconnects > reconnects
	})
	if r.renewals.Load() == 0 {
		t.Error("the kit joined again without asking the portal for a fresh token")
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
	r, srv := joinRejoiner(t, ctx, Config{})
	defer r.kit.Leave()
	r.rejoinsAfter(t, ctx, srv.Restart)

	r.over.Store(true)
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the kit to give up on a meeting that is over", func() bool { return r.kit.Connection() == Disconnected })
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
	r, srv := joinRejoiner(t, ctx, Config{RecoveryLimit: time.Second})
	defer r.kit.Leave()
	r.rejoinsAfter(t, ctx, srv.Crash)
}
