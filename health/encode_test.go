package health

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestMarshalJSONAgrees: a report marshals as encoding/json marshals it
// by reflection, whether MarshalJSON writes it or hands it over.
func TestMarshalJSONAgrees(t *testing.T) {
	since := time.Date(2026, 11, 2, 9, 0, 15, 0, time.UTC)
	for _, tc := range []struct {
		name string
		r    Report
	}{
		{"empty", Report{}},
		{"no checks", Report{Status: OK, Checks: []Node{}}},
		{"plain", Report{Status: Degraded, Checks: []Node{{Name: NameNetwork, Status: OK, Since: since,
			Checks: []Node{{Name: NameClock, Status: Degraded, Detail: "not yet compared with the portal's clock", Since: since, Checks: []Node{}}}}}}},
		{"nanoseconds and a zone", Report{Checks: []Node{{Name: "A", Since: time.Date(2026, 1, 2, 3, 4, 5, 60, time.FixedZone("", 2*3600+30*60))}}}},
		{"zero time", Report{Checks: []Node{{Name: "A"}}}},
		{"HTML", Report{Checks: []Node{{Name: "A <b>", Detail: "x & y"}}}},
		{"quote and backslash", Report{Checks: []Node{{Name: `say "hi"`, Detail: `C:\`}}}},
		{"control", Report{Checks: []Node{{Detail: "a\nb\x7f"}}}},
		{"UTF-8 and not", Report{Checks: []Node{{Name: "Kamera é", Detail: "\xff\u2028"}}}},
		{"zone with seconds", Report{Checks: []Node{{Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600+7))}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agreeMarshal(t, tc.r)
		})
	}
	// Years and zones time.Time's MarshalJSON refuses: so does this.
	for _, since := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600))} {
		if _, err := json.Marshal(Report{Checks: []Node{{Since: since}}}); err == nil {
			t.Errorf("since %v: marshalled", since)
		}
	}
}

// FuzzMarshalJSON: any strings and times marshal as by reflection.
func FuzzMarshalJSON(f *testing.F) {
	f.Add("ok", "Camera", "No camera <found>", int64(1762074015), int64(0), 0)
	f.Add("degraded", "Kamera é", "a\"b", int64(-62135596800), int64(999999999), 3600)
	f.Fuzz(func(t *testing.T, status, name, detail string, sec, nsec int64, off int) {
		since := time.Unix(sec, nsec).In(time.FixedZone("", off%(30*3600)))
		agreeMarshal(t, Report{Status: Status(status), Checks: []Node{{Name: name, Status: Status(status), Detail: detail, Since: since,
			Checks: []Node{{Name: detail, Since: since.Add(time.Duration(nsec)), Checks: []Node{}}}}}})
	})
}

func agreeMarshal(t *testing.T, r Report) {
	t.Helper()
	got, err := json.Marshal(r)
	want, wantErr := json.Marshal(plainReport(r))
	if (err == nil) != (wantErr == nil) || string(got) != string(want) {
		t.Fatalf("json.Marshal = %s, %v\nby reflection: %s, %v", got, err, want, wantErr)
	}
	if err != nil && !strings.Contains(err.Error(), "Time.MarshalJSON") {
		t.Fatalf("error %v, not time's", err)
	}
	// Called directly (the portal's stored column), as json.Marshal has it.
	if direct, err := r.MarshalJSON(); (err == nil) != (wantErr == nil) || string(direct) != string(want) {
		t.Fatalf("MarshalJSON = %s, %v\nby reflection: %s, %v", direct, err, want, wantErr)
	}
	// Marshalled inside another value (a heartbeat) too.
	got, _ = json.Marshal(struct{ H *Report }{&r})
	want, _ = json.Marshal(struct{ H *plainReport }{(*plainReport)(&r)})
	if string(got) != string(want) {
		t.Fatalf("inside a struct: %s\nby reflection: %s", got, want)
	}
}
