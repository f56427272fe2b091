package portal

import (
	"encoding/json"

	"roomkit/health"
)

// The kit's health tree (docs/health.md) as the portal keeps it: each
// heartbeat may carry the tree, summarised; parseHeartbeat refuses one
// that does not validate, so what is stored was checked once and is
// served as it came.

// healthColumn is the rooms.health value for h: nil (no report in this
// heartbeat) leaves the stored one as it is.
func healthColumn(h *health.Report) any {
	if h == nil {
		return nil
	}
	// MarshalJSON itself, not through json.Marshal, which would check
	// and compact what it wrote, at twice the cost of writing it.
	b, err := h.MarshalJSON()
	if err != nil {
		return nil // a validated report always marshals
	}
	return string(b)
}

// storedHealth reads the rooms.health column; "" (never reported) and a
// value that no longer parses are both null for the API.
func storedHealth(s string) *health.Report {
	if s == "" {
		return nil
	}
	var h health.Report
	if err := json.Unmarshal([]byte(s), &h); err != nil {
		return nil
	}
	return &h
}
