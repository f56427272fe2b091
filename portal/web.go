package portal

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"roomkit/provisioning"
)

//go:embed templates/*.html static/*
var webFS embed.FS

const (
	sessionCookie = "roomkit_session"
	loginCookie   = "roomkit_login" // double-submit CSRF token for the login form
)

// pages holds one template set per page, each with the shared layout.
var pages = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"usercode": provisioning.FormatUserCode,
		"when":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"roles":    func() []Role { return []Role{RoleViewer, RoleAdmin, RoleOwner} },
		"kind":     kindWord,
	}
	m := map[string]*template.Template{}
	names, err := fs.Glob(webFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		m[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] =
			template.Must(template.New("layout.html").Funcs(funcs).ParseFS(webFS, "templates/layout.html", n))
	}
	return m
}()

// session is a signed-in administrator.
type session struct {
	hash    []byte
	adminID int64
	email   string
	csrf    string
	role    Role
	groups  []string // empty: the whole account
	// timeZone is the admin's chosen time zone; "" for none (timezone.go).
	timeZone string
}

func (s *session) principal() principal {
	return principal{actor: s.email, role: s.role, groups: s.groups, adminID: s.adminID}
}

// page is everything any admin center template may show.
type page struct {
	Title   string
	Nav     string
	Email   string // signed-in admin; empty on the login page
	CSRF    string
	Error   string
	Notice  string
	Refresh bool
	Role    Role     // the signed-in admin's: the layout hides what it may not use
	Groups  []string // the signed-in admin's group scope; empty: the whole account
	// Zone is the signed-in admin's time zone, which the page's times
	// are written in; "" for none: UTC, or the browser's on the room page.
	Zone string

	Next            string
	LoginEmail      string
	Rooms           []roomView
	Room            Room
	Form            pairRequest
	Device          *pendingDevice // the kit waiting with Form.UserCode: confirm before pairing
	TimeZones       []string
	Tokens          []apiToken
	NewToken        string
	NewTokenExpires time.Time
	TokenName       string
	Audit           []auditEntry
	Updates         *updatesPage
	Fleet           *fleetView
	Team            *teamView
	Link            *linkView
	AuditFilter     auditFilter
	AuditActions    []string
	AuditCSV        string // the export's URL with the filter
	Alerts          *alertsPage
	Profiles        *profilesPage
	// OpenAlerts is the count the nav shows beside "Alerts".
	OpenAlerts int
}

// CanChange says whether the signed-in admin may change things (not a viewer).
func (p page) CanChange() bool { return p.Role.rank() >= RoleAdmin.rank() }

// AccountWide says whether the signed-in admin sees the whole account:
// at least an admin and limited to no group.
func (p page) AccountWide() bool { return p.CanChange() && len(p.Groups) == 0 }

// IsOwner says whether the signed-in admin manages the administrators.
func (p page) IsOwner() bool { return p.Role == RoleOwner }

type roomView struct {
	Room
	Seen string // "12 seconds ago", "never"
	// UpdateState is the kit's update state in a few words, "" before
	// its first report.
	UpdateState string
	UpdateWarn  bool // the update failed or rolled back
	// Problems says what is wrong, a sentence each: the health checks
	// that are not ok (causes, worst first), a failed update.
	Problems  []string
	Attention bool // the room counts as needing attention
}

// commonTimeZones feed the form's suggestions; any IANA name is accepted.
var commonTimeZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Zurich",
	"Europe/Vienna", "Europe/Rome", "Europe/Madrid", "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw",
	"Europe/Athens", "Europe/Helsinki", "Europe/Istanbul", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata",
	"Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
	"America/Sao_Paulo", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
	"America/Toronto", "America/Mexico_City",
}

