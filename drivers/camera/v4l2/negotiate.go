package v4l2

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"roomkit/drivers/camera"
)

// The sizes a kit streams: 720p unless 1080p is asked for and offered.
const (
	width720, height720   = 1280, 720
	width1080, height1080 = 1920, 1080
	targetFPS             = 30
	// minSmoothFPS and minWidth bound what is worth sending to a meeting: a
	// camera that only manages 720p at 10 fps in YUYV is better used at
	// 640×480 and 30 fps.
	minSmoothFPS = 15
	minWidth     = 640
)

// ErrNoUsableFormat is wrapped by the error of a camera that offers none
// of H.264, MJPEG or YUYV.
var ErrNoUsableFormat = errors.New("no usable format")

// offer is everything a capture node said about itself when enumerated.
type offer struct {
	cap     capability
	formats []offeredFormat
}

type offeredFormat struct {
	desc  formatDesc
	sizes []offeredSize
}

type offeredSize struct {
	width, height int
	intervals     []fract // empty when the driver does not enumerate them
}

// mode is one way to stream: a format, a size and a frame interval.
type mode struct {
	fourcc        fourcc
	format        camera.Format
	width, height int
	interval      fract
}

func (m mode) String() string {
	return fmt.Sprintf("%s %dx%d@%s", m.format, m.width, m.height, fpsString(m.interval.fps()))
}

func fpsString(fps float64) string {
	if fps == math.Trunc(fps) {
		return fmt.Sprintf("%.0f", fps)
	}
	return fmt.Sprintf("%.2f", fps)
}

// describe enumerates a node's formats, sizes and frame intervals.
// Stepwise and continuous ranges are reduced to the sizes the policy would
// pick from (1080p, 720p, 640×480), clamped and aligned into the range.
func describe(d device) (offer, error) {
	c, err := d.capability()
	if err != nil {
		return offer{}, fmt.Errorf("query capabilities: %w", err)
	}
	o := offer{cap: c}
	if !c.capture() {
		return o, nil
	}
	descs, err := d.formats()
	if err != nil {
		return o, fmt.Errorf("list formats: %w", err)
	}
	for _, fd := range descs {
		of := offeredFormat{desc: fd}
		sizes, err := d.frameSizes(fd.PixelFormat)
		if err != nil || len(sizes) == 0 {
			// Drivers that do not enumerate sizes take any and adjust it in
			// S_FMT; offer the targets.
			sizes = []frameSize{{Width: width1080, Height: height1080}, {Width: width720, Height: height720}}
		}
		for _, s := range sizes {
			for _, wh := range expand(s) {
				iv, err := d.frameIntervals(fd.PixelFormat, wh[0], wh[1])
				if err != nil {
					iv = nil
				}
				of.sizes = append(of.sizes, offeredSize{width: wh[0], height: wh[1], intervals: iv})
			}
		}
		o.formats = append(o.formats, of)
	}
	return o, nil
}

// expand turns one frame size answer into concrete sizes.
func expand(s frameSize) [][2]int {
	if !s.stepwise() {
		return [][2]int{{s.Width, s.Height}}
	}
	var out [][2]int
	for _, t := range [][2]int{{width1080, height1080}, {width720, height720}, {640, 480}} {
		w, h := align(t[0], s.Width, s.MaxWidth, s.StepWidth), align(t[1], s.Height, s.MaxHeight, s.StepHeight)
		dup := false
		for _, o := range out {
			dup = dup || o == [2]int{w, h}
		}
		if !dup {
			out = append(out, [2]int{w, h})
		}
	}
	return out
}

func align(v, lo, hi, step int) int {
	v = min(max(v, lo), hi)
	if step > 1 {
		v = lo + (v-lo)/step*step
	}
	return v
}

// bestInterval picks the rate nearest 30 fps from below, else the slowest
// above it. Unknown rates count as 30 fps: the driver will say in S_PARM.
func bestInterval(ivs []fract) fract {
	best, bestFPS := fract{1, targetFPS}, 0.0
	below := false
	for _, iv := range ivs {
		fps := iv.fps()
		if fps <= 0 {
			continue
		}
		switch {
		case fps <= targetFPS+0.5:
			if !below || fps > bestFPS {
				best, bestFPS, below = iv, fps, true
			}
		case !below && (bestFPS == 0 || fps < bestFPS):
			best, bestFPS = iv, fps
		}
	}
	return best
}

// score orders modes, lower first: smooth enough, then format preference,
// then size, then rate. Format wins over size: an H.264 camera at 720p is
// better than MJPEG at 1080p, because passthrough costs the kit nothing.
type score struct {
	rough   int     // 1 if below minSmoothFPS or minWidth
	format  int     // rank: H.264, MJPEG, YUYV
	size    float64 // 0 the wanted size, 1 720p, then by distance from 720p
	fpsDiff float64
}

func (a score) less(b score) bool {
	if a.rough != b.rough {
		return a.rough < b.rough
	}
	if a.format != b.format {
		return a.format < b.format
	}
	if a.size != b.size {
		return a.size < b.size
	}
	return a.fpsDiff < b.fpsDiff
}

func scoreOf(m mode, prefer1080p bool) score {
	fps := m.interval.fps()
	s := score{format: rank(m.format), fpsDiff: math.Abs(fps - targetFPS)}
	if fps < minSmoothFPS || m.width < minWidth {
		s.rough = 1
	}
	area := float64(m.width * m.height)
	switch {
	case prefer1080p && m.width == width1080 && m.height == height1080:
		s.size = 0
	case m.width == width720 && m.height == height720:
		s.size = 1
	case area < width720*height720:
		s.size = 2 + (width720*height720-area)/(width720*height720) // just below 720p first
	default:
		s.size = 3 + area/(width720*height720) // then the smallest above it
	}
	return s
}

// choose picks the mode to stream from what a node offers.
func choose(o offer, prefer1080p bool) (mode, score, error) {
	var (
		best   mode
		bestSc score
		found  bool
	)
	for _, f := range o.formats {
		cf, ok := cameraFormat(f.desc.PixelFormat)
		if !ok || f.desc.Flags&fmtFlagEmulated != 0 {
			continue
		}
		for _, s := range f.sizes {
			if s.width <= 0 || s.height <= 0 {
				continue
			}
			m := mode{fourcc: f.desc.PixelFormat, format: cf, width: s.width, height: s.height, interval: bestInterval(s.intervals)}
			sc := scoreOf(m, prefer1080p)
			if !found || sc.less(bestSc) {
				best, bestSc, found = m, sc, true
			}
		}
	}
	if !found {
		return mode{}, score{}, fmt.Errorf("%w: it offers %s; the kit needs H.264, MJPEG or YUYV", ErrNoUsableFormat, o.offered())
	}
	return best, bestSc, nil
}

// offered lists formats and a few sizes in words, for errors and logs.
func (o offer) offered() string {
	if len(o.formats) == 0 {
		return "no formats at all"
	}
	var parts []string
	for _, f := range o.formats {
		p := f.desc.PixelFormat.String()
		if f.desc.Description != "" {
			p += fmt.Sprintf(" (%s)", f.desc.Description)
		}
		var sizes []string
		for i, s := range f.sizes {
			if i == 3 {
				sizes = append(sizes, "…")
				break
			}
			sizes = append(sizes, fmt.Sprintf("%dx%d", s.width, s.height))
		}
		if len(sizes) > 0 {
			p += " " + strings.Join(sizes, ", ")
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
