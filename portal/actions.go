package portal

// Remote actions (docs/protocol.md §5.1): an admin asks for a room's kit
// to restart roomd, reboot, identify itself or upload its recent logs.
// The portal never connects to a kit: the request is stored, listed in
// the room's heartbeat answers ("actions") until the kit reports it done
// in a later heartbeat ("actions_done"; for logs, the upload), and shown
// as pending, then done, or "not done after 5 minutes" when the kit never
// says. Requests and their outcomes are in the audit log.
//
// The requests a kit has yet to do are few and read on every heartbeat:
// they live in memory (actionState) and are written through to SQLite.

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"roomkit/internal/redact"
	"roomkit/internal/textfield"
	"roomkit/portalapi"
)

// actionTTL is how long a request waits for the kit: a kit online hears
// of it within a heartbeat (15 s) and does it at once, so five minutes
// without a word means it is off, or stuck.
const actionTTL = 5 * time.Minute

// logsFresh is how long uploaded logs answer GET …/logs before a new
// request is made.
const logsFresh = 5 * time.Minute

// Limits on what a kit reports about actions.
const (
	maxActionsDone = 32
	maxActionID    = 64
)

// The wire format is the kit's client's (portalapi), so the two sides
// cannot drift apart.
type (
	kitAction  = portalapi.Action     // one request as the heartbeat answer lists it
	actionDone = portalapi.ActionDone // the kit's word on a request (heartbeat "actions_done")
	kitMeeting = portalapi.MeetingNow // the heartbeat's "meeting": its ID and head count
)

// actionKinds are what an admin may ask, with the words the audit log
// and the room page use.
var actionKinds = map[string]string{
	portalapi.ActionRestart:  "restart roomd",
	portalapi.ActionReboot:   "reboot the kit",
	portalapi.ActionIdentify: "identify the room",
	portalapi.ActionLogs:     "fetch the logs",
}

// Action statuses.
const (
	actionPending   = "pending"   // stored; the kit has not heard of it
	actionDelivered = "delivered" // in a heartbeat answer; the kit has not said
	actionOK        = "done"
	actionFailed    = "failed"  // the kit said it could not (Error says why)
	actionExpired   = "expired" // not done after 5 minutes
)

// actionView is one request as the admin API and the room page show it.
type actionView struct {
	ID                string     `json:"id"`
	Kind              string     `json:"kind"`
	EvenDuringMeeting bool       `json:"even_during_meeting"`
	RequestedAt       time.Time  `json:"requested_at"`
	RequestedBy       string     `json:"requested_by"`
	Status            string     `json:"status"`
	DeliveredAt       *time.Time `json:"delivered_at"`
	DoneAt            *time.Time `json:"done_at"`
	Error             string     `json:"error"`
}

// Words is the status in words for the room page.
func (a actionView) Words() string {
	switch a.Status {
	case actionPending:
		return "waiting for the kit's next heartbeat"
	case actionDelivered:
		return "sent to the kit, waiting for it to confirm"
	case actionOK:
		return "done"
	case actionFailed:
		return "not done: " + a.Error
	case actionExpired:
		return "not done after 5 minutes"
	}
	return a.Status
}

// What is the request in words: "restart roomd".
func (a actionView) What() string {
	w := actionKinds[a.Kind]
	if a.EvenDuringMeeting {
		w += " (even during a meeting)"
	}
	return w
}

// kitLink is what the portal saw of a kit at its last heartbeat. A
// single SQLite portal keeps it in memory only, as the kit repeats it
// every 15 s; replicas store it in the room's row with the heartbeat
// (rooms.link, as this JSON, and rooms.uptime), as the next heartbeat
// or the room page may reach another replica. The uptime has a column
// of its own so a heartbeat compares it without decoding the link.
type kitLink struct {
	Addr      string      `json:"addr"`
	LatencyMS int64       `json:"latency_ms"`
	Uptime    int64       `json:"-"` // rooms.uptime
	Meeting   *kitMeeting `json:"meeting,omitempty"`
	At        time.Time   `json:"-"` // the heartbeat's time: rooms.last_seen when stored
}

