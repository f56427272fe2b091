// Package display is the kit's screen: something the UI hands whole frames.
//
// Drivers: the Linux framebuffer on a kit; the browser screen simulator in
// the demo (ui/simulator); an in-memory framebuffer in tests (displaytest).
// Rotate wraps any of them for a panel mounted turned.
package display

import (
	"image"

	"roomkit/drivers"
)

// Display shows full frames. Show copies the frame, so the caller may draw
// the next one into the same buffer right away.
type Display interface {
	// Bounds is the screen's size in pixels, with Min at (0,0).
	Bounds() image.Rectangle
	// Show replaces what the screen shows with img (same size as Bounds).
	Show(img *image.RGBA) error
	Status() drivers.Status
	Close() error
}
