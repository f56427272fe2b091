package ui

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"unicode"

	"github.com/go-text/typesetting/di"
	gotext "github.com/go-text/typesetting/font"
	ot "github.com/go-text/typesetting/font/opentype"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Text the Go fonts draw on their own (Latin, Greek, Cyrillic, left to
// right) keeps the simple path in text.go, so existing screens stay
// pixel-identical. Everything else is shaped: go-text's HarfBuzz port picks
// contextual forms (Arabic letters join), its bidi and script segmenter
// splits the line into runs, each rune takes the first font that has it
// (Go font first, then the fallbacks of fonts.go), and the runs are laid out
// in visual order.

// shaper is a Renderer's shaping state: the HarfBuzz shaper, the segmenter
// and go-text faces, none of them safe for concurrent use.
type shaper struct {
	hb    shaping.HarfbuzzShaper
	seg   shaping.Segmenter
	fonts [3]fontmap // by fontID: the Go font, then the fallbacks
}

func (r *Renderer) shaper() *shaper {
	if r.sh != nil {
		return r.sh
	}
	r.sh = newShaper(loadShapingFonts())
	return r.sh
}

func newShaper(fs *shapingFonts) *shaper {
	sh := &shaper{}
	for id := range sh.fonts {
		m := fontmap{gotext.NewFace(fs.goFonts[id])}
		for _, f := range fs.fallbacks[id] {
			m = append(m, gotext.NewFace(f))
		}
		sh.fonts[id] = m
	}
	return sh
}

// fontmap resolves each rune to the first face that has a glyph for it,
// falling back to the Go font (which draws nothing for it).
type fontmap []*gotext.Face

func (m fontmap) ResolveFace(r rune) *gotext.Face {
	for _, f := range m {
		if _, ok := f.NominalGlyph(r); ok {
			return f
		}
	}
	return m[0]
}

func (m fontmap) index(f *gotext.Face) int {
	for i, g := range m {
		if g == f {
			return i
		}
	}
	return 0
}

// placed is one glyph of a shaped line: which face and glyph, and where
// relative to the pen's start on the baseline.
type placed struct {
	face int // index in the fontmap
	gid  gotext.GID
	x, y fixed.Int26_6
}

type shapedLine struct {
	glyphs []placed
	width  fixed.Int26_6
}

type outlineKey struct {
	face int
	gid  gotext.GID
}

// maxShapedLines bounds each face's cache of shaped lines; the screens
// show a few dozen strings.
const maxShapedLines = 256

// needsShaping reports whether s has a rune the Go font lacks or one that
// is written right to left.
func (fc *face) needsShaping(s string) bool {
	for _, c := range s {
		if c < 0x80 {
			continue
		}
		if rightToLeft(c) || !fc.has(c) {
			return true
		}
	}
	return false
}

// has reports whether the face's Go font has a glyph for c.
func (fc *face) has(c rune) bool {
	if ok, seen := fc.hasRune[c]; seen {
		return ok
	}
	var buf sfnt.Buffer
	gi, err := fc.font.GlyphIndex(&buf, c)
	ok := err == nil && gi != 0
	fc.hasRune[c] = ok
	return ok
}

// rightToLeft reports whether c belongs to a script written right to left.
func rightToLeft(c rune) bool {
	return unicode.In(c, unicode.Hebrew, unicode.Arabic, unicode.Syriac, unicode.Thaana, unicode.Nko,
		unicode.Samaritan, unicode.Mandaic)
}

// rtlParagraph applies the bidi algorithm's rules P2 and P3: the first
// strong letter decides the direction of the line, as dir="auto" does in
// a browser, so an Arabic name is laid out and cut from the right.
func rtlParagraph(rs []rune) bool {
	for _, c := range rs {
		if rightToLeft(c) {
			return true
		}
		if unicode.IsLetter(c) {
			return false
		}
	}
	return false
}

// shape lays s out on one line, caching the result.
func (fc *face) shape(s string) *shapedLine {
	if l, ok := fc.lines[s]; ok {
		return l
	}
	sh := fc.r.shaper()
	fm := sh.fonts[fc.id]
	rs := []rune(s)
	rtl := rtlParagraph(rs)
	dir := di.DirectionLTR
	if rtl {
		dir = di.DirectionRTL
	}
	in := shaping.Input{Text: rs, RunEnd: len(rs), Direction: dir, Size: fixed.I(fc.size), Face: fm[0]}
	runs := sh.seg.Split(in, fm)
	outs := make([]shaping.Output, len(runs))
	levels := make([]int, len(runs))
	for i, run := range runs {
		outs[i] = sh.hb.Shape(run)
		// Names have no explicit embeddings (oneLine removes them), so a
		// run's level follows from its direction and the line's (UAX #9
		// I1, I2): 0 or 1 in a left-to-right line, 1 or 2 in a right-to-left one.
		runRTL := run.Direction.Progression() == di.TowardTopLeft
		switch {
		case runRTL:
			levels[i] = 1
		case rtl:
			levels[i] = 2
		}
	}
	reorder(outs, levels)
	l := &shapedLine{}
	var pen fixed.Int26_6
	for _, o := range outs {
		fi := fm.index(o.Face)
		for _, g := range o.Glyphs {
			l.glyphs = append(l.glyphs, placed{face: fi, gid: g.GlyphID, x: pen + g.XOffset, y: g.YOffset})
			pen += g.Advance
		}
	}
	l.width = pen
	if len(fc.lines) >= maxShapedLines {
		clear(fc.lines)
	}
	fc.lines[s] = l
	return l
}

// reorder puts runs in visual order (UAX #9 L2): from the highest level
// down to the lowest odd one, every sequence of runs at that level or
// higher is reversed. HarfBuzz already ordered the glyphs inside each run.
func reorder(outs []shaping.Output, levels []int) {
	top := 0
	for _, l := range levels {
		top = max(top, l)
	}
	for lvl := top; lvl >= 1; lvl-- {
		for i := 0; i < len(levels); {
			if levels[i] < lvl {
				i++
				continue
			}
			j := i
			for j < len(levels) && levels[j] >= lvl {
				j++
			}
			for a, b := i, j-1; a < b; a, b = a+1, b-1 {
				outs[a], outs[b] = outs[b], outs[a]
				levels[a], levels[b] = levels[b], levels[a]
			}
			i = j
		}
	}
}

// outline returns the rasterised glyph gid of fontmap face fi, cached.
func (fc *face) outline(fi int, gid gotext.GID) *glyph {
	k := outlineKey{fi, gid}
	if g, ok := fc.outlines[k]; ok {
		return g
	}
	g := &glyph{}
	fc.outlines[k] = g
	f := fc.r.shaper().fonts[fc.id][fi]
	if gid == 0 {
		// No font has the rune: draw nothing but keep the spacing, as
		// the simple path does.
		return g
	}
	data, ok := f.GlyphDataOutline(gid)
	if !ok || len(data.Segments) == 0 {
		return g
	}
	scale := float32(fc.size) / float32(f.Upem())
	minX, minY := float32(math.Inf(1)), float32(math.Inf(1))
	maxX, maxY := float32(math.Inf(-1)), float32(math.Inf(-1))
	for _, s := range data.Segments {
		for _, p := range s.ArgsSlice() {
			minX, maxX = min(minX, p.X), max(maxX, p.X)
			minY, maxY = min(minY, p.Y), max(maxY, p.Y)
		}
	}
	// Font units grow up, pixels down.
	x0 := int(math.Floor(float64(minX * scale)))
	y0 := int(math.Floor(float64(-maxY * scale)))
	x1 := int(math.Ceil(float64(maxX * scale)))
	y1 := int(math.Ceil(float64(-minY * scale)))
	if x1 <= x0 || y1 <= y0 {
		return g
	}
	z := vector.NewRasterizer(x1-x0, y1-y0)
	px := func(p gotext.SegmentPoint) (float32, float32) {
		return p.X*scale - float32(x0), -p.Y*scale - float32(y0)
	}
	started := false
	for _, s := range data.Segments {
		switch s.Op {
		case ot.SegmentOpMoveTo:
			if started {
				z.ClosePath()
			}
			z.MoveTo(px(s.Args[0]))
			started = true
		case ot.SegmentOpLineTo:
			z.LineTo(px(s.Args[0]))
		case ot.SegmentOpQuadTo:
			bx, by := px(s.Args[0])
			cx, cy := px(s.Args[1])
			z.QuadTo(bx, by, cx, cy)
		case ot.SegmentOpCubeTo:
			bx, by := px(s.Args[0])
			cx, cy := px(s.Args[1])
			dx, dy := px(s.Args[2])
			z.CubeTo(bx, by, cx, cy, dx, dy)
		}
	}
	if started {
		z.ClosePath()
	}
	a := image.NewAlpha(image.Rect(0, 0, x1-x0, y1-y0))
	z.Draw(a, a.Bounds(), image.Opaque, image.Point{})
	g.mask = a
	g.off = image.Pt(x0, y0)
	return g
}

// drawShaped draws s, shaped, with its left edge at x on the baseline y.
func (fc *face) drawShaped(dst *image.RGBA, x, y int, s string, c color.RGBA) {
	src := image.NewUniform(c)
	l := fc.shape(s)
	for _, p := range l.glyphs {
		g := fc.outline(p.face, p.gid)
		if g.mask == nil {
			continue
		}
		at := g.off.Add(image.Pt((fixed.I(x) + p.x).Round(), y-p.y.Round()))
		draw.DrawMask(dst, g.mask.Rect.Add(at), src, image.Point{}, g.mask, image.Point{}, draw.Over)
	}
}

// fitShaped is fit for shaped text. Each width shapes the whole prefix
// again, so it looks for the cut by bisection over the rune boundaries
// rather than rune by rune from the end: widths of prefixes grow with
// their length (shaping can make a longer prefix a little narrower, which
// at worst cuts one letter more than needed).
func (fc *face) fitShaped(s string, maxW, ew int) string {
	var cuts []int // byte offsets of rune starts after the first rune
	for i := range s {
		if i > 0 {
			cuts = append(cuts, i)
		}
	}
	fits := func(k int) bool { return fc.width(trimRightSpace(s[:cuts[k]]))+ew <= maxW }
	lo, hi := -1, len(cuts) // fits(lo) holds (or lo is -1), fits(hi) does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo >= 0 {
		return trimRightSpace(s[:cuts[lo]]) + ellipsis
	}
	if ew <= maxW {
		return ellipsis
	}
	return ""
}
