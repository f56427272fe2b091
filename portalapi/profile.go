package portalapi

// Configuration profiles (docs/profiles.md): the portal's heartbeat
// answer carries the room's merged profile ("config"), and the kit
// answers with its status for that revision in a later heartbeat's
// "config".

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"roomkit/internal/textfield"
	"roomkit/profile"
)

// maxReason is the longest rejection reason the portal takes.
const maxReason = 200

// parseConfig reads an answer's "config" leniently, field by field: a
// field the kit cannot read, or whose value fails profile.Values.Check,
// is left out of the values and named in invalid, so one bad field
// costs that field, never the others or the heartbeat. Fields this kit
// does not know (a newer portal's) are ignored. A config without a
// usable revision is nil: the kit could not say which one it applied.
func parseConfig(raw json.RawMessage) (c *profile.Config, invalid []profile.Rejection) {
	var a struct {
		Revision string                     `json:"revision"`
		Values   map[string]json.RawMessage `json:"values"`
	}
	if json.Unmarshal(raw, &a) != nil || (profile.Status{Revision: a.Revision, State: profile.Applied}).Check() != nil {
		return nil, nil
	}
	c = &profile.Config{Revision: a.Revision}
	for _, field := range profile.Fields { // in display order, so the status reads the same every time
		v, ok := a.Values[field]
		if !ok || string(bytes.TrimSpace(v)) == "null" {
			continue
		}
		one, err := parseField(field, v)
		if err != nil {
			invalid = append(invalid, profile.Rejection{Field: field, Reason: textfield.Clean(err.Error(), maxReason)})
			continue
		}
		c.Values = profile.Merge(c.Values, one)
	}
	return c, invalid
}

// parseField reads one field on its own and checks it.
func parseField(field string, v json.RawMessage) (profile.Values, error) {
	var one profile.Values
	b, err := json.Marshal(map[string]json.RawMessage{field: v})
	if err == nil {
		err = json.Unmarshal(b, &one)
	}
	if err != nil {
		return profile.Values{}, fmt.Errorf("%s: this kit cannot read %s", field, textfield.Clean(string(v), 60))
	}
	if err := one.Check(); err != nil {
		return profile.Values{}, err
	}
	return one, nil
}

// cleanConfig returns a copy of s the portal accepts: reasons quote
// hardware (a camera's name) and must not cost the heartbeat.
func cleanConfig(s *profile.Status) *profile.Status {
	if s == nil {
		return nil
	}
	c := *s
	c.Rejected = slices.Clone(s.Rejected)
	for i := range c.Rejected {
		c.Rejected[i].Reason = textfield.Clean(c.Rejected[i].Reason, maxReason)
	}
	return &c
}
