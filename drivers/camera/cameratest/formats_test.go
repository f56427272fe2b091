package cameratest

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
	"time"
)

var at = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

func TestYUYVAndJPEGShowThePattern(t *testing.T) {
	const w, h = 320, 240
	i420 := make([]byte, w*h*3/2)
	Draw(i420, w, h, 5, at)
	yuyv := make([]byte, w*h*2)
	DrawYUYV(yuyv, w, h, 5, at)
	row := h / 2
	for x := 0; x < w; x += 2 {
		o := row*w*2 + x*2
		c := (row/2)*(w/2) + x/2
		if yuyv[o] != i420[row*w+x] || yuyv[o+2] != i420[row*w+x+1] || yuyv[o+1] != i420[w*h+c] || yuyv[o+3] != i420[w*h+w*h/4+c] {
			t.Fatalf("YUYV pixel pair at x=%d differs from the pattern", x)
		}
	}
	img, err := jpeg.Decode(bytes.NewReader(JPEG(w, h, 5, at, 90)))
	if err != nil {
		t.Fatal(err)
	}
	yc := img.(*image.YCbCr)
	for _, x := range []int{w / 16, 7 * w / 16, 13 * w / 16} {
		if d := int(yc.Y[row*yc.YStride+x]) - int(BarColour(x, w)[0]); d < -3 || d > 3 {
			t.Errorf("JPEG luma at x=%d off by %d from its bar", x, d)
		}
	}
}

// nals splits an Annex B stream into NAL units (without start codes).
func nals(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end--
				}
				out = append(out, b[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 {
		out = append(out, b[start:])
	}
	return out
}

// bitReader reads an RBSP for the test's checks.
type bitReader struct {
	b   []byte
	pos int
}

func (r *bitReader) u(n int) int {
	v := 0
	for ; n > 0; n-- {
		v = v<<1 | int(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func (r *bitReader) ue() int {
	z := 0
	for r.u(1) == 0 {
		z++
	}
	return 1<<z - 1 + r.u(z)
}

func TestH264Stream(t *testing.T) {
	const w, h = 320, 176
	i420 := make([]byte, w*h*3/2)
	Draw(i420, w, h, 0, at)
	enc := NewH264(w, h)
	key := enc.Frame(i420, true)
	units := nals(key)
	if len(units) != 3 || units[0][0] != 0x67 || units[1][0] != 0x68 || units[2][0] != 0x65 {
		t.Fatalf("keyframe NAL headers: %d units, want SPS, PPS, IDR", len(units))
	}
	for i, u := range units {
		if bytes.Contains(u, []byte{0, 0, 0}) || bytes.Contains(u, []byte{0, 0, 1}) || bytes.Contains(u, []byte{0, 0, 2}) {
			t.Errorf("NAL %d lacks emulation prevention", i)
		}
	}
	sps := &bitReader{b: units[0][1:]}
	profile, _, level := sps.u(8), sps.u(8), sps.u(8)
	sps.ue() // id
	sps.ue() // log2_max_frame_num_minus4
	sps.ue() // poc type
	sps.ue() // refs
	sps.u(1)
	if mbw, mbh := sps.ue()+1, sps.ue()+1; profile != 66 || level != 40 || mbw*16 != w || mbh*16 != h {
		t.Errorf("SPS says profile %d level %d, %dx%d macroblocks; want 66, 40, %dx%d", profile, level, mbw, mbh, w/16, h/16)
	}
	if n := len(units[2]); n < w*h*3/2 {
		t.Errorf("IDR of %d bytes cannot hold the %d bytes of PCM samples", n, w*h*3/2)
	}
	p := enc.Frame(i420, false)
	if u := nals(p); len(u) != 1 || u[0][0] != 0x41 || len(p) > 32 {
		t.Errorf("non-key frame: %d bytes, %d NAL units; want one small P slice", len(p), len(u))
	}
}
