// Command meetingcap attacks one meeting the way the security audit did
// (issue 11, item 3) and prints what got in: N participants with valid
// tokens at once against the cap of 25, tokens kept from before a lock,
// an End, a delete and an unpair.
//
// It runs the portal in process on loopback with the supervised
// livekit-server (.tools/livekit-server, as `portal -livekit dev`: rooms
// only from the portal, webhooks to the portal), pairs one kit through the
// real protocol, starts Meet Now as the kit and joins guests on the
// LiveKit Go SDK. Nothing is published; joins are what is measured.
//
//	go run ./bench/meetingcap [-participants 40] [-parallel 8]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"roomkit/portal"
	"roomkit/portal/sfu"
	"roomkit/portalapi"
	"roomkit/provisioning"
)

func main() {
	n := flag.Int("participants", 40, "participants trying to join one meeting with valid tokens")
	parallel := flag.Int("parallel", 8, "joins in flight at once")
	flag.Parse()
	lksdk.SetLogger(protologger.GetDiscardLogger()) // it logs every ICE step
	if err := run(*n, *parallel); err != nil {
		fmt.Fprintln(os.Stderr, "meetingcap:", err)
		os.Exit(1)
	}
}

// row is one line of the table.
type row struct{ what, result, detail string }

type bench struct {
	base, admin string
	kit         *portalapi.Client
	access      string
	roomID      string
	rs          *lksdk.RoomServiceClient
	rows        []row
	guests      atomic.Int32 // addresses handed out to guests
}

func run(n, parallel int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "meetingcap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	lk, err := sfu.Start(ctx, sfu.Options{Dir: dir + "/livekit", WebhookURL: base + portal.WebhookPath})
	if err != nil {
		return err
	}
	defer lk.Stop()
	srv, err := portal.New(portal.Config{DataDir: dir + "/portal", URL: base, Logger: slog.New(slog.DiscardHandler),
		LiveKit: portal.LiveKit{URL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret},
		// Each guest comes from its own address (X-Forwarded-For from a
		// trusted loopback proxy), as they would: the portal limits joins
		// per address, and this program measures LiveKit's cap, not that.
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		return err
	}
	defer srv.Close()
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()

	b := &bench{base: base, rs: lksdk.NewRoomServiceClient(lk.URL, lk.APIKey, lk.APISecret)}
	if b.admin, err = srv.CreateAPIToken("meetingcap"); err != nil {
		return err
	}
	if err := b.pair(ctx, dir); err != nil {
		return fmt.Errorf("pair the kit: %w", err)
	}
	if err := b.capacity(ctx, n, parallel); err != nil {
		return err
	}
	if err := b.lock(ctx); err != nil {
		return err
	}
	for _, how := range []string{"End", "delete", "unpair"} {
		if err := b.closeMeeting(ctx, how); err != nil {
			return err
		}
	}

	host, _ := os.Hostname()
	fmt.Printf("meetingcap: %d participants, %d joins in flight, LiveKit %s, %s, %d CPUs, %s\n\n",
		n, parallel, lk.URL, host, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "attack\tresult\tdetail")
	for _, r := range b.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.what, r.result, r.detail)
	}
	return tw.Flush()
}

// pair pairs a kit the way roomd does and keeps its access token.
func (b *bench) pair(ctx context.Context, dir string) error {
	id, err := provisioning.LoadOrCreateIdentity(dir + "/kit")
	if err != nil {
		return err
	}
	b.kit = &portalapi.Client{PortalURL: b.base, Identity: id}
	da, err := b.kit.StartPairing(ctx, "meetingcap")
	if err != nil {
		return err
	}
	var paired struct {
		Room struct {
			ID string `json:"id"`
		} `json:"room"`
	}
	if err := b.api(ctx, "POST", "/api/v1/admin/pairings", map[string]string{"user_code": da.UserCode, "name": "Bench room", "time_zone": "UTC"}, http.StatusCreated, &paired); err != nil {
		return err
	}
	tok, err := b.kit.PollToken(ctx, da)
	if err != nil {
		return err
	}
	b.access, b.roomID = tok.AccessToken, paired.Room.ID
	return nil
}

