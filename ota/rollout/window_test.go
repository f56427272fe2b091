package rollout

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the same zone rules on every machine that runs the tests

	"roomkit/ota"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func win(start, end string) ota.Window { return ota.Window{Start: start, End: end} }

// TestWindow checks InWindow and NextOpen together: next is what NextOpen
// must return ("" : t itself, which also means InWindow must be true).
// Times carry the zone's own offset so each row reads as the wall clock.
func TestWindow(t *testing.T) {
	for _, c := range []struct {
		name, zone string
		w          ota.Window
		t          string
		next       string
	}{
		// Europe/Zurich, spring forward: 2026-03-29 02:00 CET → 03:00 CEST.
		{"zurich spring: skipped window, before", "Europe/Zurich", win("02:00", "03:00"), "2026-03-29T01:59:59+01:00", "2026-03-30T02:00:00+02:00"},
		{"zurich spring: skipped window, day before", "Europe/Zurich", win("02:00", "03:00"), "2026-03-28T12:00:00+01:00", "2026-03-30T02:00:00+02:00"},
		{"zurich spring: skipped window, after the jump", "Europe/Zurich", win("02:00", "03:00"), "2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"},
		{"zurich spring: previous day still normal", "Europe/Zurich", win("02:00", "03:00"), "2026-03-28T02:30:00+01:00", ""},
		{"zurich spring: overlapping window opens at the jump", "Europe/Zurich", win("02:30", "03:30"), "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"},
		{"zurich spring: overlapping window open after the jump", "Europe/Zurich", win("02:30", "03:30"), "2026-03-29T03:29:59+02:00", ""},
		{"zurich spring: overlapping window closed at its end", "Europe/Zurich", win("02:30", "03:30"), "2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"},
		{"zurich spring: default window before the jump", "Europe/Zurich", ota.DefaultWindow, "2026-03-29T01:59:59+01:00", ""},
		{"zurich spring: default window after the jump", "Europe/Zurich", ota.DefaultWindow, "2026-03-29T03:00:00+02:00", ""},
		{"zurich spring: default window opens at 01:00 CET", "Europe/Zurich", ota.DefaultWindow, "2026-03-29T00:30:00+01:00", "2026-03-29T01:00:00+01:00"},
		// Europe/Zurich, fall back: 2026-10-25 03:00 CEST → 02:00 CET.
		{"zurich fall: first 02:30", "Europe/Zurich", win("02:00", "03:00"), "2026-10-25T02:30:00+02:00", ""},
		{"zurich fall: second 02:30", "Europe/Zurich", win("02:00", "03:00"), "2026-10-25T02:30:00+01:00", ""},
		{"zurich fall: closed at 03:00 CET", "Europe/Zurich", win("02:00", "03:00"), "2026-10-25T03:00:00+01:00", "2026-10-26T02:00:00+01:00"},
		{"zurich fall: opens at 02:00 CEST", "Europe/Zurich", win("02:00", "03:00"), "2026-10-25T01:59:00+02:00", "2026-10-25T02:00:00+02:00"},
		{"zurich fall: window starting in the repeated hour closes at the jump", "Europe/Zurich", win("02:30", "03:30"), "2026-10-25T02:10:00+01:00", "2026-10-25T02:30:00+01:00"},
		{"zurich fall: ...and was open before it", "Europe/Zurich", win("02:30", "03:30"), "2026-10-25T02:59:59+02:00", ""},
		// America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
		{"new york spring: skipped window", "America/New_York", win("02:00", "03:00"), "2026-03-08T01:30:00-05:00", "2026-03-09T02:00:00-04:00"},
		{"new york spring: default window after the jump", "America/New_York", ota.DefaultWindow, "2026-03-08T03:59:59-04:00", ""},
		{"new york spring: default window closes at 04:00 EDT", "America/New_York", ota.DefaultWindow, "2026-03-08T04:00:00-04:00", "2026-03-09T01:00:00-04:00"},
		{"new york fall: first 01:30", "America/New_York", win("01:00", "02:00"), "2026-11-01T01:30:00-04:00", ""},
		{"new york fall: second 01:30", "America/New_York", win("01:00", "02:00"), "2026-11-01T01:30:00-05:00", ""},
		{"new york fall: closed at 02:00 EST", "America/New_York", win("01:00", "02:00"), "2026-11-01T02:00:00-05:00", "2026-11-02T01:00:00-05:00"},
		{"new york: crossing midnight across the spring jump", "America/New_York", win("22:00", "02:00"), "2026-03-08T01:59:59-05:00", ""},
		{"new york: crossing midnight, after the jump", "America/New_York", win("22:00", "02:00"), "2026-03-08T03:00:00-04:00", "2026-03-08T22:00:00-04:00"},
		// Australia/Lord_Howe, 30-minute DST: 2026-10-04 02:00 +10:30 → 02:30 +11:00;
		// 2026-04-05 02:00 +11:00 → 01:30 +10:30.
		{"lord howe spring: skipped half hour", "Australia/Lord_Howe", win("02:00", "02:30"), "2026-10-04T01:45:00+10:30", "2026-10-05T02:00:00+11:00"},
		{"lord howe spring: overlapping window opens at the jump", "Australia/Lord_Howe", win("02:00", "03:00"), "2026-10-04T01:45:00+10:30", "2026-10-04T02:30:00+11:00"},
		{"lord howe fall: first 01:45", "Australia/Lord_Howe", win("01:30", "02:00"), "2026-04-05T01:45:00+11:00", ""},
		{"lord howe fall: second 01:45", "Australia/Lord_Howe", win("01:30", "02:00"), "2026-04-05T01:45:00+10:30", ""},
		{"lord howe fall: closed at 02:00 +10:30", "Australia/Lord_Howe", win("01:30", "02:00"), "2026-04-05T02:00:00+10:30", "2026-04-06T01:30:00+10:30"},
		// Asia/Kolkata: +05:30, no DST.
		{"kolkata: just before", "Asia/Kolkata", ota.DefaultWindow, "2026-12-05T00:59:59+05:30", "2026-12-05T01:00:00+05:30"},
		{"kolkata: inside", "Asia/Kolkata", ota.DefaultWindow, "2026-12-05T03:59:59+05:30", ""},
		{"kolkata: after", "Asia/Kolkata", ota.DefaultWindow, "2026-12-05T04:00:00+05:30", "2026-12-06T01:00:00+05:30"},
		{"kolkata: the same instant in UTC", "Asia/Kolkata", ota.DefaultWindow, "2026-12-04T19:00:00Z", "2026-12-05T01:00:00+05:30"},
		// Pacific/Chatham, +12:45/+13:45: 2026-09-27 02:45 → 03:45; 2026-04-05 03:45 → 02:45.
		{"chatham spring: skipped window", "Pacific/Chatham", win("03:00", "03:30"), "2026-09-27T02:30:00+12:45", "2026-09-28T03:00:00+13:45"},
		{"chatham spring: window across the jump", "Pacific/Chatham", win("02:00", "04:00"), "2026-09-27T03:50:00+13:45", ""},
		{"chatham fall: second 03:00", "Pacific/Chatham", win("03:00", "03:30"), "2026-04-05T03:00:00+12:45", ""},
		{"chatham fall: between the two openings", "Pacific/Chatham", win("03:00", "03:30"), "2026-04-05T02:50:00+12:45", "2026-04-05T03:00:00+12:45"},
		{"chatham: opens at 01:00", "Pacific/Chatham", ota.DefaultWindow, "2026-12-05T00:00:00+13:45", "2026-12-05T01:00:00+13:45"},
		// Crossing midnight, in Zurich winter time.
		{"midnight: before", "Europe/Zurich", win("22:00", "02:00"), "2026-12-05T21:59:59+01:00", "2026-12-05T22:00:00+01:00"},
		{"midnight: start", "Europe/Zurich", win("22:00", "02:00"), "2026-12-05T22:00:00+01:00", ""},
		{"midnight: 23:59", "Europe/Zurich", win("22:00", "02:00"), "2026-12-05T23:59:59+01:00", ""},
		{"midnight: 00:00", "Europe/Zurich", win("22:00", "02:00"), "2026-12-06T00:00:00+01:00", ""},
		{"midnight: 01:59", "Europe/Zurich", win("22:00", "02:00"), "2026-12-06T01:59:59+01:00", ""},
		{"midnight: end", "Europe/Zurich", win("22:00", "02:00"), "2026-12-06T02:00:00+01:00", "2026-12-06T22:00:00+01:00"},
		{"midnight: noon", "Europe/Zurich", win("22:00", "02:00"), "2026-12-06T12:00:00+01:00", "2026-12-06T22:00:00+01:00"},
		// start == end: always, also in skipped time.
		{"always: noon", "Europe/Zurich", win("03:00", "03:00"), "2026-12-05T12:00:00+01:00", ""},
		{"always: 03:00", "Europe/Zurich", win("03:00", "03:00"), "2026-12-05T03:00:00+01:00", ""},
		{"always: spring day", "Europe/Zurich", win("02:30", "02:30"), "2026-03-29T03:00:00+02:00", ""},
		{"always: 00:00-00:00", "UTC", win("00:00", "00:00"), "2026-12-05T00:00:00Z", ""},
		// Edges of the day.
		{"00:00-23:59 closed for the last minute", "UTC", win("00:00", "23:59"), "2026-12-05T23:59:30Z", "2026-12-06T00:00:00Z"},
		{"23:59-00:00 open one minute", "UTC", win("23:59", "00:00"), "2026-12-05T23:59:30Z", ""},
		// Broken windows are read as the default window.
		{"malformed: inside the default", "UTC", win("25:00", "04:00"), "2026-12-05T02:00:00Z", ""},
		{"malformed: outside the default", "UTC", win("", ""), "2026-12-05T12:00:00Z", "2026-12-06T01:00:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			loc := zone(t, c.zone)
			tt := at(t, c.t)
			if got, want := tt.In(loc).Format(time.RFC3339), c.t; !strings.HasSuffix(want, "Z") && got != want {
				t.Fatalf("test row is wrong: %s is %s on the wall clock in %s", want, got, c.zone)
			}
			want := tt
			if c.next != "" {
				want = at(t, c.next)
			}
			if got := InWindow(tt, loc, c.w); got != (c.next == "") {
				t.Errorf("InWindow(%s, %s–%s) = %v, want %v", c.t, c.w.Start, c.w.End, got, c.next == "")
			}
			got := NextOpen(tt, loc, c.w)
			if !got.Equal(want) {
				t.Errorf("NextOpen(%s, %s–%s) = %s, want %s", c.t, c.w.Start, c.w.End, got.In(loc).Format(time.RFC3339), want.In(loc).Format(time.RFC3339))
			}
			if !InWindow(got, loc, c.w) {
				t.Errorf("NextOpen gave %s, which is not in the window", got.In(loc).Format(time.RFC3339))
			}
			if c.next != "" && InWindow(got.Add(-time.Nanosecond), loc, c.w) {
				t.Errorf("NextOpen gave %s, but the window was open just before", got.In(loc).Format(time.RFC3339))
			}
		})
	}
}

