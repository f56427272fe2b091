package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"roomkit/internal/clock"
	"roomkit/portalapi"
	"roomkit/provisioning"
)

// options are the simulator's settings (main reads them from flags).
type options struct {
	Portal     string // -portal: base URL[,URL…]
	AdminToken string
	Kits       int
	// Sources is how many loopback source addresses the kits speak
	// from; 0: autoSources.
	Sources  int
	PairConc int // pairings in progress at once
	Inflight int // kit requests in progress at once
	// Duration is the sustained phase; Rate its target in heartbeats
	// a second over the fleet (0: as fast as the portal takes them).
	Duration time.Duration
	Rate     float64
	// Replay, when not 0, replaces the sustained phase: every kit sends
	// the heartbeats it would send in Replay at Habits.Interval, as fast
	// as the portal takes them.
	Replay  time.Duration
	Habits  habits
	Timeout time.Duration // per request
	Cleanup bool          // unpair the kits at the end
	// Settle is the wait between the load and measuring the database:
	// the portal writes heartbeats in a batch a second.
	Settle time.Duration
}

// sim is one run: the fleet, its portals and what was measured.
type sim struct {
	opt   options
	reps  *replicas
	admin *http.Client // the admin API's client, spread over the replicas too
	pools []*http.Client
	kits  []*kit

	hb, pairing, meet histogram
	errs              map[string]*errorKinds // by operation: pair, heartbeat, refresh, meeting
	refreshes         atomic.Int64
	meetingsOff       atomic.Bool
	progress          io.Writer // nil: quiet
}

const (
	opPair      = "pair"
	opHeartbeat = "heartbeat"
	opRefresh   = "refresh"
	opMeeting   = "meeting"
)

func newSim(opt options) (*sim, error) {
	switch {
	case opt.Kits < 1:
		return nil, fmt.Errorf("-kits %d: want at least 1", opt.Kits)
	case opt.AdminToken == "":
		return nil, errors.New("-token is required (an admin API token: portal token create)")
	case opt.Rate < 0 || math.IsNaN(opt.Rate) || math.IsInf(opt.Rate, 0):
		return nil, fmt.Errorf("-rate %v: want heartbeats a second, 0 for as fast as the portal takes them", opt.Rate)
	case opt.Replay < 0 || opt.Duration < 0:
		return nil, errors.New("-duration and -replay must not be negative")
	case opt.Replay == 0 && opt.Duration == 0:
		return nil, errors.New("give -duration (a sustained phase) or -replay (simulated hours)")
	case opt.Habits.Interval <= 0:
		return nil, fmt.Errorf("-interval %v: want the kits' heartbeat interval, e.g. 15s", opt.Habits.Interval)
	case opt.Replay > 0 && opt.Replay < opt.Habits.Interval:
		return nil, fmt.Errorf("-replay %v is shorter than one heartbeat interval (%v)", opt.Replay, opt.Habits.Interval)
	case opt.Sources < 0 || opt.Sources > maxSources:
		return nil, fmt.Errorf("-sources %d: want 0 (automatic) to %d", opt.Sources, maxSources)
	case opt.badHabits():
		return nil, errors.New("-meetings-per-day, -unplugs-per-day and -restarts-per-day must not be negative")
	}
	opt.PairConc, opt.Inflight = max(opt.PairConc, 1), max(opt.Inflight, 1)
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	reps, err := parseReplicas(opt.Portal)
	if err != nil {
		return nil, err
	}
	if opt.Sources == 0 {
		opt.Sources = autoSources(opt.Kits, reps.loopback())
	}
	if opt.Sources > 1 && !reps.loopback() {
		return nil, fmt.Errorf("-sources %d: several source addresses only work with portals on loopback", opt.Sources)
	}
	s := &sim{opt: opt, reps: reps, errs: map[string]*errorKinds{}}
	for _, op := range []string{opPair, opHeartbeat, opRefresh, opMeeting} {
		s.errs[op] = &errorKinds{}
	}
	// Any one pool may carry every request in flight at once (kits
	// draw the -inflight slots in no order of source): a pool keeping
	// fewer idle connections than it had in use closes the rest after
	// their answer, and the next request dials again (a TCP handshake,
	// a new server goroutine and buffers on the portal). Connections
	// are opened only as needed, so the bound costs nothing unused.
	perPool := max(2, opt.Inflight)
	for i := range opt.Sources {
		var src = sourceAddr(i)
		if opt.Sources == 1 {
			src = nil
		}
		s.pools = append(s.pools, &http.Client{Timeout: opt.Timeout, Transport: spread{reps, newTransport(src, perPool)}})
	}
	s.admin = &http.Client{Timeout: opt.Timeout, Transport: spread{reps, newTransport(nil, opt.PairConc+2)}}
	return s, nil
}