// api calls the admin API and decodes its answer into out.
func (b *bench) api(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.admin)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", b.guests.Add(1)%250+1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// guestToken asks the portal to let a guest in, as the join page does.
func (b *bench) guestToken(ctx context.Context, id, name string) (status int, url, token, msg string, err error) {
	body, _ := json.Marshal(map[string]string{"name": name})
	req, err := http.NewRequestWithContext(ctx, "POST", b.base+"/api/v1/meetings/"+id+"/join", bytes.NewReader(body))
	if err != nil {
		return 0, "", "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", b.guests.Add(1)%250+1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", "", "", err
	}
	defer resp.Body.Close()
	var a struct{ URL, Token, Error string }
	json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a.URL, a.Token, a.Error, nil
}

// participant is a guest on the LiveKit SDK that knows when it was put out.
type participant struct {
	room *lksdk.Room
	gone chan struct{}
}

func join(url, token string) (*participant, error) {
	p := &participant{gone: make(chan struct{})}
	cb := lksdk.NewRoomCallback()
	var once sync.Once
	cb.OnDisconnected = func() { once.Do(func() { close(p.gone) }) }
	r, err := lksdk.ConnectToRoomWithToken(url, token, cb, lksdk.WithAutoSubscribe(false))
	if err != nil {
		return nil, err
	}
	p.room = r
	return p, nil
}

// waitGone waits until LiveKit put p out and says how long it took.
func (p *participant) waitGone(ctx context.Context, since time.Time) (time.Duration, error) {
	select {
	case <-p.gone:
		return time.Since(since), nil
	case <-ctx.Done():
		return 0, errors.New("still in the meeting")
	}
}

func (b *bench) meetNow(ctx context.Context) (*portalapi.MeetingJoin, *participant, error) {
	ans, err := b.kit.MeetNow(ctx, b.access)
	if err != nil {
		return nil, nil, err
	}
	kit, err := join(ans.URL, ans.Token)
	if err != nil {
		return nil, nil, fmt.Errorf("the kit joins: %w", err)
	}
	return ans, kit, nil
}

// capacity: the kit starts a meeting, n guests fetch tokens while it is
// nearly empty (so the portal's own count lets them all through), then
// all join at once: LiveKit's cap decides.
func (b *bench) capacity(ctx context.Context, n, parallel int) error {
	ans, kit, err := b.meetNow(ctx)
	if err != nil {
		return err
	}
	defer kit.room.Disconnect()
	id := ans.Meeting.ID
	type tok struct{ url, token string }
	var toks []tok
	for i := range n {
		st, url, token, msg, err := b.guestToken(ctx, id, fmt.Sprintf("Guest %d", i+1))
		if err != nil || st != 200 {
			return fmt.Errorf("guest %d's token: %d %s %v", i+1, st, msg, err)
		}
		toks = append(toks, tok{url, token})
	}
	var in, refused atomic.Int64
	var mu sync.Mutex
	var rooms []*lksdk.Room
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	start := time.Now()
	for _, t := range toks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p, err := join(t.url, t.token)
			if err != nil {
				refused.Add(1)
				return
			}
			in.Add(1)
			mu.Lock()
			rooms = append(rooms, p.room)
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(start)
	defer func() {
		for _, r := range rooms {
			r.Disconnect()
		}
	}()
	res, err := b.rs.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: id})
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{
		fmt.Sprintf("%d guests with valid tokens join at once (kit already in)", n),
		fmt.Sprintf("%d connected, %d refused by LiveKit", in.Load(), refused.Load()),
		fmt.Sprintf("LiveKit room holds %d (cap %d); all joins done in %d ms", len(res.Participants), 25, took.Milliseconds()),
	})
	st, _, _, msg, err := b.guestToken(ctx, id, "One more")
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{"one more guest asks the portal for a token", fmt.Sprintf("HTTP %d", st), msg})
	return b.endAsKit(ctx, id)
}

func (b *bench) endAsKit(ctx context.Context, id string) error {
	return b.kit.EndMeeting(ctx, b.access, id)
}

