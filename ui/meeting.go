package ui

import (
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"strings"
	"unicode"
)

// maxTiles is how many remote videos the meeting screen shows at once.
const maxTiles = 6

// The in-meeting screen: a top bar (title, meeting ID, state), the stage
// (tiles in a grid, or shared content with the tiles in a strip beside
// it; the room's own picture small in a corner), an optional side panel
// (invite or participants) and the control bar at the bottom.
func (l *layouter) meeting(v View) {
	mv := v.Meeting
	if mv == nil {
		mv = &MeetingView{}
	}
	pad := l.px(24)
	topH := l.px(116)
	barH := l.px(112)
	barTop := l.h - pad - barH
	stage := image.Rect(pad, topH, l.w-pad, barTop-l.px(20))

	l.topBar(v, mv, image.Rect(pad, 0, l.w-pad, topH))

	var panel image.Rectangle
	if mv.Panel != NoPanel {
		panel = image.Rect(l.w-pad-l.px(640), stage.Min.Y, l.w-pad, stage.Max.Y)
		stage.Max.X = panel.Min.X - l.px(20)
	}

	order := l.r.tileOrder(mv.Tiles)
	if mv.Content != nil {
		l.contentStage(mv, stage, order)
	} else {
		l.gridStage(mv, stage, order)
	}

	if mv.Connection != "" {
		// Frozen video under a scrim, and what is happening in big letters.
		l.items = append(l.items, item{r: stage, fill: colScrim})
		tw := min(stage.Dx()-2*l.px(40), l.measure(mv.Connection, bold, 44)+2*l.px(48))
		x := stage.Min.X + (stage.Dx()-tw)/2
		y := stage.Min.Y + l.px(32)
		l.items = append(l.items, item{r: image.Rect(x, y, x+tw, y+l.px(96)), fill: colWarning, radius: l.px(48),
			text: mv.Connection, font: bold, size: l.px(44), color: colOnWarning, align: center, pad: l.px(40)})
	}

	switch mv.Panel {
	case InvitePanel:
		l.invitePanel(mv, panel)
	case ParticipantsPanel:
		l.participantsPanel(mv, panel)
	}
	l.controls(mv, image.Rect(pad, barTop, l.w-pad, barTop+barH))
}

// tileOrder returns the indexes of the tiles to show: speaking first,
// otherwise in the order given, at most maxTiles.
func (r *Renderer) tileOrder(tiles []Tile) []int {
	o := r.order[:0]
	for i := range tiles {
		if tiles[i].Speaking {
			o = append(o, i)
		}
	}
	for i := range tiles {
		if !tiles[i].Speaking {
			o = append(o, i)
		}
	}
	r.order = o
	return o[:min(len(o), maxTiles)]
}

func (l *layouter) topBar(v View, mv *MeetingView, bar image.Rectangle) {
	// Chips on the right, from the right edge inwards.
	chipH := l.px(64)
	cy := bar.Min.Y + (bar.Dy()-chipH)/2
	x := bar.Max.X
	chip := func(s string, fill, c color.RGBA, maxW int) {
		w := min(maxW, l.measure(s, bold, 30)+2*l.px(28))
		x -= w
		l.items = append(l.items, item{r: image.Rect(x, cy, x+w, cy+chipH), fill: fill, radius: chipH / 2,
			text: s, font: bold, size: l.px(30), color: c, align: center, pad: l.px(24)})
		x -= l.px(16)
	}
	if v.Banner != "" {
		chip(v.Banner, colWarning, colOnWarning, bar.Dx()*45/100)
	}
	if mv.Locked {
		chip("Locked", colSurface, colText, l.px(300))
	}
	tw := x - bar.Min.X - l.px(16)
	title := mv.Title
	if title == "" {
		title = "Meeting"
	}
	l.text(bar.Min.X, bar.Min.Y+l.px(12), tw, l.px(56), title, bold, 40, colText, left)
	if mv.ID != "" {
		l.text(bar.Min.X, bar.Min.Y+l.px(66), tw, l.px(42), "Meeting ID "+FormatMeetingID(mv.ID), regular, 30, colSecondary, left)
	}
}

// fit16x9 is the largest 16:9 size within w×h.
func fit16x9(w, h int) (int, int) {
	if w*9 <= h*16 {
		return w, w * 9 / 16
	}
	return h * 16 / 9, h
}

