package ui

import (
	"fmt"
	"image"
	"image/color"
	"slices"
	"testing"
	"time"

	"roomkit/ui/uitest"

	"rsc.io/qr"
)

// A fixed moment so goldens do not depend on when tests run.
var testNow = time.Date(2026, time.November, 3, 9, 41, 0, 0, time.UTC)

var sizes = []struct {
	name string
	size image.Point
}{
	{"1080p", Size1080p},
	{"800p", Size800p},
}

func pairingView() View {
	return View{
		Screen:                  Pairing,
		Now:                     testNow,
		Version:                 "RoomKit 0.1.0",
		UserCode:                "BCDF-GHJK",
		VerificationURI:         "https://portal.example.com/pair",
		VerificationURIComplete: "https://portal.example.com/pair?user_code=BCDF-GHJK",
		CodeExpiresIn:           9*time.Minute + 41*time.Second,
		PortalConnected:         true,
	}
}

func homeView() View {
	return View{
		Screen:          Home,
		Now:             testNow,
		Version:         "RoomKit 0.1.0",
		RoomName:        "Boardroom 4.12",
		Location:        "Zürich, 4th floor",
		PortalConnected: true,
		Notice:          "Meetings are coming soon",
	}
}

var screens = []struct {
	name string
	view func() View
}{
	{"splash", func() View { return View{Screen: Splash, Now: testNow, Version: "RoomKit 0.1.0"} }},
	{"pairing", pairingView},
	{"pairing-waiting", func() View {
		v := pairingView()
		v.UserCode, v.VerificationURI, v.VerificationURIComplete, v.CodeExpiresIn = "", "", "", 0
		v.Message = "Asking the portal for a pairing code."
		return v
	}},
	{"pairing-error", func() View {
		v := pairingView()
		v.VerificationURI = "https://a-very-long-portal-host-name.conference-rooms.example.com/devices/pair"
		v.VerificationURIComplete = v.VerificationURI + "?user_code=BCDF-GHJK"
		v.CodeExpiresIn = 42 * time.Second
		v.PortalConnected = false
		v.Message = "This kit has a new identity: pair it again."
		v.Error = "Cannot reach the portal at https://a-very-long-portal-host-name.conference-rooms.example.com: connection refused; retrying in 8 s"
		return v
	}},
	{"home", homeView},
	{"home-long", func() View {
		v := homeView()
		v.RoomName = "The Extraordinarily Long Named Executive Conference Room on the Top Floor"
		v.Location = "Building C, North Wing, 14th floor, next to the kitchen with the good coffee machine, room 14.07 (ask at reception for the key)"
		v.PortalConnected = false
		v.Notice = ""
		v.Error = "Cannot reach the portal at https://portal.example.com: dial tcp 192.0.2.10:443: i/o timeout; retrying in 30 s"
		return v
	}},
	{"confirm-reset", func() View { return View{Screen: ConfirmReset, Now: testNow, RoomName: "Boardroom 4.12"} }},
	{"updating", func() View {
		return View{Screen: Updating, Now: testNow, Version: "RoomKit 1.4.0", UpdateVersion: "1.5.0", PortalConnected: true}
	}},
	// An admin identifies the room: its name over the home screen, on the
	// flash's bright phase (testNow's seconds are even) and its dark one.
	{"identify", func() View { v := homeView(); v.Identify = "Boardroom 4.12"; return v }},
	{"identify-dark", func() View {
		v := homeView()
		v.Identify = "Boardroom 4.12"
		v.Now = testNow.Add(time.Second)
		return v
	}},
}

func TestGolden(t *testing.T) {
	for _, sz := range sizes {
		r := NewRenderer(sz.size)
		for _, sc := range append(screens[:len(screens):len(screens)], newScreens...) {
			name := sc.name + "-" + sz.name
			t.Run(name, func(t *testing.T) {
				img := r.Render(sc.view())
				if img.Bounds().Size() != sz.size {
					t.Fatalf("frame is %v, want %v", img.Bounds().Size(), sz.size)
				}
				uitest.Golden(t, name, img)
			})
		}
	}
}

