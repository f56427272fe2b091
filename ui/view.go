// Package ui is the kit's touch UI: it draws a View into an image.RGBA in
// pure Go and tells which control a tap hit. It holds no state of its own:
// appliance owns the state and hands the UI a fresh View for every frame.
package ui

import (
	"image"
	"strconv"
	"time"

	"roomkit/drivers"
)

// Screen is the screen the kit shows.
type Screen int

const (
	Splash       Screen = iota + 1 // booting
	Pairing                        // unpaired: user code, URL, QR, countdown
	Home                           // paired: clock, room name, Meet Now, Join, today's meetings
	ConfirmReset                   // "Factory reset?" with Cancel / Reset
	Keypad                         // join a meeting by its ID: View.Keypad
	InMeeting                      // in a meeting: View.Meeting
	Settings                       // device status and tests, factory reset: View.Settings
	Updating                       // installing an update: "Updating — back in a minute", no controls
)

// View is everything one frame shows.
type View struct {
	Screen  Screen
	Now     time.Time // the clock, already in the room's time zone
	Version string    // firmware version, shown small

	// Paired.
	RoomName string
	Location string

	// Pairing.
	UserCode                string        // "BCDF-GHJK"; empty while asking the portal for one
	VerificationURI         string        // where to type it
	VerificationURIComplete string        // the QR code's content
	CodeExpiresIn           time.Duration // the countdown

	// PortalConnected drives the small connection indicator.
	PortalConnected bool
	// Message is an information line, e.g. "This kit has a new identity: pair it again."
	Message string
	// Error is an error line in red, e.g. "Cannot reach the portal: retrying in 8 s".
	Error string
	// Notice is a transient line, e.g. "Meetings are coming soon".
	Notice string
	// Banner names a missing device on the home and in-meeting screens,
	// e.g. "No camera: check its USB cable" (see MissingBanner).
	Banner string

	// UpdateVersion is the release being installed (Screen == Updating),
	// "" if unknown.
	UpdateVersion string

	// Identify, when not empty, is the room's name while an admin
	// identifies the kit from the admin center: it takes the whole
	// screen, flashing with the clock's seconds, over any screen.
	Identify string

	// Upcoming lists the room's meetings today on the home screen, in
	// order; the home screen shows as many as fit.
	Upcoming []UpcomingMeeting

	Keypad   *KeypadView   // Screen == Keypad
	Meeting  *MeetingView  // Screen == InMeeting
	Settings *SettingsView // Screen == Settings
}

// UpcomingMeeting is one of the room's meetings today. Its Start button
// asks for Action{Kind: StartMeeting, Index: i}, i its index in
// View.Upcoming.
type UpcomingMeeting struct {
	ID         string    // 9 digits
	Title      string    // may be empty
	Start, End time.Time // in the room's time zone
	InProgress bool      // started: the button says Join
}

// KeypadView is the join-by-ID screen.
type KeypadView struct {
	Digits string // typed so far, digits only (at most 9 are shown)
	Error  string // e.g. "No meeting has the ID 123-456-789."
	Busy   bool   // asking the portal: the keys are off and Join says so
}

// Panel is the side panel open in a meeting.
type Panel int

const (
	NoPanel           Panel = iota
	InvitePanel             // meeting ID, join link and its QR code
	ParticipantsPanel       // who is in the meeting; mute one or all
)

// MeetingView is the in-meeting screen.
type MeetingView struct {
	ID      string // 9 digits
	Title   string
	JoinURL string // the invite panel's link and QR code

	Organizer bool // the room organises it: Mute one/all, Lock and End appear
	Locked    bool
	Muted     bool // the room's microphone
	CameraOff bool // the room's camera
	Volume    int  // speaker volume, 0..100

	// Connection is empty while connected and otherwise says what is
	// happening, e.g. "Reconnecting…": it is shown over the video.
	Connection string

	// Tiles are the remote participants' videos; up to 6 are shown,
	// speaking ones first.
	Tiles []Tile
	// Content is the shared screen, nil when nobody shares: it is shown
	// large with the tiles in a strip beside it.
	Content     image.Image
	ContentFrom string // who shares it

	// Self is the room's own camera, shown small; nil when there is no
	// picture (see CameraOff).
	Self image.Image

	// Participants lists everyone for the participants panel. Its Mute
	// buttons ask for Action{Kind: MuteParticipant, Index: i}.
	Participants []Participant
	Panel        Panel
}

// Tile is one remote participant's video.
type Tile struct {
	Name  string
	Frame image.Image // the latest decoded frame; nil shows Placeholder
	// Placeholder says why there is no picture, e.g. "Camera off" or
	// "Video not supported".
	Placeholder string
	Speaking    bool
	AudioMuted  bool
}

// Participant is one row of the participants panel.
type Participant struct {
	Name       string
	Identity   string // the LiveKit identity, for appliance; shown when Name is empty
	AudioMuted bool
}

// SettingsView is the settings and device-test screen.
type SettingsView struct {
	Devices     []drivers.Status // camera, speakerphone, display, input, gpio
	MicLevel    float64          // 0..1, the microphone's current level
	TonePlaying bool             // the test tone is playing
	Preview     image.Image      // the camera's live picture; nil without one
	// Health is the health tree's problems (package health), worst
	// first: what IT reads out over the phone before `roomctl health`.
	Health []HealthLine
	// Version replaces View.Version in the footer with the firmware's
	// version and its last update: "Version 1.5.0 · last update:
	// healthy 01:12". It may be wider than the plain version.
	Version string
}

// HealthLine is one check that is not ok: "Camera: no frames for 12 s".
type HealthLine struct {
	Failed bool // else degraded
	Text   string
}

// Sizes the UI lays itself out for.
var (
	Size1080p = image.Pt(1920, 1080)
	Size800p  = image.Pt(1280, 800)
)

func (s Screen) String() string {
	switch s {
	case Splash:
		return "splash"
	case Pairing:
		return "pairing"
	case Home:
		return "home"
	case ConfirmReset:
		return "confirm-reset"
	case Keypad:
		return "keypad"
	case InMeeting:
		return "in-meeting"
	case Settings:
		return "settings"
	case Updating:
		return "updating"
	}
	return "screen(" + strconv.Itoa(int(s)) + ")"
}
