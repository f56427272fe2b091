package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"time"
)

// The layout is the one source of truth for where things are: Render draws
// the items it returns and Hit tests taps against the same rectangles.
//
// Screens are designed on a 1920×1080 grid and scaled by the renderer's
// scale factor. Rows near the top are placed from the top edge and rows near
// the bottom from the bottom edge, so taller screens (16:10) gain air in the
// middle instead of stretching controls.

type align uint8

const (
	left align = iota
	center
	right
)

// item is one thing on screen: a box (filled, outlined or both), a line of
// text, or both (a button); or a QR code.
type item struct {
	r image.Rectangle

	// Box.
	fill   color.RGBA // drawn when Alpha != 0
	border color.RGBA // outline of width stroke, drawn when Alpha != 0
	stroke int
	radius int

	// Text, fitted into r (less pad on each side) and centred vertically.
	text  string
	font  fontID
	size  int
	color color.RGBA
	align align
	pad   int

	// qr is the content of a QR code drawn centred in r.
	qr string

	// action makes the item a control: a tap inside r asks for it.
	action Action
	// dynamic items change from frame to frame (clock, countdown) and are
	// redrawn over the cached static layer every frame.
	dynamic bool
}

type layouter struct {
	s     float64 // scale from the 1920×1080 design grid
	w, h  int
	items []item
}

// px scales a length on the design grid to screen pixels.
func (l *layouter) px(v float64) int { return int(math.Round(v * l.s)) }

// text adds a line of text of design size size in a row of design height h at y.
func (l *layouter) text(x, y, w, h int, s string, f fontID, size float64, c color.RGBA, a align) *item {
	l.items = append(l.items, item{
		r:    image.Rect(x, y, x+w, y+h),
		text: s, font: f, size: l.px(size), color: c, align: a,
	})
	return &l.items[len(l.items)-1]
}

func (l *layouter) button(r image.Rectangle, label string, fill color.RGBA, a Action) {
	l.items = append(l.items, item{
		r: r, fill: fill, radius: l.px(28),
		text: label, font: bold, size: l.px(56), color: colText, align: center, pad: l.px(24),
		action: a,
	})
}

func (r *Renderer) layout(v View) []item {
	l := &layouter{s: r.scale, w: r.size.X, h: r.size.Y, items: r.items[:0]}
	switch v.Screen {
	case Pairing:
		l.pairing(v)
	case Home:
		l.home(v)
	case ConfirmReset:
		l.confirmReset(v)
	default:
		l.splash(v)
	}
	r.items = l.items // reuse the backing array next frame
	return l.items
}

func (l *layouter) margin() int { return l.px(96) }

// footerTop is the top of the bottom row: connection, version, Reset.
func (l *layouter) footerTop() int { return l.h - l.px(40) - l.px(96) }

// footer lays out the bottom row shared by Pairing and Home.
func (l *layouter) footer(v View) {
	m := l.margin()
	top := l.footerTop()
	rowH := l.px(96)

	// Connection indicator: a dot and a word, so it reads without colour.
	d := l.px(22)
	dot := colDim
	word := "Offline"
	if v.PortalConnected {
		dot, word = colOnline, "Connected"
	}
	dy := top + (rowH-d)/2
	l.items = append(l.items, item{r: image.Rect(m, dy, m+d, dy+d), fill: dot, radius: d})
	l.text(m+d+l.px(16), top, l.px(420), rowH, word, regular, 30, colSecondary, left)

	if v.Version != "" {
		vw := l.px(560)
		l.text((l.w-vw)/2, top, vw, rowH, v.Version, regular, 26, colDim, center)
	}

	rw := l.px(200)
	l.items = append(l.items, item{
		r:      image.Rect(l.w-m-rw, top, l.w-m, top+rowH),
		border: colOutline, stroke: max(1, l.px(3)), radius: rowH / 2,
		text: "Reset", font: regular, size: l.px(32), color: colSecondary, align: center, pad: l.px(12),
		action: OpenReset,
	})
}

func (l *layouter) splash(v View) {
	cw := l.w - 2*l.margin()
	x := l.margin()
	mid := l.h * 45 / 100
	l.text(x, mid-l.px(90), cw, l.px(170), "RoomKit", bold, 140, colText, center)
	l.text(x, mid+l.px(100), cw, l.px(64), "Starting…", regular, 46, colSecondary, center)
	if v.Version != "" {
		l.text(x, l.h-l.px(40)-l.px(60), cw, l.px(60), v.Version, regular, 26, colDim, center)
	}
}