// gridRects lays out n 16:9 tiles in stage: the number of columns that
// gives the biggest tiles, rows centred, an incomplete last row centred.
func gridRects(stage image.Rectangle, n, gap int) []image.Rectangle {
	if n <= 0 {
		return nil
	}
	W, H := stage.Dx(), stage.Dy()
	bestCols, bestW, bestH := 1, 0, 0
	for cols := 1; cols <= n; cols++ {
		rows := (n + cols - 1) / cols
		tw, th := fit16x9((W-(cols-1)*gap)/cols, (H-(rows-1)*gap)/rows)
		if tw > bestW {
			bestCols, bestW, bestH = cols, tw, th
		}
	}
	cols := bestCols
	rows := (n + cols - 1) / cols
	out := make([]image.Rectangle, 0, n)
	y := stage.Min.Y + (H-rows*bestH-(rows-1)*gap)/2
	for row := 0; row < rows; row++ {
		k := min(cols, n-row*cols)
		x := stage.Min.X + (W-k*bestW-(k-1)*gap)/2
		for i := 0; i < k; i++ {
			out = append(out, image.Rect(x, y, x+bestW, y+bestH))
			x += bestW + gap
		}
		y += bestH + gap
	}
	return out
}

// waiting fills an empty meeting: the room is alone, so the invitation is
// what people need, with the join link and its QR code right there.
func (l *layouter) waiting(mv *MeetingView, stage image.Rectangle) {
	if mv.JoinURL == "" {
		cy := stage.Min.Y + stage.Dy()/2
		l.text(stage.Min.X, cy-l.px(80), stage.Dx(), l.px(80), "Waiting for others to join", bold, 56, colText, center)
		l.text(stage.Min.X, cy+l.px(10), stage.Dx(), l.px(56), "Tap Invite to share the meeting ID and link", regular, 38, colSecondary, center)
		return
	}
	y := stage.Min.Y + l.px(24)
	l.text(stage.Min.X, y, stage.Dx(), l.px(72), "Waiting for others to join", bold, 56, colText, center)
	y += l.px(84)
	l.text(stage.Min.X, y, stage.Dx(), l.px(48), "Meeting ID "+FormatMeetingID(mv.ID)+" · "+mv.JoinURL, regular, 34, colLink, center)
	y += l.px(72)
	capH := l.px(48)
	side := min(stage.Max.Y-y-capH-l.px(8), l.px(420))
	if side < l.px(200) {
		return // no room for a code a phone could read
	}
	qx := stage.Min.X + (stage.Dx()-side)/2
	l.items = append(l.items, item{r: image.Rect(qx, y, qx+side, y+side), qr: mv.JoinURL})
	l.text(stage.Min.X, y+side+l.px(4), stage.Dx(), capH, "Scan with a phone to join", regular, 28, colSecondary, center)
}

func (l *layouter) gridStage(mv *MeetingView, stage image.Rectangle, order []int) {
	if len(order) == 0 {
		l.waiting(mv, stage)
	}
	// The room's own picture, small in the bottom-right corner. The tiles
	// keep clear of it: they take the whole stage if they miss it anyway,
	// or give up a column on the right or a band at the bottom, whichever
	// leaves them bigger.
	gap := l.px(16)
	sw := l.px(352)
	sh := sw * 9 / 16
	self := image.Rect(stage.Max.X-sw, stage.Max.Y-sh, stage.Max.X, stage.Max.Y)
	var rects []image.Rectangle
	for _, s := range []image.Rectangle{
		stage,
		image.Rect(stage.Min.X, stage.Min.Y, self.Min.X-gap, stage.Max.Y),
		image.Rect(stage.Min.X, stage.Min.Y, stage.Max.X, self.Min.Y-gap),
	} {
		rs := gridRects(s, len(order), gap)
		if overlapsAny(rs, self) {
			continue
		}
		if rects == nil || len(rs) > 0 && rs[0].Dx() > rects[0].Dx() {
			rects = rs
		}
	}
	for i, r := range rects {
		t := mv.Tiles[order[i]]
		l.tile(r, t.Name, t.Frame, t.Placeholder, t.Speaking, t.AudioMuted, true)
	}
	l.selfView(mv, self)
}

