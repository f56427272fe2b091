package portal

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/encoding/protojson"
)

// LiveKit says where meetings run. The portal is LiveKit's application
// server: it creates rooms through LiveKit's RoomService and mints access
// tokens with the key and secret; clients connect to URL.
type LiveKit struct {
	URL string // ws://… or wss://…, as clients reach it; "" leaves meetings off
	// Nodes, if it has two or more, are the nodes of a LiveKit cluster
	// without a load balancer in front (docs/livekit.md, "A cluster"):
	// the portal hands each join, and makes each of its RoomService calls
	// to, one that answers its health check. URL is then Nodes[0] or "".
	Nodes     []string
	APIKey    string
	APISecret string // never logged

	pool *nodePool // Nodes and their health; nil for one URL
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
	// lock writes into the LiveKit room who is in it as the meeting is
	// locked (locked false clears it): the webhook lets them back in
	// after a drop and removes anyone else who gets in with an old token.
	lock(ctx context.Context, meeting string, locked bool) error
	// remove disconnects one participant.
	remove(ctx context.Context, meeting, identity string) error
}

// liveKitTimeout bounds each RoomService call, so a LiveKit outage answers
// a join with an error rather than a hang.
const liveKitTimeout = 10 * time.Second

// meetingTokenTTL bounds how long a minted token can be used to connect:
// a token is only needed until the connection is made, and one that
// leaks, or was fetched just before a lock, is soon worthless. LiveKit
// itself sends every connected participant a fresh token at once and
// every 5 minutes (valid 10 minutes; livekit-server's RoomManager), which
// its SDKs use to resume or reconnect, so a long meeting needs no
// long-lived token. The kit asks the portal for a new token when it must
// join again from scratch.
const meetingTokenTTL = 10 * time.Minute

// roomService is conference on LiveKit's RoomService API: of one server
// or load balancer, or of a healthy node of a cluster (pool).
type roomService struct {
	url     string
	pool    *nodePool
	clients map[string]*lksdk.RoomServiceClient // by node URL
}

func newRoomService(lk LiveKit) *roomService {
	r := &roomService{url: lk.URL, pool: lk.pool, clients: map[string]*lksdk.RoomServiceClient{}}
	urls := []string{lk.URL}
	if lk.pool != nil {
		urls = lk.pool.urls
	}
	for _, u := range urls {
		r.clients[u] = lksdk.NewRoomServiceClient(u, lk.APIKey, lk.APISecret)
	}
	return r
}

// call runs f with the RoomService client of the server, or of a healthy
// node; a node found unreachable is marked down and f runs again on
// another one, so a node that died since the last health check costs a
// refused connection, not a failed join.
//
// Each attempt on a cluster is bounded by clusterCallTimeout and tried
// again while ctx lasts: for a few seconds after a node dies LiveKit
// still routes its rooms to it (until the node's stats are 5 s old), and
// a call about such a room waits for an answer that never comes. The
// next attempt then finds the room moved to a live node.
func (r *roomService) call(ctx context.Context, f func(context.Context, *lksdk.RoomServiceClient) error) error {
	if r.pool == nil {
		return f(ctx, r.clients[r.url])
	}
	var last error
	for ctx.Err() == nil {
		node, err := r.pool.pick(ctx)
		if err != nil {
			return errors.Join(last, err)
		}
		actx, cancel := context.WithTimeout(ctx, clusterCallTimeout)
		err = f(actx, r.clients[node])
		timedOut := actx.Err() != nil
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
			return err
		case timedOut:
			// The node took the call but had no answer in time: try again.
		case unreachable(err):
			r.pool.down(node, err)
		default:
			return err // an answer, which another node would give too
		}
		last = err
	}
	return last
}

// clusterCallTimeout bounds one RoomService call to a node of a cluster.
// The calls take milliseconds; every call the portal makes is idempotent,
// so one that was slow but done is answered at once when tried again.
const clusterCallTimeout = time.Second

// unreachable reports whether err says the LiveKit server could not be
// reached at all (rather than answering with an error).
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "connection reset")
}

func (r *roomService) open(ctx context.Context, meeting string) (int, error) {
	if err := r.call(ctx, func(ctx context.Context, c *lksdk.RoomServiceClient) error {
		_, err := c.CreateRoom(ctx, &livekit.CreateRoomRequest{
			Name:            meeting,
			MaxParticipants: maxParticipants,
			EmptyTimeout:    5 * 60, // the product drops idle rooms after 5 minutes
		})
		return err
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
	var res *livekit.ListParticipantsResponse
	err := r.call(ctx, func(ctx context.Context, c *lksdk.RoomServiceClient) (err error) {
		res, err = c.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: meeting})
		return err
	})
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
	err := r.call(ctx, func(ctx context.Context, c *lksdk.RoomServiceClient) error {
		_, err := c.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: meeting, Identity: identity, TrackSid: trackSID, Muted: true})
		return err
	})
	return liveKitError(err)
}

