package portal

// The room page (/admin/rooms/{id}) and the admin API's view of one room
// (GET /api/v1/admin/rooms/{id}): the room with its health tree as last
// reported, devices, version and update state, what the portal saw of
// its kit (address, latency, uptime, the meeting it is in), the remote
// actions asked of it and its recent events.
//
// Times: the page writes each as <time datetime="…UTC…">, in the
// admin's time zone (timezone.go), named. An admin who chose none gets
// UTC, and a small script (static/localtime.js) shows the times in the
// browser's time zone, which the page names; without the script they
// stay UTC and say so.

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"roomkit/portalapi"
)

//go:embed templates/room/page.html
var roomFS embed.FS

// roomTemplate is the room page with the shared layout; it has funcs of
// its own, so it is not among pages (templates/*.html).
var roomTemplate = template.Must(template.Must(template.New("layout.html").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"uptime": func(s int64) string {
		return shortDuration(time.Duration(s) * time.Second)
	},
}).ParseFS(webFS, "templates/layout.html")).ParseFS(roomFS, "templates/room/page.html"))

// roomDetail is one room, all the portal knows of it.
type roomDetail struct {
	Room
	// UptimeSeconds, Network and Meeting are what the kit's last
	// heartbeat said: on replicas as stored with it, on a single SQLite
	// portal while it has heard the kit since it started; null
	// otherwise, and Meeting while no meeting runs.
	UptimeSeconds *int64       `json:"uptime_seconds"`
	Network       *roomNetwork `json:"network"`
	Meeting       *kitMeeting  `json:"meeting"`
	// Actions are the remote actions asked of the room, newest first.
	Actions []actionView `json:"actions"`
	// Events are what happened to the room, newest first.
	Events []roomEventView `json:"events"`
}

// roomNetwork is the kit as the portal saw it.
type roomNetwork struct {
	Address   string `json:"address"`    // the heartbeat's source address (behind a trusted proxy: the forwarded one)
	LatencyMS *int64 `json:"latency_ms"` // the kit's last heartbeat round trip; null from kits that do not measure it
}

// roomEventView is one line of the room's history.
type roomEventView struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // paired, offline, device, restart, action, update
	Text string    `json:"text"`
}

const maxEvents = 25

// roomDetailFor reads room id; ok is false when there is none.
func (s *Server) roomDetailFor(id string) (d roomDetail, ok bool, err error) {
	rooms, err := s.queryRooms("WHERE id = ?", id)
	if err != nil || len(rooms) == 0 {
		return d, false, err
	}
	d.Room = rooms[0]
	link, linked, err := s.kitLinkOf(id)
	if err != nil {
		return d, false, err
	}
	if linked {
		up := link.Uptime
		d.UptimeSeconds = &up
		d.Network = &roomNetwork{Address: link.Addr}
		if link.LatencyMS > 0 {
			l := link.LatencyMS
			d.Network.LatencyMS = &l
		}
		if d.Online && link.Meeting != nil {
			m := *link.Meeting
			d.Meeting = &m
		}
	}
	if d.Actions, err = s.roomActions("WHERE room_id = ?", id); err != nil {
		return d, false, err
	}
	if d.Events, err = s.roomEvents(d.Room); err != nil {
		return d, false, err
	}
	return d, true, nil
}

// kitLinkOf is what room id's kit's last heartbeat said of its link:
// on replicas as stored with it, whichever replica it reached; on
// SQLite as this portal saw it since it started.
func (s *Server) kitLinkOf(id string) (kitLink, bool, error) {
	if !s.shared() {
		s.acts.mu.Lock()
		defer s.acts.mu.Unlock()
		link, ok := s.acts.links[id]
		return link, ok, nil
	}
	var col string
	var uptime, at int64
	err := s.db.QueryRow("SELECT link, uptime, last_seen FROM rooms WHERE id = ?", id).Scan(&col, &uptime, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return kitLink{}, false, nil // unpaired meanwhile
	}
	if err != nil {
		return kitLink{}, false, fmt.Errorf("read the link of room %s: %w", id, err)
	}
	if l := storedLink(col, uptime, time.UnixMilli(at)); l != nil {
		return *l, true, nil
	}
	return kitLink{}, false, nil
}

