// Package control is roomd's local control API, which roomctl and IT's
// scripts use: status, metrics and factory reset over HTTP on loopback or
// a unix socket, authenticated with a token kept in the state directory.
//
// Why a token even on loopback: other programs on the kit (and on a
// developer's machine, other users) can reach loopback; only the kit's
// user can read the state directory.
package control

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"roomkit/appliance"
)

// DefaultAddr is where roomd listens and roomctl asks by default.
const DefaultAddr = "127.0.0.1:7444"

// TokenFile holds the control API's credential in the state directory.
// It is not part of the kit's identity: it survives a factory reset, so
// roomctl keeps working across one.
const TokenFile = "control.token"

// Kit is what the control API needs of the appliance.
type Kit interface {
	Status() appliance.Status
	Metrics() appliance.Metrics
	FactoryReset(ctx context.Context) error

	MeetNow(ctx context.Context) error
	JoinMeeting(ctx context.Context, id string) error
	Leave() error
	SetMuted(muted bool)
	SetCameraOff(off bool) error
	SetVolume(percent int) error
	// EndMeeting and LockMeeting act on the meeting the room organises,
	// as the screen's End and Lock buttons do.
	EndMeeting(ctx context.Context) error
	LockMeeting(ctx context.Context, locked bool) error
}

var _ Kit = (*appliance.Kit)(nil)

// Listen listens on addr: "host:port" where host is a loopback address
// (or "localhost"), or "unix:/path" for a unix socket only the kit's user
// may use. Anything that would listen beyond the machine is refused.
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return listenUnix(path)
	}
	if err := CheckLoopback(addr); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("control API: %w", err)
	}
	return l, nil
}

// CheckLoopback accepts "host:port" only when host is a loopback address
// or "localhost".
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want host:port on loopback (e.g. %s) or unix:/path", addr, DefaultAddr)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		what := host
		if host == "" {
			what = "every interface"
		}
		return fmt.Errorf("address %q would listen on %s: only loopback (e.g. %s) or unix:/path is allowed", addr, what, DefaultAddr)
	}
	return nil
}

func listenUnix(path string) (net.Listener, error) {
	if path == "" || !filepath.IsAbs(path) {
		return nil, fmt.Errorf("control API: unix socket path %q must be absolute", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("control API: %s exists and is not a socket; not replacing it", path)
		}
		// A socket left by a roomd that died. Only remove it if nobody
		// answers on it.
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("control API: another roomd answers on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control API: remove stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control API: %w", err)
	}
	// The socket is created with the umask's mode; tighten it at once.
	// The bearer token guards the short moment in between.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("control API: %w", err)
	}
	return l, nil
}

// LoadOrCreateToken returns the control API's credential from stateDir,
// making one on first use.
func LoadOrCreateToken(stateDir string) (string, error) {
	path := filepath.Join(stateDir, TokenFile)
	data, err := os.ReadFile(path)
	if err == nil {
		if tok := strings.TrimSpace(string(data)); len(tok) >= 32 {
			return tok, nil
		}
		// Too short to be ours (a truncated write): make a new one.
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read control credential %s: %w", path, err)
	}
	tok, err := NewToken()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", fmt.Errorf("control credential: %w", err)
	}
	if err := renameio.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("control credential: %w", err)
	}
	return tok, nil
}

// NewToken makes a random control credential. roomd uses one it keeps
// only in memory when its state directory cannot hold one.
func NewToken() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("control credential: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// Handler serves the control API for kit, for requests that carry token.
func Handler(kit Kit, token string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	s := &server{kit: kit, token: []byte(token), log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", s.status)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("POST /v1/factory-reset", s.factoryReset)
	for _, v := range meetingVerbs {
		mux.HandleFunc(v.route, s.serveVerb(v))
	}
	return s.auth(mux)
}

type server struct {
	kit   Kit
	token []byte
	log   *slog.Logger
}

func (s *server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), s.token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="roomd"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong control token (it is in the kit's state directory, "+TokenFile+")")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.kit.Status())
}

func (s *server) factoryReset(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("factory reset requested through the control API")
	if err := s.kit.FactoryReset(r.Context()); err != nil {
		writeError(w, http.StatusInternalServerError, "factory reset: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.kit.Status())
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	st := s.kit.Status()
	m := s.kit.Metrics()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	b.WriteString("# HELP roomkit_kit_state The kit's current state (1) among all states.\n# TYPE roomkit_kit_state gauge\n")
	for _, state := range appliance.States {
		v := 0
		if state == st.State {
			v = 1
		}
		fmt.Fprintf(&b, "roomkit_kit_state{state=%q} %d\n", state, v)
	}
	connected := 0
	if st.PortalConnected {
		connected = 1
	}
	fmt.Fprintf(&b, "# HELP roomkit_portal_connected Whether the portal answered the last request.\n# TYPE roomkit_portal_connected gauge\nroomkit_portal_connected %d\n", connected)
	fmt.Fprintf(&b, "# HELP roomkit_heartbeats_total Heartbeats sent to the portal, by result.\n# TYPE roomkit_heartbeats_total counter\n")
	fmt.Fprintf(&b, "roomkit_heartbeats_total{result=\"ok\"} %d\nroomkit_heartbeats_total{result=\"failed\"} %d\n", m.HeartbeatsOK, m.HeartbeatsFailed)
	fmt.Fprintf(&b, "# HELP roomkit_pairing_codes_issued_total Pairing codes the portal issued to this kit.\n# TYPE roomkit_pairing_codes_issued_total counter\nroomkit_pairing_codes_issued_total %d\n", m.PairingCodesIssued)
	fmt.Fprintf(&b, "# HELP roomkit_uptime_seconds Seconds since roomd started.\n# TYPE roomkit_uptime_seconds gauge\nroomkit_uptime_seconds %d\n", st.UptimeSeconds)
	w.Write([]byte(b.String()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