// TestIncrementalMatchesFull checks that a frame drawn incrementally (only
// the clock redrawn over the previous frame) is exactly what a fresh
// renderer draws: no digit of the old time may linger.
func TestIncrementalMatchesFull(t *testing.T) {
	tests := []struct {
		name string
		a, b View
	}{
		{"home clock moves", homeView(), func() View { v := homeView(); v.Now = testNow.Add(time.Hour + 17*time.Minute); return v }()},
		{"home next day", homeView(), func() View { v := homeView(); v.Now = testNow.Add(24 * time.Hour); return v }()},
		{"pairing countdown", pairingView(), func() View { v := pairingView(); v.CodeExpiresIn = 11 * time.Second; return v }()},
		{"home to reset", homeView(), View{Screen: ConfirmReset, Now: testNow}},
		{"notice appears", func() View { v := homeView(); v.Notice = ""; return v }(), homeView()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := NewRenderer(Size1080p)
			before := clone(inc.Render(tt.a))
			got := inc.Render(tt.b)
			want := NewRenderer(Size1080p).Render(tt.b)
			if d, _ := uitest.Diff(got, want, 0); d != 0 {
				t.Errorf("incremental frame differs from a fresh one in %d pixels", d)
			}
			if d, _ := uitest.Diff(before, got, 0); d == 0 {
				t.Errorf("second frame is identical to the first: the change was not drawn")
			}
		})
	}
}

// TestRenderToMatchesRender checks that drawing into pixels a display
// lends (RenderTo) gives the frames Render gives, frame after frame: the
// first into a blank image, the next ones only what changed, and a frame
// into another image than last time whole again.
func TestRenderToMatchesRender(t *testing.T) {
	later := func(v View) View { v.Now = v.Now.Add(time.Hour + 17*time.Minute); return v }
	tests := []struct {
		name   string
		views  []View
		swapAt int // from this frame on, RenderTo draws into a second image (0: never)
	}{
		{"home, clock moves", []View{homeView(), later(homeView())}, 0},
		{"pairing, then home", []View{pairingView(), homeView(), later(homeView())}, 0},
		{"home to reset and back", []View{homeView(), {Screen: ConfirmReset, Now: testNow}, homeView()}, 0},
		{"another image", []View{homeView(), later(homeView())}, 1},
		// Under video tiles nothing is saved or restored while they stay
		// put: their pictures and labels change, then the tiles move.
		{"meeting, tiles come and go", []View{
			meetingView(2), newFrames(meetingView(2), 60), speaking(newFrames(meetingView(2), 90)),
			meetingView(3), newFrames(meetingView(3), 30), meetingView(2), newFrames(meetingView(1), 10),
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lent := NewRenderer(Size800p)
			own := NewRenderer(Size800p)
			dsts := []*image.RGBA{image.NewRGBA(image.Rectangle{Max: Size800p}), image.NewRGBA(image.Rectangle{Max: Size800p})}
			for i, v := range tt.views {
				dst := dsts[0]
				if tt.swapAt > 0 && i >= tt.swapAt {
					dst = dsts[1]
				}
				lent.RenderTo(dst, v)
				if d, _ := uitest.Diff(dst, own.Render(v), 0); d != 0 {
					t.Errorf("frame %d: RenderTo differs from Render in %d pixels", i, d)
				}
				if d, _ := uitest.Diff(dst, NewRenderer(Size800p).Render(v), 0); d != 0 {
					t.Errorf("frame %d differs from a fresh renderer's in %d pixels", i, d)
				}
			}
		})
	}
}

// newFrames gives every tile of a meeting view a new picture.
func newFrames(v View, seed uint8) View {
	m := *v.Meeting
	m.Tiles = slices.Clone(m.Tiles)
	for i := range m.Tiles {
		m.Tiles[i].Frame = gradient(640, 360, seed+uint8(i)*40)
	}
	v.Meeting = &m
	return v
}

// speaking marks the first tile's participant speaking (its ring and
// label change).
func speaking(v View) View {
	m := *v.Meeting
	m.Tiles = slices.Clone(m.Tiles)
	m.Tiles[0].Speaking = true
	v.Meeting = &m
	return v
}

func clone(m *image.RGBA) *image.RGBA {
	c := image.NewRGBA(m.Rect)
	copy(c.Pix, m.Pix)
	return c
}