// roomEvents merges the room's events, its update events and its
// pairing, newest first.
func (s *Server) roomEvents(rm Room) ([]roomEventView, error) {
	var out []roomEventView
	rows, err := s.db.Query("SELECT at, kind, detail FROM room_events WHERE room_id = ? ORDER BY at DESC, id DESC LIMIT ?", rm.ID, maxEvents)
	if err != nil {
		return nil, fmt.Errorf("read room events: %w", err)
	}
	for rows.Next() {
		var e roomEventView
		var at int64
		if err := rows.Scan(&at, &e.Kind, &e.Text); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read room events: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read room events: %w", err)
	}
	rows, err = s.db.Query(`SELECT at, version, state, error FROM update_events WHERE room_id = ?
		AND state IN ('installing', 'healthy', 'failed', 'rolled-back') ORDER BY at DESC, id DESC LIMIT ?`, rm.ID, maxEvents)
	if err != nil {
		return nil, fmt.Errorf("read update events: %w", err)
	}
	for rows.Next() {
		var at int64
		var version, state, errText string
		if err := rows.Scan(&at, &version, &state, &errText); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read update events: %w", err)
		}
		e := roomEventView{At: time.UnixMilli(at).UTC(), Kind: "update"}
		switch state {
		case "installing":
			e.Text = "Installing " + version
		case "healthy":
			e.Text = "Updated to " + version
		case "rolled-back":
			e.Text = version + " rolled back" + withReason(errText)
		default:
			e.Text = "Update to " + version + " failed" + withReason(errText)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read update events: %w", err)
	}
	var created int64
	if err := s.db.QueryRow("SELECT created FROM rooms WHERE id = ?", rm.ID).Scan(&created); err == nil {
		out = append(out, roomEventView{At: time.Unix(created, 0).UTC(), Kind: "paired", Text: fmt.Sprintf("Paired as %q", rm.Name)})
	}
	if !rm.Online && rm.LastSeen != nil {
		out = append(out, roomEventView{At: rm.LastSeen.Add(onlineWindow).UTC(), Kind: "offline", Text: "Went offline: no heartbeat for 45 seconds"})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if len(out) > maxEvents {
		out = out[:maxEvents]
	}
	return out, nil
}

// apiGetRoom serves GET /api/v1/admin/rooms/{id}.
func (s *Server) apiGetRoom(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id := r.PathValue("id")
	d, ok, err := s.roomDetailFor(id)
	if err != nil {
		s.log.Error("get room", "room", id, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiErrorBody{"Could not read the room."})
		return
	}
	if !ok {
		writeHTTPError(w, errorf(http.StatusNotFound, "There is no room with the ID %q.", id))
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// roomPage is the room page's data: the layout's page and the room.
type roomPage struct {
	page
	D    roomDetail
	Logs *roomLogs
	// Config is the room's configuration section (profiles).
	Config *roomConfigPage
}

// Pending says whether an action waits for the kit: the page then
// refreshes itself.
func (p roomPage) Pending() bool {
	for _, a := range p.D.Actions {
		if a.Status == actionPending || a.Status == actionDelivered {
			return true
		}
	}
	return false
}

// DeviceState is a device's state in words.
func (roomPage) DeviceState(d Device) string {
	switch {
	case !d.Present && d.Error != "":
		return "missing: " + d.Error
	case !d.Present:
		return "missing"
	case d.Error != "":
		return "fault: " + d.Error
	}
	return "working"
}

func (s *Server) serveRoomPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	p := roomPage{page: s.base(sess, "rooms", "Room")}
	d, ok, err := s.roomDetailFor(id)
	switch {
	case err != nil:
		s.log.Error("room page", "room", id, "err", err)
		p.Error = "Could not read the room."
		s.render(w, http.StatusInternalServerError, "error", p.page)
		return
	case !ok:
		p.Error = "There is no such room. It may have been unpaired."
		s.render(w, http.StatusNotFound, "error", p.page)
		return
	}
	p.D, p.Title = d, d.Name
	if p.Logs, err = s.latestLogs(id); err != nil {
		s.log.Error("room page", "room", id, "err", err)
	}
	if p.Config, err = s.roomConfigSection(sess, id); err != nil {
		s.log.Error("room page", "room", id, "err", err)
	}
	p.Refresh = p.Pending()
	if r.URL.Query().Get("notice") == "config" {
		p.Notice = "The configuration was saved. The kit gets it with its next heartbeat; this section shows when it applied it."
	}
	if k := r.URL.Query().Get("notice"); k != "" {
		if what, ok := actionKinds[k]; ok {
			p.Notice = fmt.Sprintf("Asked %q to %s. The kit hears of it with its next heartbeat; this page shows when it is done.", d.Name, what)
		}
	}
	s.renderRoom(w, p)
}

// renderRoom is render for the room page: its CSP lets the page's own
// script (localtime.js) run, nothing else.
func (s *Server) renderRoom(w http.ResponseWriter, p roomPage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(http.StatusOK)
	set, _ := s.templatesFor(p.Zone)
	if err := set.room.Execute(w, p); err != nil {
		s.log.Error("render page", "page", "room", "err", err)
	}
}

// serveRoomActionPost is the room page's action buttons.
func (s *Server) serveRoomActionPost(w http.ResponseWriter, r *http.Request, sess *session) {
	id, kind := r.PathValue("id"), r.PathValue("kind")
	force := r.PostForm.Get("even_during_meeting") == "on"
	if _, herr := s.requestAction(sess.email, clientAddr(r), id, kind, force); herr != nil {
		p := s.base(sess, "rooms", "Room")
		p.Error = herr.msg
		s.render(w, herr.status, "error", p)
		return
	}
	http.Redirect(w, r, "/admin/rooms/"+id+"?notice="+kind, http.StatusSeeOther)
}

// actionBody is the optional body of POST …/restart and …/reboot.
type actionBody struct {
	EvenDuringMeeting bool `json:"even_during_meeting"`
}

// apiRoomAction serves POST /api/v1/admin/rooms/{id}/{restart|reboot|identify}.
func (s *Server) apiRoomAction(kind string) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, tok apiToken) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		var b actionBody
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := decodeStrict(body, &b); err != nil {
				writeJSON(w, http.StatusBadRequest, apiErrorBody{"Bad request: " + err.Error()})
				return
			}
		}
		who := s.apiWho(r, tok)
		a, herr := s.requestAction(who.actor, who.addr, r.PathValue("id"), kind, b.EvenDuringMeeting)
		if herr != nil {
			writeHTTPError(w, herr)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]actionView{"action": a})
	}
}

