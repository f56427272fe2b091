package ui

import (
	"fmt"
	"image"
	"image/color"
	"slices"
	"testing"
	"time"

	"roomkit/drivers"
)

// Synthetic video: frames a test can make without a camera, with
// features (bars, gradients, edges) that show scaling and letterboxing.

// colourBars is a w×h frame of the eight classic colour bars over a grey
// ramp, tinted by seed so tiles differ.
func colourBars(w, h int, seed uint8) *image.RGBA {
	bars := []color.RGBA{
		{0xc0, 0xc0, 0xc0, 0xff}, {0xc0, 0xc0, 0x00, 0xff}, {0x00, 0xc0, 0xc0, 0xff}, {0x00, 0xc0, 0x00, 0xff},
		{0xc0, 0x00, 0xc0, 0xff}, {0xc0, 0x00, 0x00, 0xff}, {0x00, 0x00, 0xc0, 0xff}, {0x10, 0x10, 0x10, 0xff},
	}
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := bars[(x*len(bars)/w+int(seed))%len(bars)]
			if y > h*3/4 {
				g := uint8(x * 255 / w)
				c = color.RGBA{g, g, g, 0xff}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// gradient is a w×h diagonal colour gradient with a white frame 2 px
// wide, so a frame drawn cut or stretched shows.
func gradient(w, h int, seed uint8) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(x*255/w) ^ seed, uint8(y * 255 / h), uint8(255 - (x+y)*255/(w+h)), 0xff}
			if x < 2 || y < 2 || x >= w-2 || y >= h-2 {
				c = color.RGBA{0xff, 0xff, 0xff, 0xff}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// ycbcrFrame is what a video decoder hands over: 4:2:0 YCbCr.
func ycbcrFrame(w, h int) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Y[m.YOffset(x, y)] = uint8(40 + x*180/w)
			m.Cb[m.COffset(x, y)] = uint8(y * 255 / h)
			m.Cr[m.COffset(x, y)] = uint8(255 - x*255/w)
		}
	}
	return m
}

// slide is shared content: a light page with a title bar and text lines.
func slide(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	fill := func(r image.Rectangle, c color.RGBA) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				m.SetRGBA(x, y, c)
			}
		}
	}
	fill(m.Rect, color.RGBA{0xf4, 0xf1, 0xea, 0xff})
	fill(image.Rect(0, 0, w, h/6), color.RGBA{0x23, 0x4e, 0x8c, 0xff})
	for i := 0; i < 6; i++ {
		y := h/4 + i*h/10
		fill(image.Rect(w/10, y, w/10+w*(9-i)/12, y+h/30), color.RGBA{0x55, 0x55, 0x55, 0xff})
	}
	return m
}

var (
	names = []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Ken Thompson", "Margaret Hamilton"}
	// Outside text is only ever text: tags are not markup, and long
	// names are cut with an ellipsis.
	htmlName = `<script>alert("hi")</script> Robert'); DROP TABLE students;-- the Extraordinarily Long-Named Guest`
)

func tiles(n int) []Tile {
	ts := make([]Tile, n)
	for i := range ts {
		ts[i] = Tile{Name: names[i%len(names)], Frame: colourBars(640, 480, uint8(i))}
		if i%2 == 1 {
			ts[i].Frame = gradient(1280, 720, uint8(i*40))
		}
	}
	return ts
}

func meetingView(n int) View {
	mv := &MeetingView{
		ID:        "123456789",
		Title:     "Weekly design review",
		JoinURL:   "https://portal.example.com/join/123-456-789",
		Organizer: true,
		Volume:    60,
		Tiles:     tiles(n),
		Self:      gradient(1280, 720, 0x80),
	}
	return View{Screen: InMeeting, Now: testNow, Version: "RoomKit 0.1.0", RoomName: "Boardroom 4.12", PortalConnected: true, Meeting: mv}
}

func withMeeting(n int, f func(v *View, m *MeetingView)) func() View {
	return func() View {
		v := meetingView(n)
		f(&v, v.Meeting)
		return v
	}
}

