// Package plainjson reads JSON in its plain form only, without
// reflection: what Go's encoding/json writes for plain values (exact
// keys, no escapes in strings, no null, integers without fraction or
// exponent). Every method answers false for anything else, never
// "invalid": its callers then decode with encoding/json, which gives the
// same result for what this takes and words the errors for what it does
// not. The heartbeat, which every kit sends every 15 s and the portal
// decodes, is the reason: encoding/json's reflection was most of its CPU
// (portal/hbdecode.go, health/decode.go).
package plainjson

import (
	"strconv"
	"unicode/utf8"
)

// Reader reads one JSON text, or the start of one, from b.
type Reader struct {
	b []byte
	i int
}

// New returns a Reader of b, at its first byte.
func New(b []byte) Reader { return Reader{b: b} }

// Pos is how many bytes have been read.
func (d *Reader) Pos() int { return d.i }

// Since is what was read from pos (an earlier Pos) on.
func (d *Reader) Since(pos int) []byte { return d.b[pos:d.i] }

// Rest is what is left to read.
func (d *Reader) Rest() []byte { return d.b[d.i:] }

// Skip counts n bytes of Rest as read (by another decoder).
func (d *Reader) Skip(n int) { d.i += n }

// Space skips white space.
func (d *Reader) Space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// Byte skips space and consumes c if it comes next.
func (d *Reader) Byte(c byte) bool {
	d.Space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// End says whether only space is left.
func (d *Reader) End() bool {
	d.Space()
	return d.i == len(d.b)
}

// Raw reads a string without escapes, of valid UTF-8 and no control
// characters (encoding/json takes such bytes as they are), without a
// copy: for keys and for values compared with known ones.
func (d *Reader) Raw() ([]byte, bool) {
	if !d.Byte('"') {
		return nil, false
	}
	start := d.i
	ascii := true
	for ; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}

// Str is Raw, copied. Known values (a device's kind, a check's name) are
// not copied again: a fleet repeats them in every heartbeat.
func (d *Reader) Str(known ...string) (string, bool) {
	b, ok := d.Raw()
	if !ok {
		return "", false
	}
	for _, k := range known {
		if string(b) == k {
			return k, true
		}
	}
	return string(b), true
}

// Int reads an integer as encoding/json stores one in an int64:
// -?(0|[1-9][0-9]*) that fits (a fraction or an exponent, valid JSON,
// is encoding/json's to refuse).
func (d *Reader) Int() (int64, bool) {
	d.Space()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	switch {
	case d.i == digits, d.b[digits] == '0' && d.i > digits+1:
		return 0, false
	case d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E'):
		return 0, false
	}
	n, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	return n, err == nil
}

// Bool reads true or false.
func (d *Reader) Bool() (v, ok bool) {
	d.Space()
	for _, lit := range [...]string{"true", "false"} {
		if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
			d.i += len(lit)
			return lit == "true", true
		}
	}
	return false, false
}

// Object reads {"key": value, ...}, calling field for each key (its
// bytes, valid during the call) to read the value.
func (d *Reader) Object(field func(key []byte) bool) bool {
	if !d.Byte('{') {
		return false
	}
	if d.Byte('}') {
		return true
	}
	for {
		key, ok := d.Raw()
		if !ok || !d.Byte(':') || !field(key) {
			return false
		}
		if d.Byte('}') {
			return true
		}
		if !d.Byte(',') {
			return false
		}
	}
}

// Array reads [value, ...], calling elem for each. encoding/json makes
// [] an empty slice, not nil: callers do too.
func (d *Reader) Array(elem func() bool) bool {
	if !d.Byte('[') {
		return false
	}
	if d.Byte(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.Byte(']') {
			return true
		}
		if !d.Byte(',') {
			return false
		}
	}
}

// Once marks a key's bit in seen, false if it was there: encoding/json
// merges a key given twice, which is its to do.
func Once(seen *uint64, bit uint) bool {
	if *seen&(1<<bit) != 0 {
		return false
	}
	*seen |= 1 << bit
	return true
}
