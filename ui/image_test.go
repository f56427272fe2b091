package ui

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"roomkit/ui/uitest"
)

func TestFitRect(t *testing.T) {
	tests := []struct {
		box  image.Rectangle
		size image.Point
		want image.Rectangle
	}{
		{image.Rect(0, 0, 160, 90), image.Pt(640, 360), image.Rect(0, 0, 160, 90)},
		{image.Rect(0, 0, 160, 90), image.Pt(640, 480), image.Rect(20, 0, 140, 90)},     // pillarbox
		{image.Rect(10, 10, 110, 110), image.Pt(200, 100), image.Rect(10, 35, 110, 85)}, // letterbox
		{image.Rect(0, 0, 100, 100), image.Pt(0, 10), image.Rectangle{}},
		{image.Rect(0, 0, 0, 100), image.Pt(10, 10), image.Rectangle{}},
	}
	for _, tt := range tests {
		if got := fitRect(tt.box, tt.size); got != tt.want {
			t.Errorf("fitRect(%v, %v) = %v, want %v", tt.box, tt.size, got, tt.want)
		}
	}
}

// quadrants is a 2w×2h image with four solid quadrants.
func quadrants(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, 2*w, 2*h))
	cs := []color.RGBA{{0xff, 0, 0, 0xff}, {0, 0xff, 0, 0xff}, {0, 0, 0xff, 0xff}, {0xff, 0xff, 0, 0xff}}
	for y := 0; y < 2*h; y++ {
		for x := 0; x < 2*w; x++ {
			m.SetRGBA(x, y, cs[(y/h)*2+x/w])
		}
	}
	return m
}

// TestDrawImage scales pictures of every kind into a tile and checks
// each lands where it should, whole and undistorted, in its colours.
func TestDrawImage(t *testing.T) {
	q := quadrants(8, 8) // 16×16
	nrgba := image.NewNRGBA(q.Rect)
	draw.Draw(nrgba, q.Rect, q, image.Point{}, draw.Src)
	sub := quadrants(20, 20).SubImage(image.Rect(12, 12, 28, 28)) // a view with a non-zero origin
	tests := []struct {
		name string
		src  image.Image
	}{
		{"rgba", q},
		{"nrgba", nrgba},
		{"rgba subimage", sub},
	}
	box := image.Rect(10, 20, 210, 120) // 200×100: the square picture is pillarboxed to 100×100 at x 60..160
	want := map[image.Point]color.RGBA{
		{61, 21}:   {0xff, 0, 0, 0xff},
		{159, 21}:  {0, 0xff, 0, 0xff},
		{61, 119}:  {0, 0, 0xff, 0xff},
		{159, 119}: {0xff, 0xff, 0, 0xff},
		{109, 69}:  {0xff, 0, 0, 0xff},
		{110, 70}:  {0xff, 0xff, 0, 0xff},
		{59, 70}:   colTile, // the bars stay the tile's
		{160, 70}:  colTile,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRenderer(image.Pt(300, 200))
			dst := image.NewRGBA(image.Rect(0, 0, 300, 200))
			r.drawItem(dst, &item{r: box, fill: colTile, img: tt.src})
			for p, c := range want {
				if got := dst.RGBAAt(p.X, p.Y); got != c {
					t.Errorf("pixel %v = %v, want %v", p, got, c)
				}
			}
			if got := dst.RGBAAt(5, 5); got != (color.RGBA{}) {
				t.Errorf("pixel outside the tile was drawn: %v", got)
			}
		})
	}
}

// TestDrawYCbCr checks the YCbCr fast path against the standard
// library's conversion, pixel for pixel, for every subsampling.
func TestDrawYCbCr(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		t.Run(ratio.String(), func(t *testing.T) {
			full := image.NewYCbCr(image.Rect(0, 0, 72, 52), ratio)
			for i := range full.Y {
				full.Y[i] = uint8(i * 7)
			}
			for i := range full.Cb {
				full.Cb[i], full.Cr[i] = uint8(i*13), uint8(255-i*5)
			}
			src := full.SubImage(image.Rect(4, 2, 68, 50)).(*image.YCbCr) // 64×48, odd origin
			r := NewRenderer(image.Pt(64, 48))
			dst := image.NewRGBA(image.Rect(0, 0, 64, 48))
			r.drawImage(dst, dst.Rect, src) // 1:1, so every source pixel shows
			want := image.NewRGBA(dst.Rect)
			draw.Draw(want, want.Rect, src, src.Rect.Min, draw.Src)
			if d, _ := uitest.Diff(dst, want, 0); d != 0 {
				t.Errorf("%d pixels differ from image/draw's conversion", d)
			}
		})
	}
}

