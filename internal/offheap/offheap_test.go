package offheap

import (
	"image"
	"image/color"
	"testing"
)

func TestRGBA(t *testing.T) {
	r := image.Rect(10, 20, 30, 25)
	img := RGBA(r)
	if img.Bounds() != r || len(img.Pix) != 4*20*5 || img.Stride != 80 {
		t.Fatalf("bounds %v, %d bytes, stride %d", img.Bounds(), len(img.Pix), img.Stride)
	}
	if img.RGBAAt(12, 22) != (color.RGBA{}) {
		t.Error("a new image is not blank")
	}
	img.SetRGBA(29, 24, color.RGBA{1, 2, 3, 4})
	if got := img.RGBAAt(29, 24); got != (color.RGBA{1, 2, 3, 4}) {
		t.Errorf("pixel reads back %v", got)
	}
	if RGBA(image.Rectangle{}).Pix != nil {
		t.Error("an empty image has pixels")
	}
}

func TestDiscard(t *testing.T) {
	img := RGBA(image.Rect(0, 0, 2048, 8)) // 16 pages
	for i := range img.Pix {
		img.Pix[i] = 7
	}
	Discard(img)
	for i, b := range img.Pix {
		if b != 0 {
			t.Fatalf("byte %d is %d after Discard, want 0", i, b)
		}
	}
	img.Pix[5] = 9 // still writable
	if img.Pix[5] != 9 {
		t.Error("a discarded image cannot be written")
	}
}
