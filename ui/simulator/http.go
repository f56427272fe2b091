package simulator

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// keepAlive is how often an idle /events stream sends a comment, so that
// the browser and any proxy see the connection is alive.
const keepAlive = 15 * time.Second

// Handler serves the simulator to browsers:
//
//	GET  /           the page: the screen, scaled to the window
//	GET  /frame.png  the latest frame
//	GET  /events     server-sent events, one "frame" event per new frame
//	POST /tap        {"x": 12, "y": 34} in screen pixels: a touch down and up
//
// Taps come only from the simulator's own page (or a program that sends
// no Origin): any other web page the user has open could otherwise drive
// the room's screen from the browser.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /frame.png", s.serveFrame)
	mux.HandleFunc("GET /events", s.serveEvents)
	mux.HandleFunc("POST /tap", s.serveTap)
	return mux
}

func (s *Simulator) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The page loads nothing from elsewhere; say so to the browser too.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	writePage(w, s.size.X, s.size.Y)
}

func (s *Simulator) serveFrame(w http.ResponseWriter, r *http.Request) {
	b, seq, err := s.framePNG()
	if err != nil {
		slog.Error("screen simulator", "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame", strconv.FormatUint(seq, 10))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// serveEvents streams one event per new frame. Frames that arrive while
// the browser is still busy collapse into one event: the page always
// fetches the latest frame, so it never falls behind.
func (s *Simulator) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	var sent uint64 = ^uint64(0)
	for {
		_, seq, changed := s.current()
		if seq != sent {
			if _, err := fmt.Fprintf(w, "event: frame\ndata: %d\n\n", seq); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			sent = seq
		}
		select {
		case <-changed:
		case <-tick.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// sameOrigin refuses requests a browser made on behalf of another site.
// A program such as curl sends neither header and is let through: only
// someone on the machine can reach the simulator's loopback address.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host == r.Host
}

func (s *Simulator) serveTap(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "taps are only taken from the simulator's own page, not from another site", http.StatusForbidden)
		return
	}
	// JSON is not a content type a cross-site form can send, and a
	// cross-site fetch with it needs a preflight this server never allows.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(w, "a tap must be sent as Content-Type: application/json", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTapBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("tap body is over %d bytes", maxTapBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read tap: "+err.Error(), http.StatusBadRequest)
		return
	}
	p, err := parseTap(body, s.size)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.tap(p); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