// lock: a guest fetches a token, the kit locks the meeting, the guest
// joins: the portal's webhook puts them out.
func (b *bench) lock(ctx context.Context) error {
	ans, kit, err := b.meetNow(ctx)
	if err != nil {
		return err
	}
	defer kit.room.Disconnect()
	id := ans.Meeting.ID
	st, url, token, msg, err := b.guestToken(ctx, id, "Early")
	if err != nil || st != 200 {
		return fmt.Errorf("early guest: %d %s %v", st, msg, err)
	}
	if _, err := b.kit.LockMeeting(ctx, b.access, id, true); err != nil {
		return err
	}
	st, _, _, msg, err = b.guestToken(ctx, id, "New")
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{"a new guest asks for a token after the lock", fmt.Sprintf("HTTP %d", st), msg})
	start := time.Now()
	p, err := join(url, token)
	if err != nil {
		b.rows = append(b.rows, row{"a token fetched before the lock joins after it", "refused by LiveKit", err.Error()})
	} else {
		joined := time.Now()
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		took, err := p.waitGone(wctx, joined)
		cancel()
		if err != nil {
			return fmt.Errorf("early guest after the lock: %w", err)
		}
		b.rows = append(b.rows, row{"a token fetched before the lock joins after it", "put out (" + p.room.DisconnectReason().String() + ")",
			fmt.Sprintf("connected after %d ms, put out %d ms later (the webhook)", joined.Sub(start).Milliseconds(), took.Milliseconds())})
	}
	select {
	case <-kit.gone:
		return errors.New("the lock put the organiser out")
	default:
	}
	return b.endAsKit(ctx, id)
}

// closeMeeting: a guest is in and another holds a token; the meeting is
// ended (End), deleted, or its room unpaired. Then the kept token tries.
func (b *bench) closeMeeting(ctx context.Context, how string) error {
	var id string
	var kit *participant
	switch how {
	case "delete":
		var m struct {
			Meeting struct {
				ID string `json:"id"`
			} `json:"meeting"`
		}
		if err := b.api(ctx, "POST", "/api/v1/admin/rooms/"+b.roomID+"/meetings",
			map[string]any{"title": "Bench", "start": time.Now().UTC().Format("2006-01-02T15:04"), "minutes": 60}, http.StatusCreated, &m); err != nil {
			return err
		}
		id = m.Meeting.ID
		ans, err := b.kit.JoinMeeting(ctx, b.access, id)
		if err != nil {
			return err
		}
		if kit, err = join(ans.URL, ans.Token); err != nil {
			return err
		}
	default:
		ans, k, err := b.meetNow(ctx)
		if err != nil {
			return err
		}
		id, kit = ans.Meeting.ID, k
	}
	defer kit.room.Disconnect()
	st, url, token, msg, err := b.guestToken(ctx, id, "Ada")
	if err != nil || st != 200 {
		return fmt.Errorf("guest: %d %s %v", st, msg, err)
	}
	ada, err := join(url, token)
	if err != nil {
		return err
	}
	defer ada.room.Disconnect()
	_, kurl, kept, _, err := b.guestToken(ctx, id, "Kept")
	if err != nil {
		return err
	}
	start := time.Now()
	switch how {
	case "End":
		err = b.endAsKit(ctx, id)
	case "delete":
		err = b.api(ctx, "DELETE", "/api/v1/admin/meetings/"+id, nil, http.StatusNoContent, nil)
	case "unpair":
		err = b.api(ctx, "DELETE", "/api/v1/admin/rooms/"+b.roomID, nil, http.StatusNoContent, nil)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", how, err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	took, err := ada.waitGone(wctx, start)
	cancel()
	if err != nil {
		return fmt.Errorf("guest after %s: %w", how, err)
	}
	b.rows = append(b.rows, row{"a guest in the meeting at " + how, "disconnected (" + ada.room.DisconnectReason().String() + ")",
		fmt.Sprintf("%d ms after the request", took.Milliseconds())})
	result, detail := "refused by LiveKit", ""
	if p, err := join(kurl, kept); err == nil {
		p.room.Disconnect()
		result = "JOINED"
	} else {
		detail = err.Error()
	}
	rooms, err := b.rs.ListRooms(ctx, &livekit.ListRoomsRequest{Names: []string{id}})
	if err != nil {
		return err
	}
	b.rows = append(b.rows, row{"a token fetched before " + how + " joins after it", result,
		fmt.Sprintf("%s; LiveKit rooms named %s: %d", detail, id, len(rooms.Rooms))})
	return nil
}