func overlapsAny(rs []image.Rectangle, r image.Rectangle) bool {
	for _, x := range rs {
		if x.Overlaps(r) {
			return true
		}
	}
	return false
}

func (l *layouter) selfView(mv *MeetingView, r image.Rectangle) {
	frame, why := mv.Self, "No picture"
	if mv.CameraOff {
		frame, why = nil, "Camera off"
	}
	l.tile(r, "You", frame, why, false, mv.Muted, false)
	l.items = append(l.items, item{r: r, ring: true, border: colOutline, stroke: max(1, l.px(3))})
}

// contentStage shows the shared content large and the tiles, then the
// room's own picture, in a column beside it.
func (l *layouter) contentStage(mv *MeetingView, stage image.Rectangle, order []int) {
	gap := l.px(16)
	n := len(order) + 1
	tw, th := fit16x9(l.px(336), (stage.Dy()-(n-1)*gap)/n)
	sx := stage.Max.X - tw
	content := image.Rect(stage.Min.X, stage.Min.Y, sx-gap, stage.Max.Y)
	l.items = append(l.items, item{r: content, fill: colContentBg, img: mv.Content})
	if mv.ContentFrom != "" {
		s := mv.ContentFrom + " is sharing"
		in := l.px(16)
		w := min(content.Dx()-2*in, l.measure(s, bold, 30)+2*l.px(24))
		l.items = append(l.items, item{r: image.Rect(content.Min.X+in, content.Min.Y+in, content.Min.X+in+w, content.Min.Y+in+l.px(56)),
			fill: colLabelBg, radius: l.px(12), text: s, font: bold, size: l.px(30), color: colText, align: left, pad: l.px(20)})
	}
	y := stage.Min.Y + (stage.Dy()-n*th-(n-1)*gap)/2
	for _, i := range order {
		t := mv.Tiles[i]
		l.tile(image.Rect(sx, y, sx+tw, y+th), t.Name, t.Frame, t.Placeholder, t.Speaking, t.AudioMuted, true)
		y += th + gap
	}
	l.selfView(mv, image.Rect(sx, y, sx+tw, y+th))
}

// tile is one video: the frame letterboxed, or a placeholder (initials
// on a coloured circle and why there is no picture); the name on a
// translucent label with a muted icon; an outline while speaking.
func (l *layouter) tile(r image.Rectangle, name string, frame image.Image, placeholder string, speaking, muted, avatar bool) {
	if frame != nil && frame.Bounds().Empty() {
		frame = nil
	}
	l.items = append(l.items, item{r: r, fill: colTile, img: frame})
	lh := max(l.px(40), min(l.px(56), r.Dy()/7)) // the name label's height
	in := max(l.px(6), lh/6)
	labelTop := r.Max.Y - in - lh
	if name == "" && !muted {
		labelTop = r.Max.Y
	}
	if frame == nil {
		ty := r.Min.Y + r.Dy()*2/5
		if avatar {
			d := min(r.Dy()*2/5, r.Dx()*3/10)
			cx, cy := (r.Min.X+r.Max.X)/2, r.Min.Y+r.Dy()*2/5
			l.items = append(l.items, item{r: image.Rect(cx-d/2, cy-d/2, cx+d/2, cy+d/2), fill: avatarColour(name), radius: d / 2,
				text: initials(name), font: bold, size: d * 2 / 5, color: colText, align: center})
			ty = cy + d/2 + r.Dy()/30
		}
		// Small tiles (the strip beside shared content) have no room for
		// the reason under the initials.
		if sz := max(l.px(22), min(l.px(36), r.Dy()/12)); placeholder != "" && ty+sz*3/2 <= labelTop {
			l.items = append(l.items, item{r: image.Rect(r.Min.X+sz, ty, r.Max.X-sz, ty+sz*3/2),
				text: placeholder, font: regular, size: sz, color: colSecondary, align: center})
		}
	}
	if name != "" || muted {
		fs := lh * 3 / 5
		ip := lh / 4 // padding inside the label
		iconW := 0
		if muted {
			iconW = lh - 2*ip + ip
		}
		w := min(r.Dx()-2*in, l.r.face(bold, fs).width(oneLine(name))+2*ip+iconW)
		lr := image.Rect(r.Min.X+in, r.Max.Y-in-lh, r.Min.X+in+w, r.Max.Y-in)
		l.items = append(l.items, item{r: lr, fill: colLabelBg, radius: l.px(10)})
		tx := lr.Min.X + ip
		if muted {
			s := lh - 2*ip
			l.items = append(l.items, item{r: image.Rect(tx, lr.Min.Y+ip, tx+s, lr.Min.Y+ip+s), icon: micOff, color: colError})
			tx += iconW
		}
		if name != "" {
			l.items = append(l.items, item{r: image.Rect(tx, lr.Min.Y, lr.Max.X-ip, lr.Max.Y),
				text: name, font: bold, size: fs, color: colText, align: left})
		}
	}
	if speaking {
		l.items = append(l.items, item{r: r, ring: true, border: colSpeaking, stroke: max(2, l.px(6))})
	}
}

