package portal

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"roomkit/internal/plainjson"
	"roomkit/internal/textfield"
	"roomkit/ota"
	"roomkit/ota/rollout"
)

// Over-the-air updates, the portal's part (docs/protocol.md §5, §6.1):
// the policy each room gets in its heartbeat answer, the rollouts of the
// versions kits report available, and admins' "update now" requests.
//
// Policies, rollouts and requests are few and read on every heartbeat, so
// they live in memory (updates) and are written through to the database;
// replicas check that their copy is current (updatesync.go). The
// decisions are ota/rollout's arithmetic.

// requestTTL is how long an "update now" request waits for the kit to
// take it. The kit checks at once when it sees one, so an hour without an
// install means it had nothing newer to install.
const requestTTL = time.Hour

// updates is the in-memory state of the update tables.
type updates struct {
	mu sync.Mutex
	// rev is update_rev.rev as it was before policies, rollouts,
	// firstSeen and requests were read (updatesync.go).
	rev       int64
	reloading sync.Mutex           // one reload at a time
	policies  map[string]policyRow // by scope
	rollouts  map[rolloutKey]*rollout.Rollout
	firstSeen map[rolloutKey]time.Time
	requests  map[string]updateRequest  // by room ID
	rooms     map[string]roomUpdateMeta // by room ID: what the policy needs, cached
	last      map[string]reportKey      // by room ID: the last reported state, for change detection
}

type rolloutKey struct{ channel, version string }

type policyRow struct {
	layer   policyLayer
	updated time.Time
	actor   string
}

type updateRequest struct {
	id    string
	at    time.Time
	actor string
}

// roomUpdateMeta is what a room's policy depends on. Rooms are never
// edited after pairing today; issue 14's group changes must call
// updates.forgetRoom.
type roomUpdateMeta struct {
	deviceID, group, timeZone string
	// cfg is the room's configuration (profiles.go): what the kit is
	// sent, and the profile's share of its update policy.
	cfg roomConfigState
}

// reportKey is what counts as a change of a kit's update state: a new
// state, target or error, or a new outcome of its last update.
type reportKey struct {
	state          ota.State
	target, errMsg string
	last           string
}

func keyOf(r *ota.Report) reportKey {
	k := reportKey{state: r.State, target: r.TargetVersion, errMsg: r.Error}
	if r.Last != nil {
		k.last = r.Last.Version + " " + string(r.Last.Outcome) + " " + r.Last.At.UTC().Format(time.RFC3339)
	}
	return k
}

// policyLayer is one scope's policy as the admin API shows and takes it:
// null (or left out) inherits from the wider scope.
type policyLayer struct {
	Channel     *string     `json:"channel"`
	Rings       []int       `json:"rings"`
	Soak        *string     `json:"soak"` // a Go duration: "24h", "90m"
	Window      *ota.Window `json:"window"`
	Paused      *bool       `json:"paused"`
	FailPercent *int        `json:"fail_percent"`
}

// effectivePolicy is a resolved policy: every field set.
type effectivePolicy struct {
	Channel     string     `json:"channel"`
	Rings       []int      `json:"rings"`
	Soak        string     `json:"soak"`
	Window      ota.Window `json:"window"`
	Paused      bool       `json:"paused"`
	FailPercent int        `json:"fail_percent"`
}

func effective(p rollout.Policy) effectivePolicy {
	return effectivePolicy{Channel: p.Channel, Rings: p.Rings, Soak: shortDuration(p.Soak), Window: p.Window,
		Paused: p.Paused, FailPercent: p.FailPercent}
}

// shortDuration writes d the way people type it: "24h", "1h30m", "90s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

const (
	maxRings  = 10
	maxSoak   = 30 * 24 * time.Hour
	maxGroup  = 64
	scopeRoom = "room:"
	scopeGrp  = "group:"
)