func (s *Server) webRoutes(m *http.ServeMux) {
	static, _ := fs.Sub(webFS, "static")
	m.Handle("GET /admin/static/", http.StripPrefix("/admin/static/", noListing(static, http.FileServerFS(static))))
	m.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/rooms", http.StatusSeeOther)
	})
	m.HandleFunc("GET /admin/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/rooms", http.StatusSeeOther)
	})
	m.HandleFunc("GET /admin/login", s.serveLogin)
	m.HandleFunc("POST /admin/login", s.serveLoginPost)
	m.HandleFunc("POST /admin/logout", s.action(s.serveLogout))
	m.HandleFunc("GET /admin/rooms", s.view(s.serveRooms))
	m.HandleFunc("GET /admin/pair", s.view(s.servePair))
	m.HandleFunc("POST /admin/pair", s.action(s.servePairPost))
	m.HandleFunc("POST /admin/deny", s.action(s.serveDenyPost))
	m.HandleFunc("GET /admin/rooms/{id}/unpair", s.view(s.serveUnpair))
	m.HandleFunc("POST /admin/rooms/{id}/unpair", s.action(s.serveUnpairPost))
	m.HandleFunc("GET /admin/tokens", s.view(s.serveTokens))
	m.HandleFunc("POST /admin/tokens", s.action(s.serveTokensPost))
	m.HandleFunc("POST /admin/tokens/{id}/revoke", s.action(s.serveRevokePost))
	m.HandleFunc("GET /admin/audit", s.view(s.serveAudit))
	m.HandleFunc("GET /admin/account", s.view(s.serveAccount))
	m.HandleFunc("POST /admin/account/password", s.action(s.servePasswordPost))
	m.HandleFunc("POST /admin/account/sign-out-everywhere", s.action(s.serveSignOutEverywhere))
	m.HandleFunc("POST /admin/account/time-zone", s.action(s.serveTimeZonePost))
}

// noListing answers 404 for directories: a listing of the static files
// tells a visitor nothing they need and shows what the portal runs.
func noListing(fsys fs.FS, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		// A folder named without its slash: FileServer would redirect
		// to the listing.
		if st, err := fs.Stat(fsys, r.URL.Path); err == nil && st.IsDir() {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) render(w http.ResponseWriter, status int, name string, p any) {
	zone := ""
	if z, ok := p.(zoned); ok {
		zone = z.zoneName()
	}
	set, _ := s.templatesFor(zone)
	t := set.pages[name]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if err := t.Execute(w, p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
	}
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	// Secure is fine for plain-HTTP loopback too: browsers (and Go's
	// cookiejar) treat localhost and 127.0.0.1 as secure origins.
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// currentSession returns the session named by the request's cookie, or nil.
func (s *Server) currentSession(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess := &session{hash: hashSecret(c.Value)}
	var expires int64
	var role, groups string
	err = s.db.QueryRow(`SELECT s.admin_id, s.csrf, s.expires, a.email, a.role, a.groups, a.time_zone FROM sessions s JOIN admins a ON a.id = s.admin_id
		WHERE s.hash = ?`, sess.hash).Scan(&sess.adminID, &sess.csrf, &expires, &sess.email, &role, &groups, &sess.timeZone)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if s.now().Unix() >= expires {
		return nil, nil
	}
	sess.role, sess.groups = Role(role), loadGroups(groups)
	return sess, nil
}

type webHandler func(w http.ResponseWriter, r *http.Request, sess *session)

// view wraps a GET page that needs a signed-in admin.
func (s *Server) view(h webHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.webSession(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()))
		if !ok || !s.webAllowed(w, r, sess) {
			return
		}
		h(w, r, sess)
	}
}

// action wraps a POST: it needs a signed-in admin, a same-origin request
// and the session's CSRF token.
func (s *Server) action(h webHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if !s.sameOrigin(r) {
			s.render(w, http.StatusForbidden, "error", page{Title: "Refused", Error: "This form was sent from another site, so it was refused."})
			return
		}
		sess, ok := s.webSession(w, r, "/admin/login")
		if !ok {
			return
		}
		if err := r.ParseForm(); err != nil {
			s.render(w, http.StatusBadRequest, "error", page{Title: "Bad request", Email: sess.email, CSRF: sess.csrf, Error: "The form could not be read: " + err.Error()})
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(sess.csrf)) != 1 {
			s.render(w, http.StatusForbidden, "error", page{Title: "Refused", Email: sess.email, CSRF: sess.csrf,
				Error: "This form is out of date or was not sent from the admin center. Go back, reload the page and try again."})
			return
		}
		if !s.webAllowed(w, r, sess) {
			return
		}
		h(w, r, sess)
	}
}

