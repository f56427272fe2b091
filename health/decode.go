package health

import (
	"time"

	"roomkit/internal/plainjson"
)

// DecodeReport decodes a report as kits send it, without reflection: the
// portal decodes one with every heartbeat, and encoding/json spends most
// of a heartbeat's CPU on the tree. It takes only the plain form (the
// five fields spelled as Report's tags, each once, no null, strings
// without escapes); ok false means "not that form", never "invalid", and
// the caller then decodes with encoding/json, which gives the same
// result for what this takes and words the errors for what it does not.
func DecodeReport(b []byte) (r Report, ok bool) {
	r, n, ok := DecodeReportPrefix(b)
	rest := plainjson.New(b[n:])
	if !ok || !rest.End() {
		return Report{}, false
	}
	return r, true
}

// DecodeReportPrefix is DecodeReport of the report at the start of b,
// which may go on (the rest of a heartbeat's body): n is the bytes read,
// up to the report's closing brace. The portal decodes a heartbeat's
// other fields itself and hands the tree here where it finds one.
func DecodeReportPrefix(b []byte) (r Report, n int, ok bool) {
	d := reportDecoder{plainjson.New(b)}
	if !d.report(&r) {
		return Report{}, 0, false
	}
	return r, d.Pos(), true
}

type reportDecoder struct{ plainjson.Reader }

// knownNames are the appliance's checks' names (checks.go): a kit's
// report is nearly all of them, and they need no copy.
var knownNames = []string{NameNetwork, NamePortal, NameCalendar, NameClock, NameDisplay, NameTouch,
	NameCamera, NameSpeakerphone, NameMicrophone, NameSpeaker, NameAudioThread, NameStorage, NameUpdates}

// status reads a status, without a copy for the three there are.
func (d *reportDecoder) status() (Status, bool) {
	s, ok := d.Str(string(OK), string(Degraded), string(Failed))
	return Status(s), ok
}

func (d *reportDecoder) report(r *Report) bool {
	var seen uint64
	return d.Object(func(key []byte) (ok bool) {
		switch string(key) {
		case "status":
			if ok = plainjson.Once(&seen, 0); ok {
				r.Status, ok = d.status()
			}
		case "checks":
			ok = plainjson.Once(&seen, 1) && d.nodes(&r.Checks, 1)
		default: // unknown, or spelled otherwise: encoding/json decides
			ok = false
		}
		return ok
	})
}

// nodes reads an array of checks: encoding/json makes [] an empty slice,
// not nil, and so does this.
func (d *reportDecoder) nodes(ns *[]Node, depth int) bool {
	// Deeper than Validate takes: encoding/json decides (and it refuses).
	if depth > MaxDepth+1 {
		return false
	}
	out := []Node{}
	ok := d.Array(func() bool {
		out = append(out, Node{})
		return d.node(&out[len(out)-1], depth)
	})
	*ns = out
	return ok
}

func (d *reportDecoder) node(n *Node, depth int) bool {
	var seen uint64
	return d.Object(func(key []byte) (ok bool) {
		switch string(key) {
		case "name":
			if ok = plainjson.Once(&seen, 0); ok {
				n.Name, ok = d.Str(knownNames...)
			}
		case "status":
			if ok = plainjson.Once(&seen, 1); ok {
				n.Status, ok = d.status()
			}
		case "detail":
			if ok = plainjson.Once(&seen, 2); ok {
				n.Detail, ok = d.Str()
			}
		case "since":
			ok = plainjson.Once(&seen, 3) && d.time(&n.Since)
		case "checks":
			ok = plainjson.Once(&seen, 4) && d.nodes(&n.Checks, depth+1)
		default:
			ok = false
		}
		return ok
	})
}

// time reads a string as encoding/json does for a time.Time: the quoted
// literal goes to its UnmarshalJSON.
func (d *reportDecoder) time(t *time.Time) bool {
	d.Space()
	start := d.Pos()
	if _, ok := d.Raw(); !ok {
		return false
	}
	return t.UnmarshalJSON(d.Since(start)) == nil
}
