package portal

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"roomkit/ota"
)

// The update endpoints of the admin API (protocol.md §6.1) and of the
// admin center. Every change is audited.

func (s *Server) updateRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /api/v1/admin/rooms/{id}/update", s.adminAPI(s.apiRequestUpdate))
	m.HandleFunc("GET /api/v1/admin/update-policy/{scope}", s.adminAPI(s.apiGetPolicy))
	m.HandleFunc("PUT /api/v1/admin/update-policy/{scope}", s.adminAPI(s.apiPutPolicy))
	m.HandleFunc("DELETE /api/v1/admin/update-policy/{scope}", s.adminAPI(s.apiDeletePolicy))
	m.HandleFunc("GET /api/v1/admin/rollouts", s.adminAPI(s.apiListRollouts))
	m.HandleFunc("POST /api/v1/admin/rollouts/{channel}/{version}/pause", s.adminAPI(s.apiPauseRollout(true)))
	m.HandleFunc("POST /api/v1/admin/rollouts/{channel}/{version}/resume", s.adminAPI(s.apiPauseRollout(false)))

	m.HandleFunc("POST /admin/rooms/{id}/update", s.action(s.serveUpdateNowPost))
	m.HandleFunc("GET /admin/updates", s.view(s.serveUpdates))
	m.HandleFunc("POST /admin/updates/policy", s.action(s.serveFleetPolicyPost))
	m.HandleFunc("POST /admin/rollouts/{channel}/{version}/pause", s.action(s.serveRolloutPost(true)))
	m.HandleFunc("POST /admin/rollouts/{channel}/{version}/resume", s.action(s.serveRolloutPost(false)))
}

func (s *Server) apiRequestUpdate(w http.ResponseWriter, r *http.Request, tok apiToken) {
	who := s.apiWho(r, tok)
	id, herr := s.requestUpdate(who.actor, who.addr, r.PathValue("id"))
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"request": id})
}

