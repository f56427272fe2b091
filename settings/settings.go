// Package settings reads settings.json: the installer's choices for one
// kit (portal, label, time zone, proxy, how the hardware is mounted),
// pre-seeded into /perm by roomkit-flash and never written by the kit. It
// is its own package because the image tools read it too, and they need
// nothing of pairing.
package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"roomkit/provisioning"
	"strings"
	"time"
)

// File holds what an installer pre-seeds (roomkit-flash writes it
// into /perm) and what a kit's hardware needs to know. Unlike state.json,
// the kit never writes it.
const File = "settings.json"

// Settings are the installer's choices for one kit. Every field is
// optional; the zero value is a kit with defaults.
type Settings struct {
	// PortalURL is where the kit pairs; the -portal flag overrides it.
	PortalURL string `json:"portal_url,omitempty"`
	// OTAURL is where the update repository is served (TUF metadata/
	// and targets/ under it): a CDN, say. Default: the portal's URL +
	// "/ota"; roomd's -ota-url overrides it.
	OTAURL string `json:"ota_url,omitempty"`
	// Label names the kit to IT before it is paired (its hostname too).
	Label string `json:"label,omitempty"`
	// TimeZone is the clock's zone until the portal sends the room's.
	TimeZone string `json:"time_zone,omitempty"`
	// HTTPProxy is used for every request to the portal.
	HTTPProxy string `json:"http_proxy,omitempty"`
	// AllowPlainHTTP lets the kit talk plain HTTP to a portal that is not
	// on the kit itself. Tokens and assertions then cross the network
	// unencrypted, so it is for test rigs only (a QEMU guest reaching its
	// host); the kit warns on screen while it is on.
	AllowPlainHTTP bool `json:"allow_plain_http,omitempty"`

	Display Display `json:"display,omitzero"`
	GPIO    GPIO    `json:"gpio,omitzero"`
	Camera  Camera  `json:"camera,omitzero"`
}

// Display describes the touch panel's mounting.
type Display struct {
	Rotate  int  `json:"rotate,omitempty"` // the panel is mounted turned clockwise by this much (0, 90, 180 or 270): picture and touch turn together
	SwapXY  bool `json:"swap_xy,omitempty"`
	InvertX bool `json:"invert_x,omitempty"`
	InvertY bool `json:"invert_y,omitempty"`
}

// GPIO names the pins of an optional mute button, mute LED and
// presence sensor ("GPIO17"); empty means not fitted.
type GPIO struct {
	MuteButton string `json:"mute_button,omitempty"`
	MuteLED    string `json:"mute_led,omitempty"`
	Presence   string `json:"presence,omitempty"`
	ActiveLow  bool   `json:"active_low,omitempty"`
}

// Camera chooses among what the camera offers.
type Camera struct {
	Prefer1080p bool `json:"prefer_1080p,omitempty"`
}

// Load reads dir's settings file. A missing file gives defaults
// and no error; a file with errors gives defaults and an error that names
// the file and the line, so the kit can show it and carry on.
func Load(dir string) (Settings, error) {
	s, err := ReadFile(filepath.Join(dir, File))
	if errors.Is(err, fs.ErrNotExist) {
		return Settings{}, nil
	}
	return s, err
}

// ReadFile reads and checks a settings file; errors name the file (and
// the line, for a file with errors).
func ReadFile(path string) (Settings, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Settings{}, fmt.Errorf("read settings: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return Settings{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse parses and checks a settings file's contents.
func Parse(b []byte) (Settings, error) {
	var s Settings
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Settings{}, pointAt(b, dec, err)
	}
	if dec.More() {
		return Settings{}, fmt.Errorf("line %d: more than one JSON object", lineOf(b, dec.InputOffset()))
	}
	return s, s.Check()
}

// Encode checks s and writes it as a settings file for an installer to
// pre-seed into /perm: indented, one field a line, as people edit it.
func (s Settings) Encode() ([]byte, error) {
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return append(b, '\n'), nil
}

// Check says what is wrong with settings that parse.
func (s Settings) Check() error {
	var errs []error
	if s.PortalURL != "" {
		if err := provisioning.CheckPortalURL(s.PortalURL, s.AllowPlainHTTP); err != nil {
			errs = append(errs, fmt.Errorf("portal_url: %w", err))
		}
	}
	if s.OTAURL != "" {
		// The same rules as the portal's: the repository is signed, but
		// a plain-HTTP mirror would still show who updates what, when.
		switch err := provisioning.CheckPortalURL(s.OTAURL, s.AllowPlainHTTP); {
		case errors.Is(err, provisioning.ErrInsecurePortal):
			errs = append(errs, fmt.Errorf("ota_url %q: plain HTTP only to a server on this machine (or with allow_plain_http); use https://", s.OTAURL))
		case err != nil:
			errs = append(errs, fmt.Errorf("ota_url %q: want an https:// URL", s.OTAURL))
		}
	}
	// The proxy may be plain HTTP: the kit tunnels TLS to an https://
	// portal through it (CONNECT), so it never sees a secret.
	if s.HTTPProxy != "" {
		if p, err := url.Parse(s.HTTPProxy); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("http_proxy %q: want an http:// or https:// URL", s.HTTPProxy))
		}
	}
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil {
			errs = append(errs, fmt.Errorf("time_zone %q: not a time zone (like Europe/Zurich)", s.TimeZone))
		}
	}
	if len([]rune(s.Label)) > 64 {
		errs = append(errs, errors.New("label: at most 64 characters"))
	}
	switch s.Display.Rotate {
	case 0, 90, 180, 270:
	default:
		errs = append(errs, fmt.Errorf("display.rotate %d: want 0, 90, 180 or 270", s.Display.Rotate))
	}
	return errors.Join(errs...)
}

// pointAt turns a JSON decoding error into one that names the line.
func pointAt(b []byte, dec *json.Decoder, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("line %d: %v", lineOf(b, syn.Offset), syn)
	case errors.As(err, &typ):
		return fmt.Errorf("line %d: %s must be a %v, not a JSON %s", lineOf(b, typ.Offset), typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.EOF):
		return errors.New("the file is empty; write {} for defaults")
	}
	// An unknown field: the decoder has read past it, so find its name.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if i := bytes.Index(b, []byte(name)); i >= 0 {
			return fmt.Errorf("line %d: %v", lineOf(b, int64(i)), err)
		}
	}
	return fmt.Errorf("line %d: %v", lineOf(b, dec.InputOffset()), err)
}

func lineOf(b []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(b)))
	return bytes.Count(b[:offset], []byte("\n")) + 1
}
