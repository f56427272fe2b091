package ui

import (
	"image"
	"image/draw"

	"rsc.io/qr"
)

// quietZone is the white border around a QR code, in modules, that the QR
// specification requires for phones to find the code.
const quietZone = 4

// qrCache keeps the last code encoded: the pairing screen shows the same
// URL for minutes, and encoding costs more than drawing.
type qrCache struct {
	text string
	code *qr.Code
}

func (r *Renderer) qrCode(text string) *qr.Code {
	if r.qr.code != nil && r.qr.text == text {
		return r.qr.code
	}
	// Level M survives a smudged or partly glared screen and keeps the
	// code small enough for big modules.
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		// Too long to encode: the screen still shows the URL and code.
		c = nil
	}
	r.qr = qrCache{text: text, code: c}
	return c
}

// qrGeometry places a code of n modules (quiet zone included) in box: an
// integer module size so every module has crisp, equal edges, centred.
// It returns the rectangle of the whole white square and the module size;
// a module size of 0 means the code does not fit.
func qrGeometry(box image.Rectangle, modules int) (image.Rectangle, int) {
	side := min(box.Dx(), box.Dy())
	mod := side / modules
	if mod < 1 {
		return image.Rectangle{}, 0
	}
	n := mod * modules
	x := box.Min.X + (box.Dx()-n)/2
	y := box.Min.Y + (box.Dy()-n)/2
	return image.Rect(x, y, x+n, y+n), mod
}

// drawQR draws the QR code of text centred in box, black on white.
func (r *Renderer) drawQR(dst *image.RGBA, box image.Rectangle, text string) {
	c := r.qrCode(text)
	if c == nil {
		return
	}
	sq, mod := qrGeometry(box, c.Size+2*quietZone)
	if mod == 0 {
		return
	}
	// Rounded corners stay inside the quiet zone, clear of any module.
	r.fillRound(dst, sq, min(mod*quietZone/2, r.px(24)), colQRLight)
	dark := image.NewUniform(colQRDark)
	ox, oy := sq.Min.X+quietZone*mod, sq.Min.Y+quietZone*mod
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; {
			if !c.Black(x, y) {
				x++
				continue
			}
			// Draw runs of dark modules as one rectangle.
			x0 := x
			for x < c.Size && c.Black(x, y) {
				x++
			}
			rr := image.Rect(ox+x0*mod, oy+y*mod, ox+x*mod, oy+(y+1)*mod)
			draw.Draw(dst, rr, dark, image.Point{}, draw.Src)
		}
	}
}
