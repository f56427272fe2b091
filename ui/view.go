// Package ui is the kit's touch UI: it draws a View into an image.RGBA in
// pure Go and tells which control a tap hit. It holds no state of its own:
// appliance owns the state and hands the UI a fresh View for every frame.
package ui

import (
	"image"
	"time"
)

// Screen is the screen the kit shows.
type Screen int

const (
	Splash       Screen = iota + 1 // booting
	Pairing                        // unpaired: user code, URL, QR, countdown
	Home                           // paired: clock, room name, Meet Now, Join
	ConfirmReset                   // "Factory reset?" with Cancel / Reset
)

// Action is what a tap asks for. The appliance decides what happens.
type Action int

const (
	None           Action = iota
	MeetNow               // home: Meet Now
	Join                  // home: Join
	OpenReset             // the small "Reset" control: asks for confirmation
	CancelReset           // confirmation: Cancel
	ConfirmedReset        // confirmation: Reset
)

func (a Action) String() string {
	return [...]string{"none", "meet-now", "join", "open-reset", "cancel-reset", "confirmed-reset"}[a]
}

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
}

// Sizes the UI lays itself out for.
var (
	Size1080p = image.Pt(1920, 1080)
	Size800p  = image.Pt(1280, 800)
)
