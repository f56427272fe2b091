package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"roomkit/ota"
	"roomkit/profile"
	"roomkit/settings"
)

// The configuration profiles' endpoints in the admin API and the admin
// center (profiles.go has the rules). Every change is audited.

func (s *Server) profileRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/admin/profiles", s.adminAPI(s.apiListProfiles))
	m.HandleFunc("POST /api/v1/admin/profiles", s.adminAPI(s.apiCreateProfile))
	m.HandleFunc("GET /api/v1/admin/profiles/{id}", s.adminAPI(s.apiGetProfile))
	m.HandleFunc("PUT /api/v1/admin/profiles/{id}", s.adminAPI(s.apiPutProfile))
	m.HandleFunc("DELETE /api/v1/admin/profiles/{id}", s.adminAPI(s.apiDeleteProfile))
	m.HandleFunc("PUT /api/v1/admin/groups/{group}/profile", s.adminAPI(s.apiAssignGroup))
	m.HandleFunc("DELETE /api/v1/admin/groups/{group}/profile", s.adminAPI(s.apiUnassignGroup))
	m.HandleFunc("PUT /api/v1/admin/rooms/{id}/profile", s.adminAPI(s.apiAssignRoom))
	m.HandleFunc("DELETE /api/v1/admin/rooms/{id}/profile", s.adminAPI(s.apiUnassignRoom))
	m.HandleFunc("GET /api/v1/admin/rooms/{id}/config", s.adminAPI(s.apiGetRoomConfig))
	m.HandleFunc("PUT /api/v1/admin/rooms/{id}/config", s.adminAPI(s.apiPutRoomConfig))
	m.HandleFunc("DELETE /api/v1/admin/rooms/{id}/config", s.adminAPI(s.apiDeleteRoomConfig))

	m.HandleFunc("GET /admin/profiles", s.view(s.serveProfiles))
	m.HandleFunc("POST /admin/profiles", s.action(s.serveProfileCreate))
	m.HandleFunc("GET /admin/profiles/{id}", s.view(s.serveProfile))
	m.HandleFunc("POST /admin/profiles/{id}", s.action(s.serveProfileSave))
	m.HandleFunc("POST /admin/profiles/{id}/delete", s.action(s.serveProfileDelete))
	m.HandleFunc("POST /admin/groups/{group}/profile", s.action(s.serveGroupProfilePost))
	m.HandleFunc("POST /admin/rooms/{id}/config", s.action(s.serveRoomConfigPost))
}

// pathProfileID reads {id}; a malformed one is a profile that does not exist.
func pathProfileID(r *http.Request) (int64, *httpError) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(http.StatusNotFound, "There is no profile with the ID %q.", raw)
	}
	return id, nil
}

func (s *Server) apiListProfiles(w http.ResponseWriter, r *http.Request, tok apiToken) {
	ps, err := s.listProfiles(tok.principal())
	if err != nil {
		writeHTTPError(w, s.storeFailure("list the profiles", err))
		return
	}
	writeJSON(w, http.StatusOK, ps)
}

func (s *Server) apiCreateProfile(w http.ResponseWriter, r *http.Request, tok apiToken) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	name, v, herr := parseProfileInput(body)
	if herr == nil {
		var pv profileView
		if pv, herr = s.createProfile(s.apiPrincipal(r, tok), clientAddr(r), name, v); herr == nil {
			writeJSON(w, http.StatusCreated, pv)
			return
		}
	}
	writeHTTPError(w, herr)
}

func (s *Server) apiGetProfile(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, herr := pathProfileID(r)
	if herr == nil {
		var pv profileView
		if pv, herr = s.profileOrFail(tok.principal(), id); herr == nil {
			writeJSON(w, http.StatusOK, pv)
			return
		}
	}
	writeHTTPError(w, herr)
}

func (s *Server) apiPutProfile(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, herr := pathProfileID(r)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	name, v, herr := parseProfileInput(body)
	if herr == nil {
		var pv profileView
		if pv, herr = s.updateProfile(s.apiPrincipal(r, tok), clientAddr(r), id, name, v); herr == nil {
			writeJSON(w, http.StatusOK, pv)
			return
		}
	}
	writeHTTPError(w, herr)
}

