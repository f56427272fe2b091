package alsa

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gen2brain/malgo"
)

// Device is one ALSA PCM device as miniaudio enumerates it, with what
// /proc/asound/cards says about its sound card.
type Device struct {
	// ID is miniaudio's ALSA device id: ":1,0" for card 1, device 0 (it
	// picks dmix/dsnoop or plughw itself), or a PCM name such as "default".
	ID string
	// Name is ALSA's description: "Jabra SPEAK 510 USB, USB Audio".
	Name string
	// Card is the ALSA card number, or -1 for a PCM that is not a card
	// (default, null, pulse, …).
	Card int
	// Driver is the card's kernel driver as /proc/asound/cards names it:
	// "USB-Audio" for every USB audio class device, "HDA-Intel",
	// "bcm2835_headpho", "Loopback", "Dummy", … Empty if unknown.
	Driver   string
	Playback bool
	Capture  bool

	raw malgo.DeviceID // what miniaudio wants back to open the device
}

func (d Device) String() string {
	if d.ID == "" && d.Name == "" {
		return "none"
	}
	dir := "speaker and microphone"
	switch {
	case !d.Capture:
		dir = "speaker only"
	case !d.Playback:
		dir = "microphone only"
	}
	return fmt.Sprintf("%s [%s] (%s)", d.Name, d.ID, dir)
}

// ErrNoSpeakerphone means no usable device was found: nothing is plugged
// in, or only devices that cannot serve as the room's speakerphone.
var ErrNoSpeakerphone = errors.New("no speakerphone found")

// class ranks devices for a conference room: higher is better, 0 is never
// chosen unless asked for by name.
type class int

const (
	classVirtual class = iota // loopback, dummy, software PCMs: not a room's audio
	classHDMI                 // the screen's speakers, no microphone
	classAnalog               // on-board jacks: better than HDMI, worse than USB
	classUSB                  // a USB audio class device: the speakerphone
)

// speakerphoneWords are in the names of common USB speakerphones; such a
// device wins over a USB headset or webcam.
var speakerphoneWords = []string{"speak", "speakerphone", "jabra", "poly", "yealink", "emeet", "anker", "conference"}

func classify(d Device) (class, int) {
	name := strings.ToLower(d.Name)
	drv := strings.ToLower(d.Driver)
	switch {
	case d.Card < 0,
		drv == "loopback", drv == "dummy",
		strings.HasPrefix(name, "loopback"), strings.HasPrefix(name, "dummy"):
		return classVirtual, 0
	case drv == "usb-audio" || strings.Contains(name, "usb"):
		bonus := 0
		for _, w := range speakerphoneWords {
			if strings.Contains(name, w) {
				bonus = 1
			}
		}
		return classUSB, bonus
	case strings.Contains(name, "hdmi") || strings.Contains(drv, "hdmi"):
		return classHDMI, 0
	default:
		return classAnalog, 0
	}
}

// better reports whether a should be preferred to b: by class, then one
// that is both speaker and microphone (the room is heard through the
// device it hears from), then a speakerphone's name, then the lower card
// and device number, so the choice is stable.
func better(a, b Device) bool {
	ca, ba := classify(a)
	cb, bb := classify(b)
	if ca != cb {
		return ca > cb
	}
	if da, db := a.Playback && a.Capture, b.Playback && b.Capture; da != db {
		return da
	}
	if ba != bb {
		return ba > bb
	}
	if a.Card != b.Card {
		return a.Card < b.Card
	}
	return a.ID < b.ID
}

