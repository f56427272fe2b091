package cameratest

import "time"

// The test pattern: eight vertical colour bars (as vivid and SMPTE draw
// them), a white box sweeping left to right once every two seconds, and the
// wall clock HH:MM:SS.d in seven-segment digits, so a decoded frame tells
// both that video moves and what time it was captured.

// bars are the Y, U, V values of white, yellow, cyan, green, magenta, red,
// blue and black at 75 %.
var bars = [8][3]byte{
	{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
	{84, 184, 198}, {65, 100, 212}, {35, 212, 114}, {16, 128, 128},
}

// BarColour returns the Y, U, V of the bar under column x, for tests that
// check decoded frames.
func BarColour(x, width int) [3]byte { return bars[x*8/width] }

// Draw renders frame n of the pattern into an I420 buffer.
func Draw(buf []byte, w, h, n int, at time.Time) {
	ySize, cSize := w*h, (w/2)*(h/2)
	yp, up, vp := buf[:ySize], buf[ySize:ySize+cSize], buf[ySize+cSize:ySize+2*cSize]

	// Bars: fill one row of each plane, then copy it down.
	for x := 0; x < w; x++ {
		yp[x] = bars[x*8/w][0]
	}
	for x := 0; x < w/2; x++ {
		c := bars[x*2*8/w]
		up[x], vp[x] = c[1], c[2]
	}
	for y := 1; y < h; y++ {
		copy(yp[y*w:(y+1)*w], yp[:w])
	}
	for y := 1; y < h/2; y++ {
		copy(up[y*(w/2):(y+1)*(w/2)], up[:w/2])
		copy(vp[y*(w/2):(y+1)*(w/2)], vp[:w/2])
	}

	// The sweeping box in the lower third.
	box := min(h/8, w-1)
	x0 := (n * (w - box) / 60) % (w - box)
	fillY(yp, w, x0, h*2/3, box, box, 235)

	// The clock, on a black band at the top.
	seg := max(h/40, 1) // tiny test frames still get a (tiny) clock
	fillY(yp, w, 0, 0, w, seg*12, 16)
	for i := range up[:min((w/2)*(seg*6), len(up))] {
		up[i], vp[i] = 128, 128
	}
	drawDigits(yp, w, seg, seg*2, seg*2, at.Format("15:04:05.")+string(rune('0'+at.Nanosecond()/1e8)))
}

func fillY(yp []byte, w, x0, y0, bw, bh int, v byte) {
	for y := y0; y < y0+bh && y*w < len(yp); y++ {
		row := yp[y*w : (y+1)*w]
		for x := x0; x < x0+bw && x < w; x++ {
			row[x] = v
		}
	}
}

// segments says which of a..g light up for each digit.
var segments = map[rune]uint8{
	'0': 0b0111111, '1': 0b0000110, '2': 0b1011011, '3': 0b1001111, '4': 0b1100110,
	'5': 0b1101101, '6': 0b1111101, '7': 0b0000111, '8': 0b1111111, '9': 0b1101111,
}

// drawDigits draws s with digits s wide, segment thickness t/3.
func drawDigits(yp []byte, w, s, x, y int, text string) {
	t := max(s/3, 1)
	for _, r := range text {
		switch r {
		case ':':
			fillY(yp, w, x+s/2, y+s*2, t*2, t*2, 235)
			fillY(yp, w, x+s/2, y+s*6, t*2, t*2, 235)
			x += s * 2
			continue
		case '.':
			fillY(yp, w, x+s/2, y+s*8, t*2, t*2, 235)
			x += s * 2
			continue
		}
		m := segments[r]
		// a b c d e f g: top, top right, bottom right, bottom, bottom left, top left, middle.
		rects := [7][4]int{
			{x, y, s * 3, t}, {x + s*3 - t, y, t, s * 4}, {x + s*3 - t, y + s*4, t, s * 4},
			{x, y + s*8 - t, s * 3, t}, {x, y + s*4, t, s * 4}, {x, y, t, s * 4}, {x, y + s*4 - t/2, s * 3, t},
		}
		for i, rc := range rects {
			if m&(1<<i) != 0 {
				fillY(yp, w, rc[0], rc[1], rc[2], rc[3], 235)
			}
		}
		x += s * 4
	}
}
