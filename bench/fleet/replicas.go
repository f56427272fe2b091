package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// replicas are the portals the fleet talks to. Every request goes to the
// next one in turn, whoever sends it: kits need no sticky sessions, so a
// kit pairs through one replica, is approved through another and sends
// its heartbeats to all of them.
type replicas struct {
	bases []*url.URL
	next  atomic.Uint64
}

// parseReplicas reads -portal: one or more base URLs, comma-separated.
func parseReplicas(list string) (*replicas, error) {
	r := &replicas{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(strings.TrimRight(s, "/"))
		if err != nil {
			return nil, fmt.Errorf("portal URL %q: %w", s, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("portal URL %q: want http://HOST:PORT or https://HOST:PORT", s)
		}
		if u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("portal URL %q: want the portal's base URL, without a path", s)
		}
		r.bases = append(r.bases, u)
	}
	if len(r.bases) == 0 {
		return nil, errors.New("no portal URL: give -portal URL[,URL…]")
	}
	return r, nil
}

// pick returns the replica for the next request.
func (r *replicas) pick() *url.URL {
	return r.bases[(r.next.Add(1)-1)%uint64(len(r.bases))]
}

// loopback reports whether every replica is on this machine's loopback,
// where the fleet can speak from many source addresses.
func (r *replicas) loopback() bool {
	for _, u := range r.bases {
		host := u.Hostname()
		if host == "localhost" {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// spread sends each request to the next replica, keeping its path: the
// portal's metadata names its own URL in the endpoints, which a load
// balancer in front of the replicas would also answer.
type spread struct {
	reps *replicas
	next http.RoundTripper
}

func (s spread) RoundTrip(req *http.Request) (*http.Response, error) {
	b := s.reps.pick()
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = b.Scheme, b.Host, ""
	return s.next.RoundTrip(out)
}

// sourceAddr is the loopback address the i-th group of kits speaks from
// (127.1.0.1, 127.1.0.2, …): the portal limits pairing requests per
// client address (60 a minute), as it should for kits behind one NAT,
// while a real fleet comes from many addresses.
func sourceAddr(i int) net.IP {
	i++ // never 127.1.0.0
	return net.IPv4(127, 1, byte(i>>8), byte(i))
}

// maxSources is how many source addresses sourceAddr can name.
const maxSources = 1<<16 - 2

// autoSources is how many source addresses n kits need so that pairing
// all of them stays within the portal's per-address limit in about a
// minute; 1 where the portal is not on loopback.
func autoSources(n int, loopback bool) int {
	if !loopback {
		return 1
	}
	return min(max(1, (n+perSourceKits-1)/perSourceKits), maxSources)
}

// perSourceKits: the portal takes 60 pairing requests a minute from one
// address; 50 leaves room for a retry.
const perSourceKits = 50

// newTransport makes the connection pool of one source address (nil: the
// system's choice). conns bounds the idle connections it keeps to each
// replica (MaxIdleConns bounds them over all hosts together: it is left
// unbounded, else two replicas would share one replica's bound and
// connections would be closed and dialled again under load).
func newTransport(src net.IP, conns int) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	return &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
}