func participants() []Participant {
	ps := []Participant{{Name: "Boardroom 4.12", Identity: "rm_1"}}
	for i, n := range names {
		ps = append(ps, Participant{Name: n, Identity: fmt.Sprintf("guest-%d", i), AudioMuted: i%3 == 1})
	}
	ps[3].Name = htmlName
	return ps
}

func keypadView(digits, err string) View {
	return View{Screen: Keypad, Now: testNow, Keypad: &KeypadView{Digits: digits, Error: err}}
}

func upcoming() []UpcomingMeeting {
	at := func(h, m int) time.Time { return time.Date(2026, time.November, 3, h, m, 0, 0, time.UTC) }
	return []UpcomingMeeting{
		{ID: "482913075", Title: "Daily stand-up", Start: at(9, 30), End: at(9, 45), InProgress: true},
		{ID: "771204398", Title: "Quarterly planning with the extended leadership team and guests from the regional offices", Start: at(11, 0), End: at(12, 30)},
		{ID: "305118846", Start: at(15, 0), End: at(15, 30)},
	}
}

func devices(cameraPresent bool) []drivers.Status {
	return []drivers.Status{
		{Kind: "camera", Name: "Logitech C920", Present: cameraPresent},
		{Kind: "speakerphone", Name: "Jabra Speak 510", Present: true},
		{Kind: "display", Name: "HDMI-1 1920×1080", Present: true},
		{Kind: "input", Name: "ILITEK touch screen", Present: true},
		{Kind: "gpio", Name: "Mute button on GPIO 17", Present: true},
	}
}

func settingsView(cameraPresent bool) View {
	sv := &SettingsView{Devices: devices(cameraPresent), MicLevel: 0.5}
	if cameraPresent {
		sv.Preview = colourBars(1280, 720, 0)
	}
	return View{Screen: Settings, Now: testNow, Version: "RoomKit 0.1.0", PortalConnected: true, Settings: sv}
}

