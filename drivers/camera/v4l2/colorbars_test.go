package v4l2

import (
	"fmt"
	"math"
	"strings"
)

// vividBars are the colours of vivid's default test pattern, 75% colour
// bars, left to right, in R'G'B': 75% is 191 of 255.
var vividBars = []struct {
	name    string
	r, g, b float64
}{
	{"white", 191, 191, 191},
	{"yellow", 191, 191, 0},
	{"cyan", 0, 191, 191},
	{"green", 0, 191, 0},
	{"magenta", 191, 0, 191},
	{"red", 191, 0, 0},
	{"blue", 0, 0, 191},
	{"black", 0, 0, 0},
}

// barTolerance allows for BT.601 rounding and chroma averaging.
const barTolerance = 24

// checkBars says where an I420 frame of w×h does not show vivid's colour
// bars, looking at the middle of each bar on the rows at 1/2 and 3/4 of
// the height. The top left, where vivid prints its text, is left alone.
func checkBars(i420 []byte, w, h int) error {
	if len(i420) < w*h*3/2 {
		return fmt.Errorf("I420 frame of %d bytes, want %d for %dx%d", len(i420), w*h*3/2, w, h)
	}
	var bad []string
	for _, y := range []int{h / 2, h * 3 / 4} {
		for i, bar := range vividBars {
			x := (2*i + 1) * w / 16
			r, g, b := rgbAt(i420, w, h, x, y)
			if math.Abs(r-bar.r) > barTolerance || math.Abs(g-bar.g) > barTolerance || math.Abs(b-bar.b) > barTolerance {
				bad = append(bad, fmt.Sprintf("(%d,%d) is RGB %.0f,%.0f,%.0f, want %s %.0f,%.0f,%.0f", x, y, r, g, b, bar.name, bar.r, bar.g, bar.b))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("not vivid's 75%% colour bars: %s", strings.Join(bad, "; "))
	}
	return nil
}

// rgbAt converts one pixel of limited-range BT.601 I420, what vivid sends
// for its webcam input, to R'G'B'.
func rgbAt(i420 []byte, w, h, x, y int) (r, g, b float64) {
	yy := float64(i420[y*w+x]) - 16
	u := float64(i420[w*h+(y/2)*(w/2)+x/2]) - 128
	v := float64(i420[w*h+w*h/4+(y/2)*(w/2)+x/2]) - 128
	return 1.164*yy + 1.596*v, 1.164*yy - 0.392*u - 0.813*v, 1.164*yy + 2.017*u
}
