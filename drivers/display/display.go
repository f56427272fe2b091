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

// Canvas is a Display that lends the UI its own pixels to draw in, so the
// screen costs one buffer (the display's) instead of the UI's back buffer
// plus the display's copy of it. A display whose pixels are not RGBA in
// memory (fbdev, converting) or that must keep every shown frame unchanged
// (the browser simulator, whose frames are encoded while the next is
// drawn) only Shows.
type Canvas interface {
	Display
	// Draw calls draw with the screen's pixels (Bounds in size), holding
	// what the previous Draw or Show left in them, and shows them once
	// draw returns. draw must not keep dst.
	Draw(draw func(dst *image.RGBA)) error
}
