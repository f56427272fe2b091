package uitest

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func solid(w, h int, c color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

func with(m *image.RGBA, x, y int, c color.RGBA) *image.RGBA {
	n := image.NewRGBA(m.Rect)
	copy(n.Pix, m.Pix)
	n.SetRGBA(x, y, c)
	return n
}

func TestDiff(t *testing.T) {
	grey := color.RGBA{100, 100, 100, 255}
	base := solid(10, 10, grey)
	gray := image.NewGray(image.Rect(0, 0, 10, 10))
	for i := range gray.Pix {
		gray.Pix[i] = 100
	}
	offset := image.NewRGBA(image.Rect(5, 5, 15, 15))
	copy(offset.Pix, base.Pix)
	tests := []struct {
		name      string
		a, b      image.Image
		tol       int
		diff, all int
	}{
		{"same", base, solid(10, 10, grey), 0, 0, 100},
		{"within tolerance", base, with(base, 3, 3, color.RGBA{108, 100, 92, 255}), 8, 0, 100},
		{"just over tolerance", base, with(base, 3, 3, color.RGBA{109, 100, 100, 255}), 8, 1, 100},
		{"alpha counts", base, with(base, 3, 3, color.RGBA{100, 100, 100, 0}), 8, 1, 100},
		{"two pixels", with(base, 0, 0, color.RGBA{}), with(base, 9, 9, color.RGBA{}), 0, 2, 100},
		{"other image type", base, gray, 0, 0, 100},
		{"origin ignored", base, offset, 0, 0, 100},
		{"larger", base, solid(12, 10, grey), 0, 20, 120},
		{"smaller both ways", solid(12, 8, grey), base, 0, 20 + 16 + 4, 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, n := Diff(tt.a, tt.b, tt.tol)
			if d != tt.diff || n != tt.all {
				t.Errorf("Diff = %d of %d, want %d of %d", d, n, tt.diff, tt.all)
			}
		})
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msgs   []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	// Stop the goroutine as FailNow does.
	runtime.Goexit()
}

// run calls Golden with a recorder on its own goroutine, so Fatalf can stop it.
func run(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestGolden(t *testing.T) {
	t.Chdir(t.TempDir())
	artifacts := t.TempDir()
	t.Setenv("ROOMKIT_ARTIFACTS", artifacts)

	want := solid(100, 100, color.RGBA{20, 30, 40, 255})
	if err := writePNG(filepath.Join("testdata", "screen.png"), want); err != nil {
		t.Fatal(err)
	}

	t.Run("equal", func(t *testing.T) {
		if r := run(t, func(tb testing.TB) { Golden(tb, "screen", want) }); r.failed {
			t.Errorf("equal image failed: %v", r.msgs)
		}
	})
	t.Run("one pixel off passes the default fraction", func(t *testing.T) {
		img := with(want, 50, 50, color.RGBA{255, 255, 255, 255})
		// 1 of 10 000 pixels may differ; this image has 10 000 pixels.
		if r := run(t, func(tb testing.TB) { Golden(tb, "screen", img) }); r.failed {
			t.Errorf("one differing pixel failed: %v", r.msgs)
		}
	})
	t.Run("changed", func(t *testing.T) {
		img := with(with(want, 50, 50, color.RGBA{255, 255, 255, 255}), 10, 10, color.RGBA{255, 255, 255, 255})
		r := run(t, func(tb testing.TB) { Golden(tb, "screen", img) })
		if !r.failed {
			t.Fatal("two differing pixels passed")
		}
		msg := strings.Join(r.msgs, "\n")
		if !strings.Contains(msg, "2 of 10000 pixels") {
			t.Errorf("message does not count the pixels: %s", msg)
		}
		diffs, _ := filepath.Glob(filepath.Join(artifacts, "*screen.diff.png"))
		actuals, _ := filepath.Glob(filepath.Join(artifacts, "*screen.actual.png"))
		if len(diffs) != 1 || len(actuals) != 1 {
			t.Fatalf("artifacts: diff %v actual %v", diffs, actuals)
		}
		if !strings.Contains(msg, diffs[0]) || !strings.Contains(msg, actuals[0]) {
			t.Errorf("message does not name the artifacts: %s", msg)
		}
		got, err := readPNG(actuals[0])
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := Diff(got, img, 0); d != 0 {
			t.Errorf("actual artifact is not the actual image")
		}
		dimg, err := readPNG(diffs[0])
		if err != nil {
			t.Fatal(err)
		}
		if r, _, _, _ := dimg.At(10, 10).RGBA(); r>>8 != 0xff {
			t.Errorf("diff image does not mark the differing pixel in red")
		}
		if r, _, _, _ := dimg.At(20, 20).RGBA(); r>>8 == 0xff {
			t.Errorf("diff image marks an equal pixel")
		}
	})
	t.Run("size", func(t *testing.T) {
		r := run(t, func(tb testing.TB) { Golden(tb, "screen", solid(100, 99, color.RGBA{20, 30, 40, 255})) })
		if !r.failed || !strings.Contains(strings.Join(r.msgs, ""), "size (100,99), golden (100,100)") {
			t.Errorf("size change: failed=%v %v", r.failed, r.msgs)
		}
	})
	t.Run("missing", func(t *testing.T) {
		r := run(t, func(tb testing.TB) { Golden(tb, "nothing", want) })
		if !r.failed || !strings.Contains(strings.Join(r.msgs, ""), "-update") {
			t.Errorf("missing golden: failed=%v %v", r.failed, r.msgs)
		}
	})
	t.Run("tolerance", func(t *testing.T) {
		img := with(want, 1, 1, color.RGBA{255, 255, 255, 255})
		img = with(img, 2, 2, color.RGBA{255, 255, 255, 255})
		if r := run(t, func(tb testing.TB) { GoldenTolerance(tb, "screen", img, 0, 0.01) }); r.failed {
			t.Errorf("2 pixels within 1%%: %v", r.msgs)
		}
		if r := run(t, func(tb testing.TB) { GoldenTolerance(tb, "screen", img, 0, 0) }); !r.failed {
			t.Errorf("2 pixels passed with no tolerance")
		}
	})
	if _, err := os.Stat(filepath.Join("testdata", "nothing.png")); err == nil {
		t.Error("a failed comparison created a golden")
	}
}
