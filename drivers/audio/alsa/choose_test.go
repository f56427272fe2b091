package alsa

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// dev is a device as miniaudio's ALSA enumeration reports it (simplified
// IDs, DESC's first line as the name).
func dev(id, name string, play, capt bool) Device {
	return Device{ID: id, Name: name, Playback: play, Capture: capt}
}

// Recorded device lists: what miniaudio enumerated on each machine, with
// its /proc/asound/cards in testdata.
var (
	// A Raspberry Pi kit with the USB speakerphone.
	kitDevices = []Device{
		dev("default", "Default ALSA Output (currently PulseAudio Sound Server)", true, true),
		dev(":0,0", "vc4-hdmi-0, MAI PCM i2s-hifi-0", true, false),
		dev(":1,0", "bcm2835 Headphones, bcm2835 Headphones", true, false),
		dev(":2,0", "Jabra SPEAK 510 USB, USB Audio", true, true),
	}
	// A PC: HDA with HDMI and analog, snd-aloop and snd-dummy loaded.
	pcDevices = []Device{
		dev("null", "Discard all samples (playback) or generate zero samples (capture)", true, true),
		dev(":0,0", "HDA Intel PCH, ALC3246 Analog", true, true),
		dev(":0,3", "HDA Intel PCH, HDMI 0", true, false),
		dev(":1,0", "Loopback, Loopback PCM", true, true),
		dev(":2,0", "Dummy, Dummy PCM", true, true),
	}
	// The QEMU test guest: its usb-audio device has a speaker only. As the
	// static kit build enumerated it in the test kernel (TestKernelChoose
	// records it as devices-qemu.json): libasound's "null" PCM, and both of
	// snd-aloop's devices.
	qemuDevices = []Device{
		dev("null", "Discard all samples (playback) or generate zero samples (capture)", true, true),
		dev(":0,0", "Dummy, Dummy PCM", true, true),
		dev(":1,0", "Loopback, Loopback PCM", true, true),
		dev(":1,1", "Loopback, Loopback PCM", true, true),
		dev(":2,0", "QEMU USB Audio, USB Audio", true, false),
	}
)

