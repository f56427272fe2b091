package appliance

// The installer's settings.json as it affects the kit itself: the clock's
// zone before the portal sends the room's, the proxy to the portal, and
// the warning shown while the file cannot be used. (roomd applies the
// rest: the portal URL and the hardware's settings.)

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"roomkit/settings"
)

// settingsWarning is the line the screen shows while settings.json has
// errors, e.g. `settings.json line 3: invalid character '}' … — using
// defaults`. The kit still works: with defaults.
func settingsWarning(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	// LoadSettings names the file by its path; staff need its name only.
	if i := strings.Index(msg, settings.File+": "); i >= 0 && !strings.Contains(msg[:i], " ") {
		msg = msg[i+len(settings.File)+2:]
	}
	msg = strings.ReplaceAll(msg, "\n", "; ")
	sep := ": "
	if strings.HasPrefix(msg, "line ") {
		sep = " "
	}
	return settings.File + sep + msg + " — using defaults"
}

// settingsLocation is the clock's zone until the portal sends the room's:
// the installer's time_zone, else UTC.
func settingsLocation(s settings.Settings, log *slog.Logger) *time.Location {
	if s.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		// Settings.Check refuses such a file; this is a caller's own Settings.
		log.Warn("settings: unknown time zone: the clock shows UTC", "time_zone", s.TimeZone, "err", err)
		return time.UTC
	}
	return loc
}

// portalClient is the kit's HTTP client for the portal: through the
// installer's proxy when there is one, else the environment's
// (HTTPS_PROXY and friends, as Go reads them).
func portalClient(s settings.Settings) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.HTTPProxy != "" {
		if u, err := url.Parse(s.HTTPProxy); err == nil && u.Host != "" {
			tr.Proxy = http.ProxyURL(u)
		}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
}