// column is l as rooms.link stores it.
func (l kitLink) column() string {
	b, _ := json.Marshal(l) // plain fields: cannot fail
	return string(b)
}

// storedLink reads rooms.link and rooms.uptime; nil when the link is
// empty (no heartbeat stored one) or a bad column, which then counts as
// none.
func storedLink(col string, uptime int64, lastSeen time.Time) *kitLink {
	if col == "" {
		return nil
	}
	var l kitLink
	if err := json.Unmarshal([]byte(col), &l); err != nil {
		return nil
	}
	l.Uptime, l.At = uptime, lastSeen
	return &l
}

// actionState is the in-memory part: requests not yet done, by room,
// and each kit's link.
type actionState struct {
	mu      sync.Mutex
	pending map[string][]pendingAction // by room ID, oldest first
	links   map[string]kitLink
}

type pendingAction struct {
	kitAction
	at        time.Time
	delivered bool
}

// loadActions reads the requests still waiting for their kits.
func loadActions(db *sqlDB, now time.Time) (*actionState, error) {
	a := &actionState{pending: map[string][]pendingAction{}, links: map[string]kitLink{}}
	rows, err := db.Query(`SELECT id, room_id, kind, force, at, delivered FROM room_actions WHERE done = 0 AND at > ? ORDER BY at`,
		now.Add(-actionTTL).UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("load remote actions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p pendingAction
		var room string
		var at, delivered int64
		if err := rows.Scan(&p.ID, &room, &p.Kind, &p.Force, &at, &delivered); err != nil {
			return nil, fmt.Errorf("load remote actions: %w", err)
		}
		p.at, p.delivered = time.UnixMilli(at), delivered != 0
		a.pending[room] = append(a.pending[room], p)
	}
	return a, rows.Err()
}

func (a *actionState) forgetRoom(id string) {
	a.mu.Lock()
	delete(a.pending, id)
	delete(a.links, id)
	a.mu.Unlock()
}

// requestAction stores an admin's request for room roomID. A request of
// the same kind still waiting is answered instead of a second one.
func (s *Server) requestAction(actor, addr, roomID, kind string, force bool) (actionView, *httpError) {
	if _, ok := actionKinds[kind]; !ok {
		return actionView{}, errorf(http.StatusNotFound, "There is no action %q; use restart, reboot, identify or logs.", kind)
	}
	if kind != portalapi.ActionRestart && kind != portalapi.ActionReboot {
		force = false
	}
	var name string
	err := s.db.QueryRow("SELECT name FROM rooms WHERE id = ?", roomID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return actionView{}, errorf(http.StatusNotFound, "There is no room with the ID %q.", roomID)
	}
	if err != nil {
		return actionView{}, s.storeFailure("store the request", err)
	}
	now := s.now()
	if s.shared() {
		waiting, err := s.storedPendingActions(roomID, now)
		if err != nil {
			return actionView{}, s.storeFailure("store the request", err)
		}
		for _, p := range waiting {
			if p.Kind == kind && p.Force == force {
				return s.actionByID(p.ID)
			}
		}
	}
	s.acts.mu.Lock()
	for _, p := range s.acts.pending[roomID] {
		if p.Kind == kind && p.Force == force && now.Sub(p.at) < actionTTL && !s.shared() {
			s.acts.mu.Unlock()
			return s.actionByID(p.ID)
		}
	}
	s.acts.mu.Unlock()
	id := "a-" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(randomToken(9)))
	if _, err := s.db.Exec(`INSERT INTO room_actions (id, room_id, kind, force, at, actor) VALUES (?, ?, ?, ?, ?, ?)`,
		id, roomID, kind, force, now.UnixMilli(), actor); err != nil {
		return actionView{}, s.storeFailure("store the request", err)
	}
	if !s.shared() {
		s.acts.mu.Lock()
		s.acts.pending[roomID] = append(s.acts.pending[roomID], pendingAction{kitAction: kitAction{ID: id, Kind: kind, Force: force}, at: now})
		s.acts.mu.Unlock()
	}
	what := actionKinds[kind]
	if force {
		what += " even during a meeting"
	}
	s.audit(actor, kind, fmt.Sprintf("%q (%s): %s, request %s", name, roomID, what, id), addr)
	return actionView{ID: id, Kind: kind, EvenDuringMeeting: force, RequestedAt: now.UTC(), RequestedBy: actor, Status: actionPending}, nil
}

