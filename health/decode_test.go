package health

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// decodeCases are reports DecodeReport must take (the first ones) or
// leave to encoding/json; either way it never disagrees with it.
var decodeCases = []string{
	`{"status":"ok","checks":[]}`,
	`{"status":"degraded","checks":[{"name":"Network","status":"ok","detail":"","since":"2026-11-02T09:00:15Z","checks":[{"name":"Clock","status":"degraded","detail":"not yet compared","since":"2026-11-02T09:00:15+02:00","checks":[]}]}]}`,
	` { "status" : "ok" , "checks" : [ { "name" : "Kamera é" , "checks" : [ ] } ] } `,
	`{"checks":[{"name":"A"},{"name":"B","status":"failed"}]}`,
	`{}`,
	// Left to encoding/json:
	`{"status":"ok","status":"failed"}`,
	`{"Status":"ok"}`,
	`{"status":"o\u006b"}`,
	`{"status":null}`,
	`{"checks":null}`,
	`{"checks":[{"name":"A","extra":1}]}`,
	`{"checks":[{"since":"yesterday"}]}`,
	`{"checks":[{"since":1}]}`,
	`{"status":"ok"} x`,
	`{"status":"ok",}`,
	`{"status":"` + "\xff" + `"}`,
	`{"checks":[{"checks":[{"checks":[{"checks":[{"checks":[{"checks":[]}]}]}]}]}]}`,
	`[]`,
	``,
}

func TestDecodeReportAgrees(t *testing.T) {
	for i, in := range decodeCases {
		got, ok := DecodeReport([]byte(in))
		if i < 5 && !ok {
			t.Errorf("DecodeReport(%q) left a plain report to encoding/json", in)
		}
		agree(t, in, got, ok)
	}
}

// TestDecodeReportPrefix: a report followed by more is read up to its
// closing brace, as DecodeReport reads it alone.
func TestDecodeReportPrefix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		fail bool
	}{
		{in: `{"status":"ok","checks":[]},"update":{}}`, n: 27},
		{in: ` {"status":"ok"} x`, n: 16},
		{in: `{"status":"ok"`, fail: true},
		{in: `{"status":"ok","extra":1},`, fail: true},
	} {
		r, n, ok := DecodeReportPrefix([]byte(tc.in))
		if ok == tc.fail || (ok && n != tc.n) {
			t.Errorf("DecodeReportPrefix(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, !tc.fail)
		}
		if ok {
			agree(t, tc.in[:n], r, ok)
		}
	}
}

// FuzzDecodeReport: whatever DecodeReport takes, encoding/json (strict,
// as the portal decodes) decodes to the same report.
func FuzzDecodeReport(f *testing.F) {
	for _, in := range decodeCases {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := DecodeReport([]byte(in))
		agree(t, in, got, ok)
	})
}

func agree(t *testing.T, in string, got Report, ok bool) {
	t.Helper()
	if !ok {
		return
	}
	var want Report
	dec := json.NewDecoder(bytes.NewReader([]byte(in)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&want); err != nil || dec.More() {
		t.Fatalf("DecodeReport took %q, which encoding/json refuses: %v", in, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeReport(%q) = %#v, encoding/json: %#v", in, got, want)
	}
}
