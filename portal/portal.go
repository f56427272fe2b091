// Package portal is the cloud side a room kit pairs with: the RFC 8628
// device authorization server (docs/protocol.md), the kit API, the admin
// REST API and the admin center web UI. State lives in SQLite.
package portal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Server.
type Config struct {
	DataDir string           // holds portal.db (SQLite, the default store)
	URL     string           // public base URL, e.g. "http://127.0.0.1:8080"; the OAuth issuer
	Logger  *slog.Logger     // nil: discard
	Now     func() time.Time // nil: time.Now; tests inject a clock

	// LiveKit is where meetings run (protocol.md §7); its zero value
	// leaves meetings off.
	LiveKit LiveKit
	// AssetsDir holds livekit-client's browser build for the join page
	// (scripts/setup-npm.sh puts it in portal/joinpage/build).
	AssetsDir string
	// TrustedProxies are the reverse proxies (e.g. a TLS terminator) whose
	// X-Forwarded-For names the client. Empty: the peer is the client.
	TrustedProxies []netip.Prefix
	// OTADir is an update repository (roomkit-release init) served
	// read-only at /ota/; "" serves none (kits may fetch from a CDN).
	OTADir string

	// Alerts sets when alerts open and resolve; its zero value takes the
	// defaults (docs/alerts.md).
	Alerts AlertConfig
	// Retention bounds the history tables (retention.go); its zero
	// value takes the defaults.
	Retention Retention

	// DB, when set, is the PostgreSQL database to keep the state in
	// instead of DataDir (postgres://user:password@host:port/db?…).
	DB string
	// DBWait is how long New keeps trying a PostgreSQL that does not
	// answer (0: pgConnectWait).
	DBWait time.Duration

	// openDB replaces openDB in tests that need a database which fails.
	openDB func(dir string) (*sqlDB, error)
	// sleep replaces the webhooks' wait between attempts in tests, which
	// run a fake clock.
	sleep func(ctx context.Context, d time.Duration) error
}

