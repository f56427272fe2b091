package display

import (
	"fmt"
	"image"
	"sync"

	"roomkit/drivers"
)

// Rotate returns d for a panel mounted turned clockwise by degrees (0, 90,
// 180 or 270) from its native orientation, as settings.json's
// display.rotate says: its Bounds are the screen as the room sees it (a
// 1280×800 panel turned 90° is 800×1280), and each frame is turned back
// before d shows it, so the picture stands upright. The panel's touch
// sensor turns with it; evdev.Options.Rotate with the same degrees maps
// touches onto these Bounds.
//
// With 0 it returns d itself. The turn is here, not in one display driver,
// so that every driver (the framebuffer now, a DRM dumb buffer later)
// gets it and the pixel mapping is tested once; it costs one pass over the
// frame, which only rotated kits pay.
func Rotate(d Display, degrees int) (Display, error) {
	switch degrees {
	case 0:
		return d, nil
	case 90, 180, 270:
	default:
		return nil, fmt.Errorf("display rotation %d°: want 0, 90, 180 or 270", degrees)
	}
	panel := d.Bounds()
	r := &rotated{Display: d, degrees: degrees, panel: image.NewRGBA(image.Rect(0, 0, panel.Dx(), panel.Dy()))}
	r.bounds = image.Rect(0, 0, panel.Dx(), panel.Dy())
	if degrees != 180 {
		r.bounds = image.Rect(0, 0, panel.Dy(), panel.Dx())
	}
	return r, nil
}

type rotated struct {
	Display
	degrees int
	bounds  image.Rectangle // as the room sees the screen

	mu    sync.Mutex  // Show may be called from more than one goroutine
	panel *image.RGBA // the turned frame, in the panel's orientation
}

func (r *rotated) Bounds() image.Rectangle { return r.bounds }

// Show turns img (the room's view, Bounds in size) into the panel's
// orientation and shows it.
func (r *rotated) Show(img *image.RGBA) error {
	if img.Rect.Dx() != r.bounds.Dx() || img.Rect.Dy() != r.bounds.Dy() {
		return fmt.Errorf("show frame of %dx%d on a screen turned %d° to %dx%d", img.Rect.Dx(), img.Rect.Dy(), r.degrees, r.bounds.Dx(), r.bounds.Dy())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	turn(r.panel, img, r.degrees)
	return r.Display.Show(r.panel)
}

// turn writes src, as the room sees it, into dst, in the native
// orientation of a panel mounted turned clockwise by degrees: the room's
// top-left corner is the panel's own bottom-left for 90, bottom-right for
// 180 and top-right for 270. Each room row is read in order; where it lands
// in dst is a start and a step.
func turn(dst, src *image.RGBA, degrees int) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	pw, ph := dst.Rect.Dx(), dst.Rect.Dy()
	for y := 0; y < h; y++ {
		var at, step int // dst offsets of the row's first pixel and from one to the next
		switch degrees {
		case 90: // room (x, y) → panel (y, ph-1-x)
			at, step = (ph-1)*dst.Stride+y*4, -dst.Stride
		case 180: // room (x, y) → panel (pw-1-x, ph-1-y)
			at, step = (ph-1-y)*dst.Stride+(pw-1)*4, -4
		case 270: // room (x, y) → panel (pw-1-y, x)
			at, step = (pw-1-y)*4, dst.Stride
		}
		row := src.Pix[y*src.Stride : y*src.Stride+w*4]
		for x := 0; x < w*4; x += 4 {
			copy(dst.Pix[at:at+4], row[x:x+4])
			at += step
		}
	}
}

// Status is the display's, saying that it is turned.
func (r *rotated) Status() drivers.Status {
	st := r.Display.Status()
	st.Name = fmt.Sprintf("%s, turned %d°", st.Name, r.degrees)
	return st
}