func TestHit(t *testing.T) {
	// Points are fractions of the screen, so one table serves every size.
	type tap struct {
		x, y float64
		want ActionKind
	}
	tests := []struct {
		name string
		view View
		taps []tap
	}{
		{"home", homeView(), []tap{
			{0.25, 0.72, MeetNow},
			{0.75, 0.72, Join},
			{0.88, 0.92, OpenSettings},
			{0.50, 0.30, None}, // room name
			{0.10, 0.10, None}, // clock
			{0.50, 0.72, None}, // between the buttons
			{0.50, 0.99, None}, // below the footer
		}},
		{"pairing", pairingView(), []tap{
			{0.88, 0.92, OpenReset},
			{0.80, 0.40, None}, // QR code
			{0.30, 0.50, None}, // user code
			{0.05, 0.92, None}, // connection indicator
		}},
		{"confirm-reset", View{Screen: ConfirmReset}, []tap{
			{0.33, 0.64, CancelReset},
			{0.67, 0.64, ConfirmedReset},
			{0.50, 0.35, None}, // the question
			{0.05, 0.05, None}, // outside the dialog
			{0.88, 0.92, None}, // where Reset is on other screens
		}},
		{"splash", View{Screen: Splash}, []tap{
			{0.5, 0.5, None},
			{0.88, 0.92, None},
		}},
		{"updating", View{Screen: Updating, UpdateVersion: "1.5.0"}, []tap{
			{0.5, 0.5, None},
			{0.88, 0.92, None}, // where Reset and Settings are on other screens
			{0.25, 0.80, None}, // where Meet Now is at home
		}},
	}
	for _, sz := range sizes {
		r := NewRenderer(sz.size)
		for _, tt := range tests {
			for _, tp := range tt.taps {
				p := image.Pt(int(tp.x*float64(sz.size.X)), int(tp.y*float64(sz.size.Y)))
				t.Run(fmt.Sprintf("%s/%s/%v", sz.name, tt.name, p), func(t *testing.T) {
					if got := r.Hit(tt.view, p); got.Kind != tp.want || got.Index != 0 {
						t.Errorf("tap at %v = %v, want %v", p, got, tp.want)
					}
				})
			}
		}
	}
}

// TestControlsAreDrawnWhereTheyAreHit taps the centre of every control and
// checks the tap hits it, that the control is drawn there (its fill or
// outline colour is on screen just inside its edge), and that it is a big
// enough touch target.
func TestControlsAreDrawnWhereTheyAreHit(t *testing.T) {
	views := append([]View{homeView(), pairingView(), {Screen: ConfirmReset}}, controlViews()...)
	for _, sz := range sizes {
		r := NewRenderer(sz.size)
		for _, v := range views {
			img := clone(r.Render(v))
			items := append([]item(nil), r.layout(v)...)
			n := 0
			for _, it := range items {
				if it.action.Kind == None {
					continue
				}
				n++
				t.Run(fmt.Sprintf("%s/%v/%v", sz.name, v.Screen, it.action), func(t *testing.T) {
					c := image.Pt((it.r.Min.X+it.r.Max.X)/2, (it.r.Min.Y+it.r.Max.Y)/2)
					if got := r.Hit(v, c); got != it.action {
						t.Errorf("tap at centre %v = %v, want %v", c, got, it.action)
					}
					want := it.fill
					if it.border.A != 0 {
						want = it.border
					}
					edge := image.Pt(it.r.Min.X+max(1, it.stroke/2), c.Y)
					if got := img.RGBAAt(edge.X, edge.Y); got != want {
						t.Errorf("pixel at %v inside the control's edge is %v, want its colour %v", edge, got, want)
					}
					minH := int(96 * r.scale)
					if it.r.Dy() < minH || it.r.Dx() < minH {
						t.Errorf("control is %v, smaller than a %d px touch target", it.r.Size(), minH)
					}
				})
			}
			if n == 0 {
				t.Errorf("%v screen has no controls", v.Screen)
			}
		}
	}
}

