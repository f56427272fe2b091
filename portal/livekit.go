package portal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/twitchtv/twirp"
)

// LiveKit says where meetings run. The portal is LiveKit's application
// server: it creates rooms through LiveKit's RoomService and mints access
// tokens with the key and secret; clients connect to URL.
type LiveKit struct {
	URL       string // ws://… or wss://…, as clients reach it; "" leaves meetings off
	APIKey    string
	APISecret string // never logged
}

// conference is what meetings need from LiveKit; tests inject a fake.
type conference interface {
	// open creates the LiveKit room for a meeting unless it exists, capped
	// at maxParticipants, and returns how many participants are in it.
	open(ctx context.Context, meeting string) (int, error)
	participants(ctx context.Context, meeting string) ([]*livekit.ParticipantInfo, error)
	muteTrack(ctx context.Context, meeting, identity, trackSID string) error
	// end disconnects everybody and removes the room.
	end(ctx context.Context, meeting string) error
}

// liveKitTimeout bounds each RoomService call, so a LiveKit outage answers
// a join with an error rather than a hang.
const liveKitTimeout = 10 * time.Second

// meetingTokenTTL bounds how long a minted token can be used to connect.
// LiveKit hands connected participants fresh tokens for reconnects, so a
// long meeting does not need a long-lived token.
const meetingTokenTTL = time.Hour

// roomService is conference on LiveKit's RoomService API.
type roomService struct {
	c *lksdk.RoomServiceClient
}

func newRoomService(lk LiveKit) *roomService {
	return &roomService{c: lksdk.NewRoomServiceClient(lk.URL, lk.APIKey, lk.APISecret)}
}

func (r *roomService) open(ctx context.Context, meeting string) (int, error) {
	if _, err := r.c.CreateRoom(ctx, &livekit.CreateRoomRequest{
		Name:            meeting,
		MaxParticipants: maxParticipants,
		EmptyTimeout:    5 * 60, // the product drops idle rooms after 5 minutes
	}); err != nil {
		return 0, liveKitError(err)
	}
	ps, err := r.participants(ctx, meeting)
	if err != nil {
		return 0, err
	}
	return len(ps), nil
}

func (r *roomService) participants(ctx context.Context, meeting string) ([]*livekit.ParticipantInfo, error) {
	res, err := r.c.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: meeting})
	if err != nil {
		var te twirp.Error
		if errors.As(err, &te) && te.Code() == twirp.NotFound {
			return nil, nil // no LiveKit room yet: nobody is in the meeting
		}
		return nil, liveKitError(err)
	}
	var ps []*livekit.ParticipantInfo
	for _, p := range res.Participants {
		if p.State != livekit.ParticipantInfo_DISCONNECTED {
			ps = append(ps, p)
		}
	}
	return ps, nil
}

func (r *roomService) muteTrack(ctx context.Context, meeting, identity, trackSID string) error {
	_, err := r.c.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: meeting, Identity: identity, TrackSid: trackSID, Muted: true})
	return liveKitError(err)
}

func (r *roomService) end(ctx context.Context, meeting string) error {
	_, err := r.c.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: meeting})
	var te twirp.Error
	if errors.As(err, &te) && te.Code() == twirp.NotFound {
		return nil
	}
	return liveKitError(err)
}

// errLiveKit marks failures of the meeting service, answered 502/503.
var errLiveKit = errors.New("meeting service")

// liveKitError says in words what went wrong talking to LiveKit.
func liveKitError(err error) error {
	if err == nil {
		return nil
	}
	var te twirp.Error
	var ne net.Error
	switch {
	case errors.As(err, &te) && (te.Code() == twirp.Unauthenticated || te.Code() == twirp.PermissionDenied):
		return fmt.Errorf("%w: LiveKit refused the portal's API key or secret (%s)", errLiveKit, te.Msg())
	case errors.As(err, &ne), strings.Contains(err.Error(), "connection refused"):
		return fmt.Errorf("%w: LiveKit is not reachable: %v", errLiveKit, err)
	}
	return fmt.Errorf("%w: %v", errLiveKit, err)
}

// meetingToken mints a LiveKit access token that can join exactly one
// meeting's room, publish and subscribe, and nothing else: no room
// creation, listing, recording or administration.
func (s *Server) meetingToken(meeting, identity, name string) (string, error) {
	yes := true
	tok := auth.NewAccessToken(s.lk.APIKey, s.lk.APISecret).
		SetIdentity(identity).
		SetName(name).
		SetValidFor(meetingTokenTTL).
		SetVideoGrant(&auth.VideoGrant{
			RoomJoin:       true,
			Room:           meeting,
			CanPublish:     &yes,
			CanSubscribe:   &yes,
			CanPublishData: &yes,
		})
	jwt, err := tok.ToJWT()
	if err != nil {
		return "", fmt.Errorf("mint meeting token: %w", err)
	}
	return jwt, nil
}

// endConference disconnects everybody from a deleted meeting. A failure
// only leaves people in a room nobody new can join; it is logged.
func (s *Server) endConference(meeting string) {
	if s.conf == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveKitTimeout)
	defer cancel()
	if err := s.conf.end(ctx, meeting); err != nil {
		s.log.Warn("end LiveKit room of deleted meeting", "meeting", meeting, "err", err)
	}
}

// liveKitStatus maps a LiveKit failure to an answer for the caller.
func (s *Server) liveKitFailure(err error) *httpError {
	s.log.Error("LiveKit", "err", err)
	return errorf(http.StatusBadGateway, "The meeting service is not working right now, so nobody can join. An administrator can find the cause in the portal's log.")
}

// checkLiveKit validates the LiveKit settings and connects meetings to it.
func (s *Server) checkLiveKit() error {
	lk := s.lk
	if lk.URL == "" {
		if lk.APIKey != "" || lk.APISecret != "" {
			return errors.New("portal: LiveKit key and secret given without a LiveKit URL")
		}
		return nil
	}
	u, err := url.Parse(lk.URL)
	if err != nil || u.Host == "" || (u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("portal: LiveKit URL %q must look like wss://livekit.example.com", lk.URL)
	}
	if lk.APIKey == "" || lk.APISecret == "" {
		return errors.New("portal: the LiveKit URL needs an API key and secret too")
	}
	if len(lk.APISecret) < 32 {
		// LiveKit itself refuses shorter secrets.
		return errors.New("portal: the LiveKit API secret must have at least 32 characters")
	}
	s.conf = newRoomService(lk)
	return nil
}
