package provisioning

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeUserCode(t *testing.T) {
	for _, tc := range []struct {
		typed, want string
		wantErr     bool
	}{
		{"BCDF-GHJK", "BCDFGHJK", false},
		{"bcdf-ghjk", "BCDFGHJK", false},
		{" bcdf ghjk ", "BCDFGHJK", false},
		{"BC-DF-GH-JK", "BCDFGHJK", false},
		{"BCDFGHJK", "BCDFGHJK", false},
		{"BCDF-GHJ", "", true},       // too short
		{"BCDF-GHJKL", "", true},     // too long
		{"BCDF-GHJA", "", true},      // a vowel is never in a code
		{"BCDF-GHJ1", "", true},      // digits neither
		{"BCDF-GHJ\u00c9", "", true}, // nor letters outside ASCII
		{"", "", true},
	} {
		got, err := NormalizeUserCode(tc.typed)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("NormalizeUserCode(%q) = %q, %v; want %q, error %v", tc.typed, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !errors.Is(err, ErrBadUserCode) {
			t.Errorf("NormalizeUserCode(%q) error %v does not wrap ErrBadUserCode", tc.typed, err)
		}
	}
}

func TestNewUserCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c, err := NewUserCode()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := NormalizeUserCode(FormatUserCode(c)); err != nil || n != c {
			t.Fatalf("code %q does not survive display and entry: %q, %v", c, n, err)
		}
		if strings.ContainsAny(c, "AEIOUY0123456789") {
			t.Fatalf("code %q has a vowel or digit", c)
		}
		seen[c] = true
	}
	if len(seen) < 1000 {
		t.Errorf("1000 codes had %d duplicates", 1000-len(seen))
	}
}

func TestFormatUserCode(t *testing.T) {
	if got := FormatUserCode("BCDFGHJK"); got != "BCDF-GHJK" {
		t.Errorf("FormatUserCode = %q", got)
	}
}

func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdf ghjk", "", "----", "ÄÖÜ", "BCDFGHJKBCDFGHJK"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		got, err := NormalizeUserCode(typed)
		if err != nil {
			return
		}
		if len(got) != UserCodeLength || strings.Trim(got, UserCodeAlphabet) != "" {
			t.Fatalf("NormalizeUserCode(%q) accepted %q", typed, got)
		}
	})
}