// roomLock is what the portal keeps in a locked meeting's LiveKit room
// metadata: who was in it as it was locked.
type roomLock struct {
	Locked  bool     `json:"locked"`
	Present []string `json:"present"`
}

func (r *roomService) lock(ctx context.Context, meeting string, locked bool) error {
	meta := ""
	if locked {
		ps, err := r.participants(ctx, meeting)
		if err != nil {
			return err
		}
		st := roomLock{Locked: true, Present: []string{}}
		for _, p := range ps {
			st.Present = append(st.Present, p.Identity)
		}
		b, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("lock state: %w", err)
		}
		meta = string(b)
	}
	err := r.call(ctx, func(ctx context.Context, c *lksdk.RoomServiceClient) error {
		_, err := c.UpdateRoomMetadata(ctx, &livekit.UpdateRoomMetadataRequest{Room: meeting, Metadata: meta})
		return err
	})
	var te twirp.Error
	if errors.As(err, &te) && te.Code() == twirp.NotFound {
		return nil // no room yet: whoever joins later is new
	}
	return liveKitError(err)
}

func (r *roomService) remove(ctx context.Context, meeting, identity string) error {
	err := r.call(ctx, func(ctx context.Context, c *lksdk.RoomServiceClient) error {
		_, err := c.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: meeting, Identity: identity})
		return err
	})
	var te twirp.Error
	if errors.As(err, &te) && te.Code() == twirp.NotFound {
		return nil // already gone
	}
	return liveKitError(err)
}

func (r *roomService) end(ctx context.Context, meeting string) error {
	err := r.call(ctx, func(ctx context.Context, c *lksdk.RoomServiceClient) error {
		_, err := c.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: meeting})
		return err
	})
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
// meeting's room, publish and subscribe media, and nothing else: no data
// messages (nothing of ours uses them), no room creation, listing,
// recording or administration.
func (s *Server) meetingToken(meeting, identity, name string) (string, error) {
	yes, no := true, false
	tok := auth.NewAccessToken(s.lk.APIKey, s.lk.APISecret).
		SetIdentity(identity).
		SetName(name).
		SetValidFor(meetingTokenTTL).
		SetVideoGrant(&auth.VideoGrant{
			RoomJoin:       true,
			Room:           meeting,
			CanPublish:     &yes,
			CanSubscribe:   &yes,
			CanPublishData: &no, // left out, LiveKit would grant it with CanPublish
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
	if len(lk.Nodes) > 0 {
		if lk.URL != "" && lk.URL != lk.Nodes[0] {
			return errors.New("portal: give LiveKit either one URL or the nodes of a cluster")
		}
		lk.URL = lk.Nodes[0]
		for i, n := range lk.Nodes {
			if err := checkLiveKitURL(n); err != nil {
				return err
			}
			if slices.Contains(lk.Nodes[:i], n) {
				return fmt.Errorf("portal: LiveKit node %s is named twice", n)
			}
		}
		if len(lk.Nodes) > 1 {
			lk.pool = newNodePool(lk.Nodes)
		}
	}
	if lk.URL == "" {
		if lk.APIKey != "" || lk.APISecret != "" {
			return errors.New("portal: LiveKit key and secret given without a LiveKit URL")
		}
		return nil
	}
	if err := checkLiveKitURL(lk.URL); err != nil {
		return err
	}
	if lk.APIKey == "" || lk.APISecret == "" {
		return errors.New("portal: the LiveKit URL needs an API key and secret too")
	}
	if len(lk.APISecret) < 32 {
		// LiveKit itself refuses shorter secrets.
		return errors.New("portal: the LiveKit API secret must have at least 32 characters")
	}
	s.lk = lk
	s.conf = newRoomService(lk)
	return nil
}

func checkLiveKitURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("portal: LiveKit URL %q must look like wss://livekit.example.com", raw)
	}
	return nil
}

// clientURL is the LiveKit URL a join hands out: the one URL, or a node
// of the cluster that answers its health check. With no healthy node it
// answers the first: the client's error then names a real server.
func (s *Server) clientURL(ctx context.Context) string {
	if s.lk.pool == nil {
		return s.lk.URL
	}
	u, err := s.lk.pool.pick(ctx)
	if err != nil {
		s.log.Warn("LiveKit cluster", "err", err)
		return s.lk.URL
	}
	return u
}