// apiPrincipal is the token's principal, named for the audit log.
func (s *Server) apiPrincipal(r *http.Request, tok apiToken) principal {
	p := tok.principal()
	p.actor = s.apiWho(r, tok).actor
	return p
}

func (s *Server) apiDeleteProfile(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, herr := pathProfileID(r)
	if herr == nil {
		if herr = s.deleteProfile(s.apiPrincipal(r, tok), clientAddr(r), id); herr == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeHTTPError(w, herr)
}

// assignBody is the body of PUT …/groups/{group}/profile and
// …/rooms/{id}/profile.
type assignBody struct {
	ProfileID *int64 `json:"profile_id"`
}

func readAssign(w http.ResponseWriter, r *http.Request) (int64, bool) {
	body, ok := readBody(w, r)
	if !ok {
		return 0, false
	}
	var b assignBody
	if err := decodeStrict(body, &b); err != nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{"Bad assignment: " + err.Error()})
		return 0, false
	}
	if b.ProfileID == nil || *b.ProfileID <= 0 {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{`Bad assignment: send {"profile_id": ID} with the ID of a profile (DELETE takes the assignment away).`})
		return 0, false
	}
	return *b.ProfileID, true
}

func (s *Server) apiAssignGroup(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, ok := readAssign(w, r)
	if !ok {
		return
	}
	answerJSON(w)(s.assignGroupProfile(s.apiPrincipal(r, tok), clientAddr(r), r.PathValue("group"), id))
}

func (s *Server) apiUnassignGroup(w http.ResponseWriter, r *http.Request, tok apiToken) {
	answerJSON(w)(s.assignGroupProfile(s.apiPrincipal(r, tok), clientAddr(r), r.PathValue("group"), 0))
}

func (s *Server) apiAssignRoom(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, ok := readAssign(w, r)
	if !ok {
		return
	}
	answerJSON(w)(s.assignRoomProfile(s.apiPrincipal(r, tok), clientAddr(r), r.PathValue("id"), id))
}

func (s *Server) apiUnassignRoom(w http.ResponseWriter, r *http.Request, tok apiToken) {
	answerJSON(w)(s.assignRoomProfile(s.apiPrincipal(r, tok), clientAddr(r), r.PathValue("id"), 0))
}

func (s *Server) apiGetRoomConfig(w http.ResponseWriter, r *http.Request, tok apiToken) {
	answerJSON(w)(s.roomConfigOrFail(r.PathValue("id")))
}

func (s *Server) apiPutRoomConfig(w http.ResponseWriter, r *http.Request, tok apiToken) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	vals, err := profile.Parse(body)
	if err != nil {
		writeHTTPError(w, badValues("Bad overrides", err))
		return
	}
	answerJSON(w)(s.setOverrides(s.apiPrincipal(r, tok), clientAddr(r), r.PathValue("id"), vals))
}

func (s *Server) apiDeleteRoomConfig(w http.ResponseWriter, r *http.Request, tok apiToken) {
	answerJSON(w)(s.setOverrides(s.apiPrincipal(r, tok), clientAddr(r), r.PathValue("id"), profile.Values{}))
}

// valuesForm is a profile's or a room's overrides' fields as typed in
// the admin center: an empty field is "not set here".
type valuesForm struct {
	TimeZone, Language, Rotation, Volume, CameraName, Camera1080p string
	MuteButton, MuteLED, Presence                                 string
	ActiveLow                                                     bool
	Channel, WindowStart, WindowEnd                               string
}

func formOfValues(v profile.Values) valuesForm {
	f := valuesForm{TimeZone: v.TimeZone, Language: v.Language, Channel: v.UpdateChannel}
	if v.DisplayRotation != nil {
		f.Rotation = strconv.Itoa(*v.DisplayRotation)
	}
	if v.Volume != nil {
		f.Volume = strconv.Itoa(*v.Volume)
	}
	if c := v.Camera; c != nil {
		f.CameraName = c.Name
		if c.Prefer1080p != nil {
			f.Camera1080p = "720p"
			if *c.Prefer1080p {
				f.Camera1080p = "1080p"
			}
		}
	}
	if g := v.GPIO; g != nil {
		f.MuteButton, f.MuteLED, f.Presence, f.ActiveLow = g.MuteButton, g.MuteLED, g.Presence, g.ActiveLow
	}
	if w := v.UpdateWindow; w != nil {
		f.WindowStart, f.WindowEnd = w.Start, w.End
	}
	return f
}