// answerActions lists the requests for the room's heartbeat answer:
// never nil, so a kit learns that this portal takes "actions_done".
// stored, when not nil, says whether a replica need read its queue at
// all: most heartbeats find none waiting.
func (s *Server) answerActions(roomID string, stored *storedRoom) []kitAction {
	now := s.now()
	out := []kitAction{}
	var first []string
	if s.shared() {
		if stored != nil && !stored.actions {
			return out
		}
		// The queue is the table: a request made through another replica
		// reaches the kit through this one.
		waiting, err := s.storedPendingActions(roomID, now)
		if err != nil {
			s.logStoreError("read pending actions", err)
		}
		for _, p := range waiting {
			if !p.delivered {
				first = append(first, p.ID)
			}
			out = append(out, p.kitAction)
		}
		s.noteDelivered(first, now)
		return out
	}
	s.acts.mu.Lock()
	keep := s.acts.pending[roomID][:0]
	for _, p := range s.acts.pending[roomID] {
		if now.Sub(p.at) >= actionTTL {
			continue // expired: shown as "not done after 5 minutes"
		}
		if !p.delivered {
			p.delivered = true
			first = append(first, p.ID)
		}
		keep = append(keep, p)
		out = append(out, p.kitAction)
	}
	if len(keep) == 0 {
		delete(s.acts.pending, roomID)
	} else {
		s.acts.pending[roomID] = keep
	}
	s.acts.mu.Unlock()
	s.noteDelivered(first, now)
	return out
}

// noteDelivered stores when requests were first handed to their kit.
func (s *Server) noteDelivered(ids []string, now time.Time) {
	for _, id := range ids {
		if _, err := s.db.Exec("UPDATE room_actions SET delivered = ? WHERE id = ? AND delivered = 0", now.UnixMilli(), id); err != nil {
			s.logStoreError("note an action delivered", err)
		}
	}
}