// badHabits reports habits no day can have.
func (o options) badHabits() bool {
	h := o.Habits
	return h.MeetingsPerDay < 0 || h.UnplugsPerDay < 0 || h.RestartsPerDay < 0
}

// pairAll pairs every kit through the real protocol, PairConc at a time,
// and returns how long it took. A kit that fails to pair is left out of
// the load; the error counts.
func (s *sim) pairAll(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	s.kits = make([]*kit, s.opt.Kits)
	sem := make(chan struct{}, s.opt.PairConc)
	var wg sync.WaitGroup
	for i := range s.kits {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return time.Since(start), ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			t0 := time.Now()
			k, err := s.pairOne(ctx, i, start)
			if err != nil {
				s.errs[opPair].add(err)
				return
			}
			s.pairing.record(time.Since(t0))
			s.kits[i] = k
		}()
	}
	wg.Wait()
	took := time.Since(start)
	paired := s.kits[:0]
	for _, k := range s.kits {
		if k != nil {
			paired = append(paired, k)
		}
	}
	s.kits = paired
	if len(s.kits) == 0 {
		return took, fmt.Errorf("no kit paired; the first error: %s", s.firstError(opPair))
	}
	return took, nil
}

func (s *sim) firstError(op string) string {
	if ks := s.errs[op].sorted(); len(ks) > 0 {
		return ks[0].First
	}
	return "none"
}

// pairOne is one kit's pairing, both sides: the kit asks for a code with
// its fresh Ed25519 key, an admin enters the code through the admin API,
// and the kit's next poll (a client assertion signed with its key) gets
// its access token. The kit's portal client is the appliance's own.
func (s *sim) pairOne(ctx context.Context, i int, start time.Time) (*kit, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("kit %d: key: %w", i+1, err)
	}
	id := &provisioning.Identity{Key: key, DeviceID: provisioning.DeviceID(pub)}
	c := &portalapi.Client{PortalURL: s.reps.bases[0].String(), HTTP: s.pools[i%len(s.pools)], Identity: id, AllowPlainHTTP: true}
	var da *portalapi.DeviceAuthorization
	for {
		da, err = c.StartPairing(ctx, fmt.Sprintf("fleet-%d", i+1))
		if errors.Is(err, portalapi.ErrSlowDown) && ctx.Err() == nil {
			// Too many pairings from this source address: wait as a
			// kit would, and count the refusal.
			s.errs[opPair].add(err)
			if serr := clock.Sleep(ctx, time.Second); serr != nil {
				return nil, serr
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kit %d: %w", i+1, err)
		}
		break
	}
	roomID, err := s.approve(ctx, da.UserCode, i)
	if err != nil {
		return nil, fmt.Errorf("kit %d: approve: %w", i+1, err)
	}
	tok, err := c.PollToken(ctx, da)
	if err != nil {
		return nil, fmt.Errorf("kit %d: %w", i+1, err)
	}
	if tok.Room.ID != roomID {
		return nil, fmt.Errorf("kit %d: %w: the token names room %q, the approval %q", i+1, portalapi.ErrBadAnswer, tok.Room.ID, roomID)
	}
	k := newKit(i, id, c, start)
	k.roomID, k.tok = roomID, tok
	return k, nil
}

