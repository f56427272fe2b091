package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// teamRoutes are working as a team: administrators, their roles and
// groups, one-time links, rooms' groups and the audit log's export. Each
// admin route has its rule in accessRules.
func (s *Server) teamRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/admin/admins", s.adminAPI(s.apiListTeam))
	m.HandleFunc("POST /api/v1/admin/admins/invites", s.adminAPI(s.apiInvite))
	m.HandleFunc("DELETE /api/v1/admin/admins/{id}", s.adminAPI(s.apiRemoveAdmin))
	m.HandleFunc("PUT /api/v1/admin/admins/{id}/role", s.adminAPI(s.apiSetRole))
	m.HandleFunc("POST /api/v1/admin/admins/{id}/password-reset", s.adminAPI(s.apiResetPassword))
	m.HandleFunc("POST /api/v1/admin/admins/{id}/revoke-sessions", s.adminAPI(s.apiRevokeSessions))
	m.HandleFunc("PUT /api/v1/admin/rooms/{id}/group", s.adminAPI(s.apiSetRoomGroup))
	m.HandleFunc("GET /api/v1/admin/audit", s.adminAPI(s.apiAudit))

	m.HandleFunc("GET /admin/team", s.view(s.serveTeam))
	m.HandleFunc("POST /admin/team/invite", s.action(s.serveInvitePost))
	m.HandleFunc("POST /admin/team/{id}/remove", s.action(s.serveRemoveAdminPost))
	m.HandleFunc("POST /admin/team/{id}/role", s.action(s.serveRolePost))
	m.HandleFunc("POST /admin/team/{id}/reset", s.action(s.serveResetPost))
	m.HandleFunc("POST /admin/team/{id}/revoke-sessions", s.action(s.serveRevokeSessionsPost))
	m.HandleFunc("POST /admin/rooms/{id}/group", s.action(s.serveRoomGroupPost))
	// The one-time link itself is the credential: no session yet.
	m.HandleFunc("GET /admin/invite/{token}", s.serveLink)
	m.HandleFunc("POST /admin/invite/{token}", s.serveLinkPost)
}

// teamView is what the team page shows.
type teamView struct {
	Members []teamMember
	Links   []pendingLink
	// NewLink is an invitation or reset link just made, shown once.
	NewLink, NewLinkFor, NewLinkKind string
	NewLinkExpires                   time.Time
	Form                             inviteRequest
}

// inviteRequest is the body of POST /api/v1/admin/admins/invites.
type inviteRequest struct {
	Email  string   `json:"email"`
	Role   Role     `json:"role"`
	Groups []string `json:"groups"`
}

// roleRequest is the body of PUT /api/v1/admin/admins/{id}/role.
type roleRequest struct {
	Role   Role     `json:"role"`
	Groups []string `json:"groups"`
}

// linkView is the page a one-time link opens.
type linkView struct {
	Link  oneTimeLink
	Token string
	Done  bool
}

func adminPathID(r *http.Request) (int64, *httpError) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, errorf(http.StatusNotFound, "There is no administrator with the ID %q.", r.PathValue("id"))
	}
	return id, nil
}

// requestGroups checks groups given as a JSON list.
func requestGroups(gs []string) ([]string, *httpError) {
	out, err := parseGroups(strings.Join(gs, "\n"))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "Bad groups: %s.", err)
	}
	if len(out) != len(gs) {
		return nil, errorf(http.StatusBadRequest, "Bad groups: a group's name may not be empty, repeated or hold a comma.")
	}
	return out, nil
}

func (s *Server) apiListTeam(w http.ResponseWriter, r *http.Request, tok apiToken) {
	members, links, err := s.listTeam()
	if err != nil {
		writeHTTPError(w, s.storeFailure("list administrators", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"admins": members, "invites": links})
}

func (s *Server) apiInvite(w http.ResponseWriter, r *http.Request, tok apiToken) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req inviteRequest
	if err := decodeStrict(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{"Bad invitation: " + err.Error()})
		return
	}
	groups, herr := requestGroups(req.Groups)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	link, expires, herr := s.inviteAdmin(tok.principal(), clientAddr(r), req.Email, req.Role, groups)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"email": strings.TrimSpace(req.Email), "role": req.Role,
		"groups": nonNil(groups), "url": link, "expires": expires.UTC()})
}

func (s *Server) apiRemoveAdmin(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, herr := adminPathID(r)
	if herr == nil {
		_, herr = s.removeAdmin(tok.principal(), clientAddr(r), id)
	}
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiSetRole(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, herr := adminPathID(r)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req roleRequest
	if err := decodeStrict(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{"Bad role change: " + err.Error()})
		return
	}
	groups, herr := requestGroups(req.Groups)
	if herr == nil {
		_, herr = s.setAdminRole(tok.principal(), clientAddr(r), id, req.Role, groups)
	}
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	members, _, err := s.listTeam()
	if err != nil {
		writeHTTPError(w, s.storeFailure("list administrators", err))
		return
	}
	for _, m := range members {
		if m.ID == id {
			writeJSON(w, http.StatusOK, m)
			return
		}
	}
	writeHTTPError(w, errorf(http.StatusNotFound, "The administrator %d was removed meanwhile.", id))
}

