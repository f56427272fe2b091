package meeting

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

func TestYUYVToI420(t *testing.T) {
	for _, tc := range []struct {
		name       string
		w, h       int
		src        []byte
		wantY      []byte
		wantU      []byte
		wantV      []byte
		wantErrful bool
	}{
		{
			name: "2x2: luma kept, chroma of both rows averaged",
			w:    2, h: 2,
			src:   []byte{10, 100, 20, 200, 30, 110, 40, 211},
			wantY: []byte{10, 20, 30, 40}, wantU: []byte{105}, wantV: []byte{206},
		},
		{
			name: "4x2: two chroma columns",
			w:    4, h: 2,
			src: []byte{
				1, 50, 2, 60, 3, 70, 4, 80,
				5, 50, 6, 60, 7, 90, 8, 100,
			},
			wantY: []byte{1, 2, 3, 4, 5, 6, 7, 8}, wantU: []byte{50, 80}, wantV: []byte{60, 90},
		},
		{name: "short frame", w: 4, h: 2, src: make([]byte, 15), wantErrful: true},
		{name: "odd width", w: 3, h: 2, src: make([]byte, 12), wantErrful: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, max(tc.w*tc.h*3/2, 1))
			err := YUYVToI420(dst, tc.src, tc.w, tc.h)
			if tc.wantErrful {
				if err == nil {
					t.Fatal("bad input was accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := tc.w * tc.h
			if y := dst[:n]; !bytes.Equal(y, tc.wantY) {
				t.Errorf("Y = %v, want %v", y, tc.wantY)
			}
			if u := dst[n : n+n/4]; !bytes.Equal(u, tc.wantU) {
				t.Errorf("U = %v, want %v", u, tc.wantU)
			}
			if v := dst[n+n/4 : n+n/2]; !bytes.Equal(v, tc.wantV) {
				t.Errorf("V = %v, want %v", v, tc.wantV)
			}
		})
	}
}

func TestMJPEGToI420(t *testing.T) {
	// A 64x32 JPEG, left half red, right half blue.
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			c := color.RGBA{200, 30, 30, 255}
			if x >= 32 {
				c = color.RGBA{30, 30, 200, 255}
			}
			img.Set(x, y, c)
		}
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 64*32*3/2)
	if err := MJPEGToI420(dst, jpg.Bytes(), 64, 32); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		x    int
	}{{"red", 8}, {"blue", 56}} {
		wy, wu, wv := color.RGBToYCbCr(img.RGBAAt(tc.x, 16).R, img.RGBAAt(tc.x, 16).G, img.RGBAAt(tc.x, 16).B)
		y, u, v := dst[16*64+tc.x], dst[64*32+8*32+tc.x/2], dst[64*32+16*32+8*32+tc.x/2]
		if diff(y, wy) > 6 || diff(u, wu) > 6 || diff(v, wv) > 6 {
			t.Errorf("%s: YUV %d,%d,%d, want about %d,%d,%d", tc.name, y, u, v, wy, wu, wv)
		}
	}

	for _, tc := range []struct {
		name string
		src  []byte
		w, h int
	}{
		{"not a JPEG", []byte("hello"), 64, 32},
		{"truncated", jpg.Bytes()[:len(jpg.Bytes())/2], 64, 32},
		{"wrong size", jpg.Bytes(), 32, 32},
	} {
		if err := MJPEGToI420(dst, tc.src, tc.w, tc.h); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// FuzzMJPEGToI420 feeds the converter what a broken camera could send.
func FuzzMJPEGToI420(f *testing.F) {
	var jpg bytes.Buffer
	jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 16, 16)), nil)
	f.Add(jpg.Bytes())
	f.Add([]byte{0xff, 0xd8, 0xff})
	dst := make([]byte, 16*16*3/2)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = MJPEGToI420(dst, b, 16, 16)
	})
}

func BenchmarkYUYVToI420720p(b *testing.B) {
	src := make([]byte, 1280*720*2)
	dst := make([]byte, 1280*720*3/2)
	b.ReportAllocs()
	for b.Loop() {
		YUYVToI420(dst, src, 1280, 720)
	}
}