// Server is a portal. Its zero value is not usable; call New.
type Server struct {
	db     *sqlDB
	url    string
	log    *slog.Logger
	now    func() time.Time
	mux    *http.ServeMux
	tokens *tokenCache
	live   *liveStatus
	met    *metrics
	// logLimit keeps a failing database from logging a line per request.
	logLimit *logLimiter

	// wrongCodes locks out whoever guesses pairing codes (protocol.md §6).
	wrongCodes *lockout
	// failedLogins throttles password guessing per address and account,
	// so a guesser elsewhere cannot lock the owner out; loginAddr per
	// address over all accounts.
	failedLogins, loginAddr *lockout
	// loginsInFlight caps the sign-ins one address has in progress.
	loginsInFlight *inflight
	// hashing bounds concurrent argon2 checks (19 MiB each).
	hashing *gate
	// passwordChecks counts argon2 verifications by sign-ins.
	passwordChecks atomic.Int64
	// joinsPerAddr and joinsPerMeeting limit guest joins.
	joinsPerAddr, joinsPerMeeting *rateLimiter
	// trusted are the proxies whose X-Forwarded-For is believed.
	trusted []netip.Prefix
	// deviceAuth limits device authorization requests per client address.
	deviceAuth *rateLimiter
	// wrongMeetings locks out whoever tries meeting IDs one after another.
	wrongMeetings *lockout

	ota *otaRepo // nil without Config.OTADir
	upd *updates
	// cfgSeen is each room's last stored configuration status (profiles.go).
	cfgSeen configSeen
	// acts holds the remote actions waiting for their kits and what the
	// kits' heartbeats said of their link (actions.go).
	acts *actionState

	alerts *alerter
	hooks  *hookSender
	// lead is this replica's hold on the janitor lock (shared.go); nil
	// while another replica holds it. Used by the background goroutine
	// and, after it ended, Close.
	lead *sql.Conn
	// commits stores replicas' heartbeats (shared.go).
	commits groupCommit
	// lookups reads replicas' heartbeats' rooms (shared.go).
	lookups groupLookup

	retention Retention

	lk        LiveKit
	conf      conference // nil when meetings are off
	assetsDir string

	stop      chan struct{}
	done      sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Lifetimes and limits from docs/protocol.md.
const (
	pairingLifetime   = 10 * time.Minute
	pollInterval      = time.Second // a kit shows its home screen within a second of approval
	slowDownStep      = 5 * time.Second
	accessTokenTTL    = 15 * time.Minute
	onlineWindow      = 45 * time.Second
	maxBody           = 64 << 10
	sessionTTL        = 12 * time.Hour
	flushInterval     = time.Second
	janitorInterval   = time.Minute
	maxLabelRunes     = 64
	maxRoomFieldRunes = 80
	maxLoginsInFlight = 4  // sign-ins in progress per client address
	maxHashWaiting    = 64 // sign-ins queued for an argon2 slot before "busy"
)

// openDefault opens the store of a Config without DB: SQLite in the data
// directory. Tests swap it to run the suite on PostgreSQL.
var openDefault = openDB

// New opens (or creates) the portal's state in cfg.DataDir, or in the
// PostgreSQL database cfg.DB.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" && cfg.DB == "" {
		return nil, errors.New("portal: Config.DataDir (or Config.DB) is required")
	}
	if cfg.DB != "" && !isPostgresDSN(cfg.DB) {
		return nil, errors.New("portal: Config.DB must be a postgres:// URL")
	}
	u := strings.TrimRight(cfg.URL, "/")
	if u == "" {
		return nil, errors.New("portal: Config.URL is required (the public base URL)")
	}
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return nil, fmt.Errorf("portal: URL %q must start with http:// or https://", cfg.URL)
	}
	open := openDefault
	if cfg.DB != "" {
		open = func(string) (*sqlDB, error) {
			wait := cfg.DBWait
			if wait == 0 {
				wait = pgConnectWait
			}
			return openPostgres(context.Background(), cfg.DB, cfg.Logger, wait)
		}
	}
	if cfg.openDB != nil {
		open = cfg.openDB
	}
	db, err := open(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		db:           db,
		url:          u,
		log:          cfg.Logger,
		now:          cfg.Now,
		met:          newMetrics(),
		logLimit:     newLogLimiter(time.Minute),
		wrongCodes:   newLockout("codes", lockRule{free: 5, lock: 15 * time.Minute, maxLock: 15 * time.Minute, forget: 10 * time.Minute}),
		failedLogins: newLockout("login", lockRule{free: 5, lock: time.Minute, maxLock: time.Hour, forget: 24 * time.Hour}),
		deviceAuth:   newRateLimiter(60, time.Minute),
		stop:         make(chan struct{}),

		wrongMeetings: newLockout("meetings", lockRule{free: 20, lock: 15 * time.Minute, maxLock: 15 * time.Minute, forget: 10 * time.Minute}),
		lk:            cfg.LiveKit,
		assetsDir:     cfg.AssetsDir,

		// Sign-ins: 5 wrong passwords for one account from one address
		// (failedLogins), then 1, 2, 4 … minutes up to an hour between
		// tries; 20 from one address over all accounts. Failures are
		// forgotten after a day without one, or by a right password.
		loginAddr:      newLockout("login-addr", lockRule{free: 20, lock: time.Minute, maxLock: time.Hour, forget: 24 * time.Hour}),
		loginsInFlight: newInflight(maxLoginsInFlight),
		// One argon2 check per core, at most 4 (76 MiB): more only
		// queue for the same cores, holding 19 MiB each.
		hashing: newGate(min(max(1, runtime.GOMAXPROCS(0)), 4), maxHashWaiting),
		// A 25-person meeting sees a few dozen joins a minute, rejoins
		// included; a flood sees hundreds.
		joinsPerAddr:    newRateLimiter(30, time.Minute),
		joinsPerMeeting: newRateLimiter(100, time.Minute),
		trusted:         cfg.TrustedProxies,
		retention:       cfg.Retention,
	}
	if err := s.checkLiveKit(); err != nil {
		db.Close()
		return nil, err
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.shared() {
		s.share()
	}
	if err := loadLockouts(context.Background(), db, s.now(), s.lockouts()...); err != nil {
		db.Close()
		return nil, err
	}
	if cfg.OTADir != "" {
		if s.ota, err = openOTARepo(cfg.OTADir); err != nil {
			db.Close()
			return nil, err
		}
		if offlineKeysPresent(cfg.OTADir) {
			s.log.Warn("the update repository holds its offline root keys: move the offline root keys off this machine",
				"dir", filepath.Join(cfg.OTADir, "keys", "offline"))
		}
	}
	if s.upd, err = loadUpdates(db); err != nil {
		db.Close()
		return nil, err
	}
	if s.acts, err = loadActions(db, s.now()); err != nil {
		db.Close()
		return nil, err
	}
	s.alerts = newAlerter(cfg.Alerts)
	s.hooks = newHookSender(s, cfg.sleep)
	if err := s.hooks.load(); err != nil {
		s.hooks.close()
		db.Close()
		return nil, err
	}
	s.tokens = newTokenCache()
	s.live = newLiveStatus()
	s.routes()
	s.done.Add(1)
	go s.background()
	return s, nil
}

// Handler serves everything: OAuth, kit API, admin API and admin center.
// Its /metrics needs an admin API token; see MetricsHandler.
func (s *Server) Handler() http.Handler {
	// forwarded is outermost: the mux sets r.Pattern on the request it
	// routes, which instrument reads, so nothing between them may copy it
	// (portalDate only sets a header).
	return s.forwarded(s.instrument(s.portalDate(s.mux)))
}

// lockouts are the ones persisted in the throttle table.
func (s *Server) lockouts() []*lockout {
	return []*lockout{s.wrongCodes, s.wrongMeetings, s.failedLogins, s.loginAddr}
}

