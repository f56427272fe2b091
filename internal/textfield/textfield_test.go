package textfield

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string // the error's text; "" for accepted
	}{
		{"latin", "Boardroom 4.12", 80, ""},
		{"accents", "Zürich, 4th floor", 80, ""},
		{"arabic", "غرفة الاجتماعات", 80, ""},
		{"hebrew with digits and RLM", "חדר ישיבות 3\u200f", 80, ""},
		{"chinese", "会议室", 80, ""},
		{"emoji with joiner", "Team 👩\u200d💻", 80, ""},
		{"persian non-joiner", "اتاق\u200cجلسه", 80, ""},
		{"replacement character", "Caf\ufffd", 80, ""},
		{"exactly the limit", strings.Repeat("é", 80), 80, ""},
		{"empty", "", 80, ""},
		{"one too many", strings.Repeat("会", 81), 80, "has 81 characters, at most 80 fit"},
		{"bad UTF-8", "Room \xff", 80, "is not valid text (UTF-8)"},
		{"newline", "Room\nFake log line", 80, "contains a line break (U+000A) at character 5; use one line of plain text"},
		{"carriage return", "Room\r", 80, "contains a line break (U+000D) at character 5; use one line of plain text"},
		{"NUL", "Ro\x00om", 80, "contains a NUL character (U+0000) at character 3; use one line of plain text"},
		{"ESC", "\x1b[2JRoom", 80, "contains an escape character (U+001B) at character 1; use one line of plain text"},
		{"tab", "A\tB", 80, "contains a tab (U+0009) at character 2; use one line of plain text"},
		{"DEL", "A\x7f", 80, "contains a control character (U+007F) at character 2; use one line of plain text"},
		{"C1 CSI", "A\u009b31m", 80, "contains a control character (U+009B) at character 2; use one line of plain text"},
		{"next line", "A\u0085B", 80, "contains a line break (U+0085) at character 2; use one line of plain text"},
		{"line separator", "A\u2028B", 80, "contains a line break (U+2028) at character 2; use one line of plain text"},
		{"right-to-left override", "Room \u202egnp.exe", 80, "contains an invisible text-direction control (U+202E) at character 6; use one line of plain text"},
		{"left-to-right embedding", "\u202aRoom", 80, "contains an invisible text-direction control (U+202A) at character 1; use one line of plain text"},
		{"first strong isolate", "Room\u2068", 80, "contains an invisible text-direction control (U+2068) at character 5; use one line of plain text"},
		{"pop isolate", "Room\u2069", 80, "contains an invisible text-direction control (U+2069) at character 5; use one line of plain text"},
		// A refused rune is named even when the text is also too long: the
		// person has to remove it either way.
		{"long and ESC", strings.Repeat("a", 90) + "\x1b", 80, "contains an escape character (U+001B) at character 91; use one line of plain text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.in, tt.max)
			got := ""
			if err != nil {
				got = err.Error()
				var fe *Error
				if !errors.As(err, &fe) {
					t.Errorf("error is %T, want *Error", err)
				}
			}
			if got != tt.want {
				t.Errorf("Check(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"unchanged", "HD Pro Webcam C920", 200, "HD Pro Webcam C920"},
		{"line break", "open /dev/video0:\nno such device", 200, "open /dev/video0:\ufffdno such device"},
		{"escape sequence", "Cam\x1b[31m", 200, "Cam\ufffd[31m"},
		{"override", "USB \u202eoidua", 200, "USB \ufffdoidua"},
		{"bad UTF-8", "Cam\xc3", 200, "Cam\ufffd"},
		{"cut to bytes", "abcdefghij", 8, "abcde…"},
		{"cut at a character boundary", "ééééé", 8, "éé…"}, // 2+2+3 bytes, a third é would not fit
		{"too small for the ellipsis", "abcdef", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Clean(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("Clean(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if len(got) > tt.max || Check(got, tt.max) != nil {
				t.Errorf("Clean(%q, %d) = %q does not pass Check", tt.in, tt.max, got)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Boardroom 4.12", "Boardroom 4.12"},
		{"arabic unchanged", "غرفة الاجتماعات", "غرفة الاجتماعات"},
		{"backslash unchanged", `A\B`, `A\B`},
		{"newline", "Room\nstate: ready", `Room\nstate: ready`},
		{"terminal colours", "\x1b[31mRoom\x1b[0m", `\x1b[31mRoom\x1b[0m`},
		{"NUL", "a\x00b", `a\x00b`},
		{"override", "Room \u202egnp", `Room \u202egnp`},
		{"C1", "a\u009bb", `a\u009bb`},
		{"bad UTF-8", "a\xffb", `a\xffb`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzText feeds network input to all three functions: none may panic,
// what Check accepts the others leave alone, and what Clean and Escape
// return always passes Check.
func FuzzText(f *testing.F) {
	for _, s := range []string{"Boardroom", "غرفة", "a\nb", "\x1b[2J", "\u202e", "\xff\xfe", "ééé", ""} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<12 {
			return
		}
		err := Check(s, max)
		if err != nil && err.Error() == "" {
			t.Fatalf("Check(%q) gave an empty error", s)
		}
		if err == nil {
			if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max || strings.ContainsFunc(s, Refused) {
				t.Fatalf("Check accepted %q (max %d)", s, max)
			}
			if e := Escape(s); e != s {
				t.Fatalf("Escape changed accepted text %q to %q", s, e)
			}
		}
		if e := Escape(s); Check(e, len(e)) != nil {
			t.Fatalf("Escape(%q) = %q, which Check refuses", s, e)
		}
		c := Clean(s, max)
		if len(c) > max || Check(c, max) != nil {
			t.Fatalf("Clean(%q, %d) = %q, which Check refuses", s, max, c)
		}
		if err == nil && len(s) <= max && c != s {
			t.Fatalf("Clean changed accepted text %q to %q", s, c)
		}
	})
}
