package ui

import "strconv"

// ActionKind is what a tap or key asks for. The appliance decides what
// happens.
type ActionKind int

const (
	None               ActionKind = iota
	MeetNow                       // home: Meet Now
	Join                          // home: Join (opens the keypad)
	OpenReset                     // the small "Reset" control: asks for confirmation
	CancelReset                   // confirmation: Cancel
	ConfirmedReset                // confirmation: Reset
	KeypadDigit                   // keypad: the digit Index
	KeypadBackspace               // keypad: remove the last digit
	KeypadJoin                    // keypad: join the typed meeting ID (9 digits)
	KeypadCancel                  // keypad: back home
	StartMeeting                  // home: start or join View.Upcoming[Index]
	Leave                         // meeting: leave
	EndMeeting                    // meeting: end it for everyone (organiser)
	ToggleMute                    // meeting: the room's microphone
	ToggleCamera                  // meeting: the room's camera
	VolumeDown                    // meeting: speaker volume
	VolumeUp                      // meeting: speaker volume
	ToggleParticipants            // meeting: open or close the participants panel
	ToggleInvite                  // meeting: open or close the invite panel
	ClosePanel                    // meeting: close the open panel
	MuteParticipant               // participants panel: mute Meeting.Participants[Index] (organiser)
	MuteAll                       // participants panel: mute everyone (organiser)
	ToggleLock                    // meeting: lock or unlock (organiser)
	OpenSettings                  // home: the small "Settings" control
	CloseSettings                 // settings: Done
	PlayTone                      // settings: play the speaker test tone
)

var actionNames = [...]string{
	"none", "meet-now", "join", "open-reset", "cancel-reset", "confirmed-reset",
	"keypad-digit", "keypad-backspace", "keypad-join", "keypad-cancel", "start-meeting",
	"leave", "end-meeting", "toggle-mute", "toggle-camera", "volume-down", "volume-up",
	"toggle-participants", "toggle-invite", "close-panel", "mute-participant", "mute-all",
	"toggle-lock", "open-settings", "close-settings", "play-tone",
}

func (k ActionKind) String() string {
	if k < 0 || int(k) >= len(actionNames) {
		return "action(" + strconv.Itoa(int(k)) + ")"
	}
	return actionNames[k]
}

// Action is a request from a tap or a key: a kind and, for the kinds
// that need one, an index (a digit, a meeting, a participant).
type Action struct {
	Kind  ActionKind
	Index int
}

// act is shorthand for an Action without an index.
func act(k ActionKind) Action { return Action{Kind: k} }

// String is the kind, followed by the index for the kinds that have one,
// e.g. "keypad-digit 5"; for logs.
func (a Action) String() string {
	switch a.Kind {
	case KeypadDigit, StartMeeting, MuteParticipant:
		return a.Kind.String() + " " + strconv.Itoa(a.Index)
	}
	return a.Kind.String()
}

// KeyAction maps a key from a keyboard ("0".."9", "Backspace", "Enter",
// "Escape", as input.Event.Key names them) to what it asks for on the
// screen v shows: typing on the keypad, and Escape to go back.
func KeyAction(v View, key string) Action {
	switch v.Screen {
	case Keypad:
		kp := v.Keypad
		if kp == nil {
			kp = &KeypadView{}
		}
		if key == "Escape" {
			return act(KeypadCancel)
		}
		if kp.Busy {
			return act(None)
		}
		n := len(meetingDigits(kp.Digits))
		switch {
		case len(key) == 1 && key[0] >= '0' && key[0] <= '9':
			if n < meetingIDLen {
				return Action{Kind: KeypadDigit, Index: int(key[0] - '0')}
			}
		case key == "Backspace":
			if n > 0 {
				return act(KeypadBackspace)
			}
		case key == "Enter":
			if n == meetingIDLen {
				return act(KeypadJoin)
			}
		}
	case InMeeting:
		if key == "Escape" && v.Meeting != nil && v.Meeting.Panel != NoPanel {
			return act(ClosePanel)
		}
	case Settings:
		if key == "Escape" {
			return act(CloseSettings)
		}
	case ConfirmReset:
		if key == "Escape" {
			return act(CancelReset)
		}
	}
	return act(None)
}
