package evdev

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"roomkit/drivers/display"
	"roomkit/drivers/display/displaytest"
	"roomkit/drivers/input"
)

// TestTapOnRotatedScreen: display.rotate turns the picture (display.Rotate)
// and the touches (Options.Rotate) alike, so a finger on a button, where
// the panel shows it, lands on that button in the UI's coordinates.
func TestTapOnRotatedScreen(t *testing.T) {
	const panelW, panelH = 320, 200 // the panel, in its own orientation
	buttonColour := color.RGBA{R: 200, G: 30, B: 30, A: 255}
	for _, degrees := range []int{0, 90, 180, 270} {
		fb := displaytest.New(panelW, panelH)
		screen, err := display.Rotate(fb, degrees)
		if err != nil {
			t.Fatal(err)
		}
		// The UI draws a button near the room's top-right corner, where no
		// turn or mirror maps it onto itself.
		room := screen.Bounds()
		button := image.Rect(room.Dx()-70, 10, room.Dx()-20, 40)
		frame := image.NewRGBA(room)
		draw.Draw(frame, button, image.NewUniform(buttonColour), image.Point{}, draw.Src)
		if err := screen.Show(frame); err != nil {
			t.Fatal(err)
		}
		// Find the button on the panel and tap its middle. The touch
		// sensor is the panel's: its axes are the panel's own pixels.
		shown := fb.Frame()
		var onPanel image.Rectangle
		for y := 0; y < panelH; y++ {
			for x := 0; x < panelW; x++ {
				if shown.RGBAAt(x, y) == buttonColour {
					onPanel = onPanel.Union(image.Rect(x, y, x+1, y+1))
				}
			}
		}
		if onPanel.Empty() {
			t.Fatalf("%d°: the button is not on the panel", degrees)
		}
		tap := image.Pt((onPanel.Min.X+onPanel.Max.X)/2, (onPanel.Min.Y+onPanel.Max.Y)/2)
		dev := deviceInfo{
			Name: "panel touch",
			Abs:  []axis{{Code: absX, Max: panelW - 1}, {Code: absY, Max: panelH - 1}},
			Keys: []uint16{btnTouch},
		}
		got := track(t, dev, room.Size(), Options{Rotate: degrees}, nil,
			new(stream).abs(absX, int32(tap.X)).abs(absY, int32(tap.Y)).key(btnTouch, 1).syn().key(btnTouch, 0).syn())
		if len(got) != 2 || got[0].Kind != input.Down {
			t.Fatalf("%d°: events %v, want a tap", degrees, got)
		}
		if at := image.Pt(got[0].X, got[0].Y); !at.In(button) {
			t.Errorf("%d°: a tap on the panel at %v (the button shows at %v) lands at %v in the UI, off the button %v", degrees, tap, onPanel, at, button)
		}
	}
}
