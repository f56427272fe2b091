// Package profile holds a configuration profile: the room settings IT
// sets in the admin center (time zone, screen language, display rotation,
// default volume, camera preference, GPIO mapping, update channel and
// window), assigned to groups or rooms and overridden per room.
//
// The rules:
//   - Every field is optional. A field left out means "not set here": a
//     lower layer's value, or the kit's own settings.json, stays in force.
//   - Layers merge field by field, later wins (Merge): the group's
//     profile, then the room's profile, then the room's own overrides.
//   - The portal sends a room its merged Values with their Revision in
//     each heartbeat answer (Config); the kit answers with a Status for
//     that revision: applied, or rejected with a reason per field. A
//     rejected field keeps its previous value on the kit; the others
//     apply.
//   - On the kit, settings.json is the installer's layer underneath: a
//     field a profile sets wins over it, a field it leaves out does not.
//
// Check catches what is wrong whatever the kit (a rotation of 45, a
// volume of 130, an unknown time zone); a kit rejects what is well formed
// but not possible on its hardware (a language its screen does not
// speak, a GPIO pin it lacks).
package profile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"roomkit/ota"
	"roomkit/ota/rollout"
	"roomkit/settings"
)

// Values are one profile's settings, or the merge of several.
type Values struct {
	// TimeZone is the room's IANA zone ("Europe/Zurich"): its clock,
	// meeting times and update window.
	TimeZone string `json:"time_zone,omitempty"`
	// Language is the screen's language, a BCP 47 tag ("en", "de-CH").
	Language string `json:"language,omitempty"`
	// DisplayRotation turns picture and touch together: 0, 90, 180, 270
	// (settings.json's display.rotate).
	DisplayRotation *int `json:"display_rotation,omitempty"`
	// Volume is the speaker's volume at the start of each meeting, 0–100.
	Volume *int `json:"volume,omitempty"`
	// Camera is which camera the kit prefers, and how.
	Camera *Camera `json:"camera,omitempty"`
	// GPIO maps the optional mute button, mute LED and presence sensor
	// (settings.json's gpio): replaced whole, not field by field.
	GPIO *settings.GPIO `json:"gpio,omitempty"`
	// UpdateChannel and UpdateWindow feed the room's update policy.
	UpdateChannel string      `json:"update_channel,omitempty"`
	UpdateWindow  *ota.Window `json:"update_window,omitempty"`
}

// Camera is a camera preference.
type Camera struct {
	// Name picks the camera whose name contains it ("Logitech"), when
	// more than one is plugged in; empty: the kit's own choice.
	Name string `json:"name,omitempty"`
	// Prefer1080p asks for 1080p over 720p where the camera offers both.
	Prefer1080p *bool `json:"prefer_1080p,omitempty"`
}

// Fields are the JSON names of Values' fields, in display order: the
// keys a Rejection names.
var Fields = []string{"time_zone", "language", "display_rotation", "volume", "camera", "gpio", "update_channel", "update_window"}

// MaxBytes bounds a profile's JSON (admin input and heartbeat answers).
const MaxBytes = 4 << 10

// Parse decodes and checks a profile's JSON: unknown fields are errors
// (a misspelt key would otherwise be silently ignored).
func Parse(b []byte) (Values, error) {
	if len(b) > MaxBytes {
		return Values{}, fmt.Errorf("profile: %d bytes, at most %d", len(b), MaxBytes)
	}
	var v Values
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return Values{}, fmt.Errorf("profile: %w", err)
	}
	if dec.More() {
		return Values{}, errors.New("profile: more than one JSON object")
	}
	return v, v.Check()
}

var languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// Check says what is wrong with v whatever the kit, each error naming
// its field.
func (v Values) Check() error {
	var errs []error
	if v.TimeZone != "" {
		if _, err := time.LoadLocation(v.TimeZone); err != nil || v.TimeZone == "Local" {
			errs = append(errs, fmt.Errorf("time_zone %q: not a time zone (like Europe/Zurich)", v.TimeZone))
		}
	}
	if v.Language != "" && !languageTag.MatchString(v.Language) {
		errs = append(errs, fmt.Errorf("language %q: want a language tag like en or de-CH", v.Language))
	}
	if r := v.DisplayRotation; r != nil && *r != 0 && *r != 90 && *r != 180 && *r != 270 {
		errs = append(errs, fmt.Errorf("display_rotation %d: want 0, 90, 180 or 270", *r))
	}
	if n := v.Volume; n != nil && (*n < 0 || *n > 100) {
		errs = append(errs, fmt.Errorf("volume %d: want 0 to 100", *n))
	}
	if c := v.Camera; c != nil && len(c.Name) > 100 {
		errs = append(errs, errors.New("camera.name: at most 100 characters"))
	}
	if g := v.GPIO; g != nil {
		for _, p := range []struct{ field, pin string }{{"mute_button", g.MuteButton}, {"mute_led", g.MuteLED}, {"presence", g.Presence}} {
			if p.pin != "" && !gpioPin.MatchString(p.pin) {
				errs = append(errs, fmt.Errorf("gpio.%s %q: want a pin like GPIO17", p.field, p.pin))
			}
		}
	}
	if v.UpdateChannel != "" {
		if err := ota.CheckChannel(v.UpdateChannel); err != nil {
			errs = append(errs, fmt.Errorf("update_channel: %w", err))
		}
	}
	if w := v.UpdateWindow; w != nil {
		if _, _, err := rollout.ParseWindow(*w); err != nil {
			errs = append(errs, fmt.Errorf("update_window: %w", err))
		}
	}
	return errors.Join(errs...)
}

var gpioPin = regexp.MustCompile(`^GPIO[0-9]{1,3}$`)

// Merge merges layers field by field, later layers winning.
func Merge(layers ...Values) Values {
	var m Values
	for _, l := range layers {
		if l.TimeZone != "" {
			m.TimeZone = l.TimeZone
		}
		if l.Language != "" {
			m.Language = l.Language
		}
		if l.DisplayRotation != nil {
			m.DisplayRotation = l.DisplayRotation
		}
		if l.Volume != nil {
			m.Volume = l.Volume
		}
		if l.Camera != nil {
			c := Camera{}
			if m.Camera != nil {
				c = *m.Camera
			}
			if l.Camera.Name != "" {
				c.Name = l.Camera.Name
			}
			if l.Camera.Prefer1080p != nil {
				c.Prefer1080p = l.Camera.Prefer1080p
			}
			m.Camera = &c
		}
		if l.GPIO != nil {
			m.GPIO = l.GPIO
		}
		if l.UpdateChannel != "" {
			m.UpdateChannel = l.UpdateChannel
		}
		if l.UpdateWindow != nil {
			m.UpdateWindow = l.UpdateWindow
		}
	}
	return m
}

// Revision names v's content: equal values, equal revisions. The kit
// reports which revision it applied, so the admin center can tell an
// old answer from a new one.
func (v Values) Revision() string {
	b, _ := json.Marshal(v) // fixed field order: canonical
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Config is what the portal sends a room in each heartbeat answer
// ("config"): its merged values and their revision.
type Config struct {
	Revision string `json:"revision"`
	Values   Values `json:"values"`
}

// NewConfig returns v with its revision.
func NewConfig(v Values) Config { return Config{Revision: v.Revision(), Values: v} }

// States a kit reports for a revision.
const (
	Applied  = "applied"  // every field took effect
	Rejected = "rejected" // some did not (Status.Rejected says which and why); the others did
)

// Status is the kit's answer for one revision, in its heartbeat
// ("config").
type Status struct {
	Revision string      `json:"revision"`
	State    string      `json:"state"`
	Rejected []Rejection `json:"rejected,omitempty"`
}

// Rejection is one field a kit could not apply, and why, in a sentence
// an admin understands ("this kit's screen speaks en only").
type Rejection struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Check says what is wrong with a kit's Status (the portal parses it
// from the network).
func (s Status) Check() error {
	if len(s.Revision) != 16 {
		return fmt.Errorf("config.revision %q: want 16 hex digits", s.Revision)
	}
	if _, err := hex.DecodeString(s.Revision); err != nil {
		return fmt.Errorf("config.revision %q: want 16 hex digits", s.Revision)
	}
	switch {
	case s.State == Applied && len(s.Rejected) == 0:
	case s.State == Rejected && len(s.Rejected) > 0 && len(s.Rejected) <= len(Fields):
	default:
		return fmt.Errorf("config.state %q with %d rejected fields: want applied with none, or rejected with some", s.State, len(s.Rejected))
	}
	for _, r := range s.Rejected {
		if !known(r.Field) {
			return fmt.Errorf("config.rejected: unknown field %q", r.Field)
		}
		if r.Reason == "" || len(r.Reason) > 200 {
			return fmt.Errorf("config.rejected %s: want a reason of 1 to 200 bytes", r.Field)
		}
	}
	return nil
}

func known(field string) bool { return slices.Contains(Fields, field) }