// TestQRModules reads the QR code back off the rendered pairing screen,
// module by module, and compares it with rsc.io/qr's own bitmap of the
// content, quiet zone included.
func TestQRModules(t *testing.T) {
	for _, sz := range sizes {
		for _, content := range []string{
			pairingView().VerificationURIComplete,
			"https://a-very-long-portal-host-name.conference-rooms.example.com/devices/pair?user_code=BCDF-GHJK",
		} {
			t.Run(sz.name+"/"+fmt.Sprint(len(content)), func(t *testing.T) {
				v := pairingView()
				v.VerificationURIComplete = content
				r := NewRenderer(sz.size)
				img := r.Render(v)
				var box image.Rectangle
				for _, it := range r.layout(v) {
					if it.qr != "" {
						box = it.r
					}
				}
				if box.Empty() {
					t.Fatal("pairing screen lays out no QR code")
				}
				code, err := qr.Encode(content, qr.M)
				if err != nil {
					t.Fatal(err)
				}
				n := code.Size + 2*quietZone
				sq, mod := qrGeometry(box, n)
				if mod < 3 {
					t.Errorf("module size %d px: too small to scan from a phone at arm's length", mod)
				}
				if mod == 0 {
					t.FailNow()
				}
				bad := 0
				for my := 0; my < n; my++ {
					for mx := 0; mx < n; mx++ {
						black := code.Black(mx-quietZone, my-quietZone)
						// Every pixel of the module must be pure black or white: crisp edges.
						for py := 0; py < mod; py++ {
							for px := 0; px < mod; px++ {
								x, y := sq.Min.X+mx*mod+px, sq.Min.Y+my*mod+py
								// Corner pixels of the quiet zone may be rounded off.
								if !black && isCorner(mx, my, n) {
									continue
								}
								want := colQRLight
								if black {
									want = colQRDark
								}
								if got := img.RGBAAt(x, y); got != want {
									bad++
									if bad < 5 {
										t.Errorf("module (%d,%d) pixel %v is %v, want %v", mx, my, image.Pt(x, y), got, want)
									}
								}
							}
						}
					}
				}
				if bad > 0 {
					t.Errorf("%d pixels of the QR code differ from rsc.io/qr's bitmap", bad)
				}
			})
		}
	}
}

// isCorner reports whether module (x,y) of an n-module square lies in a
// corner of the quiet zone that rounded corners may cut.
func isCorner(x, y, n int) bool {
	near := func(v int) bool { return v < quietZone/2 || v >= n-quietZone/2 }
	return near(x) && near(y)
}