// noteActionsDone takes the kit's word on its requests. An ID that is
// not the room's, or already done, is ignored: a kit repeats its "done"
// until a heartbeat gets through.
func (s *Server) noteActionsDone(cfg roomConfig, done []actionDone) {
	now := s.now()
	for _, d := range done {
		s.acts.mu.Lock()
		list := s.acts.pending[cfg.ID]
		for i, p := range list {
			if p.ID == d.ID {
				s.acts.pending[cfg.ID] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		s.acts.mu.Unlock()
		var kind string
		err := s.db.QueryRow(`UPDATE room_actions SET done = ?, error = ? WHERE id = ? AND room_id = ? AND done = 0 RETURNING kind`,
			now.UnixMilli(), d.Error, d.ID, cfg.ID).Scan(&kind)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			s.logStoreError("note an action done", err)
			continue
		}
		s.actionOutcome(cfg, kind, d.ID, d.Error)
	}
}

// actionOutcome audits what the kit did and lists it with the room's events.
func (s *Server) actionOutcome(cfg roomConfig, kind, id, errText string) {
	what := actionKinds[kind]
	if errText != "" {
		s.audit("kit", kind+" not done", fmt.Sprintf("%q (%s): request %s: %s", cfg.Name, cfg.ID, id, errText), "")
		s.roomEvent(cfg.ID, "action", fmt.Sprintf("Not done: %s (%s)", what, errText))
		return
	}
	s.audit("kit", kind+" done", fmt.Sprintf("%q (%s): request %s", cfg.Name, cfg.ID, id), "")
	s.roomEvent(cfg.ID, "action", "Done: "+what)
}

// actionByID reads one request.
func (s *Server) actionByID(id string) (actionView, *httpError) {
	list, err := s.roomActions("WHERE id = ?", id)
	if err != nil {
		return actionView{}, s.storeFailure("read the request", err)
	}
	if len(list) == 0 {
		return actionView{}, errorf(http.StatusNotFound, "There is no request %q.", id)
	}
	return list[0], nil
}

// roomActions reads requests, newest first, with their status as of now.
func (s *Server) roomActions(where string, args ...any) ([]actionView, error) {
	rows, err := s.db.Query(`SELECT id, kind, force, at, actor, delivered, done, error FROM room_actions `+where+` ORDER BY at DESC, rowid DESC LIMIT 20`, args...)
	if err != nil {
		return nil, fmt.Errorf("read remote actions: %w", err)
	}
	defer rows.Close()
	now := s.now()
	out := []actionView{}
	for rows.Next() {
		var a actionView
		var at, delivered, done int64
		if err := rows.Scan(&a.ID, &a.Kind, &a.EvenDuringMeeting, &at, &a.RequestedBy, &delivered, &done, &a.Error); err != nil {
			return nil, fmt.Errorf("read remote actions: %w", err)
		}
		a.RequestedAt = time.UnixMilli(at).UTC()
		if delivered != 0 {
			t := time.UnixMilli(delivered).UTC()
			a.DeliveredAt = &t
		}
		switch {
		case done != 0:
			t := time.UnixMilli(done).UTC()
			a.DoneAt = &t
			a.Status = actionOK
			if a.Error != "" {
				a.Status = actionFailed
			}
		case now.Sub(a.RequestedAt) >= actionTTL:
			a.Status = actionExpired
		case delivered != 0:
			a.Status = actionDelivered
		default:
			a.Status = actionPending
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// checkHeartbeatActions validates a heartbeat's remote fields.
func checkHeartbeatActions(hb *heartbeat) error {
	if len(hb.ActionsDone) > maxActionsDone {
		return fmt.Errorf("at most %d actions_done, this has %d", maxActionsDone, len(hb.ActionsDone))
	}
	for i, d := range hb.ActionsDone {
		if d.ID == "" || len(d.ID) > maxActionID {
			return fmt.Errorf("actions_done[%d].id must be 1 to %d bytes", i, maxActionID)
		}
		if err := textfield.Check(d.ID, maxActionID); err != nil {
			return fmt.Errorf("actions_done[%d].id %v", i, err)
		}
		if err := textfield.Check(d.Error, portalapi.MaxActionError); err != nil {
			return fmt.Errorf("actions_done[%d].error %v", i, err)
		}
	}
	if hb.LatencyMS < 0 {
		return errors.New("latency_ms must not be negative")
	}
	if m := hb.Meeting; m != nil {
		if err := textfield.Check(m.ID, maxStateLen); err != nil {
			return fmt.Errorf("meeting.id %v", err)
		}
		if m.Participants < 0 {
			return errors.New("meeting.participants must not be negative")
		}
	}
	return nil
}

// noteKit takes a heartbeat's remote fields and what changed since the
// last one (devices unplugged, the kit offline in between, roomd
// restarted) before the heartbeat is recorded, and returns the link it
// saw, which replicas store with the heartbeat. stored, when not nil, is
// the room as a replica read it with the kit's token (heartbeatRoom).
func (s *Server) noteKit(cfg roomConfig, hb heartbeat, addr string, stored *storedRoom) kitLink {
	now := s.now()
	link := kitLink{Addr: addr, LatencyMS: hb.LatencyMS, Uptime: hb.UptimeSeconds, Meeting: hb.Meeting, At: now}
	var oldDevices []Device
	var oldSeen time.Time
	var prevUptime *int64 // nil: no link to compare with
	var seen bool
	if s.shared() {
		// The last heartbeat may have reached another replica: compare
		// with what is stored, uptime included.
		var err error
		if stored != nil {
			oldDevices, oldSeen, prevUptime, seen = stored.devices, stored.lastSeen, stored.uptime, !stored.lastSeen.IsZero()
		} else if oldDevices, oldSeen, prevUptime, seen, err = s.storedStatus(cfg.ID); err != nil {
			s.logStoreError("read the room's last heartbeat", err)
			seen = false
		}
	} else {
		s.live.mu.Lock()
		if old, ok := s.live.rooms[cfg.ID]; ok {
			oldDevices, oldSeen, seen = old.devices, old.lastSeen, true
		}
		s.live.mu.Unlock()
		s.acts.mu.Lock()
		if l, ok := s.acts.links[cfg.ID]; ok {
			prevUptime = &l.Uptime
		}
		s.acts.links[cfg.ID] = link
		s.acts.mu.Unlock()
	}

	if len(hb.ActionsDone) > 0 {
		s.noteActionsDone(cfg, hb.ActionsDone)
	}
	if !seen {
		return link // the first heartbeat since the portal started (SQLite) or ever (replicas): nothing to compare
	}
	if now.Sub(oldSeen) >= onlineWindow {
		s.roomEvent(cfg.ID, "offline", fmt.Sprintf("Back online after %s offline", shortDuration(now.Sub(oldSeen).Round(time.Second))))
	}
	if prevUptime != nil && hb.UptimeSeconds < *prevUptime {
		s.roomEvent(cfg.ID, "restart", fmt.Sprintf("roomd started again (up %s)", shortDuration(time.Duration(hb.UptimeSeconds)*time.Second)))
	}
	was := map[string]Device{}
	for _, d := range oldDevices {
		was[d.Kind] = d
	}
	for _, d := range hb.Devices {
		o, ok := was[d.Kind]
		switch {
		case ok && o.Present && !d.Present:
			s.roomEvent(cfg.ID, "device", fmt.Sprintf("%s unplugged (%s)%s", d.Kind, d.Name, withReason(d.Error)))
		case ok && !o.Present && d.Present:
			s.roomEvent(cfg.ID, "device", fmt.Sprintf("%s back (%s)", d.Kind, d.Name))
		}
	}
	return link
}

func withReason(e string) string {
	if e == "" {
		return ""
	}
	return ": " + e
}

// roomEvent lists something that happened to a room on its page.
func (s *Server) roomEvent(roomID, kind, detail string) {
	if _, err := s.db.Exec("INSERT INTO room_events (room_id, at, kind, detail) VALUES (?, ?, ?, ?)",
		roomID, s.now().UnixMilli(), kind, detail); err != nil {
		s.logStoreError("note a room event", err)
	}
}

// logsUploadBody is POST /api/v1/device/logs.
type logsUploadBody struct {
	Action string   `json:"action"`
	Lines  []string `json:"lines"`
}

// maxLogsBody: 500 lines of 512 bytes, JSON-quoted, fit.
const maxLogsBody = 512 << 10

// serveLogsUpload takes a kit's recent log lines for a "logs" request:
// the upload is the kit's "done". The lines are redacted once more, in
// case a kit from before the ring's redaction sends them.
func (s *Server) serveLogsUpload(w http.ResponseWriter, r *http.Request) {
	cfg, ok := s.deviceRoom(w, r)
	if !ok {
		return
	}
	body, err := readLimited(w, r, maxLogsBody)
	if err != nil {
		return
	}
	var up logsUploadBody
	if err := decodeStrict(body, &up); err != nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{"Bad logs upload: " + err.Error()})
		return
	}
	if len(up.Lines) > portalapi.MaxLogLines {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{fmt.Sprintf("Bad logs upload: at most %d lines, this has %d", portalapi.MaxLogLines, len(up.Lines))})
		return
	}
	lines := make([]string, len(up.Lines))
	for i, l := range up.Lines {
		lines[i] = redactLine(l)
	}
	now := s.now()
	var kind string
	err = s.db.QueryRow("SELECT kind FROM room_actions WHERE id = ? AND room_id = ?", up.Action, cfg.ID).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && kind != portalapi.ActionLogs) {
		writeJSON(w, http.StatusNotFound, apiErrorBody{fmt.Sprintf("There is no logs request %q for this room.", up.Action)})
		return
	}
	if err != nil {
		writeHTTPError(w, s.storeFailure("store the logs", err))
		return
	}
	b, _ := json.Marshal(lines)
	if _, err := s.db.Exec(`INSERT INTO room_logs (room_id, action_id, at, lines) VALUES (?, ?, ?, ?)
		ON CONFLICT (room_id) DO UPDATE SET action_id = excluded.action_id, at = excluded.at, lines = excluded.lines`,
		cfg.ID, up.Action, now.UnixMilli(), string(b)); err != nil {
		writeHTTPError(w, s.storeFailure("store the logs", err))
		return
	}
	s.noteActionsDone(cfg, []actionDone{{ID: up.Action}})
	w.WriteHeader(http.StatusNoContent)
}

