package portal

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"roomkit/health"
	"roomkit/internal/textfield"
	"roomkit/ota"
	"roomkit/provisioning"
)

// Room is a paired room as the admin API and the admin center show it.
type Room struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Location string     `json:"location"`
	TimeZone string     `json:"time_zone"`
	Group    string     `json:"group"` // "" for none; group admins manage their groups' rooms
	State    string     `json:"state"`
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen"` // null until the first heartbeat
	Version  string     `json:"version"`
	Devices  []Device   `json:"devices"`
	// Health is the kit's health tree as last reported; null until then.
	Health *health.Report `json:"health"`
	// Update is the kit's update state as last reported (ota.Status with
	// the last outcome, and the channel and release available to it);
	// null until then.
	Update *ota.Report `json:"update"`
}

// Device is one peripheral a kit reports in its heartbeat.
type Device struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Present bool   `json:"present"`
	Error   string `json:"error"`
}

// roomConfig is what the kit learns about its room (protocol.md §4, §5).
type roomConfig struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Location string `json:"location"`
	TimeZone string `json:"time_zone"`
}

// statePaired is a room's state between pairing and its first heartbeat.
const statePaired = "paired"

// httpError is an error with the status and the plain-words message a
// person should see.
type httpError struct {
	status int
	msg    string
	retry  time.Duration // for 429: Retry-After
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// pairRequest is the body of POST /api/v1/admin/pairings, and the admin
// center's pairing form.
type pairRequest struct {
	UserCode string `json:"user_code"`
	Name     string `json:"name"`
	Location string `json:"location"`
	TimeZone string `json:"time_zone"`
}

// checkRoomFields validates what an admin typed about a room and fills in
// defaults.
func checkRoomFields(req *pairRequest) *httpError {
	req.Name = strings.TrimSpace(req.Name)
	req.Location = strings.TrimSpace(req.Location)
	req.TimeZone = strings.TrimSpace(req.TimeZone)
	switch {
	case req.Name == "":
		return errorf(http.StatusBadRequest, "Give the room a name, for example \"Boardroom\".")
	}
	// The name is drawn on the kit and printed by roomctl: one line of text.
	if err := textfield.Check(req.Name, maxRoomFieldRunes); err != nil {
		return errorf(http.StatusBadRequest, "The room name %v.", err)
	}
	if err := textfield.Check(req.Location, maxRoomFieldRunes); err != nil {
		return errorf(http.StatusBadRequest, "The location %v.", err)
	}
	if req.TimeZone == "" {
		req.TimeZone = "UTC"
	}
	// LoadLocation also accepts "Local" and odd relative paths; only IANA names are meant.
	if req.TimeZone == "Local" || strings.Contains(req.TimeZone, "..") || strings.HasPrefix(req.TimeZone, "/") {
		return errorf(http.StatusBadRequest, "%q is not a time zone. Use a name like Europe/Zurich or UTC.", req.TimeZone)
	}
	if _, err := time.LoadLocation(req.TimeZone); err != nil {
		return errorf(http.StatusBadRequest, "%q is not a time zone. Use a name like Europe/Zurich or UTC.", req.TimeZone)
	}
	return nil
}

// Pairing states.
const (
	pairPending  = "pending"
	pairApproved = "approved" // an admin entered the code; the kit has not collected its token yet
	pairUsed     = "used"
	pairDenied   = "denied"
)

// codeAttempt says who is entering a user code: the lockout keys and the
// audit actor.
type codeAttempt struct {
	actor string
	addr  string
	keys  []string // e.g. "token:3", "session:<hash>", "addr:127.0.0.1"
}

// checkCodeEntry runs before anything else about an entered user code:
// a locked-out caller learns nothing, not even whether the code is right.
// It then normalises what was typed.
func (s *Server) checkCodeEntry(who codeAttempt, typed string) (string, *httpError) {
	if wait := s.wrongCodes.check(s.now(), who.keys...); wait > 0 {
		s.met.pairing("locked_out")
		return "", &httpError{status: http.StatusTooManyRequests, retry: wait,
			msg: fmt.Sprintf("Too many wrong pairing codes. Wait %s before trying again.", roundWait(wait))}
	}
	raw, err := provisioning.NormalizeUserCode(typed)
	if err != nil {
		s.met.pairing("invalid")
		why := strings.TrimPrefix(err.Error(), provisioning.ErrBadUserCode.Error()+": ")
		return "", errorf(http.StatusBadRequest, "%q is not a pairing code: %s.", typed, why)
	}
	return raw, nil
}

// lookupPending finds the pending pairing for a raw user code. A miss
// counts as a wrong code; the caller audits it once tx is over. It
// takes the code's lock first: the caller approves or denies a code it
// found pending, and a concurrent approval through another replica must
// find it used.
func (s *Server) lookupPending(tx *sqlTx, who codeAttempt, raw string) (label string, pub []byte, herr *httpError) {
	if err := tx.lock(lockPairing(raw)); err != nil {
		return "", nil, s.storeFailure("look up the code", err)
	}
	now := s.now()
	shown := provisioning.FormatUserCode(raw)
	var state string
	var expires int64
	err := tx.QueryRow("SELECT state, expires, public_key, label FROM pairings WHERE user_code = ?", raw).
		Scan(&state, &expires, &pub, &label)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && state == pairPending && now.Unix() >= expires):
		s.wrongCodes.fail(now, who.keys...)
		s.met.pairing("wrong_code")
		return "", nil, errorf(http.StatusNotFound, "No room is waiting with the code %s. Check the code on the room's screen.", shown)
	case err != nil:
		return "", nil, s.storeFailure("look up the code", err)
	case state != pairPending:
		s.met.pairing("already_used")
		return "", nil, errorf(http.StatusConflict, "The code %s was already used. Ask the room for a fresh code.", shown)
	}
	return label, pub, nil
}