// withCards sets Card and Driver the way the backend does.
func withCards(t *testing.T, devs []Device, cardsFile string) []Device {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", cardsFile))
	if err != nil {
		t.Fatal(err)
	}
	cards, err := ParseCards(b)
	if err != nil {
		t.Fatal(err)
	}
	var play, capt []Device
	for _, d := range devs {
		if d.Playback {
			play = append(play, Device{ID: d.ID, Name: d.Name})
		}
		if d.Capture {
			capt = append(capt, Device{ID: d.ID, Name: d.Name})
		}
	}
	return merge(play, capt, cards)
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name              string
		devs              []Device
		cards             string
		want, wantMic     string
		speaker, mic      string // IDs
		errLike           string
		errNoSpeakerphone bool
	}{
		{name: "kit picks the USB speakerphone over HDMI and headphones",
			devs: kitDevices, cards: "cards-kit.txt", speaker: ":2,0", mic: ":2,0"},
		{name: "kit without the speakerphone: HDMI and headphones have no microphone",
			devs: kitDevices[:3], cards: "cards-kit.txt", errNoSpeakerphone: true,
			errLike: "no microphone (found Default ALSA Output"},
		{name: "PC prefers analog over HDMI, never loopback or dummy",
			devs: pcDevices, cards: "cards-pc.txt", speaker: ":0,0", mic: ":0,0"},
		{name: "PC: a USB speakerphone plugged in wins",
			devs:  append(append([]Device{}, pcDevices...), dev(":3,0", "Jabra SPEAK 510 USB, USB Audio", true, true)),
			cards: "cards-pc.txt", speaker: ":3,0", mic: ":3,0"},
		{name: "a speakerphone wins over a USB webcam's microphone",
			devs: []Device{
				dev(":0,0", "HD Pro Webcam C920, USB Audio", false, true),
				dev(":1,0", "Jabra SPEAK 510 USB, USB Audio", true, true),
			}, speaker: ":1,0", mic: ":1,0"},
		{name: "QEMU: a USB speaker without a microphone is used alone, never a virtual microphone",
			devs: qemuDevices, cards: "cards-qemu.txt", speaker: ":2,0", mic: ""},
		{name: "QEMU: the USB speaker asked for by name, still without a microphone",
			devs: qemuDevices, cards: "cards-qemu.txt", want: "QEMU", speaker: ":2,0", mic: ""},
		{name: "QEMU: a USB speakerphone with a microphone wins over the speaker-only one",
			devs:  append(append([]Device{}, qemuDevices...), dev(":3,0", "USB Audio Device, USB Audio", true, true)),
			cards: "cards-qemu.txt", speaker: ":3,0", mic: ":3,0"},
		{name: "PC: a USB speaker without a microphone takes the analog microphone",
			devs:  append(append([]Device{}, pcDevices...), dev(":3,0", "QEMU USB Audio, USB Audio", true, false)),
			cards: "cards-pc.txt", speaker: ":3,0", mic: ":0,0"},
		{name: "QEMU: a microphone asked for that is not there",
			devs: qemuDevices, cards: "cards-qemu.txt", wantMic: "Jabra", errNoSpeakerphone: true,
			errLike: `no microphone matches "Jabra" (found Discard all samples (playback) or generate zero samples (capture) [null] (speaker and microphone); Dummy, Dummy PCM [:0,0] (speaker and microphone); Loopback`},
		{name: "QEMU: the Dummy card's microphone by name",
			devs: qemuDevices, cards: "cards-qemu.txt", wantMic: "dummy", speaker: ":2,0", mic: ":0,0"},
		{name: "only virtual devices",
			devs: qemuDevices[:4], cards: "cards-qemu.txt", errNoSpeakerphone: true, errLike: "no speaker (found Discard all samples"},
		{name: "a device asked for by ID",
			devs: pcDevices, cards: "cards-pc.txt", want: ":1,0", speaker: ":1,0", mic: ":1,0"},
		{name: "a device asked for that is not there",
			devs: kitDevices, cards: "cards-kit.txt", want: "Poly Sync", errNoSpeakerphone: true,
			errLike: `no speaker matches "Poly Sync" (found Default`},
		{name: "nothing at all",
			devs: nil, cards: "cards-none.txt", errNoSpeakerphone: true, errLike: "no speaker (no sound devices at all)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			devs := tt.devs
			if tt.cards != "" {
				devs = withCards(t, devs, tt.cards)
			}
			speaker, mic, err := Choose(devs, tt.want, tt.wantMic)
			if tt.errLike != "" || tt.errNoSpeakerphone {
				if err == nil {
					t.Fatalf("chose %v and %v, want an error", speaker, mic)
				}
				if !strings.Contains(err.Error(), tt.errLike) {
					t.Errorf("error %q does not say %q", err, tt.errLike)
				}
				if errors.Is(err, ErrNoSpeakerphone) != tt.errNoSpeakerphone {
					t.Errorf("errors.Is(%v, ErrNoSpeakerphone) = %v", err, !tt.errNoSpeakerphone)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if speaker.ID != tt.speaker || mic.ID != tt.mic {
				t.Errorf("chose speaker %v and microphone %v, want %s and %q", speaker, mic, tt.speaker, tt.mic)
			}
			if tt.mic == "" && (mic != Device{} || mic.String() != "none") {
				t.Errorf("microphone %+v (%s), want the zero Device for none", mic, mic)
			}
		})
	}
}

func TestParseCards(t *testing.T) {
	tests := []struct {
		file string
		want map[int]Card
	}{
		{"cards-kit.txt", map[int]Card{
			0: {0, "vc4hdmi0", "vc4-hdmi", "vc4-hdmi-0"},
			1: {1, "Headphones", "bcm2835_headpho", "bcm2835 Headphones"},
			2: {2, "USB", "USB-Audio", "Jabra SPEAK 510 USB"},
		}},
		{"cards-none.txt", map[int]Card{}},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseCards(b)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %v\nwant %v", tt.file, got, tt.want)
		}
	}
	for _, bad := range []string{"x [USB ]: USB-Audio - Jabra\n", " 1 USB-Audio - Jabra\n", "-1 [USB ]: x - y\n", " 2 [USB  USB-Audio\n"} {
		if _, err := ParseCards([]byte(bad)); err == nil || !strings.Contains(err.Error(), CardsFile) {
			t.Errorf("ParseCards(%q) = %v, want an error naming %s", bad, err, CardsFile)
		}
	}
}

func FuzzParseCards(f *testing.F) {
	for _, name := range []string{"cards-kit.txt", "cards-pc.txt", "cards-qemu.txt", "cards-none.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cards, err := ParseCards(b)
		if err != nil {
			return
		}
		for n, c := range cards {
			if n < 0 || c.Number != n {
				t.Fatalf("card %d parsed as %+v", n, c)
			}
		}
	})
}

func TestCardNumber(t *testing.T) {
	for id, want := range map[string]int{":2,0": 2, "hw:1,0": 1, "hw:CARD=3,DEV=0": 3, "default": -1, "hw:CARD=USB,DEV=0": -1, ":x": -1} {
		if got := cardNumber(id); got != want {
			t.Errorf("cardNumber(%q) = %d, want %d", id, got, want)
		}
	}
}