// initials are the first letters of a name's first and last words: "Ada
// Lovelace" is "AL".
func initials(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		return "?"
	}
	first := []rune(words[0])[0]
	s := string(unicode.ToUpper(first))
	if len(words) > 1 {
		s += string(unicode.ToUpper([]rune(words[len(words)-1])[0]))
	}
	return s
}

func avatarColour(name string) color.RGBA {
	h := fnv.New32a()
	h.Write([]byte(name))
	return avatarColours[h.Sum32()%uint32(len(avatarColours))]
}

// controls is the bottom bar: the room's own microphone, camera and
// volume and the panels on the left; Leave (and End) on the right.
func (l *layouter) controls(mv *MeetingView, bar image.Rectangle) {
	gap := l.px(14)
	h := bar.Dy()
	x := bar.Min.X
	add := func(label string, fill color.RGBA, a Action, minW float64) *item {
		w := max(l.px(minW), l.measure(label, bold, 32)+2*l.px(30))
		it := l.smallButton(image.Rect(x, bar.Min.Y, x+w, bar.Min.Y+h), label, fill, a)
		x += w + gap
		return it
	}
	if mv.Muted {
		add("Unmute", colDanger, act(ToggleMute), 170)
	} else {
		add("Mute", colButton, act(ToggleMute), 170)
	}
	if mv.CameraOff {
		add("Start video", colDanger, act(ToggleCamera), 200)
	} else {
		add("Stop video", colButton, act(ToggleCamera), 200)
	}
	add("−", colButton, act(VolumeDown), 96).size = l.px(48)
	vol := max(0, min(100, mv.Volume))
	vw := l.px(124)
	vb := image.Rect(x, bar.Min.Y, x+vw, bar.Max.Y)
	l.items = append(l.items, item{r: vb, fill: colSurface, radius: l.px(20)})
	l.text(vb.Min.X, vb.Min.Y+h/8, vw, h*3/8, "Volume", regular, 22, colSecondary, center)
	l.text(vb.Min.X, vb.Min.Y+h/2, vw, h*3/8, fmt.Sprintf("%d%%", vol), bold, 34, colText, center)
	x += vw + gap
	add("+", colButton, act(VolumeUp), 96).size = l.px(48)
	panelFill := func(p Panel) color.RGBA {
		if mv.Panel == p {
			return colAccent
		}
		return colButton
	}
	add("Participants", panelFill(ParticipantsPanel), act(ToggleParticipants), 200)
	add("Invite", panelFill(InvitePanel), act(ToggleInvite), 150)
	if mv.Organizer {
		if mv.Locked {
			add("Unlock", colButton, act(ToggleLock), 150)
		} else {
			add("Lock", colButton, act(ToggleLock), 150)
		}
	}

	// From the right edge inwards.
	x = bar.Max.X
	fromRight := func(label string, a Action, minW float64) *item {
		w := max(l.px(minW), l.measure(label, bold, 32)+2*l.px(30))
		x -= w
		it := l.smallButton(image.Rect(x, bar.Min.Y, x+w, bar.Max.Y), label, colDanger, a)
		x -= gap
		return it
	}
	fromRight("Leave", act(Leave), 160)
	if mv.Organizer {
		it := fromRight("End meeting", act(EndMeeting), 200)
		it.fill, it.border, it.stroke, it.color = color.RGBA{}, colDanger, max(1, l.px(3)), colError
	}
}