func (l *layouter) pairing(v View) {
	m := l.margin()
	qrBox := l.px(600)
	gap := l.px(96)
	colW := l.w - 2*m - qrBox - gap

	l.text(m, l.px(72), colW, l.px(110), "Pair this room", bold, 84, colText, left)

	if v.VerificationURI != "" {
		l.text(m, l.px(212), colW, l.px(62), "On a computer, open", regular, 44, colSecondary, left)
		l.text(m, l.px(276), colW, l.px(72), v.VerificationURI, bold, 52, colLink, left)
		l.text(m, l.px(350), colW, l.px(62), "and enter this code", regular, 44, colSecondary, left)
	}

	// Without a URL to show (still asking the portal) the card moves up.
	y := l.px(440)
	if v.VerificationURI == "" {
		y = l.px(230)
	}
	card := image.Rect(m, y, m+colW, y+l.px(210))
	if v.UserCode == "" {
		l.items = append(l.items, item{
			r: card, fill: colSurface, radius: l.px(28),
			text: "Getting a pairing code…", font: regular, size: l.px(48), color: colSecondary, align: left, pad: l.px(48),
		})
	} else {
		l.items = append(l.items, item{
			r: card, fill: colSurface, radius: l.px(28),
			text: v.UserCode, font: mono, size: l.px(150), color: colText, align: left, pad: l.px(48),
		})
		l.text(m, card.Max.Y+l.px(22), colW, l.px(56), countdown(v.CodeExpiresIn), regular, 38, colSecondary, left).dynamic = true
	}

	lineH := l.px(52)
	y = card.Max.Y + l.px(94)
	if v.Message != "" {
		l.text(m, y, colW, lineH, v.Message, regular, 34, colText, left)
	}
	y += lineH + l.px(8)
	if v.Error != "" {
		l.text(m, y, colW, lineH, v.Error, regular, 34, colError, left)
	}

	if v.VerificationURIComplete != "" && v.UserCode != "" {
		qx := l.w - m - qrBox
		// Centre the code between the headline and the footer.
		qy := l.px(72) + (l.footerTop()-l.px(72)-l.px(64)-qrBox)/2
		l.items = append(l.items, item{r: image.Rect(qx, qy, qx+qrBox, qy+qrBox), qr: v.VerificationURIComplete})
		l.text(qx, qy+qrBox+l.px(12), qrBox, l.px(52), "Or scan with a phone", regular, 32, colSecondary, center)
	}
	l.footer(v)
}

// countdown says how long the pairing code stays valid, as m:ss.
func countdown(d time.Duration) string {
	if d <= 0 {
		return "Code expired: getting a new one…"
	}
	s := int((d + time.Second - 1) / time.Second) // never show 0:00 while still valid
	return fmt.Sprintf("Code expires in %d:%02d", s/60, s%60)
}

func (l *layouter) home(v View) {
	m := l.margin()
	cw := l.w - 2*m

	l.text(m, l.px(40), cw, l.px(220), v.Now.Format("15:04"), bold, 200, colText, left).dynamic = true
	l.text(m, l.px(256), cw, l.px(62), v.Now.Format("Monday, 2 January 2006"), regular, 42, colSecondary, left).dynamic = true
	l.text(m, l.px(356), cw, l.px(108), v.RoomName, bold, 84, colText, left)
	if v.Location != "" {
		l.text(m, l.px(464), cw, l.px(58), v.Location, regular, 40, colSecondary, left)
	}

	btnH := l.px(200)
	btnTop := l.footerTop() - l.px(56) - btnH
	lineH := l.px(50)
	errY := btnTop - l.px(24) - lineH
	if v.Error != "" {
		l.text(m, errY, cw, lineH, v.Error, regular, 34, colError, left)
	}
	if v.Notice != "" {
		l.text(m, errY-lineH-l.px(6), cw, lineH, v.Notice, regular, 34, colLink, left)
	}

	gap := l.px(48)
	bw := (cw - gap) / 2
	l.button(image.Rect(m, btnTop, m+bw, btnTop+btnH), "Meet Now", colAccent, MeetNow)
	l.button(image.Rect(l.w-m-bw, btnTop, l.w-m, btnTop+btnH), "Join", colButton, Join)
	l.footer(v)
}

func (l *layouter) confirmReset(v View) {
	cw, ch := l.px(1240), l.px(580)
	x, y := (l.w-cw)/2, (l.h-ch)/2
	l.items = append(l.items, item{r: image.Rect(x, y, x+cw, y+ch), fill: colSurface, radius: l.px(36)})

	in := l.px(64)
	tw := cw - 2*in
	l.text(x+in, y+l.px(56), tw, l.px(104), "Factory reset?", bold, 76, colText, center)
	l.text(x+in, y+l.px(184), tw, l.px(56), "This unpairs the room and erases its settings.", regular, 38, colSecondary, center)
	l.text(x+in, y+l.px(242), tw, l.px(56), "The room must be paired again.", regular, 38, colSecondary, center)

	bh := l.px(140)
	gap := l.px(40)
	bw := (tw - gap) / 2
	by := y + ch - in - bh
	l.button(image.Rect(x+in, by, x+in+bw, by+bh), "Cancel", colButtonOnSf, CancelReset)
	l.button(image.Rect(x+cw-in-bw, by, x+cw-in, by+bh), "Reset", colDanger, ConfirmedReset)
}