// check validates a layer an admin sent and converts it for rollout.
func (l policyLayer) check() (rollout.Layer, error) {
	var out rollout.Layer
	if l.Channel != nil {
		// The names the release tool publishes to.
		if err := ota.CheckChannel(*l.Channel); err != nil {
			return out, err
		}
		out.Channel = l.Channel
	}
	if l.Rings != nil {
		if len(l.Rings) == 0 || len(l.Rings) > maxRings {
			return out, fmt.Errorf("rings must list 1 to %d percentages, like [10, 50, 100]", maxRings)
		}
		for i, p := range l.Rings {
			if p < 1 || p > 100 {
				return out, fmt.Errorf("rings[%d] is %d; each ring is a percentage of the rooms from 1 to 100", i, p)
			}
			if i > 0 && p <= l.Rings[i-1] {
				return out, fmt.Errorf("rings must grow: %d after %d", p, l.Rings[i-1])
			}
		}
		out.Rings = append([]int{}, l.Rings...)
	}
	if l.Soak != nil {
		d, err := time.ParseDuration(*l.Soak)
		if err != nil || d < 0 || d > maxSoak {
			return out, fmt.Errorf("soak %q must be a duration from 0s to 720h, like 24h", *l.Soak)
		}
		out.Soak = &d
	}
	if l.Window != nil {
		if _, _, err := rollout.ParseWindow(*l.Window); err != nil {
			return out, fmt.Errorf("window: %v", err)
		}
		w := *l.Window
		out.Window = &w
	}
	out.Paused = l.Paused
	if l.FailPercent != nil {
		if *l.FailPercent < 0 || *l.FailPercent > 100 {
			return out, fmt.Errorf("fail_percent %d must be from 0 to 100", *l.FailPercent)
		}
		out.FailPercent = l.FailPercent
	}
	return out, nil
}

// toRollout converts a stored (already checked) layer.
func (l policyLayer) toRollout() rollout.Layer {
	out, _ := l.check()
	return out
}

