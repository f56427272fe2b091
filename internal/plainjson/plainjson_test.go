package plainjson

import (
	"encoding/json"
	"testing"
)

// TestReader: each reader takes what encoding/json would decode to the
// same value, and says false (not "invalid") for what it leaves to
// encoding/json.
func TestReader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		read func(d *Reader) (any, bool)
		want any // nil: not taken
	}{
		{` 42 `, func(d *Reader) (any, bool) { return d.Int() }, int64(42)},
		{`-7`, func(d *Reader) (any, bool) { return d.Int() }, int64(-7)},
		{`0`, func(d *Reader) (any, bool) { return d.Int() }, int64(0)},
		{`007`, func(d *Reader) (any, bool) { return d.Int() }, nil},
		{`1.5`, func(d *Reader) (any, bool) { return d.Int() }, nil},
		{`1e3`, func(d *Reader) (any, bool) { return d.Int() }, nil},
		{`99999999999999999999`, func(d *Reader) (any, bool) { return d.Int() }, nil},
		{`-`, func(d *Reader) (any, bool) { return d.Int() }, nil},
		{`"ready"`, func(d *Reader) (any, bool) { return d.Str("ready") }, "ready"},
		{`"Zürich"`, func(d *Reader) (any, bool) { return d.Str() }, "Zürich"},
		{`"a\"b"`, func(d *Reader) (any, bool) { return d.Str() }, nil},
		{"\"\xff\"", func(d *Reader) (any, bool) { return d.Str() }, nil},
		{"\"tab\there\"", func(d *Reader) (any, bool) { return d.Str() }, nil},
		{`"open`, func(d *Reader) (any, bool) { return d.Str() }, nil},
		{`null`, func(d *Reader) (any, bool) { return d.Str() }, nil},
		{` true`, func(d *Reader) (any, bool) { return d.Bool() }, true},
		{`false`, func(d *Reader) (any, bool) { return d.Bool() }, false},
		{`tru`, func(d *Reader) (any, bool) { return d.Bool() }, nil},
	} {
		d := New([]byte(tc.in))
		got, ok := tc.read(&d)
		ok = ok && d.End()
		switch {
		case tc.want == nil && ok:
			t.Errorf("%s: took it as %v; want it left to encoding/json", tc.in, got)
		case tc.want != nil && (!ok || got != tc.want):
			t.Errorf("%s: %v, %v; want %v", tc.in, got, ok, tc.want)
		case tc.want != nil:
			// What it takes, encoding/json decodes to the same value.
			v := new(any)
			if err := json.Unmarshal([]byte(tc.in), v); err != nil {
				t.Errorf("%s: encoding/json: %v", tc.in, err)
			} else if f, isNum := (*v).(float64); isNum && float64(got.(int64)) != f || !isNum && *v != got {
				t.Errorf("%s: encoding/json decodes %v, this %v", tc.in, *v, got)
			}
		}
	}
}

// TestObjectArray: keys in order, each once; empty containers; a key
// given twice is left to encoding/json through Once.
func TestObjectArray(t *testing.T) {
	d := New([]byte(`{"a": [1, 2], "b": [], "c": {}}`))
	var keys []string
	var ints []int64
	var seen uint64
	ok := d.Object(func(key []byte) bool {
		keys = append(keys, string(key))
		if !Once(&seen, uint(len(keys))) {
			return false
		}
		if string(key) == "c" {
			return d.Object(func([]byte) bool { return false })
		}
		return d.Array(func() bool {
			n, ok := d.Int()
			ints = append(ints, n)
			return ok
		})
	})
	if !ok || !d.End() || len(keys) != 3 || len(ints) != 2 || ints[1] != 2 {
		t.Errorf("ok %v, keys %q, ints %v", ok, keys, ints)
	}
	var twice uint64
	if !Once(&twice, 3) || Once(&twice, 3) {
		t.Error("Once took a bit twice")
	}
	for _, in := range []string{`{"a" 1}`, `{"a": [1,]}`, `{"a": [1] "b": 2}`, `[`} {
		d := New([]byte(in))
		if d.Object(func([]byte) bool { return d.Array(func() bool { _, ok := d.Int(); return ok }) }) && d.End() {
			t.Errorf("%s: taken", in)
		}
	}
}
