package portal

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"roomkit/internal/textfield"
)

// Meeting is a meeting as the APIs show it (protocol.md §7). Start and End
// are RFC 3339 times in the room's time zone; for a recurring meeting they
// are its first occurrence, except in a kit's list of today's meetings,
// where they are today's.
type Meeting struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	JoinURL    string `json:"join_url"`
	Locked     bool   `json:"locked"`
	Organizer  string `json:"organizer"` // the room's ID
	Start      string `json:"start"`
	End        string `json:"end"`
	Recurrence string `json:"recurrence"` // "", "daily", "weekdays" or "weekly"
}

// Limits from protocol.md §7 and the product brief.
const (
	maxParticipants   = 25
	maxJoinNameRunes  = 64
	maxTitleRunes     = 100
	maxMeetingMinutes = 24 * 60
	// instantMinutes is the nominal length of a Meet Now meeting: it has
	// no end, but the APIs always give one.
	instantMinutes = 60
	// meetingKeep is how long a Meet Now meeting, or a one-off meeting
	// after its end, stays joinable before the janitor deletes it.
	// Recurring meetings stay until deleted.
	meetingKeep = 24 * time.Hour
	// localLayout is how a meeting's start is stored: wall-clock time in
	// the room's time zone, so that a recurring 09:30 stays 09:30 across
	// daylight saving changes (and follows the room if it moves zone).
	localLayout = "2006-01-02T15:04"
)

// Recurrences an admin may choose.
var recurrences = []string{"", "daily", "weekdays", "weekly"}

// meetingRow is a meeting as stored.
type meetingRow struct {
	id         string
	roomID     string
	title      string
	instant    bool
	startLocal string // localLayout, in the room's time zone
	minutes    int
	recurrence string
	locked     bool
	ended      bool // an instant meeting its organiser ended for everyone
	created    time.Time
}

// Meeting IDs: 9 random digits, the first not 0 (9·10^8 IDs).

var errMeetingIDSyntax = errors.New("That is not a meeting ID: it has 9 digits, like 123-456-789.")

// parseMeetingID accepts "123456789" and "123-456-789" and returns the
// 9 digits. A well-formed ID starting with 0 is returned too: no meeting
// has it, and the caller says so (404) rather than calling it malformed.
func parseMeetingID(s string) (string, error) {
	if len(s) == 11 && s[3] == '-' && s[7] == '-' {
		s = s[:3] + s[4:7] + s[8:]
	}
	if len(s) != 9 {
		return "", errMeetingIDSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", errMeetingIDSyntax
		}
	}
	return s, nil
}

// formatMeetingID shows an ID the way people read it: 123-456-789.
func formatMeetingID(id string) string {
	if len(id) != 9 {
		return id
	}
	return id[:3] + "-" + id[3:6] + "-" + id[6:]
}

// newMeetingID draws an ID uniformly from 100000000..999999999 with
// crypto/rand: IDs must not be guessable from each other.
func newMeetingID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(900_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return fmt.Sprint(100_000_000 + n.Int64())
}

