package camera_test

import (
	"context"
	"errors"
	"testing"

	"roomkit/drivers/camera"
	"roomkit/drivers/camera/cameratest"
)

// The self-view follows what a user sees of the room's own picture: a
// copy while the camera runs, nothing when it is off or unplugged.
func TestSelfView(t *testing.T) {
	for _, tc := range []struct {
		name    string
		off     bool
		unplug  bool
		picture bool
	}{
		{"on", false, false, true},
		{"off", true, false, false},
		{"unplugged", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cam := cameratest.NewSynthetic(320, 180, 1000)
			// Every 0: every frame is copied, so one Next decides.
			sv := camera.NewSelfView(cam, 0, 160)
			if _, err := sv.Next(context.Background()); err != nil {
				t.Fatal(err)
			}
			if sv.Latest() == nil {
				t.Fatal("no self-view after a frame")
			}
			sv.SetOff(tc.off)
			if tc.unplug {
				cam.Unplug()
			}
			_, err := sv.Next(context.Background())
			if tc.unplug != errors.Is(err, camera.ErrUnplugged) {
				t.Fatalf("Next: %v", err)
			}
			img := sv.Latest()
			if (img != nil) != tc.picture {
				t.Fatalf("self-view %v, want a picture: %v", img, tc.picture)
			}
			if img != nil && img.Bounds().Dx() != 160 {
				t.Errorf("self-view %v wide, want 160", img.Bounds().Dx())
			}
		})
	}
}
