package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"

	"roomkit/drivers"
)

// deviceKinds names each kind of device for the room's staff and says
// what to check when it is missing.
var deviceKinds = map[string]struct{ label, check string }{
	"camera":       {"Camera", "check its USB cable"},
	"speakerphone": {"Speakerphone", "check its USB cable"},
	"display":      {"Display", "check its HDMI cable"},
	"input":        {"Touch screen", "check its USB cable"},
	"gpio":         {"Mute button", "check its wiring"},
}

func deviceLabel(kind string) (label, check string) {
	if k, ok := deviceKinds[kind]; ok {
		return k.label, k.check
	}
	if kind == "" {
		return "Device", "check its cable"
	}
	return strings.ToUpper(kind[:1]) + kind[1:], "check its cable"
}

// MissingBanner is the banner naming the devices that are not present,
// for View.Banner: "No camera: check its USB cable", or for several,
// "No camera, no speakerphone: see Settings". It is empty when every
// device is there.
func MissingBanner(devs []drivers.Status) string {
	var missing []string
	check := ""
	for _, d := range devs {
		if d.Present {
			continue
		}
		label, c := deviceLabel(d.Kind)
		missing = append(missing, "no "+strings.ToLower(label))
		check = c
	}
	switch len(missing) {
	case 0:
		return ""
	case 1:
		return "N" + missing[0][1:] + ": " + check
	}
	return "N" + strings.Join(missing, ", ")[1:] + ": see Settings"
}

// deviceLine is a device's state in words and the colour of its dot and
// line: working, working with a problem, or missing and what to check.
func deviceLine(d drivers.Status) (string, color.RGBA) {
	_, check := deviceLabel(d.Kind)
	switch {
	case !d.Present:
		return "Not found — " + check, colError
	case d.Error != "":
		return d.Error, colWarning
	case d.Name != "":
		return "Working · " + d.Name, colOnline
	}
	return "Working", colOnline
}

func (l *layouter) settings(v View) {
	sv := v.Settings
	if sv == nil {
		sv = &SettingsView{}
	}
	m := l.margin()
	cw := l.w - 2*m
	l.text(m, l.px(56), cw/2, l.px(110), "Settings", bold, 84, colText, left)
	dw := l.px(240)
	l.button(image.Rect(l.w-m-dw, l.px(56), l.w-m, l.px(56)+l.px(110)), "Done", colButton, act(CloseSettings))

	top := l.px(220)
	bottom := l.footerTop() - l.px(32)
	gap := l.px(96)
	colW := (cw - gap) / 2

	// Devices, left.
	x := m
	l.text(x, top, colW, l.px(64), "Devices", bold, 44, colText, left)
	y := top + l.px(80)
	rowH := l.px(112)
	if n := len(sv.Devices); n > 0 {
		rowH = min(rowH, (bottom-y)/n)
	}
	for _, d := range sv.Devices {
		label, _ := deviceLabel(d.Kind)
		line, c := deviceLine(d)
		dot := l.px(24)
		dy := y + l.px(16)
		l.items = append(l.items, item{r: image.Rect(x, dy, x+dot, dy+dot), fill: c, radius: dot})
		tx := x + dot + l.px(20)
		l.text(tx, y, colW-(tx-x), l.px(56), label, bold, 36, colText, left)
		lc := colSecondary
		if c != colOnline {
			lc = c
		}
		l.text(tx, y+l.px(54), colW-(tx-x), l.px(44), line, regular, 30, lc, left)
		y += rowH
	}
	if len(sv.Devices) == 0 {
		l.text(x, y, colW, l.px(44), "No devices reported", regular, 30, colSecondary, left)
	}

	// Tests, right.
	x = m + colW + gap
	l.text(x, top, colW, l.px(64), "Test", bold, 44, colText, left)
	y = top + l.px(80)
	lw := l.px(260)
	cx := x + lw
	ctlW := colW - lw

	rh := l.px(96)
	l.text(x, y, lw, rh, "Speaker", bold, 36, colText, left)
	tr := image.Rect(cx, y, cx+min(ctlW, l.px(360)), y+rh)
	if sv.TonePlaying {
		l.disabledButton(tr, "Playing tone…").size = l.px(32)
	} else {
		l.smallButton(tr, "Play test tone", colButton, act(PlayTone))
	}
	y += rh + l.px(32)

	rh = l.px(72)
	l.text(x, y, lw, rh, "Microphone", bold, 36, colText, left)
	mh := l.px(32)
	track := image.Rect(cx, y+(rh-mh)/2, cx+ctlW, y+(rh-mh)/2+mh)
	l.items = append(l.items, item{r: track, fill: colButton, radius: mh / 2})
	lvl := sv.MicLevel
	if math.IsNaN(lvl) {
		lvl = 0
	}
	lvl = max(0, min(1, lvl))
	l.items = append(l.items, item{r: image.Rect(track.Min.X, track.Min.Y, track.Min.X+int(lvl*float64(track.Dx())), track.Max.Y),
		fill: colOnline, radius: mh / 2, dynamic: true})
	y += rh
	l.text(cx, y, ctlW, l.px(44), "Speak: the bar should move", regular, 28, colSecondary, left)
	y += l.px(44) + l.px(32)

	l.text(x, y, lw, l.px(56), "Camera", bold, 36, colText, left)
	healthTop := l.settingsHealthTop(sv.Health, bottom)
	pw, ph := fit16x9(ctlW, healthTop-y)
	l.tile(image.Rect(cx, y, cx+pw, y+ph), "", sv.Preview, "No camera picture", false, false, false)
	l.settingsHealth(sv.Health, x, healthTop, colW)

	l.footer(v, "", "Factory reset", act(OpenReset))
}

// maxHealthLines is how many of the health tree's problems Settings shows;
// the last line then points to the rest.
const maxHealthLines = 3

func healthRowsShown(hs []HealthLine) int { return min(len(hs), maxHealthLines) }

// healthRow is the height of one problem's line. The lines have no
// heading: each names its check ("Camera: …"), and every row they take
// is taken from the camera preview above them.
const healthRow = 40

// settingsHealthTop is where the health lines start: above bottom by as
// many rows as are shown, which the camera preview makes room for. No
// problems, no lines.
func (l *layouter) settingsHealthTop(hs []HealthLine, bottom int) int {
	if len(hs) == 0 {
		return bottom
	}
	return bottom - l.px(16) - healthRowsShown(hs)*l.px(healthRow)
}

// settingsHealth lists the health tree's problems from y in the right
// column, each with a dot in its status's colour.
func (l *layouter) settingsHealth(hs []HealthLine, x, y, w int) {
	if len(hs) == 0 {
		return
	}
	y += l.px(16)
	for i := range healthRowsShown(hs) {
		h := hs[i]
		c := colWarning
		if h.Failed {
			c = colError
		}
		text := h.Text
		if i == maxHealthLines-1 && len(hs) > maxHealthLines {
			text = fmt.Sprintf("%d more problems: roomctl health lists them", len(hs)-i)
		}
		dot := l.px(16)
		l.items = append(l.items, item{r: image.Rect(x, y+l.px(12), x+dot, y+l.px(12)+dot), fill: c, radius: dot})
		l.text(x+dot+l.px(16), y, w-dot-l.px(16), l.px(healthRow), text, regular, 28, c, left)
		y += l.px(healthRow)
	}
}
