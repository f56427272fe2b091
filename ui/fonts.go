package ui

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	gotext "github.com/go-text/typesetting/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
)

// The Go fonts cover Latin, Greek and Cyrillic. Room names are typed by
// admins anywhere, so text the Go fonts cannot draw falls back, glyph by
// glyph, to font files on the kit. They are not compiled in: together they
// are ~6 MB, and Debian already packages them (fonts-noto-core,
// fonts-nanum, fonts-droid-fallback), so the development machine, the simulator and the
// kit image (images/ copies FallbackFontFiles to the same paths) all read
// the same files.

// FontDir is the directory the fallback fonts are read from, the first time
// a label needs one. Change it before rendering, if at all.
var FontDir = "/usr/share/fonts/truetype"

// fallbackFont is one fallback typeface; bold is "" when the family has no
// bold, and bold labels then use the regular.
type fallbackFont struct {
	regular, bold string // relative to FontDir
	covers        string // for the log when the file is missing
}

// fallbackFonts are tried in this order after the Go fonts.
var fallbackFonts = []fallbackFont{
	{"noto/NotoSansArabic-Regular.ttf", "noto/NotoSansArabic-Bold.ttf", "Arabic"},
	{"noto/NotoSansHebrew-Regular.ttf", "noto/NotoSansHebrew-Bold.ttf", "Hebrew"},
	// Chinese and Japanese: Droid Sans Fallback has the CJK ideographs and
	// kana in 4 MB, where Noto CJK is 20+ MB per weight.
	{"droid/DroidSansFallbackFull.ttf", "", "Chinese and Japanese"},
	// Hangul syllables: Droid Sans Fallback has 3 of the 11 172, NanumSquare
	// all of them in 0.7 MB (fonts-nanum). After Droid: NanumSquare maps
	// some ideographs to empty glyphs.
	{"nanum/NanumSquareR.ttf", "nanum/NanumSquareB.ttf", "Korean"},
}

// FallbackFontFiles returns the paths, under FontDir, of the font files the
// UI falls back to: what a kit image must contain.
func FallbackFontFiles() []string {
	var files []string
	for _, f := range fallbackFonts {
		files = append(files, filepath.Join(FontDir, f.regular))
		if f.bold != "" {
			files = append(files, filepath.Join(FontDir, f.bold))
		}
	}
	return files
}

// shapingFonts are the go-text parsed fonts for shaping: the Go fonts by
// fontID, then for each fontID the fallbacks that loaded. A *gotext.Font is
// read-only and shared; each Renderer wraps it in its own *gotext.Face,
// which caches and is not safe for concurrent use.
type shapingFonts struct {
	goFonts   [3]*gotext.Font
	fallbacks [3][]*gotext.Font // by fontID; mono falls back to the regulars
}

var (
	shapingOnce sync.Once
	loadedFonts shapingFonts
)

// loadShapingFonts parses the Go fonts and the fallback files the first
// time text needs them. A missing or broken file is logged once and
// skipped: the UI then draws what the Go fonts cover and leaves the rest
// blank, as it did before there were fallbacks.
func loadShapingFonts() *shapingFonts {
	shapingOnce.Do(func() { loadedFonts = readShapingFonts(FontDir) })
	return &loadedFonts
}

func readShapingFonts(dir string) shapingFonts {
	var fs shapingFonts
	for i, ttf := range [...][]byte{regular: goregular.TTF, bold: gobold.TTF, mono: gomono.TTF} {
		f, err := gotext.ParseTTF(bytes.NewReader(ttf))
		if err != nil {
			// The fonts are compiled in: failing to parse them is a build defect.
			panic(fmt.Sprintf("parse Go font %d for shaping: %v", i, err))
		}
		fs.goFonts[i] = f.Font
	}
	for _, ff := range fallbackFonts {
		reg := loadFontFile(dir, ff.regular, ff.covers)
		if reg == nil {
			continue
		}
		b := reg
		if ff.bold != "" {
			if f := loadFontFile(dir, ff.bold, ff.covers+" bold"); f != nil {
				b = f
			}
		}
		fs.fallbacks[regular] = append(fs.fallbacks[regular], reg)
		fs.fallbacks[bold] = append(fs.fallbacks[bold], b)
		fs.fallbacks[mono] = append(fs.fallbacks[mono], reg)
	}
	return fs
}

func loadFontFile(dir, rel, covers string) *gotext.Font {
	path := filepath.Join(dir, rel)
	b, err := os.ReadFile(path)
	if err == nil {
		var f *gotext.Face
		if f, err = gotext.ParseTTF(bytes.NewReader(b)); err == nil {
			return f.Font
		}
	}
	slog.Warn("fallback font missing: text in its scripts is drawn blank",
		"scripts", covers, "file", path, "err", err)
	return nil
}
