package appliance

// What the screen shows: a ui.View built from the kit's state, the portal
// link's and the meeting controller's snapshots, and the screen's own
// state. It runs on the screen goroutine.

import (
	"image"

	"roomkit/appliance/meeting"
	"roomkit/provisioning"
	"roomkit/ui"
)

// Lines the in-meeting screen shows for the connection.
const (
	lineReconnecting = "Reconnecting…"
	lineDisconnected = "Disconnected"
)

// viewOf is what the screen shows now, with the screen's state s.
func (k *Kit) viewOf(s *screenState) ui.View {
	now := k.now()
	st := k.state()
	l := k.link.status(now)
	var m *meetingState
	if st == Ready {
		m = k.meetings.state()
	}
	v := ui.View{
		Now:             now.In(l.Location),
		Version:         k.runningVersion(),
		PortalConnected: l.Connected,
		Message:         l.Message,
		Error:           l.Error,
	}
	if now.Before(s.noticeUntil) {
		v.Notice = s.notice
	}
	for _, w := range []string{l.StorageLine, k.settingsLine, k.portalWarn} {
		// Home has no information line: there a warning takes the error
		// line while the portal gives no error.
		switch {
		case w == "":
		case v.Error == "":
			v.Error = w
		case v.Message == "":
			v.Message = w
		}
	}
	switch {
	case st == Updating:
		v.Screen = ui.Updating
		v.UpdateVersion = k.updatingTo()
	case st == Booting:
		v.Screen = ui.Splash
	case st == Pairing:
		v.Screen = ui.Pairing
		if c := l.Code; c != nil {
			v.UserCode = provisioning.FormatUserCode(c.UserCode)
			v.VerificationURI = c.VerificationURI
			v.VerificationURIComplete = c.VerificationURIComplete
			v.CodeExpiresIn = max(c.ExpiresAt.Sub(now), 0)
		}
	case m == nil: // ready
		v.Screen = ui.Home
		if r := l.Room; r != nil {
			v.RoomName, v.Location = r.Name, r.Location
		}
		devs := k.devices()
		v.Banner = ui.MissingBanner(devs)
		for _, u := range k.meetings.upcomingAt(now) {
			v.Upcoming = append(v.Upcoming, ui.UpcomingMeeting{ID: u.ID, Title: u.Title, Start: u.Start.In(l.Location), End: u.End.In(l.Location),
				InProgress: !now.Before(u.Start) && now.Before(u.End)})
		}
		switch {
		case s.settings:
			v.Screen = ui.Settings
			v.Settings = &ui.SettingsView{Devices: devs, MicLevel: s.micLevel, TonePlaying: s.tonePlaying, Preview: s.preview,
				Health: k.healthProblems(now), Version: versionLine(v.Version, k.updaterOf(), now, l.Location) + profileLine(k.configStatusForStatus())}
		case s.keypad != nil:
			v.Screen = ui.Keypad
			kp := *s.keypad
			v.Keypad = &kp
		}
	default: // in a meeting
		v.Screen = ui.InMeeting
		if r := l.Room; r != nil {
			v.RoomName, v.Location = r.Name, r.Location
		}
		// A missing device does not stop the meeting; the banner says
		// which, and a notice (a failed lock, say) takes its place for a
		// moment.
		v.Banner = ui.MissingBanner(k.devices())
		if v.Notice != "" {
			v.Banner = v.Notice
		}
		v.Meeting = meetingView(s, m)
	}
	if s.confirming && st != Booting && st != Updating {
		v.Screen = ui.ConfirmReset
	}
	if now.Before(s.identifyUntil) {
		v.Identify = "This kit"
		if r := l.Room; r != nil {
			v.Identify = r.Name
		}
	}
	return v
}

// meetingView is the in-meeting screen's part of the view. It notes in s
// which participants it lists, for the panel's taps.
func meetingView(s *screenState, m *meetingState) *ui.MeetingView {
	mv := &ui.MeetingView{
		ID: m.Info.ID, Title: m.Info.Title, JoinURL: m.Info.JoinURL,
		Organizer: m.Organizer, Locked: m.Info.Locked,
		Muted: m.Muted, CameraOff: m.CameraOff, Volume: m.Volume,
		Connection: connectionLine(m.Connection), Panel: s.panel,
	}
	muted := make(map[string]bool, len(m.Participants))
	s.shown = s.shown[:0]
	for _, p := range m.Participants {
		muted[p.Identity] = p.AudioMuted
		mv.Participants = append(mv.Participants, ui.Participant{Name: p.Name, Identity: p.Identity, AudioMuted: p.AudioMuted})
		s.shown = append(s.shown, p.Identity)
	}
	for _, t := range m.Tiles {
		if t.ScreenShare {
			if mv.Content == nil {
				mv.ContentFrom = t.Name
				if t.Frame != nil {
					mv.Content = t.Frame
				} else {
					mv.Content = contentWaiting
				}
			}
			continue
		}
		ut := ui.Tile{Name: t.Name, Placeholder: t.Placeholder, Speaking: t.Speaking, AudioMuted: muted[t.Identity]}
		if t.Frame != nil { // a nil *image.YCbCr must stay a nil image.Image
			ut.Frame = t.Frame
		}
		mv.Tiles = append(mv.Tiles, ut)
	}
	if m.Self != nil {
		mv.Self = m.Self
	}
	return mv
}

// contentWaiting stands for a shared screen whose first picture has not
// arrived: the layout switches at once.
var contentWaiting = func() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 16, 9))
	for i := range img.Pix {
		img.Pix[i] = 0x10
		if i%4 == 3 {
			img.Pix[i] = 0xff
		}
	}
	return img
}()

func connectionLine(conn string) string {
	switch conn {
	case meeting.Connected:
		return ""
	case meeting.Reconnecting:
		return lineReconnecting
	case meeting.Disconnected:
		return lineDisconnected
	}
	return conn
}