// loadUpdates reads the update tables into memory.
func loadUpdates(db *sqlDB) (*updates, error) {
	u := &updates{policies: map[string]policyRow{}, rollouts: map[rolloutKey]*rollout.Rollout{},
		firstSeen: map[rolloutKey]time.Time{}, requests: map[string]updateRequest{},
		rooms: map[string]roomUpdateMeta{}, last: map[string]reportKey{}}
	// The revision first: a change committed while the tables are read
	// is then newer than u.rev, and the next sync reads it again.
	if err := db.QueryRow("SELECT rev FROM update_rev WHERE id = 1").Scan(&u.rev); err != nil {
		return nil, fmt.Errorf("load the update revision: %w", err)
	}
	rows, err := db.Query(`SELECT scope, channel, rings, soak_s, window_start, window_end, paused, fail_pct, updated, actor FROM update_policies`)
	if err != nil {
		return nil, fmt.Errorf("load update policies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var scope, actor string
		var channel, rings, ws, we sql.NullString
		var soak, paused, fail sql.NullInt64
		var updated int64
		if err := rows.Scan(&scope, &channel, &rings, &soak, &ws, &we, &paused, &fail, &updated, &actor); err != nil {
			return nil, fmt.Errorf("load update policies: %w", err)
		}
		var l policyLayer
		if channel.Valid {
			l.Channel = &channel.String
		}
		if rings.Valid {
			if err := json.Unmarshal([]byte(rings.String), &l.Rings); err != nil {
				return nil, fmt.Errorf("load update policy %s: rings: %w", scope, err)
			}
		}
		if soak.Valid {
			d := (time.Duration(soak.Int64) * time.Second).String()
			l.Soak = &d
		}
		if ws.Valid && we.Valid {
			l.Window = &ota.Window{Start: ws.String, End: we.String}
		}
		if paused.Valid {
			b := paused.Int64 != 0
			l.Paused = &b
		}
		if fail.Valid {
			n := int(fail.Int64)
			l.FailPercent = &n
		}
		u.policies[scope] = policyRow{layer: l, updated: time.UnixMilli(updated).UTC(), actor: actor}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load update policies: %w", err)
	}
	rows.Close()

	rows, err = db.Query(`SELECT channel, version, first_seen, ring, ring_started, paused, reason FROM rollouts`)
	if err != nil {
		return nil, fmt.Errorf("load rollouts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r rollout.Rollout
		var first, started int64
		var paused bool
		if err := rows.Scan(&r.Channel, &r.Version, &first, &r.Ring, &started, &paused, &r.Reason); err != nil {
			return nil, fmt.Errorf("load rollouts: %w", err)
		}
		r.RingStarted, r.Paused = time.UnixMilli(started).UTC(), paused
		k := rolloutKey{r.Channel, r.Version}
		u.rollouts[k] = &r
		u.firstSeen[k] = time.UnixMilli(first).UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load rollouts: %w", err)
	}
	rows.Close()

	rows, err = db.Query(`SELECT room_id, id, at, actor FROM update_requests`)
	if err != nil {
		return nil, fmt.Errorf("load update requests: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var room string
		var q updateRequest
		var at int64
		if err := rows.Scan(&room, &q.id, &at, &q.actor); err != nil {
			return nil, fmt.Errorf("load update requests: %w", err)
		}
		q.at = time.UnixMilli(at).UTC()
		u.requests[room] = q
	}
	return u, rows.Err()
}

func (u *updates) forgetRoom(id string) {
	u.mu.Lock()
	delete(u.requests, id)
	delete(u.rooms, id)
	delete(u.last, id)
	delete(u.policies, scopeRoom+id)
	u.mu.Unlock()
}

// roomMeta returns what a room's policy depends on, from memory when
// possible.
func (s *Server) roomMeta(id string) (roomUpdateMeta, error) {
	s.upd.mu.Lock()
	m, ok := s.upd.rooms[id]
	s.upd.mu.Unlock()
	if ok && !s.shared() { // replicas: a group or profile may have changed through another
		return m, nil
	}
	var eff string
	err := s.db.QueryRow(`SELECT r.device_id, r.grp, r.time_zone, coalesce(rc.effective, '') FROM rooms r
		LEFT JOIN room_config rc ON rc.room_id = r.id WHERE r.id = ?`, id).Scan(&m.deviceID, &m.group, &m.timeZone, &eff)
	m.cfg = configState(eff)
	if errors.Is(err, sql.ErrNoRows) {
		return m, errNotFound
	}
	if err != nil {
		return m, fmt.Errorf("load room %s: %w", id, err)
	}
	s.upd.mu.Lock()
	s.upd.rooms[id] = m
	s.upd.mu.Unlock()
	return m, nil
}

// layersLocked are the policy layers that apply to a room: fleet, the
// update channel and window of the room's configuration profiles (prof;
// they sit above the fleet's policy, below the explicit policies of the
// group and room), its group, itself. group and room may be "".
func (u *updates) layersLocked(group, room string, prof rollout.Layer) []rollout.Layer {
	ls := []rollout.Layer{u.policies["fleet"].layer.toRollout(), prof}
	if group != "" {
		ls = append(ls, u.policies[scopeGrp+group].layer.toRollout())
	}
	if room != "" {
		ls = append(ls, u.policies[scopeRoom+room].layer.toRollout())
	}
	return ls
}

// fleetPolicyLocked governs what is the rollout's own: when rings advance
// and when it pauses itself.
func (u *updates) fleetPolicyLocked() rollout.Policy {
	return rollout.Resolve(u.layersLocked("", "", rollout.Layer{})...)
}

// advanceRollouts moves every rollout whose soak passed to its next
// ring. It runs on heartbeats and on the janitor's tick; most find no
// ring due in memory and write nothing.
func (s *Server) advanceRollouts() error {
	now := s.now()
	s.upd.mu.Lock()
	p := s.upd.fleetPolicyLocked()
	s.upd.mu.Unlock()
	all := func(rolloutKey) bool { return true }
	advance := func(r rollout.Rollout) rollout.Rollout { return rollout.Advance(p, r, now) }
	if !s.upd.wouldChange(all, advance) {
		return nil
	}
	moved, err := s.changeRollouts(all, advance)
	for _, r := range moved {
		s.log.Info("rollout advanced", "channel", r.Channel, "version", r.Version, "ring", r.Ring)
	}
	return err
}

// sortedRolloutsLocked lists the rollouts of channel, newest version first.
func (u *updates) sortedRolloutsLocked(channel string) []rollout.Rollout {
	var rs []rollout.Rollout
	for k, r := range u.rollouts {
		if channel == "" || k.channel == channel {
			rs = append(rs, *r)
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		if c := ota.Compare(rs[i].Version, rs[j].Version); c != 0 {
			return c > 0
		}
		return rs[i].Channel < rs[j].Channel
	})
	return rs
}

// updateAnswer is the "update" of a room's heartbeat answer, for its
// policy metadata meta (roomMeta). The caller syncs the update state
// first (syncUpdates).
func (s *Server) updateAnswer(roomID string, meta roomUpdateMeta) *ota.Policy {
	if err := s.advanceRollouts(); err != nil {
		s.logStoreError("advance rollouts", err)
	}
	now := s.now()
	u := s.upd
	u.mu.Lock()
	defer u.mu.Unlock()
	p := rollout.Resolve(u.layersLocked(meta.group, roomID, meta.cfg.update)...)
	ans := &ota.Policy{Channel: p.Channel, Window: p.Window, TimeZone: meta.timeZone, Paused: p.Paused}
	if p.Paused {
		ans.PauseReason = "paused by an administrator"
	}
	for i, r := range u.sortedRolloutsLocked(p.Channel) {
		if i == 0 && r.Paused && !ans.Paused {
			ans.Paused, ans.PauseReason = true, r.Reason
		}
		if rollout.InRing(meta.deviceID, rollout.Percent(p, r)) {
			ans.Allowed = r.Version
			break
		}
	}
	if q, ok := u.requests[roomID]; ok && now.Sub(q.at) < requestTTL {
		ans.InstallNow = q.id
	}
	return ans
}

// noteUpdateReport takes a kit's update report: on a change of state it
// appends an update event, settles an "update now" request the kit
// acted on, and lets the rollout of the version judge itself; a version
// first reported available starts its rollout. The caller syncs the
// update state first (syncUpdates).
//
// stored, when not nil, is the room as a replica read it with the kit's
// token (heartbeatRoom), its update report included.
func (s *Server) noteUpdateReport(roomID string, rep *ota.Report, stored *storedRoom) error {
	now := s.now()
	u := s.upd
	key := keyOf(rep)
	u.mu.Lock()
	prev, known := u.last[roomID]
	u.mu.Unlock()
	if !known || s.shared() { // replicas: the last report may have reached another
		var last string
		if stored != nil {
			last = stored.ota
		} else if err := s.db.QueryRow("SELECT ota FROM rooms WHERE id = ?", roomID).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read the last update report: %w", err)
		}
		prev, known = reportKey{}, false
		if old := storedReport(last); old != nil {
			prev, known = keyOf(old), true
		}
	}
	var errs []error
	// The rollout first, so an outcome in the same report is judged.
	if rep.Available != "" && ota.CheckVersion(rep.Available) == nil {
		errs = append(errs, s.startRollout(roomID, rep))
	}
	if !known || prev != key {
		version := rep.TargetVersion
		if version == "" && rep.Last != nil {
			version = rep.Last.Version
		}
		if _, err := s.db.Exec("INSERT INTO update_events (room_id, at, version, state, error) VALUES (?, ?, ?, ?, ?)",
			roomID, now.UnixMilli(), version, string(rep.State), rep.Error); err != nil {
			// Not remembered as seen: the next heartbeat tries again.
			return errors.Join(append(errs, fmt.Errorf("append update event: %w", err))...)
		}
		u.mu.Lock()
		u.last[roomID] = key
		u.mu.Unlock()
		if version != "" && (rep.State == ota.Failed || rep.State == ota.RolledBack || rep.State == ota.Healthy) {
			errs = append(errs, s.judgeVersion(version))
		}
	}
	// The kit names the request it took: a state alone cannot say which
	// request it acted on (a kit still "healthy" from the last update
	// would settle a new request it has not seen yet).
	u.mu.Lock()
	q, pending := u.requests[roomID]
	u.mu.Unlock()
	if pending && rep.Request == q.id {
		errs = append(errs, s.settleRequest(roomID, q.id))
	}
	return errors.Join(errs...)
}

func (s *Server) settleRequest(roomID, id string) error {
	err := s.inUpdateTx(func(tx *sqlTx) (bool, error) {
		res, err := tx.Exec("DELETE FROM update_requests WHERE room_id = ? AND id = ?", roomID, id)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n > 0, err
	})
	if err != nil {
		return fmt.Errorf("settle update request: %w", err)
	}
	s.upd.mu.Lock()
	if q, ok := s.upd.requests[roomID]; ok && q.id == id {
		delete(s.upd.requests, roomID)
	}
	s.upd.mu.Unlock()
	return nil
}

// startRollout creates the rollout of the version a kit reports available
// in its channel, at the first ring.
func (s *Server) startRollout(roomID string, rep *ota.Report) error {
	channel := rep.Channel
	if ota.CheckChannel(channel) != nil {
		meta, err := s.roomMeta(roomID)
		if err != nil {
			return err
		}
		s.upd.mu.Lock()
		channel = rollout.Resolve(s.upd.layersLocked(meta.group, roomID, meta.cfg.update)...).Channel
		s.upd.mu.Unlock()
	}
	k := rolloutKey{channel, rep.Available}
	s.upd.mu.Lock()
	_, exists := s.upd.rollouts[k]
	s.upd.mu.Unlock()
	if exists {
		return nil
	}
	now := s.now()
	err := s.inUpdateTx(func(tx *sqlTx) (bool, error) {
		// Another replica may have started it meanwhile: its own then.
		res, err := tx.Exec(`INSERT INTO rollouts (channel, version, first_seen, ring, ring_started) VALUES (?, ?, ?, 0, ?)
			ON CONFLICT DO NOTHING`, channel, rep.Available, now.UnixMilli(), now.UnixMilli())
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n > 0, err
	})
	if err != nil {
		return fmt.Errorf("start rollout of %s: %w", rep.Available, err)
	}
	s.upd.mu.Lock()
	if _, ok := s.upd.rollouts[k]; !ok {
		s.upd.rollouts[k] = &rollout.Rollout{Channel: channel, Version: rep.Available, RingStarted: now}
		s.upd.firstSeen[k] = now
	}
	s.upd.mu.Unlock()
	s.log.Info("rollout started", "channel", channel, "version", rep.Available, "room", roomID)
	return nil
}

// versionCounts counts the rooms that attempted version (reached
// installing or an outcome) and those that failed or rolled it back.
func (s *Server) versionCounts(version string) (attempted, failed int, err error) {
	err = s.db.QueryRow(`SELECT
		COUNT(DISTINCT room_id),
		COUNT(DISTINCT CASE WHEN state IN ('failed', 'rolled-back') THEN room_id END)
		FROM update_events WHERE version = ? AND state IN ('installing', 'rebooting', 'healthy', 'failed', 'rolled-back')`,
		version).Scan(&attempted, &failed)
	if err != nil {
		return 0, 0, fmt.Errorf("count update outcomes of %s: %w", version, err)
	}
	return attempted, failed, nil
}

// judgeVersion lets every rollout of version pause itself when too many
// rooms failed it. It runs when a kit reports an outcome, not on a
// timer, so a rollout an admin resumed stays resumed until the next
// failure.
func (s *Server) judgeVersion(version string) error {
	attempted, failed, err := s.versionCounts(version)
	if err != nil {
		return err
	}
	s.upd.mu.Lock()
	p := s.upd.fleetPolicyLocked()
	s.upd.mu.Unlock()
	of := func(k rolloutKey) bool { return k.version == version }
	judge := func(r rollout.Rollout) rollout.Rollout { return rollout.Judge(p, r, attempted, failed) }
	if !s.upd.wouldChange(of, judge) {
		return nil
	}
	changed, err := s.changeRollouts(of, judge)
	for _, r := range changed {
		s.log.Warn("rollout paused itself", "channel", r.Channel, "version", r.Version, "reason", r.Reason)
		s.audit("portal", "rollout paused", fmt.Sprintf("%s %s: %s", r.Channel, r.Version, r.Reason), "")
	}
	return err
}

// requestUpdate records an admin's "update now" for a room.
func (s *Server) requestUpdate(actor, addr, roomID string) (string, *httpError) {
	var name string
	err := s.db.QueryRow("SELECT name FROM rooms WHERE id = ?", roomID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errorf(http.StatusNotFound, "There is no room with the ID %q.", roomID)
	}
	if err != nil {
		return "", s.storeFailure("request the update", err)
	}
	q := updateRequest{id: "r-" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(randomToken(9))), at: s.now(), actor: actor}
	err = s.inUpdateTx(func(tx *sqlTx) (bool, error) {
		_, err := tx.Exec(`INSERT INTO update_requests (room_id, id, at, actor) VALUES (?, ?, ?, ?)
			ON CONFLICT (room_id) DO UPDATE SET id = excluded.id, at = excluded.at, actor = excluded.actor`,
			roomID, q.id, q.at.UnixMilli(), actor)
		return true, err
	})
	if err != nil {
		return "", s.storeFailure("request the update", err)
	}
	s.upd.mu.Lock()
	s.upd.requests[roomID] = q
	s.upd.mu.Unlock()
	s.audit(actor, "update now", fmt.Sprintf("%q (%s): request %s", name, roomID, q.id), addr)
	return q.id, nil
}

// checkScope validates a policy scope; a room scope must name a room.
func (s *Server) checkScope(scope string) *httpError {
	switch {
	case scope == "fleet":
		return nil
	case strings.HasPrefix(scope, scopeGrp):
		g := strings.TrimPrefix(scope, scopeGrp)
		if g == "" || textfield.Check(g, maxGroup) != nil {
			return errorf(http.StatusBadRequest, "The group in %q must be one line of 1 to %d characters.", scope, maxGroup)
		}
		return nil
	case strings.HasPrefix(scope, scopeRoom):
		id := strings.TrimPrefix(scope, scopeRoom)
		if _, err := s.roomMeta(id); errors.Is(err, errNotFound) {
			return errorf(http.StatusNotFound, "There is no room with the ID %q.", id)
		} else if err != nil {
			return s.storeFailure("read the room", err)
		}
		return nil
	}
	return errorf(http.StatusBadRequest, "%q is not a policy scope: use fleet, group:NAME or room:ID.", scope)
}

// policyView is a scope's policy as the admin API shows it.
type policyView struct {
	Scope     string          `json:"scope"`
	Policy    policyLayer     `json:"policy"`
	Effective effectivePolicy `json:"effective"`
	Updated   *time.Time      `json:"updated"`
	Actor     string          `json:"actor,omitempty"`
}

func (s *Server) policyView(scope string) (policyView, error) {
	if err := s.syncUpdates(); err != nil {
		return policyView{}, err
	}
	var group, room string
	var prof rollout.Layer
	switch {
	case strings.HasPrefix(scope, scopeGrp):
		group = strings.TrimPrefix(scope, scopeGrp)
		var err error
		if prof, err = s.groupUpdateLayer(group); err != nil {
			return policyView{}, err
		}
	case strings.HasPrefix(scope, scopeRoom):
		room = strings.TrimPrefix(scope, scopeRoom)
		meta, err := s.roomMeta(room)
		if err != nil {
			return policyView{}, err
		}
		group, prof = meta.group, meta.cfg.update
	}
	s.upd.mu.Lock()
	defer s.upd.mu.Unlock()
	row := s.upd.policies[scope]
	v := policyView{Scope: scope, Policy: row.layer, Effective: effective(rollout.Resolve(s.upd.layersLocked(group, room, prof)...)), Actor: row.actor}
	if !row.updated.IsZero() {
		t := row.updated
		v.Updated = &t
	}
	return v, nil
}

// setPolicy stores a scope's layer (replacing the whole row).
func (s *Server) setPolicy(actor, addr, scope string, l policyLayer) (policyView, *httpError) {
	if herr := s.checkScope(scope); herr != nil {
		return policyView{}, herr
	}
	if _, err := l.check(); err != nil {
		return policyView{}, errorf(http.StatusBadRequest, "Bad update policy: %v.", err)
	}
	var rings, soak, ws, we, paused, fail any
	if l.Rings != nil {
		b, _ := json.Marshal(l.Rings)
		rings = string(b)
	}
	if l.Soak != nil {
		d, _ := time.ParseDuration(*l.Soak)
		soak = int64(d / time.Second)
		str := shortDuration(time.Duration(soak.(int64)) * time.Second)
		l.Soak = &str
	}
	if l.Window != nil {
		ws, we = l.Window.Start, l.Window.End
	}
	if l.Paused != nil {
		paused = *l.Paused
	}
	if l.FailPercent != nil {
		fail = *l.FailPercent
	}
	var channel any
	if l.Channel != nil {
		channel = *l.Channel
	}
	now := s.now()
	err := s.inUpdateTx(func(tx *sqlTx) (bool, error) {
		_, err := tx.Exec(`INSERT INTO update_policies (scope, channel, rings, soak_s, window_start, window_end, paused, fail_pct, updated, actor)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (scope) DO UPDATE SET channel = excluded.channel, rings = excluded.rings, soak_s = excluded.soak_s,
				window_start = excluded.window_start, window_end = excluded.window_end, paused = excluded.paused,
				fail_pct = excluded.fail_pct, updated = excluded.updated, actor = excluded.actor`,
			scope, channel, rings, soak, ws, we, paused, fail, now.UnixMilli(), actor)
		return true, err
	})
	if err != nil {
		return policyView{}, s.storeFailure("store the update policy", err)
	}
	s.upd.mu.Lock()
	s.upd.policies[scope] = policyRow{layer: l, updated: now, actor: actor}
	s.upd.mu.Unlock()
	b, _ := json.Marshal(l)
	s.audit(actor, "update policy", scope+" "+string(b), addr)
	v, err := s.policyView(scope)
	if err != nil {
		return v, s.storeFailure("read the update policy", err)
	}
	return v, nil
}

// deletePolicy removes a scope's layer: it inherits everything again.
func (s *Server) deletePolicy(actor, addr, scope string) *httpError {
	if herr := s.checkScope(scope); herr != nil {
		return herr
	}
	err := s.inUpdateTx(func(tx *sqlTx) (bool, error) {
		_, err := tx.Exec("DELETE FROM update_policies WHERE scope = ?", scope)
		return true, err
	})
	if err != nil {
		return s.storeFailure("delete the update policy", err)
	}
	s.upd.mu.Lock()
	delete(s.upd.policies, scope)
	s.upd.mu.Unlock()
	s.audit(actor, "delete update policy", scope, addr)
	return nil
}

// rolloutView is a rollout as the admin API shows it.
type rolloutView struct {
	Channel     string    `json:"channel"`
	Version     string    `json:"version"`
	FirstSeen   time.Time `json:"first_seen"`
	Ring        int       `json:"ring"`
	Percent     int       `json:"percent"` // share of the fleet the ring allows, by the fleet policy
	RingStarted time.Time `json:"ring_started"`
	Paused      bool      `json:"paused"`
	Reason      string    `json:"reason"`
	Attempted   int       `json:"attempted"`
	Failed      int       `json:"failed"`
}

func (s *Server) listRollouts() ([]rolloutView, error) {
	if err := s.syncUpdates(); err != nil {
		return nil, err
	}
	s.upd.mu.Lock()
	p := s.upd.fleetPolicyLocked()
	rs := s.upd.sortedRolloutsLocked("")
	first := make([]time.Time, len(rs))
	for i, r := range rs {
		first[i] = s.upd.firstSeen[rolloutKey{r.Channel, r.Version}]
	}
	s.upd.mu.Unlock()
	out := []rolloutView{}
	for i, r := range rs {
		v := rolloutView{Channel: r.Channel, Version: r.Version, FirstSeen: first[i], Ring: r.Ring,
			Percent: rollout.Percent(p, r), RingStarted: r.RingStarted.UTC(), Paused: r.Paused, Reason: r.Reason}
		var err error
		if v.Attempted, v.Failed, err = s.versionCounts(r.Version); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// pauseRollout pauses (or resumes) a rollout by hand. Resuming starts the
// ring's soak again and clears the reason.
func (s *Server) pauseRollout(actor, addr, channel, version string, pause bool) (rolloutView, *httpError) {
	k := rolloutKey{channel, version}
	now := s.now()
	if err := s.syncUpdates(); err != nil {
		return rolloutView{}, s.storeFailure("read the rollout", err)
	}
	s.upd.mu.Lock()
	_, ok := s.upd.rollouts[k]
	s.upd.mu.Unlock()
	if !ok {
		return rolloutView{}, errorf(http.StatusNotFound, "There is no rollout of %q in the channel %q.", version, channel)
	}
	_, err := s.changeRollouts(func(key rolloutKey) bool { return key == k }, func(n rollout.Rollout) rollout.Rollout {
		n.Paused = pause
		if pause {
			n.Reason = "paused by " + actor
		} else {
			n.Reason, n.RingStarted = "", now
		}
		return n
	})
	if err != nil {
		return rolloutView{}, s.storeFailure("change the rollout", err)
	}
	action := "resume rollout"
	if pause {
		action = "pause rollout"
	}
	s.audit(actor, action, channel+" "+version, addr)
	views, err := s.listRollouts()
	if err != nil {
		return rolloutView{}, s.storeFailure("read the rollout", err)
	}
	for _, v := range views {
		if v.Channel == channel && v.Version == version {
			return v, nil
		}
	}
	return rolloutView{}, errorf(http.StatusNotFound, "There is no rollout of %q in the channel %q.", version, channel)
}

// storedReport reads the rooms.ota column; "" and a value that no longer
// parses are both null.
func storedReport(s string) *ota.Report {
	if s == "" {
		return nil
	}
	// Replicas read the stored report with every heartbeat that carries
	// one: the plain form (internal/plainjson) without reflection.
	var r ota.Report
	if d := (heartbeatDecoder{plainjson.New([]byte(s))}); d.update(&r) && d.End() {
		return &r
	}
	r = ota.Report{}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil
	}
	return &r
}

// otaColumn is the rooms.ota value for r: nil leaves the stored one.
func otaColumn(r *ota.Report) any {
	if r == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	return string(b)
}