// approve enters a user code through the admin API, as an admin's script
// would, and returns the new room's ID.
func (s *sim) approve(ctx context.Context, userCode string, i int) (string, error) {
	body, _ := json.Marshal(map[string]string{"user_code": userCode, "name": fmt.Sprintf("Fleet room %d", i+1),
		"location": fmt.Sprintf("Site %d", i/100+1), "time_zone": "UTC"})
	var out struct {
		Room struct {
			ID string `json:"id"`
		} `json:"room"`
	}
	if err := s.adminCall(ctx, http.MethodPost, "/api/v1/admin/pairings", body, http.StatusCreated, &out); err != nil {
		return "", err
	}
	if out.Room.ID == "" {
		return "", fmt.Errorf("%w: the approval names no room", portalapi.ErrBadAnswer)
	}
	return out.Room.ID, nil
}

// adminCall makes one admin API request; out may be nil.
func (s *sim) adminCall(ctx context.Context, method, path string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.reps.bases[0].String()+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.opt.AdminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.admin.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", portalapi.ErrUnreachable, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", portalapi.ErrUnreachable, method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%w: %s %s: %s: %s", portalapi.ErrBadAnswer, method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// loadResult is what the sustained phase or the replay measured.
type loadResult struct {
	Elapsed    time.Duration
	Heartbeats int64 // answered 200
	Failed     int64
	Meetings   int64 // Meet Now answered
	Simulated  time.Duration
}

// load runs the heartbeats: one goroutine per kit, at most Inflight
// requests at once. Sustained: each kit beats every Kits/Rate seconds
// (back to back with Rate 0) until Duration is over. Replay: each kit
// sends Replay/Interval heartbeats back to back.
func (s *sim) load(ctx context.Context) loadResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	beats := int64(-1) // unbounded
	if s.opt.Replay > 0 {
		beats = int64(s.opt.Replay / s.opt.Habits.Interval)
	} else {
		var c context.CancelFunc
		ctx, c = context.WithTimeout(ctx, s.opt.Duration)
		defer c()
	}
	var every time.Duration
	if s.opt.Replay == 0 && s.opt.Rate > 0 {
		every = time.Duration(float64(len(s.kits)) / s.opt.Rate * float64(time.Second))
	}
	sem := make(chan struct{}, s.opt.Inflight)
	var meetings atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	if s.progress != nil {
		done := make(chan struct{})
		var reporting sync.WaitGroup
		reporting.Add(1)
		defer func() { close(done); reporting.Wait() }()
		go func() { defer reporting.Done(); s.report(done, start, beats) }()
	}
	for _, k := range s.kits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runKit(ctx, k, beats, every, sem, &meetings)
		}()
	}
	wg.Wait()
	r := loadResult{Elapsed: time.Since(start), Heartbeats: s.hb.count.Load(), Failed: s.errs[opHeartbeat].total(), Meetings: meetings.Load()}
	if beats > 0 {
		r.Simulated = time.Duration(beats) * s.opt.Habits.Interval
	}
	return r
}

// report says how the load is going every progressEvery, until done.
func (s *sim) report(done <-chan struct{}, start time.Time, beats int64) {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		n := s.hb.count.Load()
		line := fmt.Sprintf("… %v: %d heartbeats (%.0f/s), %d failed", time.Since(start).Round(time.Second), n,
			rate(n, time.Since(start)), s.errs[opHeartbeat].total())
		if beats > 0 {
			line += fmt.Sprintf(", %.1f%% of the replay", 100*float64(n)/float64(beats*int64(len(s.kits))))
		}
		fmt.Fprintln(s.progress, line)
	}
}