func (s *Server) auditMiss(who codeAttempt, raw string, herr *httpError) {
	if herr.status == http.StatusNotFound {
		s.audit(who.actor, "wrong code", provisioning.FormatUserCode(raw), who.addr)
	}
}

func roundWait(d time.Duration) string {
	n, unit := int((d+time.Second-1)/time.Second), "second"
	if d >= time.Minute {
		n, unit = int((d+time.Minute-1)/time.Minute), "minute"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// pairRoom approves a pending code: it creates the room and binds the
// kit's key to it. The kit collects its token with its next poll.
func (s *Server) pairRoom(who codeAttempt, req pairRequest) (Room, *httpError) {
	raw, herr := s.checkCodeEntry(who, req.UserCode)
	if herr != nil {
		return Room{}, herr
	}
	if herr := checkRoomFields(&req); herr != nil {
		return Room{}, herr
	}
	tx, err := s.db.Begin()
	if err != nil {
		return Room{}, s.storeFailure("pair the room", err)
	}
	defer tx.Rollback()
	label, pub, herr := s.lookupPending(tx, who, raw)
	if herr != nil {
		tx.Rollback() // audit needs the connection
		s.auditMiss(who, raw, herr)
		return Room{}, herr
	}
	deviceID := provisioning.DeviceID(pub)
	// A kit that asked twice has two codes: approved at once, the second
	// finds the first's room.
	if err := tx.lock(lockDevice(deviceID)); err != nil {
		return Room{}, s.storeFailure("pair the room", err)
	}
	var existing string
	err = tx.QueryRow("SELECT name FROM rooms WHERE device_id = ?", deviceID).Scan(&existing)
	if err == nil {
		return Room{}, errorf(http.StatusConflict, "This kit is already paired as the room %q. Unpair that room first.", existing)
	}
	room := Room{ID: "rm_" + strings.ToLower(randomToken(9)), Name: req.Name, Location: req.Location,
		TimeZone: req.TimeZone, State: statePaired, Devices: []Device{}}
	now := s.now()
	if _, err := tx.Exec(`INSERT INTO rooms (id, name, location, time_zone, device_id, public_key, label, state, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		room.ID, room.Name, room.Location, room.TimeZone, deviceID, pub, label, room.State, now.Unix()); err != nil {
		return Room{}, s.storeFailure("pair the room", err)
	}
	if _, err := tx.Exec("UPDATE pairings SET state = ?, room_id = ? WHERE user_code = ?", pairApproved, room.ID, raw); err != nil {
		return Room{}, s.storeFailure("pair the room", err)
	}
	if err := tx.Commit(); err != nil {
		return Room{}, s.storeFailure("pair the room", err)
	}
	s.met.pairing("paired")
	s.audit(who.actor, "pair", fmt.Sprintf("%s as %q (%s)", provisioning.FormatUserCode(raw), room.Name, room.ID), who.addr)
	return room, nil
}

// denyCode refuses a pending code; the kit's next poll gets access_denied.
func (s *Server) denyCode(who codeAttempt, typed string) *httpError {
	raw, herr := s.checkCodeEntry(who, typed)
	if herr != nil {
		return herr
	}
	tx, err := s.db.Begin()
	if err != nil {
		return s.storeFailure("deny the code", err)
	}
	defer tx.Rollback()
	if _, _, herr := s.lookupPending(tx, who, raw); herr != nil {
		tx.Rollback() // audit needs the connection
		s.auditMiss(who, raw, herr)
		return herr
	}
	if _, err := tx.Exec("UPDATE pairings SET state = ? WHERE user_code = ?", pairDenied, raw); err != nil {
		return s.storeFailure("deny the code", err)
	}
	if err := tx.Commit(); err != nil {
		return s.storeFailure("deny the code", err)
	}
	s.met.pairing("denied")
	s.audit(who.actor, "deny", provisioning.FormatUserCode(raw), who.addr)
	return nil
}

// unpairRoom deletes a room with its key binding and its access tokens.
// The kit's next request fails and it returns to pairing.
func (s *Server) unpairRoom(actor, addr, id string) (string, *httpError) {
	var name string
	tx, err := s.db.Begin()
	if err != nil {
		return "", s.storeFailure("unpair the room", err)
	}
	defer tx.Rollback()
	// A configuration change checks that its room exists before writing
	// the room's configuration rows.
	if err := tx.lock(lockConfig); err != nil {
		return "", s.storeFailure("unpair the room", err)
	}
	// The room's meetings go with it (ON DELETE CASCADE); their LiveKit
	// rooms must too, or a meeting nobody owns goes on.
	meetings, err := roomMeetingIDs(tx, id)
	if err != nil {
		return "", errorf(http.StatusInternalServerError, "Could not unpair the room: %v", err)
	}
	err = tx.QueryRow("DELETE FROM rooms WHERE id = ? RETURNING name", id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errorf(http.StatusNotFound, "There is no room with the ID %q.", id)
	}
	if err != nil {
		return "", s.storeFailure("unpair the room", err)
	}
	if _, err := tx.Exec("DELETE FROM access_tokens WHERE room_id = ?", id); err != nil {
		return "", s.storeFailure("unpair the room", err)
	}
	if _, err := tx.Exec("DELETE FROM update_policies WHERE scope = ?", scopeRoom+id); err != nil {
		return "", s.storeFailure("unpair the room", err)
	}
	// Its policy, and its "update now" (ON DELETE CASCADE), are gone:
	// replicas read the update tables again (updatesync.go).
	if err := bumpUpdateRev(tx); err != nil {
		return "", s.storeFailure("unpair the room", err)
	}
	if err := tx.Commit(); err != nil {
		return "", s.storeFailure("unpair the room", err)
	}
	s.tokens.forgetRoom(id)
	s.live.forget(id)
	s.upd.forgetRoom(id)
	s.acts.forgetRoom(id)
	for _, m := range meetings {
		s.endConference(m)
	}
	s.audit(actor, "unpair", fmt.Sprintf("%q (%s)", name, id), addr)
	return name, nil
}

// roomMeetingIDs lists the IDs of the meetings a room organises.
func roomMeetingIDs(tx *sqlTx, roomID string) ([]string, error) {
	rows, err := tx.Query("SELECT id FROM meetings WHERE room_id = ?", roomID)
	if err != nil {
		return nil, fmt.Errorf("list the room's meetings: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list the room's meetings: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// listRooms returns every room with its freshest status.
func (s *Server) listRooms() ([]Room, error) {
	return s.queryRooms("")
}

// queryRooms returns the rooms (where: "" for all, or "WHERE …" with
// args) with their freshest status.
func (s *Server) queryRooms(where string, args ...any) ([]Room, error) {
	return s.scanRooms(where+" ORDER BY name COLLATE NOCASE, id", args...)
}

// scanRooms reads the rooms tail ("WHERE … ORDER BY …") selects, with
// their freshest status.
func (s *Server) scanRooms(tail string, args ...any) ([]Room, error) {
	rows, err := s.db.Query(`SELECT id, name, location, time_zone, grp, state, version, devices, last_seen, health, ota
		FROM rooms `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	defer rows.Close()
	now := s.now()
	rooms := []Room{}
	for rows.Next() {
		var r Room
		var devices, healthJSON, otaJSON string
		var lastSeen int64
		if err := rows.Scan(&r.ID, &r.Name, &r.Location, &r.TimeZone, &r.Group, &r.State, &r.Version, &devices, &lastSeen, &healthJSON, &otaJSON); err != nil {
			return nil, fmt.Errorf("list rooms: %w", err)
		}
		r.Health = storedHealth(healthJSON)
		r.Update = storedReport(otaJSON)
		if err := json.Unmarshal([]byte(devices), &r.Devices); err != nil || r.Devices == nil {
			r.Devices = []Device{}
		}
		if lastSeen > 0 {
			t := time.UnixMilli(lastSeen).UTC()
			r.LastSeen = &t
		}
		if !s.shared() {
			s.live.overlay(&r)
		}
		r.Online = r.LastSeen != nil && now.Sub(*r.LastSeen) < onlineWindow
		rooms = append(rooms, r)
	}
	return rooms, rows.Err()
}

// roomConfigFor answers the room's configuration for the kit API, from
// memory when possible.
func (s *Server) roomConfigFor(id string) (roomConfig, error) {
	if c, ok := s.live.config(id); ok && !s.shared() {
		return c, nil
	}
	c := roomConfig{ID: id}
	err := s.db.QueryRow("SELECT name, location, time_zone FROM rooms WHERE id = ?", id).Scan(&c.Name, &c.Location, &c.TimeZone)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errNotFound
	}
	if err != nil {
		return c, fmt.Errorf("load room %s: %w", id, err)
	}
	if !s.shared() {
		s.live.setConfig(c)
	}
	return c, nil
}

// liveStatus holds what heartbeats report, written to SQLite in batches
// (flushLive) so a heartbeat costs no disk write.
type liveStatus struct {
	mu    sync.Mutex
	cfg   map[string]roomConfig
	rooms map[string]*heartbeatStatus
	dirty map[string]bool
}

type heartbeatStatus struct {
	state    string
	version  string
	devices  []Device
	health   *health.Report // nil: the kit sent none; the last one stays
	update   *ota.Report    // likewise
	lastSeen time.Time
	link     string // rooms.link (kitLink.column) on replicas; '' on SQLite, which keeps it in memory
	uptime   int64  // rooms.uptime on replicas
}

func newLiveStatus() *liveStatus {
	return &liveStatus{cfg: map[string]roomConfig{}, rooms: map[string]*heartbeatStatus{}, dirty: map[string]bool{}}
}

func (l *liveStatus) config(id string) (roomConfig, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.cfg[id]
	return c, ok
}

func (l *liveStatus) setConfig(c roomConfig) {
	l.mu.Lock()
	l.cfg[c.ID] = c
	l.mu.Unlock()
}

// record keeps a heartbeat's status, to be flushed when batch is set.
// Without batch (replicas, shared.go) the caller writes it itself, and
// a report left out is not filled in from memory: another replica may
// have stored a newer one.
func (l *liveStatus) record(id string, st heartbeatStatus, batch bool) {
	l.mu.Lock()
	if old, ok := l.rooms[id]; ok && batch {
		if st.health == nil {
			st.health = old.health
		}
		if st.update == nil {
			st.update = old.update
		}
	}
	l.rooms[id] = &st
	if batch {
		l.dirty[id] = true
	}
	l.mu.Unlock()
}

func (l *liveStatus) forget(id string) {
	l.mu.Lock()
	delete(l.cfg, id)
	delete(l.rooms, id)
	delete(l.dirty, id)
	l.mu.Unlock()
}

func (l *liveStatus) overlay(r *Room) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.rooms[r.ID]
	if !ok {
		return
	}
	r.State, r.Version, r.Devices = st.state, st.version, append([]Device{}, st.devices...)
	if st.health != nil {
		r.Health = st.health // reports are never changed once recorded: sharing is safe
	}
	if st.update != nil {
		r.Update = st.update
	}
	t := st.lastSeen.UTC()
	r.LastSeen = &t
}

// flushLive writes the heartbeats received since the last flush in one
// transaction.
func (s *Server) flushLive() error {
	s.live.mu.Lock()
	if len(s.live.dirty) == 0 {
		s.live.mu.Unlock()
		return nil
	}
	batch := make([]heartbeatRow, 0, len(s.live.dirty))
	for id := range s.live.dirty {
		batch = append(batch, heartbeatRow{id, *s.live.rooms[id]})
	}
	clear(s.live.dirty)
	s.live.mu.Unlock()

	if err := s.writeHeartbeats(batch); err != nil {
		// Keep them dirty for the next flush rather than losing them.
		s.live.mu.Lock()
		for _, r := range batch {
			if _, ok := s.live.rooms[r.id]; ok {
				s.live.dirty[r.id] = true
			}
		}
		s.live.mu.Unlock()
		return err
	}
	return nil
}

type heartbeatRow struct {
	id string
	st heartbeatStatus
}

// heartbeatUpdate stores one heartbeat, with heartbeatRow.args. A report
// left out (NULL) keeps the stored one and what the fleet view derived
// from it (migration 10).
func heartbeatUpdate() string {
	return `UPDATE rooms SET state = ?1, version = ?2, devices = ?3, last_seen = ?4,
		health = COALESCE(?5, health), ota = COALESCE(?6, ota),
		health_status = COALESCE(?7, health_status), update_state = COALESCE(?8, update_state),
		attention = ` + attentionSQL("COALESCE(?7, health_status)", "COALESCE(?8, update_state)") + ` WHERE id = ?9`
}

func (r heartbeatRow) args() []any {
	devices, _ := json.Marshal(r.st.devices)
	return []any{r.st.state, r.st.version, string(devices), r.st.lastSeen.UnixMilli(), healthColumn(r.st.health), otaColumn(r.st.update),
		healthStatusColumn(r.st.health), updateStateColumn(r.st.update), r.id}
}

func (s *Server) writeHeartbeats(batch []heartbeatRow) error {
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("flush heartbeats: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(heartbeatUpdate())
	if err != nil {
		return fmt.Errorf("flush heartbeats: %w", err)
	}
	defer stmt.Close()
	for _, r := range batch {
		if _, err := stmt.Exec(r.args()...); err != nil {
			return fmt.Errorf("flush heartbeat of %s: %w", r.id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("flush heartbeats: %w", err)
	}
	return nil
}
