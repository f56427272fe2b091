package provisioning

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrInsecurePortal is wrapped when the kit refuses a portal URL because
// plain HTTP would carry its client assertions and access tokens across a
// network unencrypted (docs/protocol.md §1).
var ErrInsecurePortal = errors.New("plain HTTP is allowed only to a portal on this machine")

// CheckPortalURL says whether the kit may talk to the portal (or to an
// endpoint the portal names) at raw: https:// anywhere, http:// only to a
// loopback host (localhost, 127.0.0.0/8, ::1), where nothing crosses a
// network. allowPlainHTTP lifts the loopback rule; it is settings.json's
// allow_plain_http, meant for test rigs such as a QEMU guest that reaches
// its host through a forwarded address.
func CheckPortalURL(raw string, allowPlainHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("portal URL %q: want an https:// URL", raw)
	}
	if u.Scheme == "https" || allowPlainHTTP || loopbackHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("portal URL %q: %w (localhost, 127.0.0.0/8, ::1); use https://", raw, ErrInsecurePortal)
}

// loopbackHost reports whether host never leaves the machine: the name
// localhost or a loopback address. Other names are not resolved: what a
// name resolves to can change after the check.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
