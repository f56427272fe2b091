package portal

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// auditEntry is one line of the audit log: who did what, when, from where.
type auditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Room   string    `json:"room"` // the room's ID when the entry is about one
	Detail string    `json:"detail"`
	Addr   string    `json:"addr"`
}

// audit records an admin action. It never records secrets: details name
// rooms, user codes (already shown on a screen) and token names only.
func (s *Server) audit(actor, action, detail, addr string) {
	s.auditRoom(actor, action, detail, addr, "")
}

// auditRoom is audit for an action on one room, which the log's room
// filter finds by its ID.
func (s *Server) auditRoom(actor, action, detail, addr, room string) {
	if _, err := s.db.Exec("INSERT INTO audit (at, actor, action, detail, addr, room) VALUES (?, ?, ?, ?, ?, ?)",
		s.now().UnixMilli(), actor, action, detail, addr, room); err != nil {
		// Rate-limited: on a full disk every action would log this.
		s.logStoreError("write audit log", fmt.Errorf("%s: %w", action, err))
	}
	s.log.Info("audit", "actor", actor, "action", action, "detail", detail, "addr", addr, "room", room)
}

// auditFilter selects entries of the audit log; zero fields select all.
type auditFilter struct {
	Actor  string    // part of the actor, any case
	Action string    // the action, exactly
	Room   string    // a room's ID
	From   time.Time // at or after
	To     time.Time // before
	// FromText and ToText are the times as typed, for the form.
	FromText, ToText string
}

// maxAuditRows bounds one page or answer of the log; the CSV export has
// no bound, it streams.
const maxAuditRows = 1000

// parseAuditFilter reads ?actor=&action=&room=&from=&to=. Times are
// RFC 3339, or a date or date and minute in loc (2026-11-02,
// 2026-11-02T09:30): UTC for the API, the admin's time zone on the audit
// page; a date as "to" includes that whole day.
func parseAuditFilter(q url.Values, loc *time.Location) (auditFilter, error) {
	f := auditFilter{
		Actor:  strings.TrimSpace(q.Get("actor")),
		Action: strings.TrimSpace(q.Get("action")),
		Room:   strings.TrimSpace(q.Get("room")),
	}
	var err error
	f.FromText, f.ToText = strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	if f.From, err = parseAuditTime(f.FromText, false, loc); err != nil {
		return f, fmt.Errorf("from: %w", err)
	}
	if f.To, err = parseAuditTime(f.ToText, true, loc); err != nil {
		return f, fmt.Errorf("to: %w", err)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, fmt.Errorf("the time range from %s to %s is empty", f.FromText, f.ToText)
	}
	return f, nil
}

func parseAuditTime(s string, end bool, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", s, loc); err == nil {
		if end {
			t = t.Add(time.Minute)
		}
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use 2026-11-02, 2026-11-02T09:30 (%s) or RFC 3339", s, loc)
}

// query is the SQL condition and arguments of f.
func (f auditFilter) query() (string, []any) {
	var conds []string
	var args []any
	if f.Actor != "" {
		conds = append(conds, "instr(lower(actor), lower(?)) > 0")
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		conds = append(conds, "action = ?")
		args = append(args, f.Action)
	}
	if f.Room != "" {
		// Entries from before the room column name the room's ID in
		// their detail, as "(ID)".
		conds = append(conds, "(room = ? OR instr(detail, ?) > 0)")
		args = append(args, f.Room, "("+f.Room+")")
	}
	if !f.From.IsZero() {
		conds = append(conds, "at >= ?")
		args = append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		conds = append(conds, "at < ?")
		args = append(args, f.To.UnixMilli())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

func (s *Server) auditLog(limit int) ([]auditEntry, error) {
	var out []auditEntry
	err := s.eachAudit(auditFilter{}, limit, func(e auditEntry) error { out = append(out, e); return nil })
	return out, err
}

// eachAudit calls f for the entries that filt selects, newest first, at
// most limit (0: all).
func (s *Server) eachAudit(filt auditFilter, limit int, f func(auditEntry) error) error {
	where, args := filt.query()
	q := "SELECT at, actor, action, room, detail, addr FROM audit " + where + " ORDER BY id DESC"
	if limit > 0 {
		q += " LIMIT " + strconv.Itoa(limit)
	}
	rows, err := s.db.Query(q, args...)
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e auditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Room, &e.Detail, &e.Addr); err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		if err := f(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	return nil
}

// auditActions are the actions the log holds, for the filter's choices.
func (s *Server) auditActions() ([]string, error) {
	rows, err := s.db.Query("SELECT DISTINCT action FROM audit ORDER BY action")
	if err != nil {
		return nil, fmt.Errorf("list audit actions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("list audit actions: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// auditCSVHeader is the first line of the CSV export.
var auditCSVHeader = []string{"time", "actor", "action", "room", "detail", "address"}

// writeAuditCSV streams the selected entries as CSV (RFC 4180). A cell
// that a spreadsheet would run as a formula (=, +, -, @ first: an actor
// is whatever email a failed sign-in typed) gets a leading apostrophe.
func (s *Server) writeAuditCSV(w io.Writer, filt auditFilter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(auditCSVHeader); err != nil {
		return err
	}
	err := s.eachAudit(filt, 0, func(e auditEntry) error {
		return cw.Write([]string{e.At.Format(time.RFC3339Nano), csvCell(e.Actor), csvCell(e.Action), csvCell(e.Room), csvCell(e.Detail), csvCell(e.Addr)})
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