// newScreens are the goldens of the meeting and settings screens.
var newScreens = []struct {
	name string
	view func() View
}{
	{"keypad-empty", func() View { return keypadView("", "") }},
	{"keypad-partial", func() View { return keypadView("1234", "") }},
	{"keypad-full", func() View { return keypadView("123456789", "") }},
	{"keypad-error", func() View { return keypadView("987654321", "No meeting has the ID 987-654-321.") }},
	{"keypad-busy", func() View { v := keypadView("123456789", ""); v.Keypad.Busy = true; return v }},
	{"home-meetings", func() View { v := homeView(); v.Notice = ""; v.Upcoming = upcoming(); return v }},
	{"home-banner", func() View { v := homeView(); v.Notice = ""; v.Banner = MissingBanner(devices(false)); return v }},
	{"home-meetings-banner", func() View {
		v := homeView()
		v.Upcoming = upcoming()
		v.Banner = MissingBanner(devices(false))
		v.Error = "Cannot reach the portal at https://portal.example.com — retrying in 8 s"
		return v
	}},
	{"meeting-0", withMeeting(0, func(*View, *MeetingView) {})},
	{"meeting-1", withMeeting(1, func(*View, *MeetingView) {})},
	{"meeting-2", withMeeting(2, func(_ *View, m *MeetingView) { m.Tiles[1].Speaking = true })},
	{"meeting-4", withMeeting(4, func(_ *View, m *MeetingView) { m.Tiles[2].Speaking = true; m.Tiles[3].AudioMuted = true })},
	{"meeting-6", withMeeting(7, func(_ *View, m *MeetingView) {
		// Seven in the call: six shown, the speaker first; one frame is
		// YCbCr as a decoder makes it.
		m.Tiles[6].Speaking = true
		m.Tiles[2].Frame = ycbcrFrame(640, 360)
		m.Tiles[4].AudioMuted = true
		m.Tiles[3].Name = htmlName
	})},
	{"meeting-placeholder", withMeeting(3, func(_ *View, m *MeetingView) {
		m.Tiles[1].Frame, m.Tiles[1].Placeholder = nil, "Video not supported"
		m.Tiles[2].Frame, m.Tiles[2].Placeholder, m.Tiles[2].AudioMuted = nil, "Camera off", true
	})},
	{"meeting-content", withMeeting(4, func(_ *View, m *MeetingView) {
		m.Content, m.ContentFrom = slide(1920, 1080), "Grace Hopper"
		m.Tiles[1].Speaking = true
		m.Tiles[3].Frame, m.Tiles[3].Placeholder = nil, "Camera off"
	})},
	{"meeting-invite", withMeeting(2, func(_ *View, m *MeetingView) { m.Panel = InvitePanel })},
	{"meeting-participants", withMeeting(4, func(_ *View, m *MeetingView) {
		m.Panel = ParticipantsPanel
		m.Participants = participants()
		m.Locked = true
	})},
	{"meeting-muted-reconnecting", withMeeting(2, func(v *View, m *MeetingView) {
		m.Organizer, m.Locked = false, true
		m.Muted, m.CameraOff, m.Volume = true, true, 0
		m.Connection = "Reconnecting…"
		v.Banner = MissingBanner(devices(false))
	})},
	{"settings", func() View { return settingsView(true) }},
	{"settings-missing-camera", func() View {
		v := settingsView(false)
		v.Settings.TonePlaying = true
		v.Settings.Devices[1].Error = "Microphone muted on the device"
		return v
	}},
	{"settings-health", func() View {
		v := settingsView(true)
		v.Settings.Health = []HealthLine{
			{Failed: true, Text: "Portal: unreachable since 09:14 (connection refused)"},
			{Failed: true, Text: "Camera: no frames for 12 s"},
			{Text: "Storage: /perm is nearly full: 40 MB free of 4.0 GB"},
			{Text: "Clock: 12 s behind the portal's"},
		}
		return v
	}},
	{"settings-update", func() View {
		v := settingsView(true)
		v.Settings.Version = "Version 1.5.0 · last update: rolled back 1.6.0 01:12 (Camera: not found)"
		return v
	}},
}

// controlViews are the new screens whose every control is checked for
// being drawn where it is hit and big enough.
func controlViews() []View {
	var vs []View
	for _, sc := range newScreens {
		vs = append(vs, sc.view())
	}
	return vs
}

