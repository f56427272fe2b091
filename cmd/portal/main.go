// Command portal runs the RoomKit portal: the server room kits pair with
// and the admin center. See docs/protocol.md.
//
//	portal -listen ADDR -data DIR [-db postgres://…] [-url URL] [-metrics-listen ADDR] [-bootstrap-admin FILE] [-assets DIR]
//	       [-livekit dev|off | -livekit-url URL[,URL…] -livekit-key KEY -livekit-secret-file FILE]
//	       [-tls-cert FILE -tls-key FILE] [-trusted-proxy CIDR[,CIDR…]]…
//	       [-retain-events 90d|DURATION|forever] [-retain-audit 395d|DURATION|forever]
//	portal migrate -data DIR | -db postgres://…   (bring the schema up to date and exit)
//	portal db export -data DIR | -db URL [-o FILE]  (every row as JSON lines)
//	portal db import -data DIR | -db URL [-i FILE]  (into an empty store, all or nothing)
//	(each command takes -db postgres://… instead of -data DIR for a portal on PostgreSQL)
//	portal admin create -data DIR -email E [-password - | -password-file FILE | -password P]
//	portal admin passwd -data DIR -email E [-password-file FILE]   (default: the new password from stdin)
//	portal admin revoke-sessions -data DIR -email E
//	portal token create -data DIR -name NAME [-role viewer|admin|owner] [-group G] [-expires DURATION]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "time/tzdata" // room time zones are validated even where the host has no zoneinfo

	"github.com/google/renameio/v2"

	"roomkit/portal"
	"roomkit/portal/sfu"
)