// liveKitURLs is every URL clients may be sent to.
func (s *Server) liveKitURLs() []string {
	if s.lk.pool != nil {
		return s.lk.pool.urls
	}
	return []string{s.lk.URL}
}

// WebhookPath is where LiveKit posts its webhooks to the portal
// (docs/livekit.md says how to configure a production LiveKit).
const WebhookPath = "/api/v1/livekit/webhook"

// serveLiveKitWebhook enforces, at LiveKit, what a token minted earlier
// no longer grants: LiveKit checks a token's signature and expiry only,
// and it cannot change a live room's participant cap, so a guest who
// fetched a token before the meeting was locked (or who kept one) would
// still get in. When such a participant joins, the portal removes them:
// anyone who joins a meeting that is over, and anyone but the organiser
// and those present at the lock who joins a locked one.
func (s *Server) serveLiveKitWebhook(w http.ResponseWriter, r *http.Request) {
	if s.conf == nil {
		writeHTTPError(w, errorf(http.StatusNotFound, "Meetings are not set up on this portal."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	ev, err := s.receiveWebhook(r)
	if err != nil {
		s.log.Warn("LiveKit webhook refused", "err", err, "addr", clientAddr(r))
		writeHTTPError(w, errorf(http.StatusUnauthorized, "The webhook is not signed with the portal's LiveKit key."))
		return
	}
	if ev.Event == "participant_joined" && ev.Room != nil && ev.Participant != nil {
		if why := s.unwelcome(ev.Room, ev.Participant.Identity); why != "" {
			ctx, cancel := context.WithTimeout(r.Context(), liveKitTimeout)
			defer cancel()
			if err := s.conf.remove(ctx, ev.Room.Name, ev.Participant.Identity); err != nil {
				s.log.Error("remove a participant LiveKit let in", "meeting", ev.Room.Name, "identity", ev.Participant.Identity, "why", why, "err", err)
				writeHTTPError(w, s.liveKitFailure(err)) // LiveKit posts the webhook again
				return
			}
			s.log.Warn("removed a participant who joined with an old token", "meeting", ev.Room.Name, "identity", ev.Participant.Identity, "why", why)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// receiveWebhook reads a webhook and checks, as LiveKit's own receiver
// does (protocol/webhook, whose package needs modules this build lacks),
// that it is signed with the portal's key and that the body is the one
// signed.
func (s *Server) receiveWebhook(r *http.Request) (*livekit.WebhookEvent, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read webhook: %w", err)
	}
	v, err := auth.ParseAPIToken(r.Header.Get("Authorization"))
	if err != nil {
		return nil, fmt.Errorf("webhook signature: %w", err)
	}
	if v.APIKey() != s.lk.APIKey {
		return nil, fmt.Errorf("webhook signed with the unknown key %q", v.APIKey())
	}
	_, claims, err := v.Verify(s.lk.APISecret)
	if err != nil {
		return nil, fmt.Errorf("webhook signature: %w", err)
	}
	sum := sha256.Sum256(body)
	if subtle.ConstantTimeCompare([]byte(claims.Sha256), []byte(base64.StdEncoding.EncodeToString(sum[:]))) != 1 {
		return nil, errors.New("webhook body does not match its signature")
	}
	var ev livekit.WebhookEvent
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("webhook is not a LiveKit event: %w", err)
	}
	return &ev, nil
}

// unwelcome says why identity may not be in the LiveKit room, or "".
func (s *Server) unwelcome(room *livekit.Room, identity string) string {
	id, err := parseMeetingID(room.Name)
	if err != nil {
		return "" // not one of the portal's rooms
	}
	m, _, err := s.loadMeeting(id)
	switch {
	case errors.Is(err, errNotFound):
		return "the meeting is gone"
	case err != nil:
		s.log.Error("webhook: look up meeting", "meeting", id, "err", err)
		return ""
	case m.ended:
		return "the meeting has ended"
	case !m.locked || identity == m.roomID:
		return ""
	}
	var st roomLock
	json.Unmarshal([]byte(room.Metadata), &st) // none: nobody was in at the lock
	if slices.Contains(st.Present, identity) {
		return "" // back after a drop
	}
	return "the meeting is locked"
}

// lockConference tells LiveKit who may stay in a meeting being locked. A
// failure is logged: the portal refuses new tokens all the same.
func (s *Server) lockConference(ctx context.Context, meeting string, locked bool) {
	if s.conf == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, liveKitTimeout)
	defer cancel()
	if err := s.conf.lock(ctx, meeting, locked); err != nil {
		s.log.Warn("record the lock in the LiveKit room", "meeting", meeting, "locked", locked, "err", err)
	}
}
