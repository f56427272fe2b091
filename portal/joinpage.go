package portal

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The join page's own files are embedded. livekit-client's browser build
// is not: it exists only after scripts/setup-npm.sh, and a fresh clone must
// build without it, so the portal reads it from Config.AssetsDir.
//
//go:embed joinpage/join.html joinpage/join.js joinpage/join.css
var joinFS embed.FS

var joinTemplate = template.Must(template.ParseFS(joinFS, "joinpage/join.html"))

// liveKitClientFile is livekit-client's UMD build; it defines the global
// LivekitClient the page's script uses.
const liveKitClientFile = "livekit-client.umd.js"

// joinPage is what the join page shows.
type joinPage struct {
	ID    string // 9 digits
	Shown string // 123-456-789
	Title string
	Error string
	Ready bool // there is a meeting to join and everything needed to join it
}

func (s *Server) joinPageRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /join/{meetingID}", s.serveJoinPage)
	m.HandleFunc("GET /joinpage/join.js", s.serveJoinFile("joinpage/join.js", "text/javascript; charset=utf-8"))
	m.HandleFunc("GET /joinpage/join.css", s.serveJoinFile("joinpage/join.css", "text/css; charset=utf-8"))
	m.HandleFunc("GET /joinpage/"+liveKitClientFile, s.serveLiveKitClient)
}

// liveKitClientPath is where livekit-client's build should be, and whether
// it is there.
func (s *Server) liveKitClientPath() (string, bool) {
	if s.assetsDir == "" {
		return "", false
	}
	p := filepath.Join(s.assetsDir, liveKitClientFile)
	st, err := os.Stat(p)
	return p, err == nil && st.Mode().IsRegular()
}

func (s *Server) serveJoinPage(w http.ResponseWriter, r *http.Request) {
	m, _, herr := s.findMeeting(r.PathValue("meetingID"), "addr:"+clientAddr(r))
	if herr != nil {
		if herr.retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((herr.retry+time.Second-1)/time.Second)))
		}
		s.renderJoin(w, herr.status, joinPage{Error: herr.msg})
		return
	}
	p := joinPage{ID: m.id, Shown: formatMeetingID(m.id), Title: m.title}
	switch path, ok := s.liveKitClientPath(); {
	case s.conf == nil:
		p.Error = "Meetings are not set up on this portal: it has no LiveKit server. Ask its administrator."
		s.renderJoin(w, http.StatusServiceUnavailable, p)
	case !ok:
		where := path
		if where == "" {
			where = "(no -assets folder was given)"
		}
		s.log.Error("join page: livekit-client missing", "path", where)
		p.Error = "This portal cannot run meetings in the browser yet: its copy of the LiveKit client (" + liveKitClientFile +
			") is missing. An administrator must run scripts/setup-npm.sh, or start the portal with -assets pointing at the folder that holds it."
		s.renderJoin(w, http.StatusServiceUnavailable, p)
	default:
		p.Ready = true
		s.renderJoin(w, http.StatusOK, p)
	}
}

func (s *Server) renderJoin(w http.ResponseWriter, status int, p joinPage) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// Everything comes from the portal itself; the page only talks to the
	// portal and to LiveKit. Camera, microphone and screen stay usable.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "+
		"media-src 'self' blob: mediastream:; connect-src 'self'"+s.liveKitOrigins()+"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)")
	w.WriteHeader(status)
	if err := joinTemplate.Execute(w, p); err != nil {
		s.log.Error("render join page", "err", err)
	}
}

// liveKitOrigins lists LiveKit's signalling origins for connect-src: the
// WebSocket and, for its connection checks, the HTTP form of the URL.
// A cluster's nodes are listed each.
func (s *Server) liveKitOrigins() string {
	var all string
	for _, u := range s.liveKitURLs() {
		all += liveKitOrigin(u)
	}
	return all
}

func liveKitOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	var other string
	switch u.Scheme {
	case "ws":
		other = "http"
	case "wss":
		other = "https"
	case "http":
		other = "ws"
	case "https":
		other = "wss"
	default:
		return ""
	}
	return " " + u.Scheme + "://" + u.Host + " " + other + "://" + u.Host
}

func (s *Server) serveJoinFile(name, contentType string) http.HandlerFunc {
	data, err := joinFS.ReadFile(name)
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(data)
	}
}

func (s *Server) serveLiveKitClient(w http.ResponseWriter, r *http.Request) {
	path, ok := s.liveKitClientPath()
	if !ok {
		http.Error(w, "livekit-client is not installed on this portal: run scripts/setup-npm.sh", http.StatusNotFound)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.log.Error("join page: open livekit-client", "err", err)
		http.Error(w, "livekit-client is not readable on this portal", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, "livekit-client is not readable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, liveKitClientFile, st.ModTime(), f)
}