// TestControls lists the controls each screen state offers: what a user
// can tap, and what they must not be able to (Join before 9 digits, the
// organiser's controls for a guest room).
func TestControls(t *testing.T) {
	digits := func(except ...int) []Action {
		var as []Action
		for d := 0; d <= 9; d++ {
			if !slices.Contains(except, d) {
				as = append(as, Action{Kind: KeypadDigit, Index: d})
			}
		}
		return as
	}
	meeting := []Action{act(ToggleMute), act(ToggleCamera), act(VolumeDown), act(VolumeUp), act(ToggleParticipants), act(ToggleInvite), act(Leave)}
	organiser := append(slices.Clone(meeting), act(ToggleLock), act(EndMeeting))
	find := func(name string) View {
		for _, sc := range newScreens {
			if sc.name == name {
				return sc.view()
			}
		}
		t.Fatalf("no screen %s", name)
		return View{}
	}
	tests := []struct {
		name string
		view View
		want []Action
	}{
		{"keypad-empty", find("keypad-empty"), append(digits(), act(KeypadCancel))},
		{"keypad-partial", find("keypad-partial"), append(digits(), act(KeypadCancel), act(KeypadBackspace))},
		{"keypad-full", find("keypad-full"), []Action{act(KeypadCancel), act(KeypadBackspace), act(KeypadJoin)}},
		{"keypad-busy", find("keypad-busy"), []Action{act(KeypadCancel)}},
		{"keypad-nil", View{Screen: Keypad}, append(digits(), act(KeypadCancel))},
		{"home", homeView(), []Action{act(MeetNow), act(Join), act(OpenSettings)}},
		{"home-meetings", find("home-meetings"), []Action{act(MeetNow), act(Join), act(OpenSettings),
			{Kind: StartMeeting, Index: 0}, {Kind: StartMeeting, Index: 1}, {Kind: StartMeeting, Index: 2}}},
		{"pairing", pairingView(), []Action{act(OpenReset)}},
		{"meeting-1", find("meeting-1"), organiser},
		{"meeting-guest", withMeeting(2, func(_ *View, m *MeetingView) { m.Organizer = false })(), meeting},
		{"meeting-invite", find("meeting-invite"), append(slices.Clone(organiser), act(ClosePanel))},
		{"meeting-participants", withMeeting(2, func(_ *View, m *MeetingView) {
			m.Panel, m.Participants = ParticipantsPanel, participants()[:4]
		})(), append(slices.Clone(organiser), act(ClosePanel), act(MuteAll),
			// Participant 2 is muted already.
			Action{Kind: MuteParticipant, Index: 0}, Action{Kind: MuteParticipant, Index: 1}, Action{Kind: MuteParticipant, Index: 3})},
		{"meeting-participants-guest", withMeeting(2, func(_ *View, m *MeetingView) {
			m.Organizer, m.Panel, m.Participants = false, ParticipantsPanel, participants()
		})(), append(slices.Clone(meeting), act(ClosePanel))},
		{"meeting-nil", View{Screen: InMeeting}, meeting},
		{"settings", find("settings"), []Action{act(CloseSettings), act(PlayTone), act(OpenReset)}},
		{"settings-tone-playing", find("settings-missing-camera"), []Action{act(CloseSettings), act(OpenReset)}},
		{"settings-health", find("settings-health"), []Action{act(CloseSettings), act(PlayTone), act(OpenReset)}},
		{"settings-nil", View{Screen: Settings}, []Action{act(CloseSettings), act(PlayTone), act(OpenReset)}},
		{"settings-update", find("settings-update"), []Action{act(CloseSettings), act(PlayTone), act(OpenReset)}},
		{"updating", View{Screen: Updating, UpdateVersion: "1.5.0"}, nil},
	}
	for _, sz := range sizes {
		r := NewRenderer(sz.size)
		for _, tt := range tests {
			t.Run(sz.name+"/"+tt.name, func(t *testing.T) {
				var got []Action
				for _, it := range r.layout(tt.view) {
					if it.action.Kind != None {
						got = append(got, it.action)
					}
				}
				cmp := func(a, b Action) int {
					if a.Kind != b.Kind {
						return int(a.Kind) - int(b.Kind)
					}
					return a.Index - b.Index
				}
				slices.SortFunc(got, cmp)
				want := slices.Clone(tt.want)
				slices.SortFunc(want, cmp)
				if !slices.Equal(got, want) {
					t.Errorf("controls\n got %v\nwant %v", got, want)
				}
				r.Render(tt.view) // and it draws
			})
		}
	}
}

