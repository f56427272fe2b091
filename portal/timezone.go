package portal

// An administrator's time zone (issue 14). The admin center writes its
// times — the room page's events, actions and health, the audit log,
// alerts, the other pages' dates — in the zone the administrator chose on
// their account page, each with the zone's abbreviation ("2026-11-02
// 09:14:00 CET"), so that two times either side of a DST change, or the
// repeated hour in autumn, are told apart.
//
// No choice is the default (""): the server writes UTC and says so, and
// the room page's script (static/localtime.js) shows its times in the
// browser's zone, as before the setting existed. The setting is for
// whoever works from a machine whose zone is not theirs (a jump host, a
// laptop kept on UTC) and for the pages without a script, the audit log
// above all, whose filter then reads its times in the same zone.
//
// The API is not affected: it answers RFC 3339 in UTC.

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxZoneLen bounds a time zone's name (the longest IANA name has 32).
const maxZoneLen = 64

// checkTimeZone reads a time zone an administrator typed: "" is no
// choice (UTC on the server, the browser's zone on the room page). The
// error is a sentence for the admin.
func checkTimeZone(name string) (string, *time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", time.UTC, nil
	}
	bad := fmt.Errorf("%q is not a time zone. Use a name like Europe/Zurich or UTC, or leave it empty for your browser's.", name)
	// LoadLocation also accepts "Local" and paths; only IANA names are meant.
	if len(name) > maxZoneLen || name == "Local" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return "", nil, bad
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return "", nil, bad
	}
	return name, loc, nil
}

// whenIn formats a time for the admin center in loc, naming the zone by
// its abbreviation (CET, CEST, EST; "+04" where the zone has none).
func whenIn(loc *time.Location) func(time.Time) string {
	return func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 MST") }
}

// templateSet is the admin center's templates with "when" bound to one
// time zone.
type templateSet struct {
	pages map[string]*template.Template
	room  *template.Template
}

// zonedTemplates holds a template set per time zone in use, cloned from
// the parsed masters (pages, roomTemplate). html/template refuses to
// clone a template that has run, so the masters never run: every page
// is rendered from a clone. The cache grows to at most the number of
// zones administrators chose (names are checked against the zone
// database before they are stored).
type zonedTemplates struct {
	mu   sync.Mutex
	sets map[string]*templateSet
}

var templates = &zonedTemplates{sets: map[string]*templateSet{}}

// utcTemplates is the default set, made at start so that a page can
// always be rendered.
var utcTemplates = func() *templateSet {
	set, err := cloneTemplates(time.UTC)
	if err != nil {
		panic(err)
	}
	return set
}()

func cloneTemplates(loc *time.Location) (*templateSet, error) {
	funcs := template.FuncMap{"when": whenIn(loc)}
	set := &templateSet{pages: map[string]*template.Template{}}
	for name, master := range pages {
		t, err := master.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone the %s page: %w", name, err)
		}
		set.pages[name] = t.Funcs(funcs)
	}
	t, err := roomTemplate.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone the room page: %w", err)
	}
	set.room = t.Funcs(funcs)
	return set, nil
}

// templatesFor is the template set of the zone named zone ("": UTC). A
// zone that no longer loads falls back to UTC: the page is shown, in UTC,
// which it says.
func (s *Server) templatesFor(zone string) (*templateSet, string) {
	if zone == "" || zone == "UTC" {
		return utcTemplates, "UTC"
	}
	templates.mu.Lock()
	defer templates.mu.Unlock()
	if set, ok := templates.sets[zone]; ok {
		return set, zone
	}
	_, loc, err := checkTimeZone(zone)
	var set *templateSet
	if err == nil {
		set, err = cloneTemplates(loc)
	}
	if err != nil {
		s.log.Error("admin time zone; showing UTC", "zone", zone, "err", err)
		return utcTemplates, "UTC"
	}
	templates.sets[zone] = set
	return set, zone
}

// zoneLocation is the location of a stored zone name; UTC for none, or
// for one that no longer loads.
func (s *Server) zoneLocation(zone string) *time.Location {
	if _, loc, err := checkTimeZone(zone); err == nil {
		return loc
	}
	return time.UTC
}

// zoned is a page that knows the signed-in administrator's time zone.
type zoned interface{ zoneName() string }

func (p page) zoneName() string { return p.Zone }

// ZoneName names the zone the page's times are in.
func (p page) ZoneName() string {
	if p.Zone == "" {
		return "UTC"
	}
	return p.Zone
}

// ZoneChoices are the zones the account page's field suggests; any IANA
// name is accepted.
func (page) ZoneChoices() []string { return commonTimeZones }

// serveTimeZonePost sets the signed-in administrator's time zone ("":
// none, the default).
func (s *Server) serveTimeZonePost(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "account", "Your account")
	name, _, err := checkTimeZone(r.PostForm.Get("time_zone"))
	if err != nil {
		p.Error = err.Error() + " Your time zone was not changed."
		s.render(w, http.StatusBadRequest, "account", p)
		return
	}
	if _, err := s.db.Exec("UPDATE admins SET time_zone = ? WHERE id = ?", name, sess.adminID); err != nil {
		herr := s.storeFailure("set your time zone", err)
		p.Error = herr.msg
		s.render(w, herr.status, "account", p)
		return
	}
	shown := name
	if shown == "" {
		shown = "none (the browser's)"
	}
	s.audit(sess.email, "set time zone", shown, clientAddr(r))
	http.Redirect(w, r, "/admin/account?notice=time-zone", http.StatusSeeOther)
}