// Choose picks the speaker and the microphone among devs. With want empty
// it takes the best speaker (USB audio class, then analog, then HDMI; in
// each, one with a microphone first) and the microphone of the same card
// if it has one, else the best microphone; loopback, dummy and software
// devices are never picked. With want set, only devices whose ID equals
// want or whose name contains it (any case) are considered, virtual ones
// included: that is how tests and QEMU pick the null backend or the Dummy
// card. wantMic, if set, does the same for the microphone alone.
//
// A USB speaker with no microphone to go with it (a USB speaker rather
// than a speakerphone) is still chosen, so the room at least hears the
// meeting: mic is then the zero Device (its ID is empty), and the
// Speakerphone opened on it reads silence and says in its Status that the
// room cannot be heard. That only happens with wantMic empty: a
// microphone asked for by name that is not there is an error, not
// silently ignored. Without a USB speaker, no microphone is an error as
// before: the screen's or the board's speaker alone is not a speakerphone.
func Choose(devs []Device, want, wantMic string) (speaker, mic Device, err error) {
	explicitMic := wantMic != ""
	if wantMic == "" {
		wantMic = want
	}
	var speakers, mics []Device
	for _, d := range devs {
		if d.Playback && matches(d, want) {
			speakers = append(speakers, d)
		}
		if d.Capture && matches(d, wantMic) {
			mics = append(mics, d)
		}
	}
	sort.SliceStable(speakers, func(i, j int) bool { return better(speakers[i], speakers[j]) })
	sort.SliceStable(mics, func(i, j int) bool { return better(mics[i], mics[j]) })
	if len(speakers) == 0 {
		return Device{}, Device{}, noneError("speaker", want, devs)
	}
	speaker = speakers[0]
	if c, _ := classify(speaker); c == classVirtual && want == "" {
		return Device{}, Device{}, noneError("speaker", want, devs)
	}
	if len(mics) == 0 {
		if c, _ := classify(speaker); c == classUSB && !explicitMic {
			return speaker, Device{}, nil
		}
		return Device{}, Device{}, noneError("microphone", wantMic, devs)
	}
	mic = mics[0]
	for _, m := range mics {
		if m.Card == speaker.Card && m.Card >= 0 {
			mic = m
			break
		}
	}
	if c, _ := classify(mic); c == classVirtual && wantMic == "" {
		return Device{}, Device{}, noneError("microphone", wantMic, devs)
	}
	return speaker, mic, nil
}

func matches(d Device, want string) bool {
	if want == "" {
		c, _ := classify(d)
		return c != classVirtual
	}
	return d.ID == want || strings.Contains(strings.ToLower(d.Name), strings.ToLower(want))
}

// noneError says what was missing and lists what was there, so the room's
// staff (or the person reading the log) can tell an unplugged speakerphone
// from a wrong -device setting.
func noneError(what, want string, devs []Device) error {
	var found []string
	for _, d := range devs {
		found = append(found, d.String())
	}
	seen := "no sound devices at all"
	if len(found) > 0 {
		seen = "found " + strings.Join(found, "; ")
	}
	if want != "" {
		return fmt.Errorf("%w: no %s matches %q (%s)", ErrNoSpeakerphone, what, want, seen)
	}
	return fmt.Errorf("%w: no %s (%s)", ErrNoSpeakerphone, what, seen)
}

// merge joins miniaudio's playback and capture lists, which name the same
// PCM twice, into one Device per ID, in the order first seen, and adds each
// card's driver from cards.
func merge(playback, capture []Device, cards map[int]Card) []Device {
	var out []Device
	index := make(map[string]int)
	add := func(d Device, play bool) {
		i, ok := index[d.ID]
		if !ok {
			d.Card = cardNumber(d.ID)
			if c, ok := cards[d.Card]; ok {
				d.Driver = c.Driver
			}
			index[d.ID] = len(out)
			out = append(out, d)
			i = len(out) - 1
		}
		if play {
			out[i].Playback = true
		} else {
			out[i].Capture = true
		}
	}
	for _, d := range playback {
		add(d, true)
	}
	for _, d := range capture {
		add(d, false)
	}
	return out
}

// cardNumber reads the card from miniaudio's ":1,0" or ALSA's "hw:1,0" and
// "hw:CARD=1,DEV=0"; it is -1 for anything else.
func cardNumber(id string) int {
	_, rest, ok := strings.Cut(id, ":")
	if !ok {
		return -1
	}
	card, _, _ := strings.Cut(rest, ",")
	card = strings.TrimPrefix(card, "CARD=")
	n, err := strconv.Atoi(card)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
