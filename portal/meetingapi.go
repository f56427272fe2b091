package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/livekit/protocol/livekit"

	"roomkit/internal/textfield"
)

// The meeting endpoints of protocol.md §7.
func (s *Server) meetingRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /api/v1/device/meetings", s.serveMeetNow)
	m.HandleFunc("GET /api/v1/device/meetings", s.serveDeviceMeetings)
	m.HandleFunc("POST /api/v1/device/meetings/{meetingID}/join", s.serveDeviceJoin)
	m.HandleFunc("POST /api/v1/device/meetings/{meetingID}/lock", s.serveLock)
	m.HandleFunc("POST /api/v1/device/meetings/{meetingID}/mute", s.serveMute)
	m.HandleFunc("POST /api/v1/device/meetings/{meetingID}/end", s.serveEnd)

	m.HandleFunc("POST /api/v1/meetings/{meetingID}/join", s.serveGuestJoin)
	m.HandleFunc("POST "+WebhookPath, s.serveLiveKitWebhook)

	m.HandleFunc("GET /api/v1/admin/rooms/{id}/meetings", s.adminAPI(s.apiListMeetings))
	m.HandleFunc("POST /api/v1/admin/rooms/{id}/meetings", s.adminAPI(s.apiScheduleMeeting))
	m.HandleFunc("DELETE /api/v1/admin/meetings/{meetingID}", s.adminAPI(s.apiDeleteMeeting))

	s.joinPageRoutes(m)
	s.meetingsWebRoutes(m)
}

// joinAnswer is what a successful join or Meet Now returns.
type joinAnswer struct {
	URL     string  `json:"url"`
	Token   string  `json:"token"`
	Meeting Meeting `json:"meeting"`
}

type meetingAnswer struct {
	Meeting Meeting `json:"meeting"`
}

type meetingsAnswer struct {
	Meetings []Meeting `json:"meetings"`
}

// findMeeting looks up a typed meeting ID. Unknown IDs count against the
// caller: someone trying IDs one after another is locked out (429) long
// before finding a meeting by chance.
func (s *Server) findMeeting(typed string, keys ...string) (meetingRow, roomConfig, *httpError) {
	now := s.now()
	if wait := s.wrongMeetings.check(now, keys...); wait > 0 {
		return meetingRow{}, roomConfig{}, &httpError{status: http.StatusTooManyRequests, retry: wait,
			msg: fmt.Sprintf("Too many unknown meeting IDs. Wait %s before trying again.", roundWait(wait))}
	}
	id, err := parseMeetingID(typed)
	if err != nil {
		return meetingRow{}, roomConfig{}, errorf(http.StatusBadRequest, "%s", err.Error())
	}
	m, rc, err := s.loadMeeting(id)
	if errors.Is(err, errNotFound) {
		s.wrongMeetings.fail(now, keys...)
		return m, rc, errorf(http.StatusNotFound, "No meeting has the ID %s.", formatMeetingID(id))
	}
	if err != nil {
		s.log.Error("find meeting", "err", err)
		return m, rc, errorf(http.StatusInternalServerError, "Could not look up the meeting because of an internal error.")
	}
	if m.ended {
		return m, rc, errorf(http.StatusGone, "This meeting has ended.")
	}
	return m, rc, nil
}