// webSession returns the signed-in admin's session for view and action;
// without one it redirects to login, and when the session cannot be read
// it answers the error; then ok is false and the request is answered.
func (s *Server) webSession(w http.ResponseWriter, r *http.Request, login string) (sess *session, ok bool) {
	sess, err := s.currentSession(r)
	switch {
	case err != nil && isStoreDown(err):
		herr := s.storeFailure("check the session", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(herr.retry/time.Second)))
		http.Error(w, herr.msg, herr.status)
		return nil, false
	case err != nil:
		s.log.Error("admin center", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil, false
	case sess == nil:
		http.Redirect(w, r, login, http.StatusSeeOther)
		return nil, false
	}
	return sess, true
}

// webAllowed says whether the session's admin may do what r asks, and
// shows the error page when not.
func (s *Server) webAllowed(w http.ResponseWriter, r *http.Request, sess *session) bool {
	if herr := s.authorize(r, sess.principal()); herr != nil {
		p := s.base(sess, "", "Not allowed")
		p.Error = herr.msg
		s.render(w, herr.status, "error", p)
		return false
	}
	return true
}

// sameOrigin checks Origin when the browser sends it (and Sec-Fetch-Site),
// a second line of defence behind the CSRF token.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if u.Host == r.Host {
		return true
	}
	own, err := url.Parse(s.url)
	return err == nil && u.Scheme == own.Scheme && u.Host == own.Host
}