// TestHitNew taps where a user would, as fractions of the screen so one
// table serves both sizes.
func TestHitNew(t *testing.T) {
	type tap struct {
		x, y float64
		want Action
	}
	tests := []struct {
		name string
		view View
		taps []tap
	}{
		{"keypad", keypadView("1234", ""), []tap{
			{0.67, 0.27, Action{Kind: KeypadDigit, Index: 1}},
			{0.78, 0.27, Action{Kind: KeypadDigit, Index: 2}},
			{0.89, 0.27, Action{Kind: KeypadDigit, Index: 3}},
			{0.67, 0.44, Action{Kind: KeypadDigit, Index: 4}},
			{0.78, 0.56, Action{Kind: KeypadDigit, Index: 8}},
			{0.89, 0.56, Action{Kind: KeypadDigit, Index: 9}},
			{0.78, 0.73, Action{Kind: KeypadDigit, Index: 0}},
			{0.89, 0.73, act(KeypadBackspace)},
			{0.67, 0.73, act(None)}, // the empty key
			{0.15, 0.85, act(KeypadCancel)},
			{0.40, 0.85, act(None)}, // Join, not yet 9 digits
			{0.25, 0.35, act(None)}, // the typed ID
		}},
		{"keypad-full", keypadView("123-456-789", ""), []tap{
			{0.40, 0.85, act(KeypadJoin)},
			{0.67, 0.27, act(None)}, // digits are off at 9
			{0.89, 0.73, act(KeypadBackspace)},
		}},
		{"home-meetings", func() View { v := homeView(); v.Notice, v.Upcoming = "", upcoming(); return v }(), []tap{
			{0.88, 0.18, Action{Kind: StartMeeting, Index: 0}},
			{0.88, 0.33, Action{Kind: StartMeeting, Index: 1}},
			{0.70, 0.33, act(None)}, // the meeting's title
			{0.25, 0.72, act(MeetNow)},
			{0.75, 0.72, act(Join)},
			{0.88, 0.92, act(OpenSettings)},
		}},
		{"meeting", withMeeting(4, func(_ *View, m *MeetingView) {})(), []tap{
			{0.05, 0.93, act(ToggleMute)},
			{0.15, 0.93, act(ToggleCamera)},
			{0.50, 0.50, act(None)}, // video
			{0.96, 0.93, act(Leave)},
			{0.86, 0.93, act(EndMeeting)},
		}},
		{"participants", withMeeting(4, func(_ *View, m *MeetingView) { m.Panel, m.Participants = ParticipantsPanel, participants() })(), []tap{
			{0.83, 0.28, act(MuteAll)},
			{0.94, 0.15, act(ClosePanel)},
			{0.94, 0.37, Action{Kind: MuteParticipant, Index: 0}},
			{0.75, 0.37, act(None)}, // the name
		}},
		{"settings", settingsView(true), []tap{
			{0.90, 0.10, act(CloseSettings)},
			{0.70, 0.32, act(PlayTone)},
			{0.88, 0.92, act(OpenReset)},
			{0.25, 0.40, act(None)}, // a device
		}},
	}
	for _, sz := range sizes {
		r := NewRenderer(sz.size)
		for _, tt := range tests {
			for _, tp := range tt.taps {
				p := image.Pt(int(tp.x*float64(sz.size.X)), int(tp.y*float64(sz.size.Y)))
				t.Run(fmt.Sprintf("%s/%s/%v", sz.name, tt.name, p), func(t *testing.T) {
					if got := r.Hit(tt.view, p); got != tp.want {
						t.Errorf("tap at %v = %v, want %v", p, got, tp.want)
					}
				})
			}
		}
	}
}

