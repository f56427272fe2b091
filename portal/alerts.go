package portal

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"roomkit/health"
	"roomkit/ota"
)

// Alerts (issue 14 §5, docs/alerts.md): the janitor looks at every room's
// last known state, finds conditions (offline, a device missing, an update
// that failed or rolled back, a disk nearly full), and turns them into
// alerts with a lifecycle that ignores flapping:
//
//   - a condition opens an alert only after it has held for its raise time
//     (offline: the room was silent for AlertConfig.OfflineAfter);
//   - an open alert resolves only after its condition has been clear for
//     AlertConfig.Clear; coming back before that keeps it open as it is;
//   - a condition that returns within AlertConfig.Hold of its alert's
//     resolution reopens that alert (count + 1) instead of adding one.
//
// Alerts live in the alerts table, so a restart keeps them; what a
// condition was doing before it opened (pending) is kept in memory only,
// so after a restart a condition waits its raise time once more.

// Alert kinds, as the API, the webhooks and the metrics name them.
const (
	AlertOffline = "offline" // no heartbeat for AlertConfig.OfflineAfter
	AlertDevice  = "device"  // the health check of a camera, speakerphone, display or touch failed
	AlertUpdate  = "update"  // the kit's update failed or rolled back
	AlertDisk    = "disk"    // the Storage check is degraded (nearly full) or failed
)

// alertKinds lists the kinds in the order pages and metrics show them.
var alertKinds = []string{AlertOffline, AlertDevice, AlertUpdate, AlertDisk}

// deviceChecks are the health checks whose failure means a device is
// missing (docs/health.md), with the word an alert uses.
var deviceChecks = []struct{ check, word string }{
	{"Camera", "camera"}, {"Speakerphone", "speakerphone"}, {"Display", "display"}, {"Touch", "touch screen"},
}

// AlertConfig sets the alerts' times. Zero fields take the defaults.
type AlertConfig struct {
	// OfflineAfter is how long a room may miss heartbeats before it is
	// reported offline (default 10 minutes).
	OfflineAfter time.Duration
	// Raise is how long a device or disk condition must persist before
	// its alert opens (default 2 minutes): a replugged camera is no alert.
	Raise time.Duration
	// Clear is how long a condition must stay away before its alert
	// resolves (default 5 minutes).
	Clear time.Duration
	// Hold is how long after resolving an alert reopens, counted, rather
	// than a new one opening (default 1 hour).
	Hold time.Duration
}

func (c AlertConfig) withDefaults() AlertConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.OfflineAfter, 10*time.Minute)
	def(&c.Raise, 2*time.Minute)
	def(&c.Clear, 5*time.Minute)
	def(&c.Hold, time.Hour)
	return c
}

// Alert is one alert as the admin API, the admin center and webhooks show it.
type Alert struct {
	ID       int64  `json:"id"`
	RoomID   string `json:"room_id"`
	RoomName string `json:"room_name"`
	Kind     string `json:"kind"`
	// Subject tells alerts of one kind in one room apart: the health
	// check's name for a device ("Camera"), "" otherwise.
	Subject string `json:"subject,omitempty"`
	State   string `json:"state"` // "open" or "resolved"
	// Message names the room and says what is wrong:
	// "Board Room: offline since 09:14 (12 min)".
	Message string `json:"message"`
	// Since is when the condition began, as far as the portal knows.
	Since    time.Time  `json:"since"`
	Opened   time.Time  `json:"opened"`   // first opened
	Reopened time.Time  `json:"reopened"` // last opened; Opened unless it flapped
	Resolved *time.Time `json:"resolved"` // null while open
	// Count is how many times the alert opened: 1, more if it flapped.
	Count   int        `json:"count"`
	AckedBy string     `json:"acknowledged_by,omitempty"`
	AckedAt *time.Time `json:"acknowledged_at,omitempty"`
}

const (
	alertOpen     = "open"
	alertResolved = "resolved"
)

// condition is something wrong in a room right now.
type condition struct {
	roomID, roomName, timeZone string
	kind, subject              string
	detail                     string        // the words after the room's name
	since                      time.Time     // when it began; zero: when the portal first saw it
	raise                      time.Duration // how long it must hold before its alert opens
	// keepOnly holds an open alert without opening one: a room that is
	// not online again, but not yet silent for the threshold either.
	keepOnly bool
}

func (c condition) key() alertKey { return alertKey{c.roomID, c.kind, c.subject} }

type alertKey struct{ room, kind, subject string }

// alerter holds what the evaluation keeps between janitor ticks.
type alerter struct {
	cfg AlertConfig
	mu  sync.Mutex // one evaluation at a time
	// pending: conditions seen but not yet open, and since when.
	pending map[alertKey]time.Time
}