// MetricsHandler serves GET /metrics without a token, for a separate
// listener (portal -metrics-listen) that only the monitoring system can
// reach: Prometheus scrapers rarely hold the portal's API tokens, and the
// numbers (rooms, failed logins) are not for the public.
func (s *Server) MetricsHandler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /metrics", s.serveMetrics)
	return s.instrument(m)
}

// Close flushes buffered heartbeat state and closes the database.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.done.Wait()
		s.hooks.close()
		s.resign()
		err := s.flushLive()
		s.closeErr = errors.Join(err, flushLockouts(s.db, s.lockouts()...), s.db.Close())
	})
	return s.closeErr
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /readyz", s.serveReady)
	// Not public: room counts and failed logins are for whoever runs the portal.
	m.HandleFunc("GET /metrics", s.adminAPI(func(w http.ResponseWriter, r *http.Request, _ apiToken) { s.serveMetrics(w, r) }))

	m.HandleFunc("GET /.well-known/oauth-authorization-server", s.serveMetadata)
	m.HandleFunc("POST /oauth/device_authorization", s.serveDeviceAuthorization)
	m.HandleFunc("POST /oauth/token", s.serveToken)

	m.HandleFunc("POST /api/v1/device/heartbeat", s.serveHeartbeat)
	m.HandleFunc("GET /api/v1/device/config", s.serveDeviceConfig)

	m.HandleFunc("GET /api/v1/admin/rooms", s.adminAPI(s.apiListRooms))
	m.HandleFunc("GET /api/v1/admin/rooms/{id}", s.adminAPI(s.apiGetRoom))
	m.HandleFunc("POST /api/v1/admin/pairings", s.adminAPI(s.apiPair))
	m.HandleFunc("DELETE /api/v1/admin/pairings/{user_code}", s.adminAPI(s.apiDeny))
	m.HandleFunc("DELETE /api/v1/admin/rooms/{id}", s.adminAPI(s.apiUnpair))

	if s.ota != nil {
		m.Handle("GET /ota/", s.ota)
	}
	s.updateRoutes(m)
	s.profileRoutes(m)
	s.actionRoutes(m)
	s.alertRoutes(m)
	s.teamRoutes(m)
	s.webRoutes(m)
	s.meetingRoutes(m)
	s.mux = m
}

// background runs the heartbeat flusher and the janitor until Close.
func (s *Server) background() {
	defer s.done.Done()
	flush := time.NewTicker(flushInterval)
	defer flush.Stop()
	janitor := time.NewTicker(janitorInterval)
	defer janitor.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-flush.C:
			if err := s.flushLive(); err != nil {
				s.logStoreError("flush heartbeats", err)
			}
			if err := flushLockouts(s.db, s.lockouts()...); err != nil {
				s.log.Error("flush lockouts", "err", err)
			}
		case <-janitor.C:
			if err := s.sweep(); err != nil {
				s.logStoreError("sweep expired state", err)
			}
			if !s.leading() {
				continue // another replica runs the jobs that must not run twice
			}
			// Rings also advance while no kit of the fleet is online.
			if err := s.syncUpdates(); err != nil {
				s.logStoreError("read the update state", err)
			} else if err := s.advanceRollouts(); err != nil {
				s.logStoreError("advance rollouts", err)
			}
			if err := s.evaluateAlerts(); err != nil {
				s.logStoreError("evaluate alerts", err)
			}
		}
	}
}

// sweep deletes state nobody can use any more. Pairings stay an hour past
// expiry so a late poll still learns expired_token rather than invalid_grant.
func (s *Server) sweep() error {
	now := s.now()
	var errs []error
	for _, q := range []struct {
		sql    string
		before time.Time
	}{
		{"DELETE FROM pairings WHERE expires < ?", now.Add(-time.Hour)},
		{"DELETE FROM jtis WHERE expires < ?", now},
		{"DELETE FROM access_tokens WHERE expires < ?", now},
		{"DELETE FROM sessions WHERE expires < ?", now},
		{"DELETE FROM admin_invites WHERE expires < ?", now.Add(-7 * 24 * time.Hour)},
	} {
		if _, err := s.db.Exec(q.sql, q.before.Unix()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", q.sql, err))
		}
	}
	if _, err := s.db.Exec("DELETE FROM throttle WHERE expires < ?", now.UnixNano()); err != nil {
		errs = append(errs, fmt.Errorf("sweep throttle: %w", err))
	}
	errs = append(errs, s.sweepMeetings(), s.sweepRetention(now))
	err := errors.Join(errs...)
	s.tokens.sweep(now)
	s.wrongMeetings.sweep(now)
	s.wrongCodes.sweep(now)
	s.failedLogins.sweep(now)
	s.loginAddr.sweep(now)
	s.deviceAuth.sweep(now)
	s.joinsPerAddr.sweep(now)
	s.joinsPerMeeting.sweep(now)
	return err
}

// clientAddr is the client's IP: the peer's, or for a request through a
// trusted proxy the one forwarded put in RemoteAddr (forwarded.go).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
