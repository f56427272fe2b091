package ui

import (
	"image"
	"strconv"
	"strings"
)

// meetingIDLen is how many digits a meeting ID has (docs/protocol.md §7).
const meetingIDLen = 9

// meetingDigits keeps the digits of s, at most meetingIDLen of them:
// "123-456-789" and "123456789" are the same ID.
func meetingDigits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' && b.Len() < meetingIDLen {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// FormatMeetingID formats a meeting ID, complete or being typed, in
// groups of three: "1234" is "123-4", "123456789" is "123-456-789".
// Everything but digits is dropped, and digits past the ninth.
func FormatMeetingID(s string) string {
	d := meetingDigits(s)
	var b strings.Builder
	for i := 0; i < len(d); i++ {
		if i > 0 && i%3 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(d[i])
	}
	return b.String()
}

func (l *layouter) keypad(v View) {
	kp := v.Keypad
	if kp == nil {
		kp = &KeypadView{}
	}
	digits := meetingDigits(kp.Digits)
	full := len(digits) == meetingIDLen

	m := l.margin()
	keyW, keyH, gap := l.px(220), l.px(150), l.px(24)
	padW := 3*keyW + 2*gap
	padH := 4*keyH + 3*gap
	colW := l.w - 2*m - padW - l.px(96)

	l.text(m, l.px(72), colW, l.px(110), "Join a meeting", bold, 84, colText, left)
	l.text(m, l.px(200), colW, l.px(62), "Enter the meeting ID", regular, 44, colSecondary, left)

	field := image.Rect(m, l.px(290), m+colW, l.px(290)+l.px(200))
	if digits == "" {
		l.items = append(l.items, item{r: field, fill: colSurface, radius: l.px(28),
			text: "123-456-789", font: mono, size: l.px(110), color: colOutline, align: left, pad: l.px(48)})
	} else {
		l.items = append(l.items, item{r: field, fill: colSurface, radius: l.px(28),
			text: FormatMeetingID(digits), font: mono, size: l.px(110), color: colText, align: left, pad: l.px(48)})
	}
	if kp.Error != "" {
		l.wrapText(m, field.Max.Y+l.px(24), colW, l.px(52), kp.Error, regular, 36, colError, 2)
	} else if !full && digits != "" {
		l.text(m, field.Max.Y+l.px(24), colW, l.px(52), strconv.Itoa(meetingIDLen-len(digits))+" more digits", regular, 36, colSecondary, left)
	}

	// Cancel and Join sit at the bottom of the left column, where Meet
	// Now and Join are on the home screen.
	btnH := l.px(200)
	btnTop := l.h - m - btnH
	bw := (colW - l.px(48)) / 2
	l.button(image.Rect(m, btnTop, m+bw, btnTop+btnH), "Cancel", colButton, act(KeypadCancel))
	jr := image.Rect(m+colW-bw, btnTop, m+colW, btnTop+btnH)
	switch {
	case kp.Busy:
		l.disabledButton(jr, "Joining…")
	case full:
		l.button(jr, "Join", colAccent, act(KeypadJoin))
	default:
		l.disabledButton(jr, "Join")
	}

	px0 := l.w - m - padW
	py0 := (l.h - padH) / 2
	key := func(col, row int) image.Rectangle {
		x, y := px0+col*(keyW+gap), py0+row*(keyH+gap)
		return image.Rect(x, y, x+keyW, y+keyH)
	}
	for d := 0; d <= 9; d++ {
		col, row := (d-1)%3, (d-1)/3
		if d == 0 {
			col, row = 1, 3
		}
		label := string(rune('0' + d))
		if full || kp.Busy {
			l.disabledButton(key(col, row), label)
		} else {
			l.button(key(col, row), label, colButton, Action{Kind: KeypadDigit, Index: d})
		}
		l.items[len(l.items)-1].size = l.px(64)
	}
	if digits == "" || kp.Busy {
		l.disabledButton(key(2, 3), "Delete")
	} else {
		l.button(key(2, 3), "Delete", colButton, act(KeypadBackspace))
	}
	l.items[len(l.items)-1].size = l.px(40)
}