func (s *Server) apiGetPolicy(w http.ResponseWriter, r *http.Request, tok apiToken) {
	scope := r.PathValue("scope")
	if herr := s.checkScope(scope); herr != nil {
		writeHTTPError(w, herr)
		return
	}
	v, err := s.policyView(scope)
	if err != nil {
		writeHTTPError(w, s.storeFailure("read the update policy", err))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiPutPolicy(w http.ResponseWriter, r *http.Request, tok apiToken) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var l policyLayer
	if err := decodeStrict(body, &l); err != nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{"Bad update policy: " + err.Error()})
		return
	}
	who := s.apiWho(r, tok)
	v, herr := s.setPolicy(who.actor, who.addr, r.PathValue("scope"), l)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiDeletePolicy(w http.ResponseWriter, r *http.Request, tok apiToken) {
	who := s.apiWho(r, tok)
	if herr := s.deletePolicy(who.actor, who.addr, r.PathValue("scope")); herr != nil {
		writeHTTPError(w, herr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiListRollouts(w http.ResponseWriter, r *http.Request, tok apiToken) {
	rs, err := s.listRollouts()
	if err != nil {
		writeHTTPError(w, s.storeFailure("list the rollouts", err))
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

func (s *Server) apiPauseRollout(pause bool) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, tok apiToken) {
		who := s.apiWho(r, tok)
		v, herr := s.pauseRollout(who.actor, who.addr, r.PathValue("channel"), r.PathValue("version"), pause)
		if herr != nil {
			writeHTTPError(w, herr)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// updateState is the rooms list's update column: the state, with the
// version and, after a failure, the reason.
func updateState(u *ota.Report) string {
	if u == nil {
		return ""
	}
	st := string(u.State)
	if u.TargetVersion != "" {
		st += " " + u.TargetVersion
	}
	if u.Progress > 0 && u.State == ota.Downloading {
		st += fmt.Sprintf(" (%d %%)", int(u.Progress*100))
	}
	return st
}

func (s *Server) serveUpdateNowPost(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	if _, herr := s.requestUpdate(sess.email, clientAddr(r), id); herr != nil {
		s.render(w, herr.status, "error", page{Title: "Update", Email: sess.email, CSRF: sess.csrf, Error: herr.msg})
		return
	}
	http.Redirect(w, r, "/admin/rooms?notice=update&room="+id, http.StatusSeeOther)
}

// updatesPage is what the Updates page shows.
type updatesPage struct {
	Fleet    policyView
	Form     fleetForm
	Rollouts []rolloutView
}

// fleetForm is the fleet policy form's fields as typed.
type fleetForm struct {
	Channel, Rings, Soak, WindowStart, WindowEnd, FailPercent string
	Paused                                                    bool
}

func formOf(v policyView) fleetForm {
	e := v.Effective
	rings := make([]string, len(e.Rings))
	for i, p := range e.Rings {
		rings[i] = strconv.Itoa(p)
	}
	return fleetForm{Channel: e.Channel, Rings: strings.Join(rings, ", "), Soak: e.Soak,
		WindowStart: e.Window.Start, WindowEnd: e.Window.End, FailPercent: strconv.Itoa(e.FailPercent), Paused: e.Paused}
}

func (s *Server) updatesPage(w http.ResponseWriter, status int, sess *session, p page, form *fleetForm) {
	fleet, err := s.policyView("fleet")
	if err != nil {
		s.log.Error("updates page", "err", err)
		p.Error = "Could not read the update policy."
	}
	rs, err := s.listRollouts()
	if err != nil {
		s.log.Error("updates page", "err", err)
		p.Error = "Could not list the rollouts."
	}
	up := &updatesPage{Fleet: fleet, Form: formOf(fleet), Rollouts: rs}
	if form != nil {
		up.Form = *form
	}
	p.Updates = up
	s.render(w, status, "updates", p)
}

func (s *Server) serveUpdates(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "updates", "Updates")
	switch r.URL.Query().Get("notice") {
	case "policy":
		p.Notice = "The fleet's update policy was saved. Rooms get it with their next heartbeat."
	case "paused":
		p.Notice = "The rollout was paused: no more rooms start installing it."
	case "resumed":
		p.Notice = "The rollout was resumed; its ring's soak time starts again."
	}
	s.updatesPage(w, http.StatusOK, sess, p, nil)
}

// parseFleetForm turns the form into a layer: every field is set, so the
// fleet no longer inherits the defaults.
func parseFleetForm(f fleetForm) (policyLayer, error) {
	var l policyLayer
	ch := strings.TrimSpace(f.Channel)
	l.Channel = &ch
	for _, part := range strings.FieldsFunc(f.Rings, func(r rune) bool { return r == ',' || r == ' ' || r == '%' }) {
		n, err := strconv.Atoi(part)
		if err != nil {
			return l, fmt.Errorf("rings: %q is not a whole number; write percentages like 10, 50, 100", part)
		}
		l.Rings = append(l.Rings, n)
	}
	if l.Rings == nil {
		l.Rings = []int{}
	}
	soak := strings.TrimSpace(f.Soak)
	l.Soak = &soak
	l.Window = &ota.Window{Start: strings.TrimSpace(f.WindowStart), End: strings.TrimSpace(f.WindowEnd)}
	l.Paused = &f.Paused
	n, err := strconv.Atoi(strings.TrimSpace(f.FailPercent))
	if err != nil {
		return l, fmt.Errorf("the failure threshold %q is not a whole number of percent", f.FailPercent)
	}
	l.FailPercent = &n
	_, err = l.check()
	return l, err
}

func (s *Server) serveFleetPolicyPost(w http.ResponseWriter, r *http.Request, sess *session) {
	f := fleetForm{Channel: r.PostForm.Get("channel"), Rings: r.PostForm.Get("rings"), Soak: r.PostForm.Get("soak"),
		WindowStart: r.PostForm.Get("window_start"), WindowEnd: r.PostForm.Get("window_end"),
		FailPercent: r.PostForm.Get("fail_percent"), Paused: r.PostForm.Get("paused") != ""}
	l, err := parseFleetForm(f)
	if err != nil {
		p := s.base(sess, "updates", "Updates")
		p.Error = "The policy was not saved: " + err.Error() + "."
		s.updatesPage(w, http.StatusBadRequest, sess, p, &f)
		return
	}
	if _, herr := s.setPolicy(sess.email, clientAddr(r), "fleet", l); herr != nil {
		p := s.base(sess, "updates", "Updates")
		p.Error = herr.msg
		s.updatesPage(w, herr.status, sess, p, &f)
		return
	}
	http.Redirect(w, r, "/admin/updates?notice=policy", http.StatusSeeOther)
}

func (s *Server) serveRolloutPost(pause bool) webHandler {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		_, herr := s.pauseRollout(sess.email, clientAddr(r), r.PathValue("channel"), r.PathValue("version"), pause)
		if herr != nil {
			p := s.base(sess, "updates", "Updates")
			p.Error = herr.msg
			s.updatesPage(w, herr.status, sess, p, nil)
			return
		}
		notice := "resumed"
		if pause {
			notice = "paused"
		}
		http.Redirect(w, r, "/admin/updates?notice="+notice, http.StatusSeeOther)
	}
}
