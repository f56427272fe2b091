package portal

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"roomkit/internal/textfield"
)

// FuzzParseGroups: whatever a form or API sends as groups, what comes
// back is a list of distinct one-line names that survive being stored.
func FuzzParseGroups(f *testing.F) {
	for _, s := range []string{"", "east", "east, west", "a,,b\nc", " east ,east", "\u202egroup", strings.Repeat("x", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		gs, err := parseGroups(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, g := range gs {
			if g == "" || strings.ContainsAny(g, ",\n\r") || textfield.Check(g, maxGroup) != nil || seen[g] {
				t.Fatalf("parseGroups(%q) = %q: bad group %q", s, gs, g)
			}
			seen[g] = true
		}
		if back := loadGroups(storedGroups(gs)); strings.Join(back, "\x00") != strings.Join(gs, "\x00") {
			t.Fatalf("stored %q, loaded %q", gs, back)
		}
	})
}

// FuzzAuditFilter: any query string gives a filter or an error, and a
// filter's SQL has as many placeholders as arguments.
func FuzzAuditFilter(f *testing.F) {
	for _, s := range []string{"", "actor=it&action=pair&room=rm_1&from=2026-11-02&to=2026-11-03",
		"from=2026-11-02T09:30", "to=2026-11-02T09:30:00Z", "from=yesterday", "from=2026-11-03&to=2026-11-02"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		filt, err := parseAuditFilter(v, time.UTC)
		if err != nil {
			return
		}
		if !filt.From.IsZero() && !filt.To.IsZero() && !filt.From.Before(filt.To) {
			t.Fatalf("%q: empty range %v – %v accepted", q, filt.From, filt.To)
		}
		where, args := filt.query()
		if strings.Count(where, "?") != len(args) {
			t.Fatalf("%q: %q with %d arguments", q, where, len(args))
		}
	})
}