func newAlerter(cfg AlertConfig) *alerter {
	return &alerter{cfg: cfg.withDefaults(), pending: map[alertKey]time.Time{}}
}

// conditions finds what is wrong in rooms at now.
func (a *alerter) conditions(rooms []Room, now time.Time) []condition {
	var out []condition
	for _, r := range rooms {
		c := condition{roomID: r.ID, roomName: r.Name, timeZone: r.TimeZone}
		// A room that never sent a heartbeat is not offline: it was never
		// on (the rooms list shows it as "never").
		//
		// Offline opens after OfflineAfter of silence but clears only
		// while the room is online: one that came back for a minute and
		// went silent again is still the same outage.
		if r.LastSeen != nil && now.Sub(*r.LastSeen) >= onlineWindow {
			o := c
			o.kind, o.since = AlertOffline, *r.LastSeen
			o.keepOnly = now.Sub(*r.LastSeen) <= a.cfg.OfflineAfter
			out = append(out, o)
		}
		if h := r.Health; h != nil {
			for _, d := range deviceChecks {
				n, ok := h.Find(d.check)
				if !ok || n.Status != health.Failed || strings.HasPrefix(n.Detail, "dependency ") {
					continue
				}
				o := c
				o.kind, o.subject, o.raise = AlertDevice, d.check, a.cfg.Raise
				o.detail = d.word + " missing"
				if n.Detail != "" {
					o.detail += ": " + n.Detail
				}
				out = append(out, o)
			}
			if n, ok := h.Find("Storage"); ok && n.Status != health.OK {
				o := c
				o.kind, o.raise = AlertDisk, a.cfg.Raise
				// The check's own sentence says how full ("/perm/roomkit
				// is nearly full: 40 MB free of 4.0 GB") or what broke.
				switch {
				case n.Detail != "":
					o.detail = "storage: " + n.Detail
				case n.Status == health.Failed:
					o.detail = "storage failed"
				default:
					o.detail = "disk nearly full"
				}
				out = append(out, o)
			}
		}
		if d := updateProblem(r.Update); d != "" {
			o := c
			o.kind, o.detail = AlertUpdate, d
			out = append(out, o)
		}
	}
	return out
}

// updateProblem says in words what went wrong with the kit's update, ""
// when nothing did. A rollback stays a problem until an update succeeds:
// the kit runs the old release until then.
func updateProblem(rep *ota.Report) string {
	if rep == nil {
		return ""
	}
	say := func(state ota.State, version, why string) string {
		what := "failed"
		if state == ota.RolledBack {
			what = "rolled back"
		}
		s := "update"
		if version != "" {
			s += " to " + version
		}
		s += " " + what
		if why != "" {
			s += ": " + why
		}
		return s
	}
	switch {
	case rep.State == ota.Failed || rep.State == ota.RolledBack:
		why := rep.Error
		if why == "" && rep.Last != nil {
			why = rep.Last.Reason
		}
		v := rep.TargetVersion
		if v == "" && rep.Last != nil {
			v = rep.Last.Version
		}
		return say(rep.State, v, why)
	case rep.State == ota.Healthy:
		return ""
	case rep.Last != nil && (rep.Last.Outcome == ota.Failed || rep.Last.Outcome == ota.RolledBack):
		return say(rep.Last.Outcome, rep.Last.Version, rep.Last.Reason)
	}
	return ""
}

// alertRow is an alert as stored.
type alertRow struct {
	Alert
	timeZone   string
	detail     string
	clearSince time.Time
}

const alertColumns = `a.id, a.room_id, r.name, r.time_zone, a.kind, a.subject, a.state, a.detail, a.since, a.opened, a.reopened,
	a.resolved, a.clear_since, a.count, a.acked_by, a.acked_at`

func scanAlert(sc interface{ Scan(...any) error }) (alertRow, error) {
	var a alertRow
	var since, opened, reopened, resolved, clearSince, ackedAt int64
	if err := sc.Scan(&a.ID, &a.RoomID, &a.RoomName, &a.timeZone, &a.Kind, &a.Subject, &a.State, &a.detail,
		&since, &opened, &reopened, &resolved, &clearSince, &a.Count, &a.AckedBy, &ackedAt); err != nil {
		return a, err
	}
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	a.Since, a.Opened, a.Reopened = ms(since), ms(opened), ms(reopened)
	if resolved != 0 {
		t := ms(resolved)
		a.Resolved = &t
	}
	if clearSince != 0 {
		a.clearSince = ms(clearSince)
	}
	if ackedAt != 0 {
		t := ms(ackedAt)
		a.AckedAt = &t
	}
	return a, nil
}