func readValuesForm(pf url.Values) valuesForm {
	g := func(k string) string { return strings.TrimSpace(pf.Get(k)) }
	return valuesForm{TimeZone: g("time_zone"), Language: g("language"), Rotation: g("display_rotation"), Volume: g("volume"),
		CameraName: g("camera_name"), Camera1080p: g("camera_resolution"), MuteButton: g("gpio_mute_button"),
		MuteLED: g("gpio_mute_led"), Presence: g("gpio_presence"), ActiveLow: pf.Get("gpio_active_low") != "",
		Channel: g("update_channel"), WindowStart: g("update_window_start"), WindowEnd: g("update_window_end")}
}

// values turns the form into checked values.
func (f valuesForm) values() (profile.Values, error) {
	v := profile.Values{TimeZone: f.TimeZone, Language: f.Language, UpdateChannel: f.Channel}
	num := func(field, s string) (*int, error) {
		if s == "" {
			return nil, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: not a whole number", field, s)
		}
		return &n, nil
	}
	var err error
	if v.DisplayRotation, err = num("display_rotation", f.Rotation); err != nil {
		return v, err
	}
	if v.Volume, err = num("volume", f.Volume); err != nil {
		return v, err
	}
	if f.CameraName != "" || f.Camera1080p != "" {
		c := &profile.Camera{Name: f.CameraName}
		switch f.Camera1080p {
		case "":
		case "1080p", "720p":
			b := f.Camera1080p == "1080p"
			c.Prefer1080p = &b
		default:
			return v, fmt.Errorf("camera resolution %q: want 1080p, 720p or nothing", f.Camera1080p)
		}
		v.Camera = c
	}
	if f.MuteButton != "" || f.MuteLED != "" || f.Presence != "" || f.ActiveLow {
		v.GPIO = &settings.GPIO{MuteButton: f.MuteButton, MuteLED: f.MuteLED, Presence: f.Presence, ActiveLow: f.ActiveLow}
	}
	if f.WindowStart != "" || f.WindowEnd != "" {
		v.UpdateWindow = &ota.Window{Start: f.WindowStart, End: f.WindowEnd}
	}
	return v, v.Check()
}

// sentence makes a Check error one sentence for a page.
func sentence(err error) string {
	return strings.ReplaceAll(strings.TrimPrefix(err.Error(), "profile: "), "\n", "; ")
}

// profilesPage is what the Profiles page and a profile's page show.
type profilesPage struct {
	List    []profileView
	Groups  []groupProfileRow
	Edit    *profileView // the profile's page; nil on the list
	Name    string       // the form's name field
	Form    valuesForm
	Choices []profileView // what a group may be given
}

// groupProfileRow is one group and its profile.
type groupProfileRow struct {
	Name, Path string // Path is the name escaped for a URL path
	ProfileID  int64
	Rooms      int
}

// Summary lists a profile's fields in words.
func (p profileView) Summary() []string { return valuesSummary(p.Values) }

func valuesSummary(v profile.Values) []string {
	var out []string
	for _, f := range profile.Fields {
		if t, ok := fieldText(v, f); ok {
			out = append(out, fieldLabels[f]+": "+t)
		}
	}
	return out
}

func (s *Server) profilesPageData(sess *session, pp *profilesPage) error {
	p := sess.principal()
	var err error
	if pp.List, err = s.listProfiles(p); err != nil {
		return err
	}
	pp.Choices = pp.List
	groups, err := s.knownGroups(p)
	if err != nil {
		return err
	}
	assigned, err := s.groupProfiles()
	if err != nil {
		return err
	}
	for _, g := range groups {
		row := groupProfileRow{Name: g, Path: url.PathEscape(g), ProfileID: assigned[g]}
		if err := s.db.QueryRow("SELECT COUNT(*) FROM rooms WHERE grp = ?", g).Scan(&row.Rooms); err != nil {
			return fmt.Errorf("count rooms: %w", err)
		}
		pp.Groups = append(pp.Groups, row)
	}
	return nil
}

