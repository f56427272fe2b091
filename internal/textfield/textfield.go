// Package textfield holds the one rule for short text that people type or
// devices report and that others then see on one line: room names and
// locations, guests' names, kit labels, the devices a kit reports. Such
// text crosses the network into the portal's database and comes back out on
// kit screens, in the admin center and in `roomctl status` on a terminal,
// so what cannot be shown as one line of text is refused where it enters
// (Check), made harmless where a kit reports it (Clean), and escaped where
// old state is printed (Escape).
package textfield

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Refused reports whether r may not appear in a text field:
//
//   - control characters (Unicode category Cc: NUL, ESC, tab, line breaks,
//     DEL and the C1 set): on a terminal ESC starts commands, in a log a
//     line break forges a line, and none of them can be drawn;
//   - the line and paragraph separators U+2028 and U+2029, line breaks by
//     another name;
//   - the bidi embeddings, overrides and isolates U+202A–U+202E and
//     U+2066–U+2069: they reorder the text after them until a terminator,
//     so an unterminated one flips whatever follows the name in a list or
//     a log line, and "Trojan Source"-style they make a name read
//     differently from what it is.
//
// The marks U+200E, U+200F and U+061C (LRM, RLM, ALM) stay allowed: they
// act like an invisible strong letter and reach no further than one, so
// they cannot spill out of the field, and a Hebrew or Arabic name that
// ends with digits or Latin needs one to display in the order typed.
func Refused(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f: // Cc
		return true
	case r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Error says why a field was refused, as the end of a sentence that starts
// with the field's name: "The room name " + err.Error() + ".".
type Error struct {
	Invalid bool // not UTF-8
	Rune    rune // the refused rune, when Invalid is false and Runes is 0
	Pos     int  // Rune's position, counted in characters from 1
	Runes   int  // the length, when the field is too long
	Max     int  // the most characters allowed
}

func (e *Error) Error() string {
	switch {
	case e.Invalid:
		return "is not valid text (UTF-8)"
	case e.Runes > 0:
		return fmt.Sprintf("has %d characters, at most %d fit", e.Runes, e.Max)
	}
	return fmt.Sprintf("contains %s (%U) at character %d; use one line of plain text", describe(e.Rune), e.Rune, e.Pos)
}

func describe(r rune) string {
	switch {
	case r == '\n' || r == '\r' || r == 0x2028 || r == 0x2029 || r == 0x85:
		return "a line break"
	case r == '\t':
		return "a tab"
	case r == 0x1b:
		return "an escape character"
	case r == 0:
		return "a NUL character"
	case r >= 0x202a:
		return "an invisible text-direction control"
	}
	return "a control character"
}

// Check returns nil if s is valid UTF-8 of at most maxRunes characters with
// no refused rune, else an *Error. Callers trim spaces first if they mean to.
func Check(s string, maxRunes int) error {
	if !utf8.ValidString(s) {
		return &Error{Invalid: true}
	}
	pos := 0
	for _, r := range s {
		pos++
		if Refused(r) {
			return &Error{Rune: r, Pos: pos}
		}
	}
	if pos > maxRunes {
		return &Error{Runes: pos, Max: maxRunes}
	}
	return nil
}

// Clean makes s pass Check with a limit of maxBytes bytes (and so of as
// many characters): bad UTF-8 and refused runes become U+FFFD, and a long
// s is cut at a character boundary, ending in "…". The kit uses it on what
// drivers say (a USB camera names itself) so that one odd device string
// costs that string, not the whole heartbeat.
func Clean(s string, maxBytes int) string {
	if Check(s, maxBytes) == nil && len(s) <= maxBytes {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				b.WriteRune(utf8.RuneError)
				continue
			}
		}
		if Refused(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) <= maxBytes {
		return out
	}
	const ell = "…"
	if maxBytes < len(ell) {
		return ""
	}
	n := maxBytes - len(ell)
	for n > 0 && !utf8.RuneStart(out[n]) {
		n--
	}
	return out[:n] + ell
}

// Escape returns s with every refused rune and every byte of bad UTF-8
// written as a Go escape (\n, \x1b, \u202e), so that printing it cannot
// move the cursor, recolour a terminal or reorder the rest of the line.
// Text that passes Check comes back unchanged.
func Escape(s string) string {
	if Check(s, len(s)) == nil {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				fmt.Fprintf(&b, `\x%02x`, s[i])
				continue
			}
		}
		if Refused(r) {
			q := strconv.QuoteRune(r) // '\n', '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
