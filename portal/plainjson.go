package portal

import (
	"strconv"
	"unicode/utf8"
)

// plainJSON reads JSON in its plain form only, without reflection: what
// a kit's encoding/json writes (exact keys, no escapes in strings, no
// null, integers without fraction or exponent). Every method answers
// false for anything else, never "invalid": its callers then decode
// with encoding/json, which gives the same result for what this takes
// and words the errors for what it does not. The heartbeat, which every
// kit sends every 15 s, is the reason (decodeHeartbeatPlain).
type plainJSON struct {
	b []byte
	i int
}

func (d *plainJSON) space() {
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
func (d *plainJSON) byte1(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end says whether only space is left.
func (d *plainJSON) end() bool {
	d.space()
	return d.i == len(d.b)
}

// raw reads a string without escapes, of valid UTF-8 and no control
// characters (encoding/json takes such bytes as they are), without a
// copy: for keys and for values compared with known ones.
func (d *plainJSON) raw() ([]byte, bool) {
	if !d.byte1('"') {
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

// str is raw, copied. Known values (a device's kind, "ready") are not
// copied again: a fleet repeats them in every heartbeat.
func (d *plainJSON) str(known ...string) (string, bool) {
	b, ok := d.raw()
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

// int reads an integer as encoding/json stores one in an int64:
// -?(0|[1-9][0-9]*) that fits (a fraction or an exponent, valid JSON,
// is encoding/json's to refuse).
func (d *plainJSON) int() (int64, bool) {
	d.space()
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

// bool reads true or false.
func (d *plainJSON) bool() (v, ok bool) {
	d.space()
	for _, lit := range [...]string{"true", "false"} {
		if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
			d.i += len(lit)
			return lit == "true", true
		}
	}
	return false, false
}

// object reads {"key": value, ...}, calling field for each key (its
// bytes, valid during the call) to read the value.
func (d *plainJSON) object(field func(key []byte) bool) bool {
	if !d.byte1('{') {
		return false
	}
	if d.byte1('}') {
		return true
	}
	for {
		key, ok := d.raw()
		if !ok || !d.byte1(':') || !field(key) {
			return false
		}
		if d.byte1('}') {
			return true
		}
		if !d.byte1(',') {
			return false
		}
	}
}

// once marks a key's bit in seen, false if it was there: encoding/json
// merges a key given twice, which is its to do.
func once(seen *uint64, bit uint) bool {
	if *seen&(1<<bit) != 0 {
		return false
	}
	*seen |= 1 << bit
	return true
}

// array reads [value, ...], calling elem for each. encoding/json makes
// [] an empty slice, not nil: callers do too.
func (d *plainJSON) array(elem func() bool) bool {
	if !d.byte1('[') {
		return false
	}
	if d.byte1(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.byte1(']') {
			return true
		}
		if !d.byte1(',') {
			return false
		}
	}
}
