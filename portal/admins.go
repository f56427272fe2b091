package portal

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"roomkit/provisioning"
)

// errNoAdmin is returned for an email no administrator has.
var errNoAdmin = errors.New("no such administrator")

func (s *Server) adminID(email string) (int64, error) {
	var id int64
	err := s.db.QueryRow("SELECT id FROM admins WHERE email = ?", strings.TrimSpace(email)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %s (portal admin create makes one)", errNoAdmin, strings.TrimSpace(email))
	}
	if err != nil {
		return 0, fmt.Errorf("look up administrator %s: %w", email, err)
	}
	return id, nil
}

// SetAdminPassword gives the administrator email a new password and ends
// all of their sessions: whoever changes a password from the command line
// may suspect someone else knows the old one. It returns how many sessions
// were ended.
func (s *Server) SetAdminPassword(email, password string) (int, error) {
	if err := checkPassword(password); err != nil {
		return 0, err
	}
	id, err := s.adminID(email)
	if err != nil {
		return 0, err
	}
	n, err := s.setPassword(id, password, nil)
	if err != nil {
		return 0, err
	}
	s.audit("command line", "change password", fmt.Sprintf("%s, %d sessions ended", email, n), "")
	return n, nil
}

// setPassword stores a new password hash for admin id and deletes their
// sessions but keep (a session hash; nil keeps none), in one transaction
// so that no old session outlives the change.
func (s *Server) setPassword(id int64, password string, keep []byte) (int, error) {
	tx, err := s.db.Begin()
	if err != nil {
		return 0, fmt.Errorf("change password: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("UPDATE admins SET pw_hash = ? WHERE id = ?", hashPassword(password), id); err != nil {
		return 0, fmt.Errorf("change password: %w", err)
	}
	res, err := tx.Exec("DELETE FROM sessions WHERE admin_id = ? AND hash IS DISTINCT FROM ?", id, keep)
	if err != nil {
		return 0, fmt.Errorf("change password: end sessions: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("change password: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RevokeSessions signs the administrator email out everywhere (a lost
// laptop, a shared computer) and returns how many sessions were ended.
func (s *Server) RevokeSessions(email string) (int, error) {
	id, err := s.adminID(email)
	if err != nil {
		return 0, err
	}
	n, err := s.endSessions(id)
	if err != nil {
		return 0, err
	}
	s.audit("command line", "sign out everywhere", fmt.Sprintf("%s, %d sessions ended", email, n), "")
	return n, nil
}

func (s *Server) endSessions(adminID int64) (int, error) {
	res, err := s.db.Exec("DELETE FROM sessions WHERE admin_id = ?", adminID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// pendingDevice is what the admin center shows about a kit waiting with a
// code: what the kit calls itself and where and when it asked.
type pendingDevice struct {
	raw     string
	Label   string
	Addr    string
	Asked   time.Time
	Ago     string // "2 minutes ago"
	Expires time.Time
}

// pendingDevice returns the pending pairing with the raw user code, or
// errNotFound if there is none (or it expired).
func (s *Server) pendingDevice(raw string) (pendingDevice, error) {
	d := pendingDevice{raw: raw}
	var created, expires int64
	var state string
	err := s.db.QueryRow("SELECT label, addr, created, expires, state FROM pairings WHERE user_code = ?", raw).
		Scan(&d.Label, &d.Addr, &created, &expires, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return d, errNotFound
	}
	if err != nil {
		return d, fmt.Errorf("look up pairing: %w", err)
	}
	now := s.now()
	if state != pairPending || now.Unix() >= expires {
		return d, errNotFound
	}
	d.Asked, d.Expires = time.Unix(created, 0), time.Unix(expires, 0)
	d.Ago = relTime(now, d.Asked)
	return d, nil
}

// lookUpDevice is the confirmation step's look-up of a typed code. It is
// an answer about a code like pairing is, so it counts toward the same
// lockout: looking codes up must not be a way to guess them.
func (s *Server) lookUpDevice(who codeAttempt, typed string) (pendingDevice, *httpError) {
	raw, herr := s.checkCodeEntry(who, typed)
	if herr != nil {
		return pendingDevice{}, herr
	}
	d, err := s.pendingDevice(raw)
	if errors.Is(err, errNotFound) {
		s.wrongCodes.fail(s.now(), who.keys...)
		s.met.pairing("wrong_code")
		herr := errorf(http.StatusNotFound, "No room is waiting with the code %s. Check the code on the room's screen; codes last %d minutes.",
			provisioning.FormatUserCode(raw), int(pairingLifetime/time.Minute))
		s.auditMiss(who, raw, herr)
		return d, herr
	}
	if err != nil {
		return d, s.storeFailure("look up the code", err)
	}
	return d, nil
}
