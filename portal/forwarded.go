package portal

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads a comma-separated list of CIDR prefixes or
// single addresses (10.0.0.0/8, 192.0.2.7, ::1) for Config.TrustedProxies.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: want a CIDR prefix like 10.0.0.0/8 or an address", f)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want a CIDR prefix like 10.0.0.0/8 or an address", f)
		}
		if p.Addr().Is4In6() {
			// An IPv4-mapped prefix would never match: peers are unmapped.
			return nil, fmt.Errorf("trusted proxy %q: write IPv4 prefixes as IPv4 (like 10.0.0.0/8)", f)
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("trusted proxy %q: no prefix given", list)
	}
	return out, nil
}

// clientIP is the address of the client a request came from. The peer is
// the client unless it is a trusted proxy; then X-Forwarded-For is read
// from the right, where the trusted proxies appended what they saw, and
// the first hop that is not a trusted proxy is the client. Hops left of
// it were written by the client itself and are never believed. A hop
// that is not an address stops the walk at the last address that was.
func clientIP(remoteAddr string, xff []string, trusted []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		host, _, err := net.SplitHostPort(remoteAddr)
		if err != nil {
			return remoteAddr
		}
		return host
	}
	addr := peer.Addr().Unmap()
	if !inPrefixes(addr, trusted) {
		return addr.String()
	}
	var hops []string
	for _, h := range xff {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(strings.TrimSpace(hops[i]))
		if !ok {
			break
		}
		addr = hop
		if !inPrefixes(hop, trusted) {
			break
		}
	}
	return addr.String()
}

// parseHop reads one X-Forwarded-For entry: an address, or an address
// with a port as some proxies write it ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(h string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(h); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwarded sets RemoteAddr to the client's address for requests through
// a trusted proxy, so every limit, lockout and audit entry (clientAddr)
// sees the client rather than the proxy.
func (s *Server) forwarded(next http.Handler) http.Handler {
	if len(s.trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.trusted)
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || host != ip {
			r = r.WithContext(r.Context())           // a shallow copy: the caller's request stays as it was
			r.RemoteAddr = net.JoinHostPort(ip, "0") // the client's port is not known
		}
		next.ServeHTTP(w, r)
	})
}
