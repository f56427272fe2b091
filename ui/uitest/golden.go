// Package uitest compares rendered screens with golden PNG files.
//
// Goldens live in testdata/<name>.png of the package under test. Run
// `go test ./ui -update` to rewrite them after a deliberate change, then look
// at the PNGs before committing them.
//
// The comparison is tolerant: a pixel differs only when one of its channels
// differs by more than a threshold, and a test fails only when more than a
// small fraction of pixels differ. That absorbs anti-aliasing noise between
// CPU architectures (fused multiply-add changes float rounding in the
// rasteriser) while still catching a changed word or a moved button.
package uitest

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden PNG files in testdata/ with what the tests render")

// Default tolerances of Golden.
const (
	// DefaultChannelTolerance is how far (0–255) a channel may be off
	// before the pixel counts as differing.
	DefaultChannelTolerance = 8
	// DefaultMaxFraction is the fraction of pixels that may differ:
	// 1 in 10 000, about 200 pixels of a 1080p frame.
	DefaultMaxFraction = 0.0001
)

// Golden compares img with testdata/<name>.png using the default tolerances.
func Golden(t testing.TB, name string, img image.Image) {
	t.Helper()
	GoldenTolerance(t, name, img, DefaultChannelTolerance, DefaultMaxFraction)
}

// GoldenTolerance compares img with testdata/<name>.png: a pixel differs
// when any channel differs by more than tol, and the test fails when more
// than maxFraction of the pixels differ. On failure it writes the actual
// image and a diff image under $ROOMKIT_ARTIFACTS (default: a temporary
// directory of the test) and names them in the failure.
func GoldenTolerance(t testing.TB, name string, img image.Image, tol int, maxFraction float64) {
	t.Helper()
	path := filepath.Join("testdata", name+".png")
	if *update {
		if err := writePNG(path, img); err != nil {
			t.Fatalf("update golden: %v", err)
		}
		t.Logf("wrote %s", path)
		return
	}
	want, err := readPNG(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run `go test -update` to create it, then look at it)", name, err)
		return
	}
	differing, total := Diff(img, want, tol)
	if float64(differing) <= maxFraction*float64(total) && img.Bounds().Size() == want.Bounds().Size() {
		return
	}
	dir := os.Getenv("ROOMKIT_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	base := filepath.Join(dir, safeName(t.Name())+"-"+safeName(name))
	actual, diff := base+".actual.png", base+".diff.png"
	werr := writePNG(actual, img)
	if werr == nil {
		werr = writePNG(diff, DiffImage(img, want, tol))
	}
	if werr != nil {
		t.Errorf("write artifacts: %v", werr)
	}
	t.Errorf("%s differs from golden %s: %d of %d pixels (%.4f%%, allowed %.4f%%) differ by more than %d; size %v, golden %v\nactual: %s\ndiff:   %s\nrun `go test -update` if the change is intended",
		name, path, differing, total, 100*float64(differing)/float64(max(total, 1)), 100*maxFraction, tol,
		img.Bounds().Size(), want.Bounds().Size(), actual, diff)
}

// Diff counts the pixels of a and b where a channel (R, G, B or A, 8-bit)
// differs by more than tol. The images are aligned at their top-left
// corners; where only one of them has a pixel, it differs. total is the
// number of pixels compared (the union of both sizes).
func Diff(a, b image.Image, tol int) (differing int, total int) {
	ra, rb := toRGBA(a), toRGBA(b)
	sa, sb := ra.Rect.Size(), rb.Rect.Size()
	w, h := max(sa.X, sb.X), max(sa.Y, sb.Y)
	total = w * h
	cw, ch := min(sa.X, sb.X), min(sa.Y, sb.Y)
	differing = total - cw*ch
	for y := 0; y < ch; y++ {
		pa := ra.Pix[y*ra.Stride : y*ra.Stride+cw*4]
		pb := rb.Pix[y*rb.Stride : y*rb.Stride+cw*4]
		if bytes.Equal(pa, pb) {
			continue
		}
		for x := 0; x < cw*4; x += 4 {
			for c := 0; c < 4; c++ {
				if d := int(pa[x+c]) - int(pb[x+c]); d > tol || d < -tol {
					differing++
					break
				}
			}
		}
	}
	return differing, total
}

// DiffImage shows where a and b differ: a faded copy of b with the
// differing pixels in bright red. Its size is the union of both sizes.
func DiffImage(a, b image.Image, tol int) *image.RGBA {
	ra, rb := toRGBA(a), toRGBA(b)
	sa, sb := ra.Rect.Size(), rb.Rect.Size()
	out := image.NewRGBA(image.Rect(0, 0, max(sa.X, sb.X), max(sa.Y, sb.Y)))
	red := color.RGBA{0xff, 0x20, 0x20, 0xff}
	for y := 0; y < out.Rect.Dy(); y++ {
		for x := 0; x < out.Rect.Dx(); x++ {
			inA, inB := x < sa.X && y < sa.Y, x < sb.X && y < sb.Y
			if !inA || !inB {
				out.SetRGBA(x, y, red)
				continue
			}
			ia, ib := ra.PixOffset(x, y), rb.PixOffset(x, y)
			same := true
			for c := 0; c < 4; c++ {
				if d := int(ra.Pix[ia+c]) - int(rb.Pix[ib+c]); d > tol || d < -tol {
					same = false
					break
				}
			}
			if !same {
				out.SetRGBA(x, y, red)
				continue
			}
			// Faded grey of the golden, so the red stands out in context.
			g := uint8((int(rb.Pix[ib]) + int(rb.Pix[ib+1]) + int(rb.Pix[ib+2])) / 3 / 3)
			out.SetRGBA(x, y, color.RGBA{g, g, g, 0xff})
		}
	}
	return out
}

// toRGBA returns img as an *image.RGBA with its origin at (0,0).
func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	r := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(r, r.Rect, img, b.Min, draw.Src)
	return r
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}

func writePNG(path string, img image.Image) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// safeName makes a test or golden name usable as a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