// roomLocation loads a room's time zone; a zone the host no longer knows
// falls back to UTC rather than hiding the room's meetings.
func roomLocation(tz string) *time.Location {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

// meetNowTitle names an instant meeting by its date and time, the way an
// instant meeting's recording is named.
func meetNowTitle(now time.Time, loc *time.Location) string {
	return now.In(loc).Format("2006-01-02 15:04") + " Meet Now"
}

// startIn returns the meeting's first start in loc.
func (m meetingRow) startIn(loc *time.Location) time.Time {
	t, err := time.ParseInLocation(localLayout, m.startLocal, loc)
	if err != nil {
		return m.created.In(loc)
	}
	return t
}

// occurrenceOn returns the meeting's start on the given day (in loc), if
// it takes place that day.
func (m meetingRow) occurrenceOn(day time.Time, loc *time.Location) (time.Time, bool) {
	first := m.startIn(loc)
	y, mo, d := day.In(loc).Date()
	date := time.Date(y, mo, d, 0, 0, 0, 0, loc)
	fy, fm, fd := first.Date()
	firstDate := time.Date(fy, fm, fd, 0, 0, 0, 0, loc)
	if date.Before(firstDate) {
		return time.Time{}, false
	}
	switch m.recurrence {
	case "":
		if !date.Equal(firstDate) {
			return time.Time{}, false
		}
	case "daily":
	case "weekdays":
		if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return time.Time{}, false
		}
	case "weekly":
		if date.Weekday() != firstDate.Weekday() {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	// time.Date normalises a wall time that a DST change skips.
	return time.Date(y, mo, d, first.Hour(), first.Minute(), 0, 0, loc), true
}

// view turns a stored meeting into its API form, starting at start.
func (s *Server) meetingView(m meetingRow, start time.Time) Meeting {
	return Meeting{
		ID:         m.id,
		Title:      m.title,
		JoinURL:    s.url + "/join/" + formatMeetingID(m.id),
		Locked:     m.locked,
		Organizer:  m.roomID,
		Start:      start.Format(time.RFC3339),
		End:        start.Add(time.Duration(m.minutes) * time.Minute).Format(time.RFC3339),
		Recurrence: m.recurrence,
	}
}

// meetingJSON is the API form of m at its first start.
func (s *Server) meetingJSON(m meetingRow, tz string) Meeting {
	return s.meetingView(m, m.startIn(roomLocation(tz)))
}

const (
	meetingColumns = "id, room_id, title, instant, start_local, minutes, recurrence, locked, ended, created"
	// meetingColumnsM is meetingColumns in a query that joins rooms.
	meetingColumnsM = "m.id, m.room_id, m.title, m.instant, m.start_local, m.minutes, m.recurrence, m.locked, m.ended, m.created"
)

// scanMeeting scans meetingColumns, then any extra columns into extra.
func scanMeeting(sc interface{ Scan(...any) error }, extra ...any) (meetingRow, error) {
	var m meetingRow
	var created int64
	dest := append([]any{&m.id, &m.roomID, &m.title, &m.instant, &m.startLocal, &m.minutes, &m.recurrence, &m.locked, &m.ended, &created}, extra...)
	err := sc.Scan(dest...)
	m.created = time.Unix(created, 0)
	return m, err
}

// loadMeeting finds a meeting and its room's name and time zone. Expired
// meetings the janitor has not deleted yet count as gone.
func (s *Server) loadMeeting(id string) (meetingRow, roomConfig, error) {
	var rc roomConfig
	row := s.db.QueryRow("SELECT "+meetingColumnsM+", r.name, r.location, r.time_zone"+
		" FROM meetings m JOIN rooms r ON r.id = m.room_id WHERE m.id = ?", id)
	m, err := scanMeeting(row, &rc.Name, &rc.Location, &rc.TimeZone)
	if errors.Is(err, sql.ErrNoRows) {
		return m, rc, errNotFound
	}
	if err != nil {
		return m, rc, fmt.Errorf("load meeting %s: %w", id, err)
	}
	rc.ID = m.roomID
	if s.expired(m, roomLocation(rc.TimeZone)) {
		return m, rc, errNotFound
	}
	return m, rc, nil
}

// expired says whether a meeting is past the point where it can be joined.
func (s *Server) expired(m meetingRow, loc *time.Location) bool {
	now := s.now()
	switch {
	case m.instant:
		return now.Sub(m.created) > meetingKeep
	case m.recurrence == "":
		end := m.startIn(loc).Add(time.Duration(m.minutes) * time.Minute)
		return now.Sub(end) > meetingKeep
	}
	return false
}

// insertMeeting stores m under a fresh ID, drawing again on the rare
// collision.
func (s *Server) insertMeeting(m meetingRow) (meetingRow, error) {
	for range 5 {
		m.id = newMeetingID()
		res, err := s.db.Exec("INSERT INTO meetings ("+meetingColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
			m.id, m.roomID, m.title, m.instant, m.startLocal, m.minutes, m.recurrence, m.locked, m.ended, m.created.Unix())
		if err != nil {
			return m, fmt.Errorf("store meeting: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return m, nil
		}
	}
	return m, errors.New("store meeting: no free meeting ID after 5 draws")
}

// createInstant makes a Meet Now meeting organised by the room.
func (s *Server) createInstant(rc roomConfig) (meetingRow, error) {
	now := s.now()
	loc := roomLocation(rc.TimeZone)
	return s.insertMeeting(meetingRow{
		roomID:     rc.ID,
		title:      meetNowTitle(now, loc),
		instant:    true,
		startLocal: now.In(loc).Format(localLayout),
		minutes:    instantMinutes,
		created:    now,
	})
}

// scheduleRequest is the body of POST /api/v1/admin/rooms/{id}/meetings and
// the admin center's form. Start is the room's local time
// ("2026-11-23T09:30") or RFC 3339 with an offset; End likewise, or
// Minutes.
type scheduleRequest struct {
	Title      string `json:"title"`
	Start      string `json:"start"`
	End        string `json:"end"`
	Minutes    int    `json:"minutes"`
	Recurrence string `json:"recurrence"`
}

// checkSchedule validates a schedule request for a room in loc.
func checkSchedule(req scheduleRequest, loc *time.Location) (meetingRow, *httpError) {
	var m meetingRow
	m.title = strings.TrimSpace(req.Title)
	switch {
	case m.title == "":
		return m, errorf(http.StatusBadRequest, "Give the meeting a title, for example \"Weekly sync\".")
	}
	// The title is drawn on the kit's screen: one line of text, like names.
	if err := textfield.Check(m.title, maxTitleRunes); err != nil {
		return m, errorf(http.StatusBadRequest, "The meeting title %v.", err)
	}
	start, err := parseLocalTime(req.Start, loc)
	if err != nil {
		return m, errorf(http.StatusBadRequest, "The start %q is not a time: use 2026-11-23T09:30 (the room's local time).", req.Start)
	}
	minutes := req.Minutes
	if req.End != "" {
		end, err := parseLocalTime(req.End, loc)
		if err != nil {
			return m, errorf(http.StatusBadRequest, "The end %q is not a time: use 2026-11-23T10:00 (the room's local time).", req.End)
		}
		if req.Minutes != 0 {
			return m, errorf(http.StatusBadRequest, "Give either an end or minutes, not both.")
		}
		minutes = int(end.Sub(start) / time.Minute)
	}
	switch {
	case minutes <= 0:
		return m, errorf(http.StatusBadRequest, "The meeting must end after it starts.")
	case minutes > maxMeetingMinutes:
		return m, errorf(http.StatusBadRequest, "A meeting can last at most 24 hours.")
	}
	ok := false
	for _, r := range recurrences {
		ok = ok || req.Recurrence == r
	}
	if !ok {
		return m, errorf(http.StatusBadRequest, "Recurrence %q is not one of: none (\"\"), daily, weekdays, weekly.", req.Recurrence)
	}
	m.startLocal = start.Format(localLayout)
	m.minutes = minutes
	m.recurrence = req.Recurrence
	return m, nil
}

// parseLocalTime reads a wall-clock time in loc, or an RFC 3339 time
// converted to loc.
func parseLocalTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range []string{localLayout, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

// scheduleMeeting creates a scheduled meeting for a room.
func (s *Server) scheduleMeeting(actor, addr, roomID string, req scheduleRequest) (Meeting, *httpError) {
	rc, err := s.roomConfigFor(roomID)
	if errors.Is(err, errNotFound) {
		return Meeting{}, errorf(http.StatusNotFound, "There is no room with the ID %q.", roomID)
	}
	if err != nil {
		return Meeting{}, s.storeFailure("look up the room", err)
	}
	m, herr := checkSchedule(req, roomLocation(rc.TimeZone))
	if herr != nil {
		return Meeting{}, herr
	}
	m.roomID = rc.ID
	m.created = s.now()
	m, err = s.insertMeeting(m)
	if err != nil {
		return Meeting{}, s.storeFailure("create the meeting", err)
	}
	s.audit(actor, "schedule meeting", fmt.Sprintf("%s %q for %q (%s)", formatMeetingID(m.id), m.title, rc.Name, rc.ID), addr)
	return s.meetingJSON(m, rc.TimeZone), nil
}

// scheduledMeetings lists a room's scheduled (not instant) meetings that
// can still take place, soonest first.
func (s *Server) scheduledMeetings(rc roomConfig) ([]meetingRow, error) {
	rows, err := s.db.Query("SELECT "+meetingColumns+" FROM meetings WHERE room_id = ? AND instant = 0 ORDER BY start_local, id", rc.ID)
	if err != nil {
		return nil, fmt.Errorf("list meetings: %w", err)
	}
	defer rows.Close()
	loc := roomLocation(rc.TimeZone)
	var out []meetingRow
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			return nil, fmt.Errorf("list meetings: %w", err)
		}
		if !s.expired(m, loc) {
			out = append(out, m)
		}
	}
	return out, rows.Err()
}

// meetingsToday expands a room's scheduled meetings for today in the
// room's time zone, recurring ones included, in order of their start.
func (s *Server) meetingsToday(rc roomConfig) ([]Meeting, error) {
	all, err := s.scheduledMeetings(rc)
	if err != nil {
		return nil, err
	}
	loc := roomLocation(rc.TimeZone)
	today := s.now().In(loc)
	type occ struct {
		m     meetingRow
		start time.Time
	}
	var occs []occ
	for _, m := range all {
		if start, ok := m.occurrenceOn(today, loc); ok {
			occs = append(occs, occ{m, start})
		}
	}
	// Insertion sort: a room has a handful of meetings a day.
	for i := 1; i < len(occs); i++ {
		for j := i; j > 0 && occs[j].start.Before(occs[j-1].start); j-- {
			occs[j], occs[j-1] = occs[j-1], occs[j]
		}
	}
	out := []Meeting{}
	for _, o := range occs {
		out = append(out, s.meetingView(o.m, o.start))
	}
	return out, nil
}

// deleteMeeting removes a meeting; whoever is in it is disconnected.
func (s *Server) deleteMeeting(actor, addr, typed string) *httpError {
	id, err := parseMeetingID(typed)
	if err != nil {
		return errorf(http.StatusBadRequest, "%s", err.Error())
	}
	var title, roomID string
	err = s.db.QueryRow("DELETE FROM meetings WHERE id = ? RETURNING title, room_id", id).Scan(&title, &roomID)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(http.StatusNotFound, "No meeting has the ID %s.", formatMeetingID(id))
	}
	if err != nil {
		return s.storeFailure("delete the meeting", err)
	}
	s.endConference(id)
	s.audit(actor, "delete meeting", fmt.Sprintf("%s %q of %s", formatMeetingID(id), title, roomID), addr)
	return nil
}

// markEnded records that the instant meeting id was ended for everyone; the
// janitor deletes it as before.
func (s *Server) markEnded(id string) error {
	if _, err := s.db.Exec("UPDATE meetings SET ended = 1 WHERE id = ? AND instant <> 0", id); err != nil {
		return fmt.Errorf("end meeting %s: %w", id, err)
	}
	return nil
}

// setLocked locks or unlocks a meeting.
func (s *Server) setLocked(id string, locked bool) error {
	if _, err := s.db.Exec("UPDATE meetings SET locked = ? WHERE id = ?", locked, id); err != nil {
		return fmt.Errorf("lock meeting %s: %w", id, err)
	}
	return nil
}

// sweepMeetings deletes Meet Now meetings and one-off meetings that can no
// longer be joined.
func (s *Server) sweepMeetings() error {
	rows, err := s.db.Query("SELECT " + meetingColumnsM + ", r.time_zone FROM meetings m JOIN rooms r ON r.id = m.room_id WHERE m.recurrence = ''")
	if err != nil {
		return fmt.Errorf("sweep meetings: %w", err)
	}
	var gone []string
	for rows.Next() {
		var tz string
		m, err := scanMeeting(rows, &tz)
		if err != nil {
			rows.Close()
			return fmt.Errorf("sweep meetings: %w", err)
		}
		if s.expired(m, roomLocation(tz)) {
			gone = append(gone, m.id)
		}
	}
	rows.Close()
	for _, id := range gone {
		if _, err := s.db.Exec("DELETE FROM meetings WHERE id = ?", id); err != nil {
			return fmt.Errorf("sweep meetings: %w", err)
		}
		// A meeting that can no longer be joined must not go on at
		// LiveKit either (a Meet Now left running for a day).
		s.endConference(id)
	}
	return nil
}
