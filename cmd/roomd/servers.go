package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"roomkit/appliance/control"
)

// servers are roomd's HTTP servers: the control API, and in sim the
// screen simulator.
type servers []*http.Server

// serveAPIs serves the control API on controlAddr with the credential
// kept in stateDir, and the screen simulator's page (screen, sim only)
// on screenAddr.
func serveAPIs(kit control.Kit, stateDir, controlAddr, screenAddr string, screen http.Handler, log *slog.Logger) (servers, error) {
	token, err := control.LoadOrCreateToken(stateDir)
	if err != nil {
		// No usable storage: the kit still shows its screen, its storage
		// warning and can meet; only roomctl, which reads the credential
		// from the state directory, is locked out until storage works.
		log.Error("control API credential not stored; roomctl cannot authenticate", "err", err)
		if token, err = control.NewToken(); err != nil {
			return nil, err
		}
	}
	cl, err := control.Listen(controlAddr)
	if err != nil {
		return nil, fmt.Errorf("-control: %w", err)
	}
	srvs := servers{{Handler: control.Handler(kit, token, log), ReadHeaderTimeout: 10 * time.Second}}
	go serve(log, srvs[0], cl, "control API")
	log.Info("control API", "addr", controlAddr)

	if screen != nil {
		if strings.HasPrefix(screenAddr, "unix:") {
			return srvs, errors.New("-screen: want a loopback host:port a browser can open")
		}
		sl, err := control.Listen(screenAddr)
		if err != nil {
			return srvs, fmt.Errorf("-screen: %w", err)
		}
		srv := &http.Server{Handler: screen, ReadHeaderTimeout: 10 * time.Second}
		srvs = append(srvs, srv)
		go serve(log, srv, sl, "screen simulator")
		log.Info("screen simulator at http://" + sl.Addr().String() + "/")
	}
	return srvs, nil
}

// shutdown stops the servers, giving requests in flight a few seconds.
func (srvs servers) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range srvs {
		srv.Shutdown(ctx)
	}
}

// serve serves srv on l until Shutdown. A server that stops otherwise
// is logged: the kit itself keeps running.
func serve(log *slog.Logger, srv *http.Server, l net.Listener, what string) {
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error(what+" stopped", "err", err)
	}
}
