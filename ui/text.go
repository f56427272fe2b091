package ui

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// fontID names one of the three typefaces the UI uses.
type fontID uint8

const (
	regular fontID = iota
	bold
	mono
)

// ellipsis ends text cut to fit. The Go fonts carry U+2026.
const ellipsis = "…"

// The parsed fonts are shared by all renderers: parsing is the slow part and
// an *opentype.Font is safe for concurrent use (faces are not).
var (
	fontsOnce sync.Once
	fonts     [3]*opentype.Font
	fontsErr  error
)

func parsedFonts() ([3]*opentype.Font, error) {
	fontsOnce.Do(func() {
		for i, ttf := range [...][]byte{regular: goregular.TTF, bold: gobold.TTF, mono: gomono.TTF} {
			f, err := opentype.Parse(ttf)
			if err != nil {
				fontsErr = fmt.Errorf("parse font %d: %w", i, err)
				return
			}
			fonts[i] = f
		}
	})
	return fonts, fontsErr
}

type faceKey struct {
	font fontID
	size int // pixels
}

// glyph is one rasterised glyph, kept so that redrawing the clock every
// frame blits cached masks instead of rasterising outlines again.
type glyph struct {
	mask *image.Alpha  // nil for glyphs without ink (space)
	off  image.Point   // mask's top-left relative to the pen on the baseline
	adv  fixed.Int26_6 // advance width
}

// face is a font at one pixel size with its glyph cache.
type face struct {
	face    font.Face
	ascent  int
	descent int
	glyphs  map[rune]*glyph

	// For text that needs shaping (shaped.go).
	r        *Renderer
	id       fontID
	size     int
	font     *opentype.Font
	hasRune  map[rune]bool
	lines    map[string]*shapedLine
	outlines map[outlineKey]*glyph
}

// face returns the cached face of font f at size px, creating it on first use.
func (r *Renderer) face(f fontID, size int) *face {
	k := faceKey{f, size}
	if fc, ok := r.faces[k]; ok {
		return fc
	}
	fs, err := parsedFonts()
	if err != nil {
		// The fonts are compiled in: failing to parse them is a build defect.
		panic(err)
	}
	ff, err := opentype.NewFace(fs[f], &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		panic(fmt.Sprintf("font %d at %d px: %v", f, size, err))
	}
	m := ff.Metrics()
	fc := &face{face: ff, ascent: m.Ascent.Ceil(), descent: m.Descent.Ceil(), glyphs: make(map[rune]*glyph),
		r: r, id: f, size: size, font: fs[f], hasRune: make(map[rune]bool),
		lines: make(map[string]*shapedLine), outlines: make(map[outlineKey]*glyph)}
	r.faces[k] = fc
	return fc
}

func (fc *face) glyph(c rune) *glyph {
	if g, ok := fc.glyphs[c]; ok {
		return g
	}
	g := &glyph{}
	dr, mask, mp, adv, ok := fc.face.Glyph(fixed.Point26_6{}, c)
	if !ok {
		// A rune the font lacks: draw nothing but keep the spacing.
		adv, _ = fc.face.GlyphAdvance(c)
	}
	g.adv = adv
	if ok && !dr.Empty() {
		// The face reuses its mask buffer on the next call: copy it.
		a := image.NewAlpha(image.Rect(0, 0, dr.Dx(), dr.Dy()))
		draw.Draw(a, a.Bounds(), mask, mp, draw.Src)
		g.mask = a
		g.off = dr.Min
	}
	fc.glyphs[c] = g
	return g
}

// width is the advance width of s in pixels, kerning included.
func (fc *face) width(s string) int {
	if fc.needsShaping(s) {
		return fc.shape(s).width.Ceil()
	}
	var w fixed.Int26_6
	prev := rune(-1)
	for _, c := range s {
		if prev >= 0 {
			w += fc.face.Kern(prev, c)
		}
		w += fc.glyph(c).adv
		prev = c
	}
	return w.Ceil()
}

// fit returns s, or the longest prefix of s followed by an ellipsis, whose
// width is at most maxW. Room names, URLs and error messages come from
// outside and must never run off the screen.
func (fc *face) fit(s string, maxW int) string {
	if fc.width(s) <= maxW {
		return s
	}
	ew := fc.width(ellipsis)
	if fc.needsShaping(s) {
		return fc.fitShaped(s, maxW, ew)
	}
	// Shorten rune by rune from the end; strings here are short.
	for n := len(s); n > 0; {
		_, size := utf8.DecodeLastRuneInString(s[:n])
		n -= size
		p := trimRightSpace(s[:n])
		if fc.width(p)+ew <= maxW {
			return p + ellipsis
		}
	}
	if ew <= maxW {
		return ellipsis
	}
	return ""
}

func trimRightSpace(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == ',') {
		s = s[:len(s)-1]
	}
	return s
}

// drawText draws s with its pen starting at x on the baseline y. dst should
// be clipped (a SubImage) to where the text may go.
func (fc *face) drawText(dst *image.RGBA, x, y int, s string, c color.RGBA) {
	if fc.needsShaping(s) {
		fc.drawShaped(dst, x, y, s, c)
		return
	}
	src := image.NewUniform(c)
	pen := fixed.I(x)
	prev := rune(-1)
	for _, ch := range s {
		if prev >= 0 {
			pen += fc.face.Kern(prev, ch)
		}
		g := fc.glyph(ch)
		if g.mask != nil {
			p := g.off.Add(image.Pt(pen.Round(), y))
			dr := g.mask.Rect.Add(p)
			draw.DrawMask(dst, dr, src, image.Point{}, g.mask, image.Point{}, draw.Over)
		}
		pen += g.adv
		prev = ch
	}
}