// redactLine is one uploaded line as the portal keeps it: one line of
// text of at most portalapi.MaxLogLineBytes, without secrets.
func redactLine(l string) string {
	return redact.Text(textfield.Clean(l, portalapi.MaxLogLineBytes))
}

// readLimited reads at most limit bytes, answering 413 itself if there are more.
func readLimited(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiErrorBody{fmt.Sprintf("The body is larger than %d KiB.", limit>>10)})
		} else {
			writeJSON(w, http.StatusBadRequest, apiErrorBody{"Could not read the body: " + err.Error()})
		}
		return nil, err
	}
	return body, nil
}

// roomLogs is what GET …/logs answers once the kit uploaded.
type roomLogs struct {
	Action string    `json:"action"`
	At     time.Time `json:"at"`
	Lines  []string  `json:"lines"`
}

// latestLogs reads the room's last upload; nil if none.
func (s *Server) latestLogs(roomID string) (*roomLogs, error) {
	var l roomLogs
	var at int64
	var lines string
	err := s.db.QueryRow("SELECT action_id, at, lines FROM room_logs WHERE room_id = ?", roomID).Scan(&l.Action, &at, &lines)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read logs: %w", err)
	}
	l.At = time.UnixMilli(at).UTC()
	if err := json.Unmarshal([]byte(lines), &l.Lines); err != nil || l.Lines == nil {
		l.Lines = []string{}
	}
	return &l, nil
}

