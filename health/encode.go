package health

import (
	"encoding/json"
	"time"
)

// MarshalJSON writes the report as encoding/json would by reflection,
// byte for byte, without it for the plain report a kit sends (strings
// needing no escape, times in years 0–9999): a kit marshals one with
// every heartbeat, and a portal replica stores every one it receives.
// Anything else goes through encoding/json itself.
func (r Report) MarshalJSON() ([]byte, error) {
	if b, ok := r.appendJSON(make([]byte, 0, 256+192*r.count())); ok {
		return b, nil
	}
	return json.Marshal(plainReport(r))
}

// plainReport is Report without MarshalJSON: encoding/json's own way.
type plainReport Report

func (r Report) count() int {
	n := 0
	var walk func([]Node)
	walk = func(ns []Node) {
		for _, c := range ns {
			n++
			walk(c.Checks)
		}
	}
	walk(r.Checks)
	return n
}

func (r Report) appendJSON(b []byte) ([]byte, bool) {
	b = append(b, `{"status":`...)
	b, ok := appendString(b, string(r.Status))
	if !ok {
		return nil, false
	}
	b = append(b, `,"checks":`...)
	if b, ok = appendNodes(b, r.Checks); !ok {
		return nil, false
	}
	return append(b, '}'), true
}

func appendNodes(b []byte, ns []Node) ([]byte, bool) {
	if ns == nil {
		return append(b, "null"...), true
	}
	b = append(b, '[')
	for i, n := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		b = append(b, `{"name":`...)
		if b, ok = appendString(b, n.Name); !ok {
			return nil, false
		}
		b = append(b, `,"status":`...)
		if b, ok = appendString(b, string(n.Status)); !ok {
			return nil, false
		}
		b = append(b, `,"detail":`...)
		if b, ok = appendString(b, n.Detail); !ok {
			return nil, false
		}
		b = append(b, `,"since":`...)
		if b, ok = appendTime(b, n.Since); !ok {
			return nil, false
		}
		b = append(b, `,"checks":`...)
		if b, ok = appendNodes(b, n.Checks); !ok {
			return nil, false
		}
		b = append(b, '}')
	}
	return append(b, ']'), true
}

// appendString quotes s when encoding/json would write it as it is:
// printable ASCII without '"', '\\' and the HTML characters it escapes.
func appendString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return nil, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// appendTime is time.Time's MarshalJSON (RFC 3339 with nanoseconds
// as needed), which refuses years outside 0–9999 and zones of 24 hours
// or more; odd zones are left to it.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, false
	}
	if _, off := t.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		return nil, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}