// safeNext keeps a post-login redirect inside the admin center.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		strings.HasPrefix(next, "/admin/login") {
		return "/admin/rooms"
	}
	return next
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	if sess, _ := s.currentSession(r); sess != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	tok := randomToken(32)
	s.setCookie(w, loginCookie, tok, 3600)
	s.render(w, http.StatusOK, "login", page{Title: "Sign in", CSRF: tok, Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) serveLoginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	addr := clientAddr(r)
	if err := r.ParseForm(); err != nil {
		s.render(w, http.StatusBadRequest, "error", page{Title: "Bad request", Error: "The form could not be read: " + err.Error()})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	email := strings.TrimSpace(r.PostForm.Get("email"))
	c, err := r.Cookie(loginCookie)
	if !s.sameOrigin(r) || err != nil || c.Value == "" ||
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		s.render(w, http.StatusForbidden, "error", page{Title: "Refused",
			Error: "This sign-in form is out of date or was not sent from the admin center. Open the sign-in page again."})
		return
	}
	again := func(status int, msg string) {
		s.render(w, status, "login", page{Title: "Sign in", CSRF: c.Value, Next: next, Error: msg, LoginEmail: email})
	}
	// Throttled per address and account (so a guesser elsewhere cannot
	// lock the owner out) and per address. Each attempt is counted before
	// its password is hashed: concurrent guesses get no more checks than
	// sequential ones.
	limit := limitKey(addr)
	if !s.loginsInFlight.acquire(limit) {
		w.Header().Set("Retry-After", "1")
		again(http.StatusTooManyRequests, "Too many sign-ins at once from your address. Wait for them to finish, then try again.")
		return
	}
	defer s.loginsInFlight.release(limit)
	account := strings.ToLower(email)
	if len(account) > 254 { // longer is no admin's email; keep stored keys small
		account = account[:254]
	}
	pairKey := limit + "|" + account
	now := s.now()
	refuse := func(wait time.Duration) {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		again(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins. Wait %s before trying again.", roundWait(wait)))
	}
	byPair, wait := s.failedLogins.begin(now, pairKey)
	if wait > 0 {
		refuse(wait)
		return
	}
	defer byPair.release()
	byAddr, wait := s.loginAddr.begin(now, limit)
	if wait > 0 {
		refuse(wait)
		return
	}
	defer byAddr.release()

	var adminID int64
	var hash string
	err = s.db.QueryRow("SELECT id, pw_hash FROM admins WHERE email = ?", email).Scan(&adminID, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		s.log.Error("login", "err", err)
		again(http.StatusInternalServerError, "Sign-in failed because of an internal error.")
		return
	}
	known := err == nil
	if !known {
		hash = dummyHash() // same time as a real check
	}
	ok, err := s.checkLoginPassword(r.Context(), hash, r.PostForm.Get("password"))
	if err != nil {
		// Not counted: no password was checked.
		w.Header().Set("Retry-After", "1")
		again(http.StatusServiceUnavailable, "The portal is busy with other sign-ins. Try again in a moment.")
		return
	}
	if !known || !ok {
		byPair.fail(now)
		byAddr.fail(now)
		s.audit(email, "failed login", "", addr)
		again(http.StatusUnauthorized, "Wrong email or password.")
		return
	}
	s.failedLogins.reset(pairKey)
	id := randomToken(32)
	csrf := randomToken(32)
	if _, err := s.db.Exec("INSERT INTO sessions (hash, admin_id, csrf, expires) VALUES (?, ?, ?, ?)",
		hashSecret(id), adminID, csrf, now.Add(sessionTTL).Unix()); err != nil {
		s.log.Error("login", "err", err)
		again(http.StatusInternalServerError, "Sign-in failed because of an internal error.")
		return
	}
	s.setCookie(w, loginCookie, "", -1)
	s.setCookie(w, sessionCookie, id, int(sessionTTL/time.Second))
	s.audit(email, "login", "", addr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// checkLoginPassword verifies a sign-in's password once a slot of the
// hashing gate is free: argon2 needs 19 MiB per check, and a flood of
// parallel checks once took the portal from 107 MB to 3.9 GB.
func (s *Server) checkLoginPassword(ctx context.Context, hash, pw string) (bool, error) {
	if err := s.hashing.enter(ctx); err != nil {
		return false, fmt.Errorf("wait to check a password: %w", err)
	}
	defer s.hashing.leave()
	s.passwordChecks.Add(1)
	return verifyPassword(hash, pw), nil
}

func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, err := s.db.Exec("DELETE FROM sessions WHERE hash = ?", sess.hash); err != nil {
		s.log.Error("logout", "err", err)
	}
	s.setCookie(w, sessionCookie, "", -1)
	s.audit(sess.email, "logout", "", clientAddr(r))
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

func (s *Server) base(sess *session, nav, title string) page {
	return page{Title: title, Nav: nav, Email: sess.email, CSRF: sess.csrf, Role: sess.role, Groups: sess.groups, Zone: sess.timeZone, OpenAlerts: s.openAlertCount()}
}

// relTime says how long ago t was, the way a person would.
func relTime(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 2*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds ago", int(d/time.Second))
	case d < 2*time.Minute:
		return "1 minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 2*time.Hour:
		return "1 hour ago"
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

func (s *Server) serveRooms(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "rooms", "Rooms")
	p.Refresh = true
	q := r.URL.Query()
	f, ferr := parseFleetQuery(q, true)
	scope := sess.principal().groups // a group admin's fleet is their groups' rooms
	fv, status, err := s.fleetPageView(f, ferr, scope)
	if err != nil {
		s.log.Error("list rooms", "err", err)
		p.Error = "Could not list the rooms."
	}
	if ferr != nil {
		p.Error = ferr.Error()
		p.Refresh = false
	}
	p.Fleet = fv
	now := s.now()
	for _, rm := range fv.rooms {
		p.Rooms = append(p.Rooms, newRoomView(rm, now))
	}
	s.addConfigProblems(p.Rooms)
	// The room a notice is about may be on another page.
	named := func() string {
		rm, _, _ := s.findRoom(q.Get("room"))
		return rm.Name
	}
	switch q.Get("notice") {
	case "paired":
		if name := named(); name != "" {
			p.Notice = fmt.Sprintf("Paired %q. The room shows its home screen within a few seconds and appears online with its first heartbeat.", name)
		}
	case "update":
		if name := named(); name != "" {
			p.Notice = fmt.Sprintf("%q installs the newest release of its channel as soon as no meeting runs; this page shows its progress.", name)
		}
	case "group":
		if rm, ok, _ := s.findRoom(q.Get("room")); ok {
			if rm.Group == "" {
				p.Notice = fmt.Sprintf("%q is in no group now.", rm.Name)
			} else {
				p.Notice = fmt.Sprintf("%q is in the group %q now; its group's update policy applies from its next heartbeat.", rm.Name, rm.Group)
			}
		}
	case "unpaired":
		p.Notice = "The room was unpaired. Its kit returns to the pairing screen."
	case "denied":
		if raw, err := provisioning.NormalizeUserCode(q.Get("code")); err == nil {
			p.Notice = fmt.Sprintf("The code %s was denied. The room asks for a fresh code.", provisioning.FormatUserCode(raw))
		}
	}
	s.render(w, status, "rooms", p)
}

func (s *Server) webWho(r *http.Request, sess *session) codeAttempt {
	addr := clientAddr(r)
	return codeAttempt{actor: sess.email, addr: addr,
		keys: []string{"session:" + hex.EncodeToString(sess.hash), "addr:" + addr}}
}

func (s *Server) pairPage(sess *session, form pairRequest) page {
	p := s.base(sess, "pair", "Pair a room")
	p.Form = form
	p.TimeZones = commonTimeZones
	return p
}

// servePair is pairing in two steps. Without ?code= it asks for the code.
// With one (typed, or from the kit's QR code) it shows which device is
// waiting with it (its label, the address it asked from and when) next to
// the room's name and location, so the admin can tell it is the kit in
// front of them and not one elsewhere that sent them its link (RFC 8628
// §5.4), before approving.
func (s *Server) servePair(w http.ResponseWriter, r *http.Request, sess *session) {
	form := pairRequest{TimeZone: "UTC"}
	code := r.URL.Query().Get("code")
	if code == "" {
		s.render(w, http.StatusOK, "pair", s.pairPage(sess, form))
		return
	}
	form.UserCode = code
	if raw, err := provisioning.NormalizeUserCode(code); err == nil {
		form.UserCode = provisioning.FormatUserCode(raw)
	}
	dev, herr := s.lookUpDevice(s.webWho(r, sess), code)
	p := s.pairPage(sess, form)
	if herr != nil {
		p.Error = herr.msg
		if herr.retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(herr.retry/time.Second)+1))
		}
		s.render(w, herr.status, "pair", p)
		return
	}
	p.Form.UserCode = provisioning.FormatUserCode(dev.raw)
	p.Device = &dev
	s.render(w, http.StatusOK, "pair", p)
}