func TestFormatMeetingID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"1", "1"},
		{"123", "123"},
		{"1234", "123-4"},
		{"123456", "123-456"},
		{"1234567", "123-456-7"},
		{"123456789", "123-456-789"},
		{"123-456-789", "123-456-789"},
		{"1234567890", "123-456-789"},
		{" 12a3\n4", "123-4"},
		{"١٢٣", ""}, // other scripts' digits are not meeting ID digits
	}
	for _, tt := range tests {
		if got := FormatMeetingID(tt.in); got != tt.want {
			t.Errorf("FormatMeetingID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKeyAction(t *testing.T) {
	kp := func(d string, busy bool) View {
		return View{Screen: Keypad, Keypad: &KeypadView{Digits: d, Busy: busy}}
	}
	panel := withMeeting(1, func(_ *View, m *MeetingView) { m.Panel = InvitePanel })()
	tests := []struct {
		name string
		view View
		key  string
		want Action
	}{
		{"digit", kp("", false), "7", Action{Kind: KeypadDigit, Index: 7}},
		{"zero", kp("12", false), "0", Action{Kind: KeypadDigit, Index: 0}},
		{"digit when full", kp("123456789", false), "1", act(None)},
		{"backspace", kp("12", false), "Backspace", act(KeypadBackspace)},
		{"backspace when empty", kp("", false), "Backspace", act(None)},
		{"enter with 9", kp("123-456-789", false), "Enter", act(KeypadJoin)},
		{"enter with 8", kp("12345678", false), "Enter", act(None)},
		{"escape", kp("12", false), "Escape", act(KeypadCancel)},
		{"busy digit", kp("123456789", true), "Backspace", act(None)},
		{"busy escape", kp("123456789", true), "Escape", act(KeypadCancel)},
		{"unknown key", kp("1", false), "F1", act(None)},
		{"nil keypad", View{Screen: Keypad}, "3", Action{Kind: KeypadDigit, Index: 3}},
		{"home digit", homeView(), "3", act(None)},
		{"panel escape", panel, "Escape", act(ClosePanel)},
		{"meeting escape", meetingView(1), "Escape", act(None)},
		{"settings escape", settingsView(true), "Escape", act(CloseSettings)},
		{"reset escape", View{Screen: ConfirmReset}, "Escape", act(CancelReset)},
	}
	for _, tt := range tests {
		if got := KeyAction(tt.view, tt.key); got != tt.want {
			t.Errorf("%s: KeyAction(%q) = %v, want %v", tt.name, tt.key, got, tt.want)
		}
	}
}

func TestMissingBanner(t *testing.T) {
	tests := []struct {
		name string
		devs []drivers.Status
		want string
	}{
		{"all there", devices(true), ""},
		{"none", nil, ""},
		{"camera", devices(false), "No camera: check its USB cable"},
		{"display", []drivers.Status{{Kind: "display"}}, "No display: check its HDMI cable"},
		{"two", []drivers.Status{{Kind: "camera"}, {Kind: "speakerphone"}, {Kind: "input", Present: true}}, "No camera, no speakerphone: see Settings"},
		{"unknown kind", []drivers.Status{{Kind: "lamp"}}, "No lamp: check its cable"},
	}
	for _, tt := range tests {
		if got := MissingBanner(tt.devs); got != tt.want {
			t.Errorf("%s: MissingBanner = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDeviceLine(t *testing.T) {
	tests := []struct {
		d    drivers.Status
		want string
		col  color.RGBA
	}{
		{drivers.Status{Kind: "camera", Present: false}, "Not found — check its USB cable", colError},
		{drivers.Status{Kind: "gpio", Present: false, Error: "open /dev/gpiochip0: permission denied"}, "Not found — check its wiring", colError},
		{drivers.Status{Kind: "speakerphone", Present: true, Error: "Microphone muted on the device"}, "Microphone muted on the device", colWarning},
		{drivers.Status{Kind: "camera", Name: "C920", Present: true}, "Working · C920", colOnline},
	}
	for _, tt := range tests {
		got, col := deviceLine(tt.d)
		if got != tt.want || col != tt.col {
			t.Errorf("deviceLine(%+v) = %q %v, want %q %v", tt.d, got, col, tt.want, tt.col)
		}
	}
}

func TestInitials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ada Lovelace", "AL"},
		{"grace", "G"},
		{"Edsger W. Dijkstra", "ED"},
		{"", "?"},
		{"<b>", "B"},
		{"Ålesund Room", "ÅR"},
	}
	for _, tt := range tests {
		if got := initials(tt.in); got != tt.want {
			t.Errorf("initials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGridRects(t *testing.T) {
	stage := image.Rect(0, 0, 1872, 830)
	for n := 1; n <= maxTiles; n++ {
		rs := gridRects(stage, n, 16)
		if len(rs) != n {
			t.Fatalf("%d tiles: %d rectangles", n, len(rs))
		}
		for i, r := range rs {
			if !r.In(stage) {
				t.Errorf("%d tiles: tile %d %v leaves the stage", n, i, r)
			}
			if d := r.Dx()*9 - r.Dy()*16; d > 16 || d < -16 {
				t.Errorf("%d tiles: tile %d is %v, not 16:9", n, i, r.Size())
			}
			for j := range i {
				if r.Overlaps(rs[j]) {
					t.Errorf("%d tiles: tiles %d and %d overlap", n, j, i)
				}
			}
		}
	}
}