// admit decides whether a participant may join and mints its token: the
// lock is checked first (the organiser may always join), then the
// participant count, which LiveKit enforces again with MaxParticipants
// for joins that race past this check.
func (s *Server) admit(ctx context.Context, m meetingRow, rc roomConfig, identity, name string) (joinAnswer, *httpError) {
	if s.conf == nil {
		return joinAnswer{}, errorf(http.StatusServiceUnavailable, "Meetings are not set up on this portal: it has no LiveKit server.")
	}
	organiser := identity == m.roomID
	if m.locked && !organiser {
		return joinAnswer{}, errorf(http.StatusForbidden, "This meeting is locked.")
	}
	ctx, cancel := context.WithTimeout(ctx, liveKitTimeout)
	defer cancel()
	n, err := s.conf.open(ctx, m.id)
	if err != nil {
		return joinAnswer{}, s.liveKitFailure(err)
	}
	if n >= maxParticipants {
		return joinAnswer{}, errorf(http.StatusForbidden, "This meeting is full.")
	}
	tok, err := s.meetingToken(m.id, identity, name)
	if err != nil {
		return joinAnswer{}, s.liveKitFailure(err)
	}
	return joinAnswer{URL: s.clientURL(ctx), Token: tok, Meeting: s.meetingJSON(m, rc.TimeZone)}, nil
}

// Guests.

type joinRequest struct {
	Name string `json:"name"`
}

// parseJoinRequest decodes a guest's join body and checks the name, which
// every other participant sees.
func parseJoinRequest(body []byte) (string, *httpError) {
	var req joinRequest
	if err := decodeStrict(body, &req); err != nil {
		return "", errorf(http.StatusBadRequest, "Bad join request: %v", err)
	}
	return checkJoinName(req.Name)
}

func checkJoinName(name string) (string, *httpError) {
	name = strings.TrimSpace(name)
	switch {
	case !utf8.ValidString(name):
		return "", errorf(http.StatusBadRequest, "Your name is not valid text (UTF-8).")
	case name == "":
		return "", errorf(http.StatusBadRequest, "Type your name, so the others know who joined.")
	case utf8.RuneCountInString(name) > maxJoinNameRunes:
		return "", errorf(http.StatusRequestEntityTooLarge, "Your name is longer than %d characters; use a shorter one.", maxJoinNameRunes)
	}
	// Everyone in the meeting sees the name, the kit draws it: one line.
	if err := textfield.Check(name, maxJoinNameRunes); err != nil {
		return "", errorf(http.StatusBadRequest, "Your name %v.", err)
	}
	return name, nil
}