func TestCountdown(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{9*time.Minute + 41*time.Second, "Code expires in 9:41"},
		{9*time.Minute + 40*time.Second + 100*time.Millisecond, "Code expires in 9:41"},
		{15 * time.Minute, "Code expires in 15:00"},
		{time.Second, "Code expires in 0:01"},
		{time.Millisecond, "Code expires in 0:01"},
		{0, "Code expired: getting a new one…"},
		{-time.Second, "Code expired: getting a new one…"},
	}
	for _, tt := range tests {
		if got := countdown(tt.d); got != tt.want {
			t.Errorf("countdown(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestTextFits checks that text from outside never draws past its box.
func TestTextFits(t *testing.T) {
	r := NewRenderer(Size1080p)
	fc := r.face(regular, 40)
	tests := []struct {
		in   string
		maxW int
		want string // "" means: any fitting string ending in the ellipsis
	}{
		{"Boardroom", 1000, "Boardroom"},
		{"", 100, ""},
		{"The Extraordinarily Long Named Executive Conference Room", 400, ""},
		{"Zürich — 東京 — Привет, a mix of scripts that goes on and on", 300, ""},
		{"Wide", 1, ""},
	}
	for _, tt := range tests {
		got := fc.fit(tt.in, tt.maxW)
		if fc.width(got) > tt.maxW {
			t.Errorf("fit(%q, %d) = %q, %d px wide", tt.in, tt.maxW, got, fc.width(got))
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("fit(%q, %d) = %q, want %q", tt.in, tt.maxW, got, tt.want)
		}
		if tt.want == "" && tt.in != "" && fc.width(tt.in) > tt.maxW && got != "" && got[len(got)-len(ellipsis):] != ellipsis {
			t.Errorf("fit(%q, %d) = %q: cut without an ellipsis", tt.in, tt.maxW, got)
		}
	}
}

// TestLongTextStaysInside renders long outside text and checks nothing is
// drawn in the right margin, where text running off would land.
func TestLongTextStaysInside(t *testing.T) {
	for _, sz := range sizes {
		for _, sc := range screens {
			if sc.name != "home-long" && sc.name != "pairing-error" {
				continue
			}
			t.Run(sz.name+"/"+sc.name, func(t *testing.T) {
				r := NewRenderer(sz.size)
				img := r.Render(sc.view())
				m := r.px(96)
				margin := image.Rect(sz.size.X-m, 0, sz.size.X, sz.size.Y)
				for y := margin.Min.Y; y < margin.Max.Y; y++ {
					for x := margin.Min.X; x < margin.Max.X; x++ {
						if c := img.RGBAAt(x, y); c != colBackground {
							t.Fatalf("pixel %v in the right margin is %v: text ran off", image.Pt(x, y), c)
						}
					}
				}
			})
		}
	}
}

func TestControlCharactersAreSpaces(t *testing.T) {
	a, b := homeView(), homeView()
	a.Error = "Cannot reach the portal:\nconnection refused\tretrying"
	b.Error = "Cannot reach the portal: connection refused retrying"
	ia := clone(NewRenderer(Size800p).Render(a))
	ib := NewRenderer(Size800p).Render(b)
	if d, _ := uitest.Diff(ia, ib, 0); d != 0 {
		t.Errorf("an error with a newline and a tab renders differently from one with spaces (%d pixels)", d)
	}
}

var sink color.RGBA

func BenchmarkRenderHome1080p(b *testing.B) {
	r := NewRenderer(Size1080p)
	v := homeView()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// The clock changes every frame.
		v.Now = testNow.Add(time.Duration(i) * time.Minute)
		sink = r.Render(v).RGBAAt(0, 0)
	}
}

// BenchmarkRenderHome1080pCold redraws the whole screen every frame (the
// notice changes), the cost of a screen change.
func BenchmarkRenderHome1080pCold(b *testing.B) {
	r := NewRenderer(Size1080p)
	v := homeView()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		v.Now = testNow.Add(time.Duration(i) * time.Minute)
		v.Notice = fmt.Sprintf("Meetings are coming soon (%d)", i%2)
		sink = r.Render(v).RGBAAt(0, 0)
	}
}

func BenchmarkRenderPairing1080p(b *testing.B) {
	r := NewRenderer(Size1080p)
	v := pairingView()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		v.CodeExpiresIn = 15*time.Minute - time.Duration(i%900)*time.Second
		sink = r.Render(v).RGBAAt(0, 0)
	}
}

func BenchmarkHit(b *testing.B) {
	r := NewRenderer(Size1080p)
	v := homeView()
	for b.Loop() {
		r.Hit(v, image.Pt(480, 780))
	}
}

// BenchmarkRenderMeeting6Tiles1080p is a meeting frame with six 640×480
// videos (three RGBA, three YCbCr as a decoder makes them): the cost of a
// frame at 30 fps.
func BenchmarkRenderMeeting6Tiles1080p(b *testing.B) {
	r := NewRenderer(Size1080p)
	v := meetingView(6)
	for i := range v.Meeting.Tiles {
		if i%2 == 1 {
			v.Meeting.Tiles[i].Frame = ycbcrFrame(640, 480)
		} else {
			v.Meeting.Tiles[i].Frame = colourBars(640, 480, uint8(i))
		}
	}
	v.Meeting.Tiles[2].Speaking = true
	b.ReportAllocs()
	for b.Loop() {
		sink = r.Render(v).RGBAAt(0, 0)
	}
}

// BenchmarkRenderMeeting1Tile1080p is one video upscaled to most of the screen.
func BenchmarkRenderMeeting1Tile1080p(b *testing.B) {
	r := NewRenderer(Size1080p)
	v := meetingView(1)
	v.Meeting.Tiles[0].Frame = ycbcrFrame(1280, 720)
	b.ReportAllocs()
	for b.Loop() {
		sink = r.Render(v).RGBAAt(0, 0)
	}
}
