// Package meetingtest has recorders and fakes for meetings on a real
// LiveKit server, periph-style beside the meeting package: a participant
// on the LiveKit Go SDK that stands in for a browser and records what the
// kit sends it (decoded pictures, audio samples), a synthetic publisher of
// H.264 video and an Opus tone, and the measures tests apply to what was
// recorded (a tone's frequency, loudness, a moving clock, colour bars).
//
// The participant and publisher need livekit-server, which StartLiveKit
// starts; the measures need nothing.
package meetingtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/portal/sfu"
)

// StartLiveKit starts livekit-server on loopback for t and stops it when
// t ends. Without the binary t is skipped with a message naming
// scripts/setup-livekit.sh, unless the environment sets CI: CI's setup
// installs it, so there its absence fails t.
func StartLiveKit(t testing.TB) *sfu.Server {
	t.Helper()
	return StartLiveKitWith(t, sfu.Options{})
}

// StartLiveKitWith is StartLiveKit with options (a webhook URL, say); its
// Dir is t's own.
func StartLiveKitWith(t testing.TB, opts sfu.Options) *sfu.Server {
	t.Helper()
	if _, err := sfu.FindBinary(); err != nil {
		// err (sfu.ErrNotFound) names scripts/setup-livekit.sh.
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set, so setup should have installed it)", err)
		}
		t.Skipf("%v; skipping the test that needs a real LiveKit server", err)
	}
	// Not t.Context(): that ends before t's cleanups run, and the portals
	// and kits a test starts after LiveKit stop in those, still connected.
	opts.Dir = t.TempDir()
	lk, err := sfu.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Stop() })
	return lk
}

// Token returns an hour's token for lk that lets identity, shown as name,
// join room, as the portal would hand out. It creates the room first, as
// the portal does: the supervised LiveKit creates no room for a token.
func Token(t testing.TB, lk *sfu.Server, room, identity, name string) string {
	t.Helper()
	rs := lksdk.NewRoomServiceClient(lk.URL, lk.APIKey, lk.APISecret)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := rs.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: room}); err != nil {
		t.Fatalf("create LiveKit room %s: %v", room, err)
	}
	tok, err := auth.NewAccessToken(lk.APIKey, lk.APISecret).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room}).
		SetIdentity(identity).SetName(name).SetValidFor(time.Hour).ToJWT()
	if err != nil {
		t.Fatalf("token for %s: %v", identity, err)
	}
	return tok
}
