package portal

import (
	"fmt"
	"time"
)

// auditEntry is one line of the audit log: who did what, when, from where.
type auditEntry struct {
	At     time.Time
	Actor  string
	Action string
	Detail string
	Addr   string
}

// audit records an admin action. It never records secrets: details name
// rooms, user codes (already shown on a screen) and token names only.
func (s *Server) audit(actor, action, detail, addr string) {
	if _, err := s.db.Exec("INSERT INTO audit (at, actor, action, detail, addr) VALUES (?, ?, ?, ?, ?)",
		s.now().UnixMilli(), actor, action, detail, addr); err != nil {
		// Rate-limited: on a full disk every action would log this.
		s.logStoreError("write audit log", fmt.Errorf("%s: %w", action, err))
	}
	s.log.Info("audit", "actor", actor, "action", action, "detail", detail, "addr", addr)
}

func (s *Server) auditLog(limit int) ([]auditEntry, error) {
	rows, err := s.db.Query("SELECT at, actor, action, detail, addr FROM audit ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []auditEntry
	for rows.Next() {
		var e auditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Detail, &e.Addr); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
