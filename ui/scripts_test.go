package ui

import (
	"image"
	"image/color"
	"os"
	"testing"

	"roomkit/ui/uitest"
)

// needFallbackFonts skips a test on a machine without the fallback fonts
// (a kit image always has them: images/ copies them in).
func needFallbackFonts(t *testing.T) {
	t.Helper()
	for _, f := range FallbackFontFiles() {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("no fallback font %s (scripts/setup.sh installs Debian's fonts-noto-core, fonts-nanum and fonts-droid-fallback): %v", f, err)
		}
	}
}

// TestGoldenScripts: room names typed in Arabic, Hebrew and Chinese are
// drawn, not left blank; Arabic letters join and both right-to-left names
// read from the right.
func TestGoldenScripts(t *testing.T) {
	needFallbackFonts(t)
	tests := []struct {
		name, room, location string
	}{
		{"home-arabic", "غرفة الاجتماعات ٣", "الطابق الرابع، زيورخ"},
		{"home-hebrew", "חדר ישיבות 3", "קומה 4, תל אביב"},
		{"home-chinese", "会议室 4.12", "苏黎世 四楼"},
		{"home-japanese-korean", "会議室 회의실", "東京 4階 · 서울"},
		{"home-arabic-long", "غرفة الاجتماعات الكبرى في الطابق العلوي بجانب المطبخ ذات الإطلالة على البحيرة", "Building C (المبنى ج)"},
	}
	for _, sz := range sizes {
		r := NewRenderer(sz.size)
		for _, tc := range tests {
			t.Run(tc.name+"-"+sz.name, func(t *testing.T) {
				v := homeView()
				v.RoomName, v.Location = tc.room, tc.location
				uitest.Golden(t, tc.name+"-"+sz.name, r.Render(v))
			})
		}
	}
}

// TestMissingFallbackFonts: a kit whose image lacks the fallback fonts
// still draws Latin exactly as before and leaves other scripts blank,
// without failing.
func TestMissingFallbackFonts(t *testing.T) {
	fs := readShapingFonts(t.TempDir())
	if n := len(fs.fallbacks[regular]); n != 0 {
		t.Fatalf("%d fallback fonts from an empty directory", n)
	}
	r := NewRenderer(Size1080p)
	r.sh = newShaper(&fs)
	uitest.Golden(t, "home-1080p", r.Render(homeView()))
	v := homeView()
	v.RoomName = "غرفة 会议室"
	blank := homeView()
	blank.RoomName = ""
	if d, _ := uitest.Diff(r.Render(v), NewRenderer(Size1080p).Render(blank), 0); d != 0 {
		t.Errorf("a name no font has is not left blank: %d pixels differ from no name", d)
	}
}

// TestShapedOrder: the first letter typed of a right-to-left name is its
// rightmost glyph, of a left-to-right one its leftmost; an Arabic first
// letter takes its initial (joining) form, not the form it has alone.
func TestShapedOrder(t *testing.T) {
	needFallbackFonts(t)
	fc := NewRenderer(Size1080p).face(bold, 40)
	tests := []struct {
		name, text  string
		firstAtLeft bool
		joins       bool // the first letter's glyph differs from its isolated form
	}{
		{"arabic", "غرفة", false, true},
		{"hebrew", "חדר", false, false},
		{"chinese", "会议室", true, false},
		{"latin with arabic", "Room غرفة", true, false},
		{"arabic with latin", "غرفة Room", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alone := fc.shape(string([]rune(tc.text)[0])).glyphs[0].gid
			l := fc.shape(tc.text).glyphs
			edge, side := l[len(l)-1], "right"
			if tc.firstAtLeft {
				edge, side = l[0], "left"
			}
			if joined := edge.gid != alone; joined != tc.joins {
				t.Errorf("glyph at the %s end is %d, the first letter alone is %d: want joined=%v", side, edge.gid, alone, tc.joins)
			}
			if edge.x < l[0].x || edge.x > l[len(l)-1].x {
				t.Errorf("glyphs are not laid out left to right in visual order")
			}
		})
	}
}

// FuzzLabel draws any text the portal could send as a room name: shaping,
// bidi and fallback must neither panic nor let a label overflow its width.
func FuzzLabel(f *testing.F) {
	for _, s := range []string{"Boardroom", "غرفة الاجتماعات ٣", "חדר 3\u200f", "会议室 회의실", "a\u202eb\u2066c", "\u0651\u0651\u0651", "\xff\xfe", "e\u0301\u0301"} {
		f.Add(s)
	}
	r := NewRenderer(Size800p)
	dst := image.NewRGBA(image.Rect(0, 0, 400, 60))
	f.Fuzz(func(t *testing.T, s string) {
		fc := r.face(bold, 32)
		s = oneLine(s)
		cut := fc.fit(s, 300)
		if w := fc.width(cut); w > 300 {
			t.Fatalf("fit(%q) = %q is %d px wide, over 300", s, cut, w)
		}
		fc.drawText(dst, 10, 40, cut, color.RGBA{255, 255, 255, 255})
	})
}
