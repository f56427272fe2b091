package health

import (
	"time"
	"unicode/utf8"
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
	d := reportDecoder{b: b, i: n}
	d.space()
	if !ok || d.i != len(d.b) {
		return Report{}, false
	}
	return r, true
}

// DecodeReportPrefix is DecodeReport of the report at the start of b,
// which may go on (the rest of a heartbeat's body): n is the bytes read,
// up to the report's closing brace. The portal decodes a heartbeat's
// other fields itself and hands the tree here where it finds one.
func DecodeReportPrefix(b []byte) (r Report, n int, ok bool) {
	d := reportDecoder{b: b}
	if !d.report(&r) {
		return Report{}, 0, false
	}
	return r, d.i, true
}

type reportDecoder struct {
	b []byte
	i int
}

func (d *reportDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// byte1 skips space and consumes c if it comes next.
func (d *reportDecoder) byte1(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// str reads a string without escapes, of valid UTF-8 and no control
// characters: encoding/json takes its bytes as they are.
func (d *reportDecoder) str() (string, bool) {
	if !d.byte1('"') {
		return "", false
	}
	start := d.i
	ascii := true
	for ; d.i < len(d.b); d.i++ {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// fields reads {"key": value, ...}: next is called after '{' and after
// each value, and returns the next key (its bytes, not a copy), or done
// at '}'.
func (d *reportDecoder) open() bool { return d.byte1('{') }

func (d *reportDecoder) next(first bool) (key []byte, done, ok bool) {
	if d.byte1('}') {
		return nil, true, true
	}
	if !first && !d.byte1(',') {
		return nil, false, false
	}
	d.space()
	key, ok = d.raw()
	if !ok || !d.byte1(':') {
		return nil, false, false
	}
	return key, false, true
}

// raw is str without the copy, for keys.
func (d *reportDecoder) raw() ([]byte, bool) {
	if !d.byte1('"') {
		return nil, false
	}
	start := d.i
	for ; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return d.b[start : d.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// knownNames are the appliance's checks' names (checks.go): a kit's
// report is nearly all of them, and they need no copy.
var knownNames = [...]string{NameNetwork, NamePortal, NameCalendar, NameClock, NameDisplay, NameTouch,
	NameCamera, NameSpeakerphone, NameMicrophone, NameSpeaker, NameAudioThread, NameStorage, NameUpdates}

// name reads a check's name, without a copy for a known one.
func (d *reportDecoder) name() (string, bool) {
	d.space()
	start := d.i
	if b, ok := d.raw(); ok {
		for _, n := range knownNames {
			if string(b) == n {
				return n, true
			}
		}
	}
	d.i = start
	return d.str()
}

// status reads a status, without a copy for the three there are.
func (d *reportDecoder) status() (Status, bool) {
	d.space()
	start := d.i
	b, ok := d.raw()
	if !ok {
		d.i = start
		s, ok := d.str()
		return Status(s), ok
	}
	for _, s := range [...]Status{OK, Degraded, Failed} {
		if string(b) == string(s) {
			return s, true
		}
	}
	return Status(b), true
}

// object reads an object, calling field for each key; field reads the
// value and says whether it could.
func (d *reportDecoder) object(field func(key []byte) bool) bool {
	if !d.open() {
		return false
	}
	for first := true; ; first = false {
		key, done, ok := d.next(first)
		switch {
		case !ok:
			return false
		case done:
			return true
		}
		if !field(key) {
			return false
		}
	}
}

func (d *reportDecoder) report(r *Report) bool {
	var seen uint8
	return d.object(func(key []byte) (ok bool) {
		switch string(key) {
		case "status":
			ok = once(&seen, 1)
			if ok {
				r.Status, ok = d.status()
			}
		case "checks":
			ok = once(&seen, 2) && d.nodes(&r.Checks, 1)
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
	if depth > MaxDepth+1 || !d.byte1('[') {
		return false
	}
	out := []Node{}
	if !d.byte1(']') {
		for {
			out = append(out, Node{})
			if !d.node(&out[len(out)-1], depth) {
				return false
			}
			if d.byte1(']') {
				break
			}
			if !d.byte1(',') {
				return false
			}
		}
	}
	*ns = out
	return true
}

func (d *reportDecoder) node(n *Node, depth int) bool {
	var seen uint8
	return d.object(func(key []byte) (ok bool) {
		switch string(key) {
		case "name":
			if ok = once(&seen, 1); ok {
				n.Name, ok = d.name()
			}
		case "status":
			if ok = once(&seen, 2); ok {
				n.Status, ok = d.status()
			}
		case "detail":
			if ok = once(&seen, 4); ok {
				n.Detail, ok = d.str()
			}
		case "since":
			ok = once(&seen, 8) && d.time(&n.Since)
		case "checks":
			ok = once(&seen, 16) && d.nodes(&n.Checks, depth+1)
		default:
			ok = false
		}
		return ok
	})
}

// time reads a string as encoding/json does for a time.Time: the quoted
// literal goes to its UnmarshalJSON.
func (d *reportDecoder) time(t *time.Time) bool {
	d.space()
	start := d.i
	if _, ok := d.str(); !ok {
		return false
	}
	return t.UnmarshalJSON(d.b[start:d.i]) == nil
}

// once marks bit in seen, false if it was already: a key that comes
// twice is left to encoding/json (it merges the two).
func once(seen *uint8, bit uint8) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}