const progressEvery = 10 * time.Second

// runKit is one kit's life in the load phase.
func (s *sim) runKit(ctx context.Context, k *kit, beats int64, every time.Duration, sem chan struct{}, meetings *atomic.Int64) {
	var tick <-chan time.Time
	if every > 0 {
		// Kits boot at different moments: spread the first beats.
		if err := clock.Sleep(ctx, time.Duration(k.rnd.Int64N(int64(every)))); err != nil {
			return
		}
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for n := int64(0); beats < 0 || n < beats; n++ {
		if n > 0 && tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				return
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		meet := k.step(s.opt.Habits)
		s.heartbeat(ctx, k)
		if meet && !s.meetingsOff.Load() {
			if s.meetNow(ctx, k) {
				meetings.Add(1)
			}
		}
		<-sem
		if ctx.Err() != nil {
			return
		}
	}
}

// heartbeat sends one heartbeat as the kit's link does: a fresh token
// first when the one it has runs out within a minute, and once more
// with a fresh token when the portal says the token is no good.
func (s *sim) heartbeat(ctx context.Context, k *kit) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 || time.Until(k.tok.Expiry) < time.Minute {
			if !s.refresh(ctx, k) {
				return
			}
		}
		rep := k.report()
		t0 := time.Now()
		rctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
		ans, err := k.client.Heartbeat(rctx, k.tok.AccessToken, rep)
		cancel()
		rtt := time.Since(t0)
		switch {
		case err == nil:
			s.hb.record(rtt)
			k.answered(ans, rtt)
			return
		case errors.Is(err, portalapi.ErrInvalidToken) && attempt == 0:
			continue
		case ctx.Err() != nil:
			return // the phase ended mid-request: not the portal's failure
		}
		s.errs[opHeartbeat].add(err)
		return
	}
}

// refresh gets the kit a new access token with a client assertion.
func (s *sim) refresh(ctx context.Context, k *kit) bool {
	rctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	tok, err := k.client.RefreshToken(rctx)
	if err != nil {
		if ctx.Err() == nil {
			s.errs[opRefresh].add(err)
		}
		return false
	}
	s.refreshes.Add(1)
	k.tok = tok
	return true
}

// meetNow presses Meet Now and ends the meeting for everyone at once: a
// meeting's row and its LiveKit room, not its media, are the portal's
// load. A portal without LiveKit says so once; the fleet then stops
// asking.
func (s *sim) meetNow(ctx context.Context, k *kit) bool {
	rctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	t0 := time.Now()
	j, err := k.client.MeetNow(rctx, k.tok.AccessToken)
	var me *portalapi.MeetingError
	switch {
	case errors.As(err, &me) && me.Status == http.StatusServiceUnavailable:
		s.meetingsOff.Store(true)
		return false
	case err != nil:
		if ctx.Err() == nil {
			s.errs[opMeeting].add(err)
		}
		return false
	}
	s.meet.record(time.Since(t0))
	if err := k.client.EndMeeting(rctx, k.tok.AccessToken, j.Meeting.ID); err != nil && ctx.Err() == nil {
		s.errs[opMeeting].add(err)
	}
	return true
}

// unpairAll deletes the fleet's rooms through the admin API.
func (s *sim) unpairAll(ctx context.Context) error {
	sem := make(chan struct{}, s.opt.PairConc)
	var wg sync.WaitGroup
	var failed atomic.Int64
	var first atomic.Value
	for _, k := range s.kits {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.adminCall(ctx, http.MethodDelete, "/api/v1/admin/rooms/"+k.roomID, nil, http.StatusNoContent, nil); err != nil {
				failed.Add(1)
				first.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return fmt.Errorf("unpair: %d rooms failed, the first: %w", failed.Load(), err)
	}
	return nil
}

// heapAfterGC is the simulator's live heap: what its kits hold.
func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