func (s *Server) servePairPost(w http.ResponseWriter, r *http.Request, sess *session) {
	f := r.PostForm
	req := pairRequest{UserCode: f.Get("user_code"), Name: f.Get("name"), Location: f.Get("location"), TimeZone: f.Get("time_zone")}
	room, herr := s.pairRoom(s.webWho(r, sess), req)
	if herr != nil {
		p := s.pairPage(sess, req)
		// Keep showing the device while its code is still waiting (a
		// name was missing, say); a wrong code goes back to step one.
		if raw, err := provisioning.NormalizeUserCode(req.UserCode); err == nil {
			if dev, err := s.pendingDevice(raw); err == nil {
				p.Device = &dev
			}
		}
		p.Error = herr.msg
		if herr.retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(herr.retry/time.Second)+1))
		}
		s.render(w, herr.status, "pair", p)
		return
	}
	http.Redirect(w, r, "/admin/rooms?notice=paired&room="+url.QueryEscape(room.ID), http.StatusSeeOther)
}

func (s *Server) serveDenyPost(w http.ResponseWriter, r *http.Request, sess *session) {
	code := r.PostForm.Get("user_code")
	if herr := s.denyCode(s.webWho(r, sess), code); herr != nil {
		p := s.pairPage(sess, pairRequest{TimeZone: "UTC"})
		p.Error = herr.msg
		if herr.retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(herr.retry/time.Second)+1))
		}
		s.render(w, herr.status, "pair", p)
		return
	}
	http.Redirect(w, r, "/admin/rooms?notice=denied&code="+url.QueryEscape(code), http.StatusSeeOther)
}