func (s *Server) renderProfiles(w http.ResponseWriter, status int, sess *session, p page, pp *profilesPage) {
	if err := s.profilesPageData(sess, pp); err != nil {
		s.log.Error("profiles page", "err", err)
		p.Error = "Could not read the profiles."
		status = http.StatusInternalServerError
	}
	p.Profiles = pp
	name := "profiles"
	if pp.Edit != nil {
		name = "profile"
	}
	s.render(w, status, name, p)
}

func (s *Server) serveProfiles(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "profiles", "Profiles")
	switch r.URL.Query().Get("notice") {
	case "deleted":
		p.Notice = "The profile was deleted."
	case "group":
		p.Notice = "The group's profile was saved. Its rooms get it with their next heartbeat."
	}
	s.renderProfiles(w, http.StatusOK, sess, p, &profilesPage{})
}

func (s *Server) serveProfileCreate(w http.ResponseWriter, r *http.Request, sess *session) {
	f := readValuesForm(r.PostForm)
	name := r.PostForm.Get("name")
	fail := func(status int, msg string) {
		p := s.base(sess, "profiles", "Profiles")
		p.Error = msg
		s.renderProfiles(w, status, sess, p, &profilesPage{Name: name, Form: f})
	}
	v, err := f.values()
	if err != nil {
		fail(http.StatusBadRequest, "The profile was not saved: "+sentence(err)+".")
		return
	}
	n, herr := checkProfileName(name)
	if herr != nil {
		fail(herr.status, herr.msg)
		return
	}
	pv, herr := s.createProfile(sess.principal(), clientAddr(r), n, v)
	if herr != nil {
		fail(herr.status, herr.msg)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/profiles/%d?notice=created", pv.ID), http.StatusSeeOther)
}

func (s *Server) serveProfile(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "profiles", "Profile")
	id, herr := pathProfileID(r)
	var pv profileView
	if herr == nil {
		pv, herr = s.profileOrFail(sess.principal(), id)
	}
	if herr != nil {
		p.Error = herr.msg
		s.render(w, herr.status, "error", p)
		return
	}
	switch r.URL.Query().Get("notice") {
	case "created":
		p.Notice = "The profile was created. Assign it to groups on the Profiles page, or to a room on its page."
	case "saved":
		p.Notice = "The profile was saved. The rooms using it get it with their next heartbeat."
	}
	p.Title = pv.Name
	s.renderProfiles(w, http.StatusOK, sess, p, &profilesPage{Edit: &pv, Name: pv.Name, Form: formOfValues(pv.Values)})
}

func (s *Server) serveProfileSave(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "profiles", "Profile")
	id, herr := pathProfileID(r)
	var pv profileView
	if herr == nil {
		pv, herr = s.profileOrFail(sess.principal(), id)
	}
	if herr != nil {
		p.Error = herr.msg
		s.render(w, herr.status, "error", p)
		return
	}
	f := readValuesForm(r.PostForm)
	name := r.PostForm.Get("name")
	fail := func(status int, msg string) {
		p.Error, p.Title = msg, pv.Name
		s.renderProfiles(w, status, sess, p, &profilesPage{Edit: &pv, Name: name, Form: f})
	}
	v, err := f.values()
	if err != nil {
		fail(http.StatusBadRequest, "The profile was not saved: "+sentence(err)+".")
		return
	}
	n, herr := checkProfileName(name)
	if herr == nil {
		_, herr = s.updateProfile(sess.principal(), clientAddr(r), id, n, v)
	}
	if herr != nil {
		fail(herr.status, herr.msg)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/profiles/%d?notice=saved", id), http.StatusSeeOther)
}