func (s *Server) apiResetPassword(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, herr := adminPathID(r)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	email, link, expires, herr := s.resetAdminPassword(tok.principal(), clientAddr(r), id)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"email": email, "url": link, "expires": expires.UTC()})
}

func (s *Server) apiRevokeSessions(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, herr := adminPathID(r)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	email, n, herr := s.revokeAdminSessions(tok.principal(), clientAddr(r), id)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"email": email, "ended": n})
}

func (s *Server) apiSetRoomGroup(w http.ResponseWriter, r *http.Request, tok apiToken) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req struct {
		Group *string `json:"group"`
	}
	if err := decodeStrict(body, &req); err != nil || req.Group == nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{`Bad request: send {"group": "NAME"}, or "" for none.`})
		return
	}
	room, herr := s.setRoomGroup(tok.principal(), clientAddr(r), r.PathValue("id"), *req.Group)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusOK, room)
}

// apiAudit answers the audit log as JSON (newest first, at most
// maxAuditRows or ?limit=) or, with ?format=csv, all of it as CSV.
func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, tok apiToken) {
	q := r.URL.Query()
	filt, err := parseAuditFilter(q, time.UTC)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{"Bad filter: " + err.Error() + "."})
		return
	}
	switch q.Get("format") {
	case "csv":
		s.serveAuditCSV(w, filt)
		return
	case "", "json":
	default:
		writeJSON(w, http.StatusBadRequest, apiErrorBody{fmt.Sprintf("Unknown format %q: use json or csv.", q.Get("format"))})
		return
	}
	limit := maxAuditRows
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxAuditRows {
			writeJSON(w, http.StatusBadRequest, apiErrorBody{fmt.Sprintf("limit must be a number from 1 to %d, not %q; ?format=csv exports everything.", maxAuditRows, l)})
			return
		}
		limit = n
	}
	out := []auditEntry{}
	if err := s.eachAudit(filt, limit, func(e auditEntry) error { out = append(out, e); return nil }); err != nil {
		writeHTTPError(w, s.storeFailure("read the audit log", err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveAuditCSV(w http.ResponseWriter, filt auditFilter) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="roomkit-audit-`+s.now().UTC().Format("20060102-1504")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := s.writeAuditCSV(w, filt); err != nil {
		// The header went out already; the log says why the file is short.
		s.logStoreError("export audit log", err)
	}
}

func (s *Server) teamPage(w http.ResponseWriter, status int, p page) {
	if p.Team == nil {
		p.Team = &teamView{}
	}
	members, links, err := s.listTeam()
	if err != nil {
		s.logStoreError("list administrators", err)
		p.Error = "Could not list the administrators."
	}
	p.Team.Members, p.Team.Links = members, links
	if p.Team.Form.Role == "" {
		p.Team.Form.Role = RoleAdmin
	}
	s.render(w, status, "team", p)
}

func (s *Server) serveTeam(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "team", "Team")
	switch r.URL.Query().Get("notice") {
	case "removed":
		p.Notice = "The administrator was removed and signed out."
	case "role":
		p.Notice = "The role was changed; it applies from their next click."
	case "signed-out":
		p.Notice = "The administrator was signed out everywhere."
	}
	s.teamPage(w, http.StatusOK, p)
}

func (s *Server) teamError(w http.ResponseWriter, sess *session, herr *httpError, form inviteRequest) {
	p := s.base(sess, "team", "Team")
	p.Error = herr.msg
	p.Team = &teamView{Form: form}
	s.teamPage(w, herr.status, p)
}

func (s *Server) serveInvitePost(w http.ResponseWriter, r *http.Request, sess *session) {
	f := r.PostForm
	form := inviteRequest{Email: strings.TrimSpace(f.Get("email")), Role: Role(f.Get("role"))}
	groups, err := parseGroups(f.Get("groups"))
	form.Groups = groups
	if err != nil {
		s.teamError(w, sess, errorf(http.StatusBadRequest, "Bad groups: %s.", err), form)
		return
	}
	link, expires, herr := s.inviteAdmin(sess.principal(), clientAddr(r), form.Email, form.Role, groups)
	if herr != nil {
		s.teamError(w, sess, herr, form)
		return
	}
	// Shown in this answer only: the portal keeps its hash.
	p := s.base(sess, "team", "Team")
	p.Team = &teamView{NewLink: link, NewLinkFor: form.Email, NewLinkKind: linkInvite, NewLinkExpires: expires}
	s.teamPage(w, http.StatusOK, p)
}