// findRoom reads one room (not the whole fleet: 10,000 rooms are 100 ms).
func (s *Server) findRoom(id string) (Room, bool, error) {
	rooms, err := s.queryRooms("WHERE id = ?", id)
	if err != nil || len(rooms) == 0 {
		return Room{}, false, err
	}
	return rooms[0], true, nil
}

func (s *Server) serveUnpair(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "rooms", "Unpair a room")
	room, ok, err := s.findRoom(r.PathValue("id"))
	switch {
	case err != nil:
		s.log.Error("unpair", "err", err)
		p.Error = "Could not look up the room."
		s.render(w, http.StatusInternalServerError, "error", p)
	case !ok:
		p.Error = "There is no such room. It may have been unpaired already."
		s.render(w, http.StatusNotFound, "error", p)
	default:
		p.Room = room
		s.render(w, http.StatusOK, "unpair", p)
	}
}

func (s *Server) serveUnpairPost(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, herr := s.unpairRoom(sess.email, clientAddr(r), r.PathValue("id")); herr != nil {
		p := s.base(sess, "rooms", "Unpair a room")
		p.Error = herr.msg
		s.render(w, herr.status, "error", p)
		return
	}
	http.Redirect(w, r, "/admin/rooms?notice=unpaired", http.StatusSeeOther)
}

func (s *Server) tokensPage(w http.ResponseWriter, status int, sess *session, p page) {
	toks, err := s.listAPITokens()
	if err != nil {
		s.log.Error("list tokens", "err", err)
		p.Error = "Could not list the tokens."
	}
	p.Tokens = toks
	s.render(w, status, "tokens", p)
}

func (s *Server) serveTokens(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "tokens", "API tokens")
	if r.URL.Query().Get("notice") == "revoked" {
		p.Notice = "The token was revoked. Programs using it are refused from now on."
	}
	s.tokensPage(w, http.StatusOK, sess, p)
}

func (s *Server) serveTokensPost(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "tokens", "API tokens")
	name := strings.TrimSpace(r.PostForm.Get("name"))
	var opt TokenOptions
	if d := r.PostForm.Get("expires_days"); d != "" {
		days, err := strconv.Atoi(d)
		if err != nil || days < 1 {
			p.Error = fmt.Sprintf("Could not create the token: %q is not a number of days.", d)
			p.TokenName = name
			s.tokensPage(w, http.StatusBadRequest, sess, p)
			return
		}
		opt.Lifetime = time.Duration(days) * 24 * time.Hour
	}
	opt.Role, opt.Group = Role(r.PostForm.Get("role")), strings.TrimSpace(r.PostForm.Get("group"))
	if opt.Role.rank() > sess.role.rank() {
		p.Error = fmt.Sprintf("Could not create the token: as %s you may make tokens of your role or below, not %s.", sess.role, opt.Role)
		p.TokenName = name
		s.tokensPage(w, http.StatusForbidden, sess, p)
		return
	}
	tok, expires, err := s.CreateAPITokenWith(name, opt)
	if err != nil {
		status, msg := http.StatusBadRequest, "Could not create the token: "+err.Error()+"."
		if isDiskFull(err) {
			s.logStoreError("create token", err)
			status, msg = http.StatusServiceUnavailable, msgCannotStore
		}
		p.Error = msg
		p.TokenName = name
		s.tokensPage(w, status, sess, p)
		return
	}
	role := opt.Role
	if role == "" {
		role = RoleAdmin
	}
	groups, _ := parseGroups(opt.Group) // checked by CreateAPITokenWith
	s.audit(sess.email, "create token", tokenNote(name, role, groups, expires), clientAddr(r))
	// Shown in this answer only: it is not stored, and not put in a URL.
	p.NewToken = tok
	p.NewTokenExpires = expires
	p.TokenName = name
	s.tokensPage(w, http.StatusOK, sess, p)
}

func (s *Server) serveRevokePost(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "tokens", "API tokens")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var name string
	if err == nil {
		name, err = s.revokeAPIToken(id)
	}
	if err != nil {
		p.Error = "There is no such token. It may have been revoked already."
		s.tokensPage(w, http.StatusNotFound, sess, p)
		return
	}
	s.audit(sess.email, "revoke token", strconv.Quote(name), clientAddr(r))
	http.Redirect(w, r, "/admin/tokens?notice=revoked", http.StatusSeeOther)
}