// TestDrawImageAllocates nothing once the tables have grown: scaling runs
// for every tile of every frame.
func TestDrawImageAllocatesNothing(t *testing.T) {
	r := NewRenderer(Size1080p)
	dst := image.NewRGBA(image.Rectangle{Max: Size1080p})
	rgba, ycc := colourBars(640, 480, 0), ycbcrFrame(640, 480)
	box := image.Rect(100, 100, 900, 550)
	r.drawImage(dst, fitRect(box, rgba.Rect.Size()), rgba)
	r.drawImage(dst, fitRect(box, ycc.Rect.Size()), ycc)
	n := testing.AllocsPerRun(20, func() {
		r.drawImage(dst, fitRect(box, rgba.Rect.Size()), rgba)
		r.drawImage(dst, fitRect(box, ycc.Rect.Size()), ycc)
	})
	if n != 0 {
		t.Errorf("scaling two frames allocates %v times", n)
	}
}

// TestIncrementalMeeting checks frames drawn over the previous one (only
// dynamic items redrawn) equal fresh ones as video and state change.
func TestIncrementalMeeting(t *testing.T) {
	next := func(f func(v *View)) func(View) View {
		return func(v View) View {
			m := *v.Meeting
			m.Tiles = append([]Tile(nil), m.Tiles...)
			v.Meeting = &m
			f(&v)
			return v
		}
	}
	tests := []struct {
		name string
		a    View
		b    func(View) View
	}{
		{"new frames", meetingView(4), next(func(v *View) {
			for i := range v.Meeting.Tiles {
				v.Meeting.Tiles[i].Frame = gradient(640, 360, uint8(i*50+7))
			}
			v.Meeting.Self = colourBars(320, 180, 3)
		})},
		{"speaker changes", meetingView(4), next(func(v *View) { v.Meeting.Tiles[3].Speaking = true })},
		{"frame goes", meetingView(2), next(func(v *View) { v.Meeting.Tiles[1].Frame, v.Meeting.Tiles[1].Placeholder = nil, "Camera off" })},
		{"reconnecting", meetingView(2), next(func(v *View) { v.Meeting.Connection = "Reconnecting…" })},
		{"panel opens", meetingView(3), next(func(v *View) { v.Meeting.Panel = InvitePanel })},
		{"content starts", meetingView(3), next(func(v *View) { v.Meeting.Content = slide(1280, 720) })},
		{"mic level", settingsView(true), func(v View) View {
			s := *v.Settings
			s.MicLevel, s.Preview = 0.9, gradient(640, 360, 9)
			v.Settings = &s
			return v
		}},
		{"digit typed", keypadView("12", ""), func(v View) View { return keypadView("123", "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := NewRenderer(Size800p)
			before := clone(inc.Render(tt.a))
			b := tt.b(tt.a)
			got := inc.Render(b)
			want := NewRenderer(Size800p).Render(b)
			if d, _ := uitest.Diff(got, want, 0); d != 0 {
				t.Errorf("incremental frame differs from a fresh one in %d pixels", d)
			}
			if d, _ := uitest.Diff(before, got, 0); d == 0 {
				t.Errorf("second frame is identical to the first: the change was not drawn")
			}
		})
	}
}

// TestLongNamesStayInTheirTiles renders tiles with long names and checks
// no label spills out of its tile.
func TestLabelsStayInTheirTiles(t *testing.T) {
	for _, sz := range sizes {
		r := NewRenderer(sz.size)
		v := meetingView(6)
		for i := range v.Meeting.Tiles {
			v.Meeting.Tiles[i].Name = htmlName
			v.Meeting.Tiles[i].AudioMuted = true
		}
		items := r.layout(v)
		var tiles []image.Rectangle
		for _, it := range items {
			if it.img != nil {
				tiles = append(tiles, it.r)
			}
		}
		for _, it := range items {
			if it.text == "" || it.img != nil {
				continue
			}
			in := false
			for _, tr := range tiles {
				if it.r.In(tr) {
					in = true
				}
				if it.r.Overlaps(tr) && !it.r.In(tr) {
					t.Errorf("%s: %q at %v sticks out of the tile at %v", sz.name, it.text, it.r, tr)
				}
			}
			if in && r.face(it.font, it.size).width(r.face(it.font, it.size).fit(it.text, it.r.Inset(it.pad).Dx())) > it.r.Dx() {
				t.Errorf("%s: %q does not fit its label", sz.name, it.text)
			}
		}
	}
}