func TestWindowNilLocationIsUTC(t *testing.T) {
	tt := at(t, "2026-12-05T01:30:00+01:00") // 00:30 UTC
	if InWindow(tt, nil, win("00:00", "01:00")) != true || InWindow(tt, nil, win("01:00", "02:00")) != false {
		t.Error("InWindow with a nil location does not read the UTC wall clock")
	}
	if got, want := NextOpen(tt, nil, win("01:00", "02:00")), at(t, "2026-12-05T01:00:00Z"); !got.Equal(want) {
		t.Errorf("NextOpen with a nil location = %s, want %s", got, want)
	}
}

func TestParseWindow(t *testing.T) {
	for _, c := range []struct {
		w          ota.Window
		start, end time.Duration
		err        string
	}{
		{w: ota.DefaultWindow, start: time.Hour, end: 4 * time.Hour},
		{w: win("22:00", "02:00"), start: 22 * time.Hour, end: 2 * time.Hour},
		{w: win("00:00", "23:59"), end: 23*time.Hour + 59*time.Minute},
		{w: win("03:00", "03:00"), start: 3 * time.Hour, end: 3 * time.Hour},
		{w: win("25:00", "04:00"), err: `window start "25:00" is not HH:MM (00:00–23:59)`},
		{w: win("01:00", "24:00"), err: `window end "24:00" is not HH:MM (00:00–23:59)`},
		{w: win("1:00", "04:00"), err: `window start "1:00" is not HH:MM (00:00–23:59)`},
		{w: win("", "04:00"), err: `window start "" is not HH:MM (00:00–23:59)`},
		{w: win("01:00", ""), err: `window end "" is not HH:MM (00:00–23:59)`},
		{w: win("01:60", "04:00"), err: `window start "01:60" is not HH:MM (00:00–23:59)`},
		{w: win("01.00", "04:00"), err: `window start "01.00" is not HH:MM (00:00–23:59)`},
		{w: win("01:00", "4pm"), err: `window end "4pm" is not HH:MM (00:00–23:59)`},
		{w: win("01:00:00", "04:00"), err: `window start "01:00:00" is not HH:MM (00:00–23:59)`},
		{w: win("+1:00", "04:00"), err: `window start "+1:00" is not HH:MM (00:00–23:59)`},
		{w: win("１2:00", "04:00"), err: `window start "１2:00" is not HH:MM (00:00–23:59)`},
	} {
		start, end, err := ParseWindow(c.w)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("ParseWindow(%q, %q) error = %v, want %q", c.w.Start, c.w.End, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("ParseWindow(%q, %q): %v", c.w.Start, c.w.End, err)
		case c.err == "" && (start != c.start || end != c.end):
			t.Errorf("ParseWindow(%q, %q) = %v, %v, want %v, %v", c.w.Start, c.w.End, start, end, c.start, c.end)
		}
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"01:00", "23:59", "00:00", "25:00", "1:00", "", "24:00", "0a:00", "١٢:٠٠"} {
		f.Add(s, "04:00")
	}
	ref := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, start, end string) {
		w := win(start, end)
		s, e, err := ParseWindow(w)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "window ") {
				t.Fatalf("error %q does not name the window bound", err)
			}
			return
		}
		for _, d := range []time.Duration{s, e} {
			if d < 0 || d >= 24*time.Hour || d%time.Minute != 0 {
				t.Fatalf("ParseWindow(%q, %q) gave %v, not a whole minute of a day", start, end, d)
			}
		}
		// What parses prints back the same: admins see what they typed.
		if got := ref.Add(s).Format("15:04"); got != start {
			t.Fatalf("start %q parsed as %v (%s)", start, s, got)
		}
		if got := ref.Add(e).Format("15:04"); got != end {
			t.Fatalf("end %q parsed as %v (%s)", end, e, got)
		}
	})
}