func (s *Server) serveGuestJoin(w http.ResponseWriter, r *http.Request) {
	if herr := s.throttleJoin(clientAddr(r), r.PathValue("meetingID")); herr != nil {
		writeHTTPError(w, herr)
		return
	}
	m, rc, herr := s.findMeeting(r.PathValue("meetingID"), "addr:"+clientAddr(r))
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	name, herr := parseJoinRequest(body)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	ans, herr := s.admit(r.Context(), m, rc, "guest-"+strings.ToLower(randomToken(9)), name)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// Kits.

func (s *Server) serveMeetNow(w http.ResponseWriter, r *http.Request) {
	rc, ok := s.deviceRoom(w, r)
	if !ok {
		return
	}
	if s.conf == nil {
		writeHTTPError(w, errorf(http.StatusServiceUnavailable, "Meetings are not set up on this portal: it has no LiveKit server."))
		return
	}
	m, err := s.createInstant(rc)
	if err != nil {
		writeHTTPError(w, s.storeFailure("start the meeting", err))
		return
	}
	ans, herr := s.admit(r.Context(), m, rc, rc.ID, rc.Name)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	s.log.Info("meet now", "room", rc.ID, "meeting", m.id)
	writeJSON(w, http.StatusCreated, ans)
}

func (s *Server) serveDeviceJoin(w http.ResponseWriter, r *http.Request) {
	rc, ok := s.deviceRoom(w, r)
	if !ok {
		return
	}
	m, mrc, herr := s.findMeeting(r.PathValue("meetingID"), "room:"+rc.ID)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	ans, herr := s.admit(r.Context(), m, mrc, rc.ID, rc.Name)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

func (s *Server) serveDeviceMeetings(w http.ResponseWriter, r *http.Request) {
	rc, ok := s.deviceRoom(w, r)
	if !ok {
		return
	}
	ms, err := s.meetingsToday(rc)
	if err != nil {
		s.log.Error("meetings today", "err", err)
		writeHTTPError(w, errorf(http.StatusInternalServerError, "Could not list the meetings because of an internal error."))
		return
	}
	writeJSON(w, http.StatusOK, meetingsAnswer{ms})
}

// organiserMeeting authenticates the kit and checks it organises the
// meeting named in the path.
func (s *Server) organiserMeeting(w http.ResponseWriter, r *http.Request, what string) (meetingRow, roomConfig, bool) {
	rc, ok := s.deviceRoom(w, r)
	if !ok {
		return meetingRow{}, rc, false
	}
	m, mrc, herr := s.findMeeting(r.PathValue("meetingID"), "room:"+rc.ID)
	if herr == nil && m.roomID != rc.ID {
		herr = errorf(http.StatusForbidden, "Only the meeting's organiser can %s.", what)
	}
	if herr != nil {
		writeHTTPError(w, herr)
		return m, mrc, false
	}
	return m, mrc, true
}

type lockRequest struct {
	Locked *bool `json:"locked"`
}

func (s *Server) serveLock(w http.ResponseWriter, r *http.Request) {
	m, rc, ok := s.organiserMeeting(w, r, "lock it")
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req lockRequest
	if err := decodeStrict(body, &req); err != nil {
		writeHTTPError(w, errorf(http.StatusBadRequest, "Bad lock request: %v", err))
		return
	}
	if req.Locked == nil {
		writeHTTPError(w, errorf(http.StatusBadRequest, `Bad lock request: say {"locked": true} or {"locked": false}.`))
		return
	}
	if err := s.setLocked(m.id, *req.Locked); err != nil {
		s.log.Error("lock meeting", "err", err)
		writeHTTPError(w, errorf(http.StatusInternalServerError, "Could not lock the meeting because of an internal error."))
		return
	}
	m.locked = *req.Locked
	// Nobody is removed; whoever is not in the meeting now stays out.
	s.lockConference(r.Context(), m.id, m.locked)
	s.log.Info("meeting lock", "meeting", m.id, "locked", m.locked)
	writeJSON(w, http.StatusOK, meetingAnswer{s.meetingJSON(m, rc.TimeZone)})
}

// muteRequest names one participant, or everybody but the organiser.
type muteRequest struct {
	Identity string `json:"identity"`
	All      bool   `json:"all"`
}

func parseMuteRequest(body []byte) (muteRequest, *httpError) {
	var req muteRequest
	if err := decodeStrict(body, &req); err != nil {
		return req, errorf(http.StatusBadRequest, "Bad mute request: %v", err)
	}
	if (req.Identity == "") == !req.All {
		return req, errorf(http.StatusBadRequest, `Bad mute request: say {"identity": "…"} or {"all": true}.`)
	}
	if len(req.Identity) > 256 || !utf8.ValidString(req.Identity) {
		return req, errorf(http.StatusBadRequest, "Bad mute request: that is not a participant identity.")
	}
	return req, nil
}

func (s *Server) serveMute(w http.ResponseWriter, r *http.Request) {
	m, _, ok := s.organiserMeeting(w, r, "mute participants")
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	req, herr := parseMuteRequest(body)
	if herr == nil {
		herr = s.mute(r.Context(), m, req)
	}
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// mute mutes the microphones of one participant or of everybody but the
// organiser. Only audio is muted: "mute" in a meeting means the voice.
func (s *Server) mute(ctx context.Context, m meetingRow, req muteRequest) *httpError {
	if s.conf == nil {
		return errorf(http.StatusServiceUnavailable, "Meetings are not set up on this portal: it has no LiveKit server.")
	}
	ctx, cancel := context.WithTimeout(ctx, liveKitTimeout)
	defer cancel()
	ps, err := s.conf.participants(ctx, m.id)
	if err != nil {
		return s.liveKitFailure(err)
	}
	found := false
	for _, p := range ps {
		if req.All && p.Identity == m.roomID || !req.All && p.Identity != req.Identity {
			continue
		}
		found = true
		for _, t := range p.Tracks {
			if t.Type != livekit.TrackType_AUDIO || t.Muted {
				continue
			}
			if err := s.conf.muteTrack(ctx, m.id, p.Identity, t.Sid); err != nil {
				return s.liveKitFailure(err)
			}
		}
	}
	if !req.All && !found {
		return errorf(http.StatusNotFound, "Nobody with the identity %q is in this meeting.", req.Identity)
	}
	return nil
}

// serveEnd ends a meeting for everyone: LiveKit closes its room, which
// disconnects every participant. A Meet Now meeting is over for good
// (later joins get 410); a scheduled one only loses its current room and
// can be started again.
func (s *Server) serveEnd(w http.ResponseWriter, r *http.Request) {
	m, _, ok := s.organiserMeeting(w, r, "end it")
	if !ok {
		return
	}
	if s.conf == nil {
		writeHTTPError(w, errorf(http.StatusServiceUnavailable, "Meetings are not set up on this portal: it has no LiveKit server."))
		return
	}
	// Marked before the room goes, so nobody rejoins in between.
	if m.instant {
		if err := s.markEnded(m.id); err != nil {
			s.log.Error("end meeting", "err", err)
			writeHTTPError(w, errorf(http.StatusInternalServerError, "Could not end the meeting because of an internal error."))
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), liveKitTimeout)
	defer cancel()
	if err := s.conf.end(ctx, m.id); err != nil {
		s.log.Error("LiveKit", "err", err)
		writeHTTPError(w, errorf(http.StatusBadGateway, "The meeting service is not working right now, so the others are still in the meeting. An administrator can find the cause in the portal's log."))
		return
	}
	s.log.Info("meeting ended", "meeting", m.id, "instant", m.instant)
	w.WriteHeader(http.StatusNoContent)
}

// Admins.

func (s *Server) apiListMeetings(w http.ResponseWriter, r *http.Request, tok apiToken) {
	rc, err := s.roomConfigFor(r.PathValue("id"))
	if errors.Is(err, errNotFound) {
		writeHTTPError(w, errorf(http.StatusNotFound, "There is no room with the ID %q.", r.PathValue("id")))
		return
	}
	var rows []meetingRow
	if err == nil {
		rows, err = s.scheduledMeetings(rc)
	}
	if err != nil {
		s.log.Error("list meetings", "err", err)
		writeHTTPError(w, errorf(http.StatusInternalServerError, "Could not list the meetings."))
		return
	}
	out := []Meeting{}
	for _, m := range rows {
		out = append(out, s.meetingJSON(m, rc.TimeZone))
	}
	writeJSON(w, http.StatusOK, meetingsAnswer{out})
}

// parseScheduleRequest decodes the JSON body of a schedule request.
func parseScheduleRequest(body []byte) (scheduleRequest, error) {
	var req scheduleRequest
	err := decodeStrict(body, &req)
	return req, err
}

func (s *Server) apiScheduleMeeting(w http.ResponseWriter, r *http.Request, tok apiToken) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	req, err := parseScheduleRequest(body)
	if err != nil {
		writeHTTPError(w, errorf(http.StatusBadRequest, "Bad meeting: %v", err))
		return
	}
	who := s.apiWho(r, tok)
	m, herr := s.scheduleMeeting(who.actor, who.addr, r.PathValue("id"), req)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusCreated, meetingAnswer{m})
}

func (s *Server) apiDeleteMeeting(w http.ResponseWriter, r *http.Request, tok apiToken) {
	who := s.apiWho(r, tok)
	if herr := s.deleteMeeting(who.actor, who.addr, r.PathValue("meetingID")); herr != nil {
		writeHTTPError(w, herr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// participantsNow lists who is in a meeting for the admin center; errors
// are shown, not fatal.
func (s *Server) participantsNow(id string) ([]*livekit.ParticipantInfo, error) {
	if s.conf == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return s.conf.participants(ctx, id)
}
