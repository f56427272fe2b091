package portal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Lifetimes of the one-time links. An invitation waits for someone to
// read their mail over a weekend; a reset link is handed over at once.
const (
	inviteLifetime = 72 * time.Hour
	resetLifetime  = 24 * time.Hour
)

// The kinds of one-time link in admin_invites.
const (
	linkInvite = "invite"
	linkReset  = "reset"
)

// unusablePassword is stored while a reset link is pending: it is no
// argon2 hash, so no password matches it.
const unusablePassword = "!reset"

// teamMember is an administrator as the team page and the API show them.
type teamMember struct {
	ID       int64     `json:"id"`
	Email    string    `json:"email"`
	Role     Role      `json:"role"`
	Groups   []string  `json:"groups"`
	Created  time.Time `json:"created"`
	Sessions int       `json:"sessions"` // signed in on this many browsers
	Reset    bool      `json:"password_reset_pending"`
}

// pendingLink is an invitation or reset link not used yet.
type pendingLink struct {
	Kind    string    `json:"kind"`
	Email   string    `json:"email"`
	Role    Role      `json:"role"`
	Groups  []string  `json:"groups"`
	Expires time.Time `json:"expires"`
	Actor   string    `json:"created_by"`
}

func (s *Server) listTeam() ([]teamMember, []pendingLink, error) {
	now := s.now().Unix()
	rows, err := s.db.Query(`SELECT a.id, a.email, a.role, a.groups, a.created, a.pw_hash = ?,
		(SELECT COUNT(*) FROM sessions s WHERE s.admin_id = a.id AND s.expires > ?)
		FROM admins a ORDER BY a.email`, unusablePassword, now)
	if err != nil {
		return nil, nil, fmt.Errorf("list administrators: %w", err)
	}
	defer rows.Close()
	members := []teamMember{}
	for rows.Next() {
		var m teamMember
		var role, groups string
		var created int64
		if err := rows.Scan(&m.ID, &m.Email, &role, &groups, &created, &m.Reset, &m.Sessions); err != nil {
			return nil, nil, fmt.Errorf("list administrators: %w", err)
		}
		m.Role, m.Groups, m.Created = Role(role), nonNil(loadGroups(groups)), time.Unix(created, 0).UTC()
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("list administrators: %w", err)
	}
	rows.Close()
	rows, err = s.db.Query(`SELECT kind, email, role, groups, expires, actor FROM admin_invites WHERE expires > ? ORDER BY expires`, now)
	if err != nil {
		return nil, nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	links := []pendingLink{}
	for rows.Next() {
		var l pendingLink
		var role, groups string
		var expires int64
		if err := rows.Scan(&l.Kind, &l.Email, &role, &groups, &expires, &l.Actor); err != nil {
			return nil, nil, fmt.Errorf("list invitations: %w", err)
		}
		l.Role, l.Groups, l.Expires = Role(role), nonNil(loadGroups(groups)), time.Unix(expires, 0).UTC()
		links = append(links, l)
	}
	return members, links, rows.Err()
}

func nonNil(gs []string) []string {
	if gs == nil {
		return []string{}
	}
	return gs
}

// checkRoleGroups: an owner manages the whole account, so an owner
// limited to groups would be a contradiction.
func checkRoleGroups(role Role, groups []string) *httpError {
	if role.rank() == 0 {
		return errorf(http.StatusBadRequest, "%q is not a role: use viewer, admin or owner.", role)
	}
	if role == RoleOwner && len(groups) > 0 {
		return errorf(http.StatusBadRequest, "An owner manages the whole account: leave the groups empty, or choose the admin or viewer role.")
	}
	return nil
}

func checkEmail(email string) *httpError {
	if !strings.Contains(email, "@") || len(email) > 254 || strings.ContainsAny(email, " \t\r\n") {
		return errorf(http.StatusBadRequest, "%q is not an email address.", email)
	}
	return nil
}

// inviteAdmin makes a one-time link with which email joins as an
// administrator with role and groups, and returns it; only its hash is
// kept. A newer invitation for the same email replaces an older one.
func (s *Server) inviteAdmin(p principal, addr, email string, role Role, groups []string) (link string, expires time.Time, herr *httpError) {
	email = strings.TrimSpace(email)
	if herr := checkEmail(email); herr != nil {
		return "", time.Time{}, herr
	}
	if herr := checkRoleGroups(role, groups); herr != nil {
		return "", time.Time{}, herr
	}
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM admins WHERE email = ?", email).Scan(&n); err != nil {
		return "", time.Time{}, s.storeFailure("invite an administrator", err)
	}
	if n > 0 {
		return "", time.Time{}, errorf(http.StatusConflict, "%s is an administrator already.", email)
	}
	tok := randomToken(32)
	now := s.now()
	expires = now.Add(inviteLifetime).Truncate(time.Second)
	err := s.inTx(func(tx *sqlTx) error {
		if _, err := tx.Exec("DELETE FROM admin_invites WHERE kind = ? AND email = ?", linkInvite, email); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO admin_invites (hash, kind, email, role, groups, admin_id, created, expires, actor)
			VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)`, hashSecret(tok), linkInvite, email, string(role), storedGroups(groups),
			now.Unix(), expires.Unix(), p.actor)
		return err
	})
	if err != nil {
		return "", time.Time{}, s.storeFailure("invite an administrator", err)
	}
	s.audit(p.actor, "invite admin", fmt.Sprintf("%s as %s%s, link expires %s", email, role, groupsNote(groups),
		expires.UTC().Format("2006-01-02 15:04 UTC")), addr)
	return s.url + "/admin/invite/" + tok, expires, nil
}

func groupsNote(groups []string) string {
	if len(groups) == 0 {
		return ""
	}
	return " of the groups " + strings.Join(groups, ", ")
}

func (s *Server) inTx(f func(tx *sqlTx) error) error {
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// memberByID returns an administrator's email and role, or a 404.
func (s *Server) memberByID(id int64) (string, Role, *httpError) {
	var email, role string
	err := s.db.QueryRow("SELECT email, role FROM admins WHERE id = ?", id).Scan(&email, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", errorf(http.StatusNotFound, "There is no administrator with the ID %d. They may have been removed already.", id)
	}
	if err != nil {
		return "", "", s.storeFailure("look up the administrator", err)
	}
	return email, Role(role), nil
}

// errLastOwner keeps an account from losing its last owner: nobody could
// manage the administrators any more.
type lastOwnerError struct{ email string }

func (e lastOwnerError) Error() string {
	return fmt.Sprintf("%s is the account's last owner: make another administrator an owner first", e.email)
}

// keepAnOwner fails with lastOwnerError if id is the only owner. It runs
// in the transaction that removes or demotes id, so two owners removing
// each other at once cannot both succeed.
func keepAnOwner(tx *sqlTx, id int64, email string) error {
	if err := tx.lock(lockOwners); err != nil {
		return err
	}
	var role string
	var owners int
	if err := tx.QueryRow("SELECT role, (SELECT COUNT(*) FROM admins WHERE role = ?) FROM admins WHERE id = ?", string(RoleOwner), id).
		Scan(&role, &owners); err != nil {
		return err
	}
	if Role(role) == RoleOwner && owners <= 1 {
		return lastOwnerError{email}
	}
	return nil
}

func (s *Server) lastOwnerOr(what string, err error) *httpError {
	var lo lastOwnerError
	if errors.As(err, &lo) {
		return errorf(http.StatusConflict, "%s.", lo.Error())
	}
	return s.storeFailure(what, err)
}

// removeAdmin deletes administrator id; their sessions go with them.
func (s *Server) removeAdmin(p principal, addr string, id int64) (string, *httpError) {
	email, _, herr := s.memberByID(id)
	if herr != nil {
		return "", herr
	}
	err := s.inTx(func(tx *sqlTx) error {
		if err := keepAnOwner(tx, id, email); err != nil {
			return err
		}
		_, err := tx.Exec("DELETE FROM admins WHERE id = ?", id)
		return err
	})
	if err != nil {
		return "", s.lastOwnerOr("remove the administrator", err)
	}
	s.audit(p.actor, "remove admin", email, addr)
	return email, nil
}

// setAdminRole changes what administrator id may do. It takes effect
// with their next request: sessions read the role each time.
func (s *Server) setAdminRole(p principal, addr string, id int64, role Role, groups []string) (string, *httpError) {
	if herr := checkRoleGroups(role, groups); herr != nil {
		return "", herr
	}
	email, old, herr := s.memberByID(id)
	if herr != nil {
		return "", herr
	}
	err := s.inTx(func(tx *sqlTx) error {
		if role != RoleOwner {
			if err := keepAnOwner(tx, id, email); err != nil {
				return err
			}
		}
		_, err := tx.Exec("UPDATE admins SET role = ?, groups = ? WHERE id = ?", string(role), storedGroups(groups), id)
		return err
	})
	if err != nil {
		return "", s.lastOwnerOr("change the role", err)
	}
	s.audit(p.actor, "change role", fmt.Sprintf("%s from %s to %s%s", email, old, role, groupsNote(groups)), addr)
	return email, nil
}

// resetAdminPassword is the owner's "forgot my password" for someone
// else: the old password stops working, every session of theirs ends,
// and a one-time link (handed to them by the owner) lets them set a new
// one. The portal sends no mail, so the link is shown once to the owner.
func (s *Server) resetAdminPassword(p principal, addr string, id int64) (email, link string, expires time.Time, herr *httpError) {
	if p.adminID == id {
		return "", "", time.Time{}, errorf(http.StatusBadRequest, "To change your own password, use Account: a reset would sign you out without a password.")
	}
	email, _, herr = s.memberByID(id)
	if herr != nil {
		return "", "", time.Time{}, herr
	}
	tok := randomToken(32)
	now := s.now()
	expires = now.Add(resetLifetime).Truncate(time.Second)
	var ended int64
	err := s.inTx(func(tx *sqlTx) error {
		if _, err := tx.Exec("UPDATE admins SET pw_hash = ? WHERE id = ?", unusablePassword, id); err != nil {
			return err
		}
		res, err := tx.Exec("DELETE FROM sessions WHERE admin_id = ?", id)
		if err != nil {
			return err
		}
		ended, _ = res.RowsAffected()
		if _, err := tx.Exec("DELETE FROM admin_invites WHERE kind = ? AND admin_id = ?", linkReset, id); err != nil {
			return err
		}
		_, err = tx.Exec(`INSERT INTO admin_invites (hash, kind, email, role, groups, admin_id, created, expires, actor)
			VALUES (?, ?, ?, '', '', ?, ?, ?, ?)`, hashSecret(tok), linkReset, email, id, now.Unix(), expires.Unix(), p.actor)
		return err
	})
	if err != nil {
		return "", "", time.Time{}, s.storeFailure("reset the password", err)
	}
	s.audit(p.actor, "reset password", fmt.Sprintf("%s, %d sessions ended, link expires %s", email, ended,
		expires.UTC().Format("2006-01-02 15:04 UTC")), addr)
	return email, s.url + "/admin/invite/" + tok, expires, nil
}

// revokeAdminSessions signs administrator id out everywhere.
func (s *Server) revokeAdminSessions(p principal, addr string, id int64) (string, int, *httpError) {
	email, _, herr := s.memberByID(id)
	if herr != nil {
		return "", 0, herr
	}
	n, err := s.endSessions(id)
	if err != nil {
		return "", 0, s.storeFailure("end the sessions", err)
	}
	s.audit(p.actor, "sign out everywhere", fmt.Sprintf("%s, %d sessions ended", email, n), addr)
	return email, n, nil
}

// oneTimeLink is a pending invitation or reset as its link opens it.
type oneTimeLink struct {
	Kind    string
	Email   string
	Role    Role
	Groups  []string
	adminID int64
	Expires time.Time
}

var errLinkUsed = errors.New("link used or unknown")

// openLink finds the link with secret tok: errLinkUsed if there is none
// (used already, replaced, or never made); an expired one comes back with
// Expires in the past.
func (s *Server) openLink(tok string) (oneTimeLink, error) {
	var l oneTimeLink
	var role, groups string
	var adminID sql.NullInt64
	var expires int64
	err := s.db.QueryRow("SELECT kind, email, role, groups, admin_id, expires FROM admin_invites WHERE hash = ?", hashSecret(tok)).
		Scan(&l.Kind, &l.Email, &role, &groups, &adminID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return l, errLinkUsed
	}
	if err != nil {
		return l, fmt.Errorf("look up the link: %w", err)
	}
	l.Role, l.Groups, l.adminID, l.Expires = Role(role), loadGroups(groups), adminID.Int64, time.Unix(expires, 0).UTC()
	return l, nil
}

// linkError says in words why a link cannot be used.
func (s *Server) linkError(l oneTimeLink, err error) *httpError {
	if errors.Is(err, errLinkUsed) {
		return errorf(http.StatusNotFound, "This link was used already or replaced by a newer one. Ask an owner of the account for a new link.")
	}
	if err != nil {
		return s.storeFailure("open the link", err)
	}
	if !s.now().Before(l.Expires) {
		return errorf(http.StatusGone, "This link expired on %s. Ask an owner of the account for a new one.", l.Expires.Format("2006-01-02 15:04 UTC"))
	}
	return nil
}

// useLink sets the password the link's holder chose: for an invitation
// it creates the administrator, for a reset it replaces the password.
// The link is consumed in the same transaction, so it works once.
func (s *Server) useLink(ctx context.Context, tok, password, again, addr string) (oneTimeLink, *httpError) {
	l, err := s.openLink(tok)
	if herr := s.linkError(l, err); herr != nil {
		return l, herr
	}
	if password != again {
		return l, errorf(http.StatusBadRequest, "The two passwords differ. Nothing was changed; the link still works.")
	}
	if err := checkPassword(password); err != nil {
		return l, errorf(http.StatusBadRequest, "The password does not fit the rule: %s. Nothing was changed; the link still works.", err)
	}
	if err := s.hashing.enter(ctx); err != nil {
		return l, errorf(http.StatusServiceUnavailable, "The portal is busy. Try again in a moment; the link still works.")
	}
	hash := hashPassword(password)
	s.hashing.leave()
	err = s.inTx(func(tx *sqlTx) error {
		res, err := tx.Exec("DELETE FROM admin_invites WHERE hash = ? AND expires > ?", hashSecret(tok), s.now().Unix())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLinkUsed // used by a concurrent request
		}
		switch l.Kind {
		case linkInvite:
			_, err = tx.Exec("INSERT INTO admins (email, pw_hash, created, role, groups) VALUES (?, ?, ?, ?, ?)",
				l.Email, hash, s.now().Unix(), string(l.Role), storedGroups(l.Groups))
		case linkReset:
			var res sql.Result
			if res, err = tx.Exec("UPDATE admins SET pw_hash = ? WHERE id = ?", hash, l.adminID); err == nil {
				if n, _ := res.RowsAffected(); n != 1 {
					err = errLinkUsed // removed meanwhile
				}
			}
		default:
			err = fmt.Errorf("unknown link kind %q", l.Kind)
		}
		return err
	})
	switch {
	case errors.Is(err, errLinkUsed):
		return l, s.linkError(l, err)
	case isUniqueViolation(err):
		return l, errorf(http.StatusConflict, "%s is an administrator already: sign in instead.", l.Email)
	case err != nil:
		return l, s.storeFailure("set the password", err)
	}
	if l.Kind == linkInvite {
		s.audit(l.Email, "join as admin", fmt.Sprintf("as %s%s", l.Role, groupsNote(l.Groups)), addr)
	} else {
		s.audit(l.Email, "set password", "with a reset link", addr)
	}
	return l, nil
}
