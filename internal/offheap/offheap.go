// Package offheap allocates large, long-lived pixel buffers outside the
// Go heap.
//
// Go's collector lets the heap grow to twice its live data (GOGC=100)
// before collecting. A screen's back buffer, its static layer and the
// framebuffer's copy are 4 MB each at 1280×800 and 8 MB at 1080p: they
// live as long as roomd and never become garbage, yet on the heap they
// count as live data and so double the room left for real garbage. An
// idle kit's live heap was 14 MB, 12 of them these buffers. Outside the
// heap they cost their size once, in pages actually touched, and the
// collector paces itself on what really churns.
package offheap

import "image"

// RGBA returns a blank image of bounds r whose pixels live outside the Go
// heap. They are freed once the returned *image.RGBA is unreachable, so
// keep the image, not its Pix slice or a SubImage of it alone.
func RGBA(r image.Rectangle) *image.RGBA {
	img := &image.RGBA{Stride: 4 * r.Dx(), Rect: r}
	img.Pix = alloc(img, 4*r.Dx()*r.Dy())
	return img
}

// Bytes returns n zeroed bytes outside the Go heap, freed once owner is
// unreachable: owner must outlive every use of the slice.
func Bytes[T any](owner *T, n int) []byte { return alloc(owner, n) }

// Discard gives img's pages back to the system: its pixels read as zero
// until written again, and only the pages written count as resident. img
// must come from RGBA.
func Discard(img *image.RGBA) { discard(img.Pix) }