// serveAudit shows the audit log, filtered by ?actor=&action=&room=&from=&to=;
// ?format=csv exports what the filter selects.
func (s *Server) serveAudit(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "audit", "Audit log")
	q := r.URL.Query()
	filt, err := parseAuditFilter(q, s.zoneLocation(sess.timeZone))
	p.AuditFilter = filt
	if err != nil {
		p.Error = "Bad filter: " + err.Error() + "."
		s.render(w, http.StatusBadRequest, "audit", p)
		return
	}
	if q.Get("format") == "csv" {
		s.serveAuditCSV(w, filt)
		return
	}
	exp := url.Values{"format": {"csv"}}
	for _, k := range []string{"actor", "action", "room", "from", "to"} {
		if v := q.Get(k); v != "" {
			exp.Set(k, v)
		}
	}
	p.AuditCSV = "/admin/audit?" + exp.Encode()
	if p.AuditActions, err = s.auditActions(); err != nil {
		s.log.Error("audit log", "err", err)
	}
	if err := s.eachAudit(filt, maxAuditRows, func(e auditEntry) error { p.Audit = append(p.Audit, e); return nil }); err != nil {
		s.log.Error("audit log", "err", err)
		p.Error = "Could not read the audit log."
	}
	s.render(w, http.StatusOK, "audit", p)
}

func (s *Server) serveAccount(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "account", "Your account")
	switch r.URL.Query().Get("notice") {
	case "password":
		p.Notice = "Your password was changed. Your other sessions were signed out."
	case "time-zone":
		p.Notice = "Your time zone was saved: the admin center's times are now in " + p.ZoneName() + "."
		if p.Zone == "" {
			p.Notice = "Your time zone was cleared: the room page shows times in your browser's time zone, the other pages in UTC."
		}
	}
	s.render(w, http.StatusOK, "account", p)
}

// servePasswordPost changes the signed-in admin's password. It asks for
// the current one, so that someone who finds a browser left signed in
// cannot lock its owner out; it keeps this session and ends the others.
func (s *Server) servePasswordPost(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "account", "Your account")
	f := r.PostForm
	again := func(status int, msg string) {
		p.Error = msg
		s.render(w, status, "account", p)
	}
	var hash string
	if err := s.db.QueryRow("SELECT pw_hash FROM admins WHERE id = ?", sess.adminID).Scan(&hash); err != nil {
		herr := s.storeFailure("change the password", err)
		again(herr.status, herr.msg)
		return
	}
	if !verifyPassword(hash, f.Get("current")) {
		s.audit(sess.email, "failed password change", "wrong current password", clientAddr(r))
		again(http.StatusForbidden, "Your current password is not right. The password was not changed.")
		return
	}
	if f.Get("new") != f.Get("again") {
		again(http.StatusBadRequest, "The two new passwords differ. The password was not changed.")
		return
	}
	if err := checkPassword(f.Get("new")); err != nil {
		again(http.StatusBadRequest, "The new password does not fit the rule: "+err.Error()+".")
		return
	}
	n, err := s.setPassword(sess.adminID, f.Get("new"), sess.hash)
	if err != nil {
		herr := s.storeFailure("change the password", err)
		again(herr.status, herr.msg)
		return
	}
	s.audit(sess.email, "change password", fmt.Sprintf("%d other sessions ended", n), clientAddr(r))
	http.Redirect(w, r, "/admin/account?notice=password", http.StatusSeeOther)
}

// serveSignOutEverywhere ends every session of the signed-in admin,
// this one included.
func (s *Server) serveSignOutEverywhere(w http.ResponseWriter, r *http.Request, sess *session) {
	n, err := s.endSessions(sess.adminID)
	if err != nil {
		herr := s.storeFailure("sign out everywhere", err)
		p := s.base(sess, "account", "Your account")
		p.Error = herr.msg
		s.render(w, herr.status, "account", p)
		return
	}
	s.setCookie(w, sessionCookie, "", -1)
	s.audit(sess.email, "sign out everywhere", fmt.Sprintf("%d sessions ended", n), clientAddr(r))
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}