func (s *Server) serveProfileDelete(w http.ResponseWriter, r *http.Request, sess *session) {
	id, herr := pathProfileID(r)
	if herr == nil {
		herr = s.deleteProfile(sess.principal(), clientAddr(r), id)
	}
	if herr != nil {
		p := s.base(sess, "profiles", "Profiles")
		p.Error = herr.msg
		s.renderProfiles(w, herr.status, sess, p, &profilesPage{})
		return
	}
	http.Redirect(w, r, "/admin/profiles?notice=deleted", http.StatusSeeOther)
}

// formProfileID reads the form's profile_id: "" for none.
func formProfileID(v string) (int64, *httpError) {
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(http.StatusBadRequest, "There is no profile with the ID %q.", v)
	}
	return id, nil
}

func (s *Server) serveGroupProfilePost(w http.ResponseWriter, r *http.Request, sess *session) {
	id, herr := formProfileID(r.PostForm.Get("profile_id"))
	if herr == nil {
		_, herr = s.assignGroupProfile(sess.principal(), clientAddr(r), r.PathValue("group"), id)
	}
	if herr != nil {
		p := s.base(sess, "profiles", "Profiles")
		p.Error = herr.msg
		s.renderProfiles(w, herr.status, sess, p, &profilesPage{})
		return
	}
	http.Redirect(w, r, "/admin/profiles?notice=group", http.StatusSeeOther)
}

// serveRoomConfigPost is the room page's Configuration form: the room's
// profile and its overrides, saved together.
func (s *Server) serveRoomConfigPost(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	f := readValuesForm(r.PostForm)
	fail := func(herr *httpError) {
		p := s.base(sess, "rooms", "Room")
		p.Error = herr.msg
		s.render(w, herr.status, "error", p)
	}
	pid, herr := formProfileID(r.PostForm.Get("profile_id"))
	if herr != nil {
		fail(herr)
		return
	}
	v, err := f.values()
	if err != nil {
		fail(errorf(http.StatusBadRequest, "The configuration was not saved: %s.", sentence(err)))
		return
	}
	cur, herr := s.roomConfigOrFail(id)
	if herr != nil {
		fail(herr)
		return
	}
	var curID int64
	if cur.Layers.RoomProfile != nil {
		curID = cur.Layers.RoomProfile.ID
	}
	if curID != pid {
		if _, herr := s.assignRoomProfile(sess.principal(), clientAddr(r), id, pid); herr != nil {
			fail(herr)
			return
		}
	}
	if valuesJSON(v) != valuesJSON(cur.Layers.Overrides) {
		if _, herr := s.setOverrides(sess.principal(), clientAddr(r), id, v); herr != nil {
			fail(herr)
			return
		}
	}
	http.Redirect(w, r, "/admin/rooms/"+url.PathEscape(id)+"?notice=config#configuration", http.StatusSeeOther)
}

// roomConfigPage is the room page's Configuration section.
type roomConfigPage struct {
	View     roomConfigView
	Rows     []configRow
	Profiles []profileView
	// RoomProfileID is the room's own profile's (0: none).
	RoomProfileID int64
	Form          valuesForm
}

// configRow is one effective field and where it comes from.
type configRow struct {
	Field, Label, Value, From string
}

func (s *Server) roomConfigSection(sess *session, id string) (*roomConfigPage, error) {
	v, err := s.roomConfigView(id)
	if err != nil {
		return nil, err
	}
	cp := &roomConfigPage{View: v, Form: formOfValues(v.Layers.Overrides)}
	if v.Layers.RoomProfile != nil {
		cp.RoomProfileID = v.Layers.RoomProfile.ID
	}
	for _, f := range profile.Fields {
		t, ok := fieldText(v.Effective, f)
		if !ok {
			continue
		}
		from := v.Sources[f]
		switch from {
		case fromGroupProfile:
			from = fmt.Sprintf("group profile %q", v.Layers.GroupProfile.Name)
		case fromRoomProfile:
			from = fmt.Sprintf("room profile %q", v.Layers.RoomProfile.Name)
		}
		cp.Rows = append(cp.Rows, configRow{Field: f, Label: fieldLabels[f], Value: t, From: from})
	}
	if cp.Profiles, err = s.listProfiles(sess.principal()); err != nil {
		return nil, err
	}
	return cp, nil
}