// apiRoomLogs serves GET /api/v1/admin/rooms/{id}/logs: 200 with the
// lines the kit uploaded, or 202 with the request it has yet to answer.
func (s *Server) apiRoomLogs(w http.ResponseWriter, r *http.Request, tok apiToken) {
	who := s.apiWho(r, tok)
	logs, req, herr := s.roomLogsOrRequest(who.actor, who.addr, r.PathValue("id"))
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	if logs != nil {
		writeJSON(w, http.StatusOK, logs)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]actionView{"action": *req})
}

// actionRoutes are the remote actions' routes and the room page.
func (s *Server) actionRoutes(m *http.ServeMux) {
	// Literal patterns: TestRouteRules reads them from the source.
	m.HandleFunc("POST /api/v1/device/logs", s.serveLogsUpload) // portalapi.LogsPath
	m.HandleFunc("POST /api/v1/admin/rooms/{id}/restart", s.adminAPI(s.apiRoomAction(portalapi.ActionRestart)))
	m.HandleFunc("POST /api/v1/admin/rooms/{id}/reboot", s.adminAPI(s.apiRoomAction(portalapi.ActionReboot)))
	m.HandleFunc("POST /api/v1/admin/rooms/{id}/identify", s.adminAPI(s.apiRoomAction(portalapi.ActionIdentify)))
	m.HandleFunc("GET /api/v1/admin/rooms/{id}/logs", s.adminAPI(s.apiRoomLogs))
	m.HandleFunc("POST /api/v1/admin/rooms/{id}/logs", s.adminAPI(s.apiRoomAction(portalapi.ActionLogs)))
	m.HandleFunc("GET /admin/rooms/{id}", s.view(s.serveRoomPage))
	m.HandleFunc("POST /admin/rooms/{id}/actions/{kind}", s.action(s.serveRoomActionPost))
}
