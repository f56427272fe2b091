package portal

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// meetingsPage is the admin center's Meetings page of one room.
type meetingsPage struct {
	page
	Room        roomConfig
	Meetings    []meetingLine
	Form        meetingForm
	Recurrences []recurrenceChoice
	LiveKit     bool // whether "in the meeting now" can be shown
}

// meetingLine is one scheduled meeting in the list.
type meetingLine struct {
	ID      string // 9 digits
	Shown   string // 123-456-789
	Title   string
	When    string
	JoinURL string
	Locked  bool
	People  []string // display names of who is in it now
	PeopleE string   // why People could not be listed
}

// meetingForm is the create form, kept when it must be shown again.
type meetingForm struct {
	Title, Date, Start, End, Recurrence string
}

type recurrenceChoice struct {
	Value, Label string
}

var recurrenceChoices = []recurrenceChoice{
	{"", "Once"}, {"daily", "Every day"}, {"weekdays", "Every weekday (Monday to Friday)"}, {"weekly", "Every week"},
}

func (s *Server) meetingsWebRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/rooms/{id}/meetings", s.view(s.serveMeetings))
	m.HandleFunc("POST /admin/rooms/{id}/meetings", s.action(s.serveMeetingsPost))
	m.HandleFunc("POST /admin/meetings/{meetingID}/delete", s.action(s.serveMeetingDeletePost))
}

// describeWhen says when a meeting takes place, in the room's words.
func describeWhen(m meetingRow, loc *time.Location) string {
	start := m.startIn(loc)
	end := start.Add(time.Duration(m.minutes) * time.Minute)
	hours := start.Format("15:04") + "–" + end.Format("15:04")
	from := start.Format("Mon 2 Jan 2006")
	switch m.recurrence {
	case "daily":
		return "Every day, " + hours + ", from " + from
	case "weekdays":
		return "Every weekday, " + hours + ", from " + from
	case "weekly":
		return "Every " + start.Weekday().String() + ", " + hours + ", from " + from
	}
	return from + ", " + hours
}

func (s *Server) meetingsPageFor(w http.ResponseWriter, status int, sess *session, roomID string, form meetingForm, errMsg, notice string) {
	p := meetingsPage{page: s.base(sess, "rooms", "Meetings"), Form: form, Recurrences: recurrenceChoices, LiveKit: s.conf != nil}
	p.Error, p.Notice = errMsg, notice
	rc, err := s.roomConfigFor(roomID)
	if errors.Is(err, errNotFound) {
		p.Error = "There is no such room. It may have been unpaired."
		s.render(w, http.StatusNotFound, "error", p.page)
		return
	}
	var rows []meetingRow
	if err == nil {
		rows, err = s.scheduledMeetings(rc)
	}
	if err != nil {
		s.log.Error("meetings page", "err", err)
		p.Error = "Could not list the meetings."
		s.render(w, http.StatusInternalServerError, "error", p.page)
		return
	}
	p.Room = rc
	p.Title = "Meetings of " + rc.Name
	loc := roomLocation(rc.TimeZone)
	for _, m := range rows {
		line := meetingLine{ID: m.id, Shown: formatMeetingID(m.id), Title: m.title, When: describeWhen(m, loc),
			JoinURL: s.url + "/join/" + formatMeetingID(m.id), Locked: m.locked}
		if p.LiveKit {
			ps, err := s.participantsNow(m.id)
			if err != nil {
				line.PeopleE = "unknown: the meeting service does not answer"
			}
			for _, pi := range ps {
				name := pi.Name
				if name == "" {
					name = pi.Identity
				}
				line.People = append(line.People, name)
			}
		}
		p.Meetings = append(p.Meetings, line)
	}
	if p.Form.Date == "" {
		p.Form.Date = s.now().In(loc).Format("2006-01-02")
	}
	s.render(w, status, "meetings", p)
}

func (s *Server) serveMeetings(w http.ResponseWriter, r *http.Request, sess *session) {
	notice := ""
	q := r.URL.Query()
	switch q.Get("notice") {
	case "created":
		if id, err := parseMeetingID(q.Get("meeting")); err == nil {
			notice = fmt.Sprintf("The meeting %s was scheduled. The room lists it on its home screen on the day.", formatMeetingID(id))
		}
	case "deleted":
		notice = "The meeting was deleted. Its ID no longer works."
	}
	s.meetingsPageFor(w, http.StatusOK, sess, r.PathValue("id"), meetingForm{}, "", notice)
}

func (s *Server) serveMeetingsPost(w http.ResponseWriter, r *http.Request, sess *session) {
	f := r.PostForm
	form := meetingForm{Title: f.Get("title"), Date: f.Get("date"), Start: f.Get("start"), End: f.Get("end"), Recurrence: f.Get("recurrence")}
	req := scheduleRequest{Title: form.Title, Recurrence: form.Recurrence,
		Start: strings.TrimSpace(form.Date) + "T" + strings.TrimSpace(form.Start),
		End:   strings.TrimSpace(form.Date) + "T" + strings.TrimSpace(form.End)}
	roomID := r.PathValue("id")
	m, herr := s.scheduleMeeting(sess.email, clientAddr(r), roomID, req)
	if herr != nil {
		s.meetingsPageFor(w, herr.status, sess, roomID, form, herr.msg, "")
		return
	}
	http.Redirect(w, r, "/admin/rooms/"+url.PathEscape(roomID)+"/meetings?notice=created&meeting="+m.ID, http.StatusSeeOther)
}

func (s *Server) serveMeetingDeletePost(w http.ResponseWriter, r *http.Request, sess *session) {
	roomID := r.PostForm.Get("room")
	if herr := s.deleteMeeting(sess.email, clientAddr(r), r.PathValue("meetingID")); herr != nil {
		s.meetingsPageFor(w, herr.status, sess, roomID, meetingForm{}, herr.msg, "")
		return
	}
	http.Redirect(w, r, "/admin/rooms/"+url.PathEscape(roomID)+"/meetings?notice=deleted", http.StatusSeeOther)
}