func main() {
	var err error
	if len(os.Args) >= 3 && (os.Args[1] == "admin" || os.Args[1] == "token") {
		err = command(os.Args[1:], cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, terminal: stdinIsTerminal})
	} else if len(os.Args) >= 2 && (os.Args[1] == "migrate" || os.Args[1] == "db") {
		err = storeCommand(os.Args[1:], cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = serve(ctx, os.Args[1:], nil)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

// withServer opens the state for a one-off command; the URL is not used.
func withServer(data, db string, f func(*portal.Server) error) error {
	s, err := portal.New(portal.Config{DataDir: data, DB: db, URL: "http://localhost"})
	if err != nil {
		return err
	}
	return errors.Join(f(s), s.Close())
}

// serve runs the portal until ctx ends. listening, when not nil, learns
// the addresses once both listeners accept connections (metrics is nil
// without -metrics-listen): tests ask for port 0 and need to know where
// to connect.
func serve(ctx context.Context, args []string, listening func(main, metrics net.Addr)) error {
	fs := flag.NewFlagSet("portal", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on (port 0: any free port)")
	data := fs.String("data", "", "state directory (holds portal.db)")
	dbURL := fs.String("db", "", "keep the state in this PostgreSQL database instead of portal.db: postgres://user:password@host:5432/db (docs/deployment.md)")
	publicURL := fs.String("url", "", "public base URL (default http:// + the listen address)")
	bootstrap := fs.String("bootstrap-admin", "", "if there is no administrator, create one and write its credentials to this file (mode 0600)")
	assets := fs.String("assets", "portal/joinpage/build", "folder with livekit-client's browser build for the join page (scripts/setup-npm.sh fills it)")
	lkMode := fs.String("livekit", "dev", "dev: run a local livekit-server on loopback for meetings; off: no meetings. Ignored with -livekit-url")
	lkURL := fs.String("livekit-url", "", "URL of a LiveKit server or cluster as clients reach it, e.g. wss://livekit.example.com; or a cluster's node URLs, comma-separated, of which the portal hands out a healthy one")
	lkKey := fs.String("livekit-key", "", "LiveKit API key (with -livekit-url)")
	lkSecretFile := fs.String("livekit-secret-file", "", "file holding the LiveKit API secret (with -livekit-url); keep it mode 0600")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this PEM certificate (chain); reread when the file changes")
	tlsKey := fs.String("tls-key", "", "the PEM private key of -tls-cert")
	var proxies proxyList
	fs.Var(&proxies, "trusted-proxy", "CIDR or address of a reverse proxy whose X-Forwarded-For names the client (repeatable, or a comma list)")
	otaDir := fs.String("ota", "", "serve this update repository (roomkit-release init) read-only at /ota/; its keys are never served")
	offlineAfter := fs.Duration("alert-offline-after", 10*time.Minute, "alert when a room has sent no heartbeat for longer than this (docs/alerts.md)")
	var retention portal.Retention
	fs.Func("retain-events", "keep room events, update events, resolved alerts and remote actions this long: days (90d), a duration (2160h) or forever (default 90d)",
		func(v string) (err error) { retention.Events, err = portal.ParseRetention(v); return err })
	fs.Func("retain-audit", "keep the audit log this long: days (395d), a duration or forever (default 395d)",
		func(v string) (err error) { retention.Audit, err = portal.ParseRetention(v); return err })
	metricsListen := fs.String("metrics-listen", "", "also serve GET /metrics without a token on this address, e.g. 127.0.0.1:9464 (on -listen, /metrics needs an admin API token)")
	fs.Parse(args)
	if *data == "" && *dbURL == "" {
		return errors.New("-data is required (or -db postgres://…)")
	}
	if *data == "" && *lkURL == "" && *lkMode == "dev" {
		return errors.New("-livekit dev keeps the local LiveKit's files under -data: give -data DIR too, or -livekit-url or -livekit off")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	tlsConf, err := loadTLS(*tlsCert, *tlsKey, log)
	if err != nil {
		return err
	}
	// Listening comes first: the local LiveKit posts its webhooks to the
	// portal's own address.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	lk, lkServer, err := liveKit(ctx, log, *data, *lkMode, *lkURL, *lkKey, *lkSecretFile, loopbackURL(ln.Addr())+portal.WebhookPath)
	if err != nil {
		ln.Close()
		return err
	}
	if lkServer != nil {
		defer lkServer.Stop()
	}

	var metricsLn net.Listener
	if *metricsListen != "" {
		if metricsLn, err = net.Listen("tcp", *metricsListen); err != nil {
			ln.Close()
			return fmt.Errorf("-metrics-listen: %w", err)
		}
		defer metricsLn.Close()
		if !isLoopback(metricsLn.Addr()) {
			log.Warn("metrics are served without a token beyond this machine; firewall the address to the monitoring system", "metrics_listen", metricsLn.Addr().String())
		}
	}
	base := *publicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
		if tlsConf != nil {
			base = "https://" + ln.Addr().String()
		}
	}
	srv, err := portal.New(portal.Config{DataDir: *data, DB: *dbURL, URL: base, Logger: log, LiveKit: lk, AssetsDir: *assets,
		TrustedProxies: proxies, OTADir: *otaDir, Alerts: portal.AlertConfig{OfflineAfter: *offlineAfter}, Retention: retention})
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()

	fmt.Printf("portal listening on %s\nadmin center: %s/admin\n", base, base)
	if *otaDir != "" {
		fmt.Printf("updates: serving %s at %s/ota/\n", *otaDir, base)
	}
	switch {
	case lkServer != nil:
		fmt.Printf("meetings: local livekit-server at %s (loopback only); guests join at %s/join/<meeting ID>\n", lk.URL, base)
	case len(lk.Nodes) > 0:
		fmt.Printf("meetings: LiveKit cluster nodes %s (each join gets a healthy one)\n", strings.Join(lk.Nodes, ", "))
		fmt.Printf("meetings: LiveKit must run with room.auto_create: false and post its webhooks to %s%s (docs/livekit.md)\n", base, portal.WebhookPath)
	case lk.URL != "":
		fmt.Printf("meetings: LiveKit at %s\n", lk.URL)
		// Without these LiveKit re-creates ended meetings and lets a
		// token from before a lock in (docs/livekit.md).
		fmt.Printf("meetings: LiveKit must run with room.auto_create: false and post its webhooks to %s%s (docs/livekit.md)\n", base, portal.WebhookPath)
	default:
		fmt.Println("meetings: off (-livekit off)")
	}
	if _, err := os.Stat(filepath.Join(*assets, "livekit-client.umd.js")); err != nil && (lk.URL != "" || len(lk.Nodes) > 0) {
		fmt.Printf("warning: the join page lacks %s: run scripts/setup-npm.sh or pass -assets\n", filepath.Join(*assets, "livekit-client.umd.js"))
	}
	if *bootstrap != "" {
		pw, err := srv.BootstrapAdmin()
		if err != nil {
			return err
		}
		if pw != "" {
			creds := fmt.Sprintf("admin center: %s/admin\nemail: %s\npassword: %s\n", base, portal.BootstrapAdminEmail, pw)
			if err := renameio.WriteFile(*bootstrap, []byte(creds), 0o600); err != nil {
				return fmt.Errorf("write bootstrap credentials: %w", err)
			}
			fmt.Printf("created administrator %s with password %s (also in %s)\n", portal.BootstrapAdminEmail, pw, *bootstrap)
		}
	}

	hs := newHTTPServer(srv.Handler(), tlsConf, log)
	errc := make(chan error, 2)
	go func() { errc <- serveOn(hs, ln) }()
	if metricsLn != nil {
		ms := &http.Server{Handler: srv.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		defer ms.Close()
		go func() { errc <- ms.Serve(metricsLn) }()
		fmt.Printf("metrics: http://%s/metrics (no token needed there)\n", metricsLn.Addr())
	}
	if listening != nil {
		var metricsAddr net.Addr
		if metricsLn != nil {
			metricsAddr = metricsLn.Addr()
		}
		listening(ln.Addr(), metricsAddr)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return srv.Close()
}

// liveKit decides where meetings run: an external LiveKit (-livekit-url),
// a livekit-server this process supervises on loopback (-livekit dev), or
// none. The supervised server stops with ctx or the returned Server.
func liveKit(ctx context.Context, log *slog.Logger, data, mode, url, key, secretFile, webhook string) (portal.LiveKit, *sfu.Server, error) {
	if url != "" {
		if key == "" || secretFile == "" {
			return portal.LiveKit{}, nil, errors.New("-livekit-url needs -livekit-key and -livekit-secret-file")
		}
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return portal.LiveKit{}, nil, fmt.Errorf("read LiveKit secret: %w", err)
		}
		if st, err := os.Stat(secretFile); err == nil && st.Mode().Perm()&0o077 != 0 {
			log.Warn("the LiveKit secret file is readable by others; chmod 600 it", "file", secretFile)
		}
		lk := portal.LiveKit{URL: url, APIKey: key, APISecret: strings.TrimSpace(string(b))}
		if strings.Contains(url, ",") {
			// The nodes of a cluster without a load balancer: the portal
			// hands out a healthy one (docs/livekit.md, "A cluster").
			lk.URL = ""
			for n := range strings.SplitSeq(url, ",") {
				if n = strings.TrimSpace(n); n != "" {
					lk.Nodes = append(lk.Nodes, n)
				}
			}
		}
		return lk, nil, nil
	}
	switch mode {
	case "off":
		return portal.LiveKit{}, nil, nil
	case "dev":
	default:
		return portal.LiveKit{}, nil, fmt.Errorf("-livekit %q: want dev or off (or give -livekit-url)", mode)
	}
	srv, err := sfu.Start(ctx, sfu.Options{Dir: filepath.Join(data, "livekit"), Logger: log.With("component", "livekit"), WebhookURL: webhook})
	if err != nil {
		return portal.LiveKit{}, nil, fmt.Errorf("%w (or start the portal with -livekit off, or -livekit-url for a LiveKit cluster)", err)
	}
	return portal.LiveKit{URL: srv.URL, APIKey: srv.APIKey, APISecret: srv.APISecret}, srv, nil
}

// loopbackURL is how a process on this machine reaches the listener a:
// an unspecified address (":8080") is reached on loopback.
func loopbackURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