func (s *Server) serveRemoveAdminPost(w http.ResponseWriter, r *http.Request, sess *session) {
	id, herr := adminPathID(r)
	if herr == nil {
		_, herr = s.removeAdmin(sess.principal(), clientAddr(r), id)
	}
	if herr != nil {
		s.teamError(w, sess, herr, inviteRequest{})
		return
	}
	if id == sess.adminID {
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/admin/team?notice=removed", http.StatusSeeOther)
}

func (s *Server) serveRolePost(w http.ResponseWriter, r *http.Request, sess *session) {
	id, herr := adminPathID(r)
	if herr != nil {
		s.teamError(w, sess, herr, inviteRequest{})
		return
	}
	groups, err := parseGroups(r.PostForm.Get("groups"))
	if err != nil {
		s.teamError(w, sess, errorf(http.StatusBadRequest, "Bad groups: %s.", err), inviteRequest{})
		return
	}
	if _, herr := s.setAdminRole(sess.principal(), clientAddr(r), id, Role(r.PostForm.Get("role")), groups); herr != nil {
		s.teamError(w, sess, herr, inviteRequest{})
		return
	}
	http.Redirect(w, r, "/admin/team?notice=role", http.StatusSeeOther)
}

func (s *Server) serveResetPost(w http.ResponseWriter, r *http.Request, sess *session) {
	id, herr := adminPathID(r)
	if herr != nil {
		s.teamError(w, sess, herr, inviteRequest{})
		return
	}
	email, link, expires, herr := s.resetAdminPassword(sess.principal(), clientAddr(r), id)
	if herr != nil {
		s.teamError(w, sess, herr, inviteRequest{})
		return
	}
	p := s.base(sess, "team", "Team")
	p.Team = &teamView{NewLink: link, NewLinkFor: email, NewLinkKind: linkReset, NewLinkExpires: expires}
	s.teamPage(w, http.StatusOK, p)
}

func (s *Server) serveRevokeSessionsPost(w http.ResponseWriter, r *http.Request, sess *session) {
	id, herr := adminPathID(r)
	if herr == nil {
		_, _, herr = s.revokeAdminSessions(sess.principal(), clientAddr(r), id)
	}
	if herr != nil {
		s.teamError(w, sess, herr, inviteRequest{})
		return
	}
	if id == sess.adminID {
		s.setCookie(w, sessionCookie, "", -1)
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/admin/team?notice=signed-out", http.StatusSeeOther)
}

func (s *Server) serveRoomGroupPost(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	if _, herr := s.setRoomGroup(sess.principal(), clientAddr(r), id, r.PostForm.Get("group")); herr != nil {
		p := s.base(sess, "rooms", "Set a room's group")
		p.Error = herr.msg
		s.render(w, herr.status, "error", p)
		return
	}
	http.Redirect(w, r, "/admin/rooms?notice=group&room="+url.QueryEscape(id), http.StatusSeeOther)
}

// serveLink shows the page of a one-time link: set a password.
func (s *Server) serveLink(w http.ResponseWriter, r *http.Request) {
	// The secret is in the path: keep it out of other sites' logs
	// ("no-referrer" would also make the form post "Origin: null").
	w.Header().Set("Referrer-Policy", "same-origin")
	tok := r.PathValue("token")
	l, err := s.openLink(tok)
	if herr := s.linkError(l, err); herr != nil {
		s.render(w, herr.status, "error", page{Title: "Link not usable", Error: herr.msg})
		return
	}
	s.render(w, http.StatusOK, "invite", page{Title: "Set your password", Link: &linkView{Link: l, Token: tok}})
}

func (s *Server) serveLinkPost(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "same-origin")
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if !s.sameOrigin(r) {
		s.render(w, http.StatusForbidden, "error", page{Title: "Refused", Error: "This form was sent from another site, so it was refused."})
		return
	}
	if err := r.ParseForm(); err != nil {
		s.render(w, http.StatusBadRequest, "error", page{Title: "Bad request", Error: "The form could not be read: " + err.Error()})
		return
	}
	tok := r.PathValue("token")
	l, herr := s.useLink(r.Context(), tok, r.PostForm.Get("password"), r.PostForm.Get("again"), clientAddr(r))
	if herr != nil {
		if herr.status == http.StatusBadRequest || herr.status == http.StatusServiceUnavailable {
			s.render(w, herr.status, "invite", page{Title: "Set your password", Error: herr.msg, Link: &linkView{Link: l, Token: tok}})
			return
		}
		s.render(w, herr.status, "error", page{Title: "Link not usable", Error: herr.msg})
		return
	}
	s.render(w, http.StatusOK, "invite", page{Title: "Password set", Link: &linkView{Link: l, Done: true}})
}
