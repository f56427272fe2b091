package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
	"time"
	"unicode/utf8"
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
// text, or both (a button); a picture; an icon; or a QR code.
type item struct {
	r image.Rectangle

	// Box.
	fill   color.RGBA // drawn when Alpha != 0 (translucent fills blend)
	border color.RGBA // outline of width stroke, drawn when Alpha != 0
	stroke int
	radius int
	// ring draws only the border, square, leaving the inside as it is:
	// the speaking outline around a video tile.
	ring bool

	// img is drawn scaled to fit r, aspect preserved and centred, over
	// the fill (the letterbox). Items with a picture are always dynamic.
	img image.Image
	// icon is drawn in colour color, fitted into r.
	icon iconID

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
	r     *Renderer // measures text with the renderer's faces
	s     float64   // scale from the 1920×1080 design grid
	w, h  int
	items []item
}

// measure is the width in pixels of s in font f at design size size.
func (l *layouter) measure(s string, f fontID, size float64) int {
	return l.r.face(f, l.px(size)).width(oneLine(s))
}

// wrapText lays s out in up to maxLines lines of width w, breaking at
// spaces; the last line ends in an ellipsis if s does not fit. It returns
// how many lines it used.
func (l *layouter) wrapText(x, y, w, lineH int, s string, f fontID, size float64, c color.RGBA, maxLines int) int {
	fc := l.r.face(f, l.px(size))
	words := strings.Fields(oneLine(s))
	n := 0
	for len(words) > 0 && n < maxLines {
		line := words[0]
		if fc.width(line) > w && n < maxLines-1 {
			// A word longer than the line (a URL): break it where it
			// stops fitting.
			cut := len(line)
			for cut > 1 && fc.width(line[:cut]) > w {
				_, size := utf8.DecodeLastRuneInString(line[:cut])
				cut -= size
			}
			words = append([]string{line[:cut], line[cut:]}, words[1:]...)
			l.text(x, y+n*lineH, w, lineH, line[:cut], f, size, c, left)
			words = words[1:]
			n++
			continue
		}
		k := 1
		for k < len(words) && fc.width(line+" "+words[k]) <= w {
			line += " " + words[k]
			k++
		}
		if n == maxLines-1 && k < len(words) {
			line = strings.Join(words, " ") // the item's fit adds the ellipsis
		}
		words = words[k:]
		l.text(x, y+n*lineH, w, lineH, line, f, size, c, left)
		n++
	}
	return n
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

func (l *layouter) button(r image.Rectangle, label string, fill color.RGBA, a Action) *item {
	l.items = append(l.items, item{
		r: r, fill: fill, radius: l.px(28),
		text: label, font: bold, size: l.px(56), color: colText, align: center, pad: l.px(24),
		action: a,
	})
	return &l.items[len(l.items)-1]
}

// disabledButton is a button that cannot be tapped now: dim, no action.
func (l *layouter) disabledButton(r image.Rectangle, label string) *item {
	it := l.button(r, label, colDisabled, act(None))
	it.color = colDim
	return it
}

// smallButton is a compact control for bars, panels and rows.
func (l *layouter) smallButton(r image.Rectangle, label string, fill color.RGBA, a Action) *item {
	it := l.button(r, label, fill, a)
	it.size, it.radius, it.pad = l.px(32), l.px(20), l.px(12)
	return it
}

func (r *Renderer) layout(v View) []item {
	l := &layouter{r: r, s: r.scale, w: r.size.X, h: r.size.Y, items: r.items[:0]}
	switch {
	case v.Identify != "":
		l.identify(v)
	case v.Screen == Pairing:
		l.pairing(v)
	case v.Screen == Home:
		l.home(v)
	case v.Screen == ConfirmReset:
		l.confirmReset(v)
	case v.Screen == Keypad:
		l.keypad(v)
	case v.Screen == InMeeting:
		l.meeting(v)
	case v.Screen == Settings:
		l.settings(v)
	case v.Screen == Updating:
		l.updating(v)
	default:
		l.splash(v)
	}
	markDynamic(l.items)
	r.items = l.items // reuse the backing array next frame
	return l.items
}

func (l *layouter) margin() int { return l.px(96) }

// footerTop is the top of the bottom row: connection, version, Reset or
// Settings.
func (l *layouter) footerTop() int { return l.h - l.px(40) - l.px(96) }

// footer lays out the bottom row shared by Pairing, Home and Settings:
// the connection, the version and one small control on the right.
func (l *layouter) footer(v View, banner, label string, a Action) {
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

	rw := max(l.px(200), l.measure(label, regular, 32)+2*l.px(40))
	switch {
	case banner != "":
		// A missing device takes the version's place, between the
		// connection and the control, where it never covers anything.
		bh := l.px(72)
		maxW := l.w - 2*m - 2*rw - 2*l.px(48)
		bw := min(maxW, l.measure(banner, bold, 34)+2*l.px(36))
		l.items = append(l.items, item{r: image.Rect((l.w-bw)/2, top+(rowH-bh)/2, (l.w+bw)/2, top+(rowH+bh)/2), fill: colWarning, radius: bh / 2,
			text: banner, font: bold, size: l.px(34), color: colOnWarning, align: center, pad: l.px(32)})
	case v.Screen == Settings && v.Settings != nil && v.Settings.Version != "":
		// The version with its last update: as wide as a banner may be.
		vw := l.w - 2*m - 2*rw - 2*l.px(48)
		l.text((l.w-vw)/2, top, vw, rowH, v.Settings.Version, regular, 26, colSecondary, center)
	case v.Version != "":
		vw := l.px(560)
		l.text((l.w-vw)/2, top, vw, rowH, v.Version, regular, 26, colDim, center)
	}

	l.items = append(l.items, item{
		r:      image.Rect(l.w-m-rw, top, l.w-m, top+rowH),
		border: colOutline, stroke: max(1, l.px(3)), radius: rowH / 2,
		text: label, font: regular, size: l.px(32), color: colSecondary, align: center, pad: l.px(12),
		action: a,
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

// updating is shown while the kit installs an update and reboots: no
// controls, since nothing can be started until it is back.
func (l *layouter) updating(v View) {
	cw := l.w - 2*l.margin()
	x := l.margin()
	mid := l.h * 45 / 100
	l.text(x, mid-l.px(90), cw, l.px(130), "Updating — back in a minute", bold, 96, colText, center)
	sub := "Installing an update. Please leave the kit plugged in."
	if v.UpdateVersion != "" {
		sub = "Installing RoomKit " + v.UpdateVersion + ". Please leave the kit plugged in."
	}
	l.text(x, mid+l.px(80), cw, l.px(64), sub, regular, 42, colSecondary, center)
	if v.Version != "" {
		l.text(x, l.h-l.px(40)-l.px(60), cw, l.px(60), v.Version, regular, 26, colDim, center)
	}
}

// identify shows the room's name large, on a background that flashes
// with the seconds, so whoever looks for the room an admin identifies
// sees it from the door. No controls: it lasts seconds.
func (l *layouter) identify(v View) {
	fill, text := colIdentify, colOnIdentify
	if v.Now.Second()%2 == 1 {
		fill, text = colBackground, colIdentify
	}
	l.items = append(l.items, item{r: image.Rect(0, 0, l.w, l.h), fill: fill})
	cw := l.w - 2*l.margin()
	x := l.margin()
	mid := l.h * 42 / 100
	l.text(x, mid-l.px(110), cw, l.px(200), v.Identify, bold, 150, text, center)
	l.text(x, mid+l.px(130), cw, l.px(64), "The admin center is identifying this room", regular, 46, text, center)
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
	// Reset stays here: a kit that cannot pair has no other way to it.
	l.footer(v, "", "Reset", act(OpenReset))
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
	// With meetings today, the room's name and clock keep the left column
	// and the list takes the right one.
	lw := cw
	if len(v.Upcoming) > 0 {
		lw = cw * 46 / 100
	}

	l.text(m, l.px(40), lw, l.px(220), v.Now.Format("15:04"), bold, 200, colText, left).dynamic = true
	l.text(m, l.px(256), lw, l.px(62), v.Now.Format("Monday, 2 January 2006"), regular, 42, colSecondary, left).dynamic = true
	l.text(m, l.px(356), lw, l.px(108), v.RoomName, bold, 84, colText, left)
	if v.Location != "" {
		l.text(m, l.px(464), lw, l.px(58), v.Location, regular, 40, colSecondary, left)
	}

	btnH := l.px(200)
	btnTop := l.footerTop() - l.px(56) - btnH
	lineH := l.px(50)
	y := btnTop - l.px(24)
	errY := y - lineH
	noticeY := errY - lineH - l.px(6)
	if v.Error != "" {
		l.text(m, errY, cw, lineH, v.Error, regular, 34, colError, left)
		y = errY
	}
	if v.Notice != "" {
		l.text(m, noticeY, cw, lineH, v.Notice, regular, 34, colLink, left)
		y = noticeY
	}
	if len(v.Upcoming) > 0 {
		l.upcoming(v, image.Rect(m+cw-cw*50/100, l.px(56), l.w-m, y-l.px(24)))
	}

	gap := l.px(48)
	bw := (cw - gap) / 2
	l.button(image.Rect(m, btnTop, m+bw, btnTop+btnH), "Meet Now", colAccent, act(MeetNow))
	l.button(image.Rect(l.w-m-bw, btnTop, l.w-m, btnTop+btnH), "Join", colButton, act(Join))
	l.footer(v, v.Banner, "Settings", act(OpenSettings))
}

// upcoming lists today's meetings in box, one card each with its Start
// (or Join, once it started) button, as many as fit.
func (l *layouter) upcoming(v View, box image.Rectangle) {
	headH := l.px(72)
	l.text(box.Min.X, box.Min.Y, box.Dx(), headH, "Today", bold, 48, colText, left)
	rowH, gap := l.px(136), l.px(16)
	y := box.Min.Y + headH + l.px(8)
	fits := max(0, (box.Max.Y-y+gap)/(rowH+gap))
	n := len(v.Upcoming)
	shown := min(n, fits)
	if shown < n && shown > 0 {
		shown-- // the last row says how many more there are
	}
	for i := 0; i < shown; i++ {
		u := v.Upcoming[i]
		card := image.Rect(box.Min.X, y, box.Max.X, y+rowH)
		l.items = append(l.items, item{r: card, fill: colSurface, radius: l.px(24)})
		in := l.px(16)
		bw := l.px(190)
		br := image.Rect(card.Max.X-in-bw, card.Min.Y+in, card.Max.X-in, card.Max.Y-in)
		tx := card.Min.X + l.px(28)
		tw := br.Min.X - l.px(20) - tx
		when := u.Start.Format("15:04") + " – " + u.End.Format("15:04")
		whenCol := colSecondary
		if u.InProgress {
			when = "Now · until " + u.End.Format("15:04")
			whenCol = colOnline
		}
		l.text(tx, card.Min.Y+l.px(16), tw, l.px(44), when, regular, 30, whenCol, left)
		title := u.Title
		if title == "" {
			title = "Meeting " + FormatMeetingID(u.ID)
		}
		l.text(tx, card.Min.Y+l.px(62), tw, l.px(56), title, bold, 38, colText, left)
		if u.InProgress {
			l.smallButton(br, "Join", colAccent, Action{Kind: StartMeeting, Index: i})
		} else {
			l.smallButton(br, "Start", colButtonOnSf, Action{Kind: StartMeeting, Index: i})
		}
		y += rowH + gap
	}
	if rest := n - shown; rest > 0 {
		l.text(box.Min.X, y, box.Dx(), l.px(56), fmt.Sprintf("%d more today", rest), regular, 34, colSecondary, left)
	}
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
	l.button(image.Rect(x+in, by, x+in+bw, by+bh), "Cancel", colButtonOnSf, act(CancelReset))
	l.button(image.Rect(x+cw-in-bw, by, x+cw-in, by+bh), "Reset", colDanger, act(ConfirmedReset))
}