func (l *layouter) panelFrame(r image.Rectangle, title string) (body image.Rectangle) {
	l.items = append(l.items, item{r: r, fill: colSurface, radius: l.px(24)})
	in := l.px(24)
	cw := l.px(160)
	closeR := image.Rect(r.Max.X-in-cw, r.Min.Y+in, r.Max.X-in, r.Min.Y+in+l.px(96))
	l.text(r.Min.X+in+l.px(8), closeR.Min.Y, closeR.Min.X-r.Min.X-2*in, closeR.Dy(), title, bold, 40, colText, left)
	l.smallButton(closeR, "Close", colButtonOnSf, act(ClosePanel))
	return image.Rect(r.Min.X+in, closeR.Max.Y+l.px(20), r.Max.X-in, r.Max.Y-in)
}

func (l *layouter) invitePanel(mv *MeetingView, r image.Rectangle) {
	b := l.panelFrame(r, "Invite people")
	x, w := b.Min.X+l.px(8), b.Dx()-l.px(16)
	y := b.Min.Y
	l.text(x, y, w, l.px(40), "Meeting ID", regular, 28, colSecondary, left)
	l.text(x, y+l.px(40), w, l.px(72), FormatMeetingID(mv.ID), bold, 56, colText, left)
	y += l.px(124)
	if mv.JoinURL == "" {
		return
	}
	l.text(x, y, w, l.px(40), "Join link", regular, 28, colSecondary, left)
	y += l.px(40)
	y += l.wrapText(x, y, w, l.px(42), mv.JoinURL, regular, 30, colLink, 2) * l.px(42)
	y += l.px(20)
	capH := l.px(48)
	side := min(w, b.Max.Y-y-capH, l.px(440))
	if side < l.px(200) {
		return // no room for a code a phone could read
	}
	qx := b.Min.X + (b.Dx()-side)/2
	l.items = append(l.items, item{r: image.Rect(qx, y, qx+side, y+side), qr: mv.JoinURL})
	l.text(b.Min.X, y+side+l.px(4), b.Dx(), capH, "Scan with a phone to join", regular, 28, colSecondary, center)
}

func (l *layouter) participantsPanel(mv *MeetingView, r image.Rectangle) {
	b := l.panelFrame(r, fmt.Sprintf("Participants (%d)", len(mv.Participants)))
	y := b.Min.Y
	bh := l.px(96)
	if mv.Organizer && len(mv.Participants) > 0 {
		l.smallButton(image.Rect(b.Min.X, y, b.Max.X, y+bh), "Mute all", colButtonOnSf, act(MuteAll))
		y += bh + l.px(16)
	}
	rowH := l.px(108)
	fits := max(0, (b.Max.Y-y)/rowH)
	n := len(mv.Participants)
	shown := min(n, fits)
	if shown < n && shown > 0 {
		shown--
	}
	for i := 0; i < shown; i++ {
		p := mv.Participants[i]
		name := p.Name
		if name == "" {
			name = p.Identity
		}
		row := image.Rect(b.Min.X, y, b.Max.X, y+rowH)
		rx := row.Max.X
		switch {
		case p.AudioMuted:
			s := l.px(40)
			l.text(rx-l.px(120), row.Min.Y, l.px(120), rowH, "Muted", regular, 30, colSecondary, right)
			rx -= l.px(120) + l.px(8)
			cy := row.Min.Y + (rowH-s)/2
			l.items = append(l.items, item{r: image.Rect(rx-s, cy, rx, cy+s), icon: micOff, color: colError})
			rx -= s + l.px(16)
		case mv.Organizer:
			bw := l.px(150)
			cy := row.Min.Y + (rowH-bh)/2
			l.smallButton(image.Rect(rx-bw, cy, rx, cy+bh), "Mute", colButtonOnSf, Action{Kind: MuteParticipant, Index: i})
			rx -= bw + l.px(16)
		}
		l.text(row.Min.X+l.px(8), row.Min.Y, rx-row.Min.X-l.px(8), rowH, name, regular, 34, colText, left)
		y += rowH
	}
	if rest := n - shown; rest > 0 {
		l.text(b.Min.X+l.px(8), y, b.Dx(), l.px(56), fmt.Sprintf("and %d more", rest), regular, 30, colSecondary, left)
	}
}