// message puts the room's name in front of what is wrong. An offline
// alert says since when and for how long in the room's time zone; while
// it is open and the room still silent, the minutes count up to now.
func (a *alertRow) message(now time.Time) string {
	detail := a.detail
	if a.Kind == AlertOffline {
		end := now
		if !a.clearSince.IsZero() {
			end = a.clearSince
		}
		if a.Resolved != nil && a.clearSince.IsZero() {
			end = *a.Resolved
		}
		detail = offlineDetail(a.Since, end, a.timeZone)
	}
	return a.RoomName + ": " + detail
}

// offlineDetail is "offline since 09:14 (12 min)", with the date when the
// room went silent on another day than end, in the room's time zone.
func offlineDetail(since, end time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	s, e := since.In(loc), end.In(loc)
	at := s.Format("15:04")
	if s.YearDay() != e.YearDay() || s.Year() != e.Year() {
		at = s.Format("Jan 2 15:04")
	}
	return fmt.Sprintf("offline since %s (%s)", at, minutes(e.Sub(s)))
}

// minutes is a duration as "12 min" or "3 h 5 min".
func minutes(d time.Duration) string {
	m := int(d / time.Minute)
	if m < 60 {
		return fmt.Sprintf("%d min", m)
	}
	if m%60 == 0 {
		return fmt.Sprintf("%d h", m/60)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

func (a *alertRow) public(now time.Time) Alert {
	out := a.Alert
	out.Message = a.message(now)
	return out
}

// alertChange is an alert that opened, reopened or resolved, for the webhooks.
type alertChange struct {
	event string // "alert.opened" or "alert.resolved"
	alert Alert
}

// evaluateAlerts runs one round of the lifecycle at the clock's now. The
// janitor calls it each tick; tests call it after moving their clock.
func (s *Server) evaluateAlerts() error {
	a := s.alerts
	a.mu.Lock()
	defer a.mu.Unlock()
	now := s.now()
	rooms, err := s.listRooms()
	if err != nil {
		return fmt.Errorf("evaluate alerts: %w", err)
	}
	conds := a.conditions(rooms, now)
	// The latest row of each key that is open or resolved within the hold
	// time: the one a returning condition reopens.
	rows, err := s.db.Query(`SELECT `+alertColumns+` FROM alerts a JOIN rooms r ON r.id = a.room_id
		WHERE a.state = ? OR a.resolved >= ? ORDER BY a.id`, alertOpen, now.Add(-a.cfg.Hold).UnixMilli())
	if err != nil {
		return fmt.Errorf("evaluate alerts: %w", err)
	}
	current := map[alertKey]*alertRow{}
	for rows.Next() {
		r, err := scanAlert(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("evaluate alerts: %w", err)
		}
		current[alertKey{r.RoomID, r.Kind, r.Subject}] = &r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("evaluate alerts: %w", err)
	}

	var changes []alertChange
	var errs []error
	holding := map[alertKey]bool{}
	for _, c := range conds {
		k := c.key()
		cur := current[k]
		if c.keepOnly && (cur == nil || cur.State != alertOpen) {
			continue
		}
		holding[k] = true
		if cur != nil && cur.State == alertOpen {
			delete(a.pending, k)
			// Back before it cleared for long enough: the same alert,
			// still open, in today's words.
			since := cur.Since
			if !c.since.IsZero() {
				since = c.since // offline: silent since its last heartbeat
			}
			if !cur.clearSince.IsZero() || cur.detail != c.detail || !since.Equal(cur.Since) {
				if _, err := s.db.Exec("UPDATE alerts SET clear_since = 0, detail = ?, since = ? WHERE id = ?",
					c.detail, since.UnixMilli(), cur.ID); err != nil {
					errs = append(errs, fmt.Errorf("update alert %d: %w", cur.ID, err))
				}
			}
			continue
		}
		start := c.since
		if start.IsZero() {
			first, ok := a.pending[k]
			if !ok {
				first = now
				a.pending[k] = now
			}
			start = first
		}
		if now.Sub(start) < c.raise {
			continue
		}
		delete(a.pending, k)
		var id int64
		if cur != nil { // resolved within the hold time: it flapped
			if _, err := s.db.Exec(`UPDATE alerts SET state = ?, detail = ?, since = ?, reopened = ?, resolved = 0, clear_since = 0,
				count = count + 1, acked_by = '', acked_at = 0 WHERE id = ?`, alertOpen, c.detail, start.UnixMilli(), now.UnixMilli(), cur.ID); err != nil {
				errs = append(errs, fmt.Errorf("reopen alert %d: %w", cur.ID, err))
				continue
			}
			id = cur.ID
		} else {
			err := s.db.QueryRow(`INSERT INTO alerts (room_id, kind, subject, state, detail, since, opened, reopened)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.roomID, c.kind, c.subject, alertOpen, c.detail, start.UnixMilli(), now.UnixMilli(), now.UnixMilli()).Scan(&id)
			if err != nil {
				errs = append(errs, fmt.Errorf("open alert: %w", err))
				continue
			}
		}
		if al, err := s.alertByID(id); err == nil {
			changes = append(changes, alertChange{"alert.opened", al})
		} else {
			errs = append(errs, err)
		}
	}
	for k := range a.pending {
		if !holding[k] {
			delete(a.pending, k)
		}
	}
	for k, cur := range current {
		if holding[k] || cur.State != alertOpen {
			continue
		}
		if cur.clearSince.IsZero() {
			if _, err := s.db.Exec("UPDATE alerts SET clear_since = ? WHERE id = ?", now.UnixMilli(), cur.ID); err != nil {
				errs = append(errs, fmt.Errorf("update alert %d: %w", cur.ID, err))
			}
			continue
		}
		if now.Sub(cur.clearSince) < a.cfg.Clear {
			continue
		}
		if _, err := s.db.Exec("UPDATE alerts SET state = ?, resolved = ? WHERE id = ?", alertResolved, now.UnixMilli(), cur.ID); err != nil {
			errs = append(errs, fmt.Errorf("resolve alert %d: %w", cur.ID, err))
			continue
		}
		if al, err := s.alertByID(cur.ID); err == nil {
			changes = append(changes, alertChange{"alert.resolved", al})
		} else {
			errs = append(errs, err)
		}
	}
	for _, ch := range changes {
		s.log.Info("alert", "event", ch.event, "id", ch.alert.ID, "message", ch.alert.Message, "count", ch.alert.Count)
	}
	s.hooks.send(changes)
	return errors.Join(errs...)
}

var errNoAlert = errors.New("no such alert")

func (s *Server) alertByID(id int64) (Alert, error) {
	r, err := scanAlert(s.db.QueryRow(`SELECT `+alertColumns+` FROM alerts a JOIN rooms r ON r.id = a.room_id WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Alert{}, errNoAlert
	}
	if err != nil {
		return Alert{}, fmt.Errorf("read alert %d: %w", id, err)
	}
	return r.public(s.now()), nil
}

// listAlerts returns alerts, open ones first, newest first; state "" is
// every state. At most limit.
func (s *Server) listAlerts(state string, limit int) ([]Alert, error) {
	where, args := "", []any{}
	if state != "" {
		where, args = "WHERE a.state = ?", append(args, state)
	}
	rows, err := s.db.Query(`SELECT `+alertColumns+` FROM alerts a JOIN rooms r ON r.id = a.room_id `+where+`
		ORDER BY a.state = 'open' DESC, a.reopened DESC, a.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	now := s.now()
	out := []Alert{}
	for rows.Next() {
		r, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		out = append(out, r.public(now))
	}
	return out, rows.Err()
}

// openAlertsByKind counts the open alerts of each kind (every kind present).
func (s *Server) openAlertsByKind() (map[string]int64, error) {
	out := map[string]int64{}
	for _, k := range alertKinds {
		out[k] = 0
	}
	rows, err := s.db.Query("SELECT kind, COUNT(*) FROM alerts WHERE state = ? GROUP BY kind", alertOpen)
	if err != nil {
		return nil, fmt.Errorf("count open alerts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("count open alerts: %w", err)
		}
		out[k] = n
	}
	return out, rows.Err()
}

// ackAlert records that actor has seen an open alert. Acknowledging does
// not resolve: the alert stays open until its condition clears.
func (s *Server) ackAlert(id int64, actor, addr string) (Alert, *httpError) {
	al, err := s.alertByID(id)
	if errors.Is(err, errNoAlert) {
		return al, errorf(404, "There is no alert %d.", id)
	}
	if err != nil {
		return al, s.storeFailure("read the alert", err)
	}
	if al.State != alertOpen {
		return al, errorf(409, "Alert %d is resolved already; only open alerts are acknowledged.", id)
	}
	if al.AckedBy != "" {
		return al, nil
	}
	if _, err := s.db.Exec("UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ?", actor, s.now().UnixMilli(), id); err != nil {
		return al, s.storeFailure("acknowledge the alert", err)
	}
	s.audit(actor, "acknowledge alert", al.Message, addr)
	al, err = s.alertByID(id)
	if err != nil {
		return al, s.storeFailure("read the alert", err)
	}
	return al, nil
}