// roomLogsOrRequest answers GET …/logs: the last upload while it is
// fresh and no newer request waits, else the waiting request, making one
// if there is none (202).
func (s *Server) roomLogsOrRequest(actor, addr, roomID string) (*roomLogs, *actionView, *httpError) {
	logs, err := s.latestLogs(roomID)
	if err != nil {
		return nil, nil, s.storeFailure("read the logs", err)
	}
	reqs, err := s.roomActions("WHERE room_id = ? AND kind = ?", roomID, portalapi.ActionLogs)
	if err != nil {
		return nil, nil, s.storeFailure("read the logs", err)
	}
	if len(reqs) > 0 && (reqs[0].Status == actionPending || reqs[0].Status == actionDelivered) {
		return nil, &reqs[0], nil
	}
	if logs != nil && s.now().Sub(logs.At) < logsFresh {
		return logs, nil, nil
	}
	a, herr := s.requestAction(actor, addr, roomID, portalapi.ActionLogs, false)
	if herr != nil {
		return nil, nil, herr
	}
	return nil, &a, nil
}

// storedStatus reads the devices, time and uptime of a room's last
// stored heartbeat; seen is false if none was stored, uptime nil if it
// stored no link.
func (s *Server) storedStatus(roomID string) (devices []Device, lastSeen time.Time, uptime *int64, seen bool, err error) {
	var devJSON string
	var at, up int64
	var linked bool
	err = s.db.QueryRow("SELECT devices, last_seen, uptime, link <> '' FROM rooms WHERE id = ?", roomID).Scan(&devJSON, &at, &up, &linked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, nil, false, nil
	}
	if err != nil {
		return nil, time.Time{}, nil, false, fmt.Errorf("read room %s: %w", roomID, err)
	}
	if at == 0 {
		return nil, time.Time{}, nil, false, nil
	}
	_ = json.Unmarshal([]byte(devJSON), &devices) // a bad column compares as no devices
	if linked {
		uptime = &up
	}
	return devices, time.UnixMilli(at), uptime, true, nil
}
