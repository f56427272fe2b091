package alsa

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gen2brain/malgo"

	"roomkit/drivers/audio"
)

// managerRig is a Manager on a fake device list whose speakerphone, when
// listed, streams through the null backend; rescans happen when the test
// sends on tick.
type managerRig struct {
	m      *Manager
	fake   *fakeBackend
	tick   chan time.Time
	events chan string
	cards  chan map[int]Card // the next card list the Manager reads
}

var jabraNull = func() Device {
	d := dev(":1,0", "Jabra SPEAK 510 USB, USB Audio", true, true)
	d.Card, d.Driver = 1, "USB-Audio"
	return d
}()

func newManagerRig(t *testing.T, devs []Device) *managerRig {
	r := &managerRig{
		fake:   &fakeBackend{devs: devs, real: nullBackend(t)},
		tick:   make(chan time.Time),
		events: make(chan string, 16),
		cards:  make(chan map[int]Card, 1),
	}
	opts := Options{backend: r.fake}
	r.m = newManager(func() (*Speakerphone, error) { return open(r.fake, opts) }, 0)
	r.m.after = func(d time.Duration) <-chan time.Time {
		if d != RescanInterval {
			t.Errorf("rescan after %v, want %v", d, RescanInterval)
		}
		return r.tick
	}
	r.m.notify = func(e string) { r.events <- e }
	// Every card is there unless the test says otherwise.
	r.m.cards = func() (map[int]Card, error) {
		select {
		case c := <-r.cards:
			return c, nil
		default:
			return map[int]Card{jabraNull.Card: {Number: jabraNull.Card, Driver: jabraNull.Driver}}, nil
		}
	}
	r.m.start()
	t.Cleanup(func() { r.m.Close() })
	return r
}

func (r *managerRig) expect(t *testing.T, want string) {
	t.Helper()
	if got := <-r.events; got != want {
		t.Fatalf("manager event %q, want %q", got, want)
	}
}

func TestManagerUnplugReplug(t *testing.T) {
	r := newManagerRig(t, []Device{jabraNull})
	r.expect(t, "open")
	ctx := context.Background()
	frame := make([]int16, 960)
	r.m.SetVolume(35)
	r.m.SetMute(true)
	if err := r.m.Read(ctx, frame); err != nil {
		t.Fatal(err)
	}
	if st := r.m.Status(); !st.Present || st.Name != jabraNull.Name {
		t.Errorf("status %+v, want the Jabra present", st)
	}

	// Unplug mid-stream: the device stops and leaves the list.
	r.fake.set(nil, nil)
	r.m.current().st.stop()
	r.expect(t, "gone")
	if err := r.m.Read(ctx, frame); !errors.Is(err, audio.ErrUnplugged) {
		t.Errorf("Read while unplugged = %v, want audio.ErrUnplugged", err)
	}
	if err := r.m.Write(ctx, frame); !errors.Is(err, audio.ErrUnplugged) {
		t.Errorf("Write while unplugged = %v, want audio.ErrUnplugged", err)
	}
	if st := r.m.Status(); st.Present || st.Error != UnpluggedMessage || st.Name != jabraNull.Name {
		t.Errorf("status %+v, want the Jabra absent: %q", st, UnpluggedMessage)
	}
	r.tick <- time.Time{}
	r.expect(t, "missing")

	// Plugged back in: found at the next rescan, volume and mute kept.
	r.fake.set([]Device{jabraNull}, nil)
	r.tick <- time.Time{}
	r.expect(t, "open")
	if err := r.m.Read(ctx, frame); err != nil {
		t.Errorf("Read after replug: %v", err)
	}
	sp := r.m.current()
	if sp.Volume() != 35 || !sp.Muted() {
		t.Errorf("after replug volume %d muted %v, want 35 and muted", sp.Volume(), sp.Muted())
	}
	if st := r.m.Status(); !st.Present || st.Error != "" {
		t.Errorf("status after replug %+v", st)
	}
}

// A USB speaker pulled out without miniaudio noticing (its stop callback
// never comes): the card leaving the kernel's list is enough.
func TestManagerCardVanishes(t *testing.T) {
	r := newManagerRig(t, []Device{jabraNull})
	r.expect(t, "open")
	r.tick <- time.Time{} // the card is still listed: nothing happens
	r.fake.set(nil, nil)
	r.cards <- map[int]Card{}
	r.tick <- time.Time{}
	r.expect(t, "gone")
	if st := r.m.Status(); st.Present || st.Error != UnpluggedMessage {
		t.Errorf("status %+v, want absent: %q", st, UnpluggedMessage)
	}
	if err := r.m.Write(context.Background(), make([]int16, 960)); !errors.Is(err, audio.ErrUnplugged) {
		t.Errorf("Write after the card vanished = %v, want audio.ErrUnplugged", err)
	}
}

func TestManagerStatus(t *testing.T) {
	tests := []struct {
		name    string
		devs    []Device
		openErr error
		want    string
	}{
		{"nothing plugged in", []Device{dev(":0,0", "HDA Intel PCH, HDMI 0", true, false)}, nil, NotFoundMessage},
		{"busy", []Device{jabraNull}, malgo.ErrBusy, "is in use by another program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newManagerRig(t, nil)
			r.expect(t, "missing")
			r.fake.set(tt.devs, tt.openErr)
			r.tick <- time.Time{}
			r.expect(t, "missing")
			st := r.m.Status()
			if st.Present || !strings.Contains(st.Error, tt.want) {
				t.Errorf("status %+v, want absent saying %q", st, tt.want)
			}
			if err := r.m.Read(context.Background(), make([]int16, 960)); !errors.Is(err, audio.ErrUnplugged) {
				t.Errorf("Read = %v, want audio.ErrUnplugged", err)
			}
		})
	}
}

func TestManagerClose(t *testing.T) {
	r := newManagerRig(t, []Device{jabraNull})
	r.expect(t, "open")
	done := make(chan error)
	go func() { done <- r.m.Read(context.Background(), make([]int16, 60*audio.SampleRate)) }()
	if err := r.m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Read blocked during Close = %v, want ErrClosed", err)
	}
	if err := r.m.Write(context.Background(), make([]int16, 960)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
}

// qemuUSBSpeaker is QEMU's usb-audio: a real USB speaker, no microphone.
var qemuUSBSpeaker = func() Device {
	d := dev(":2,0", "QEMU USB Audio, USB Audio", true, false)
	d.Card, d.Driver = 2, "USB-Audio"
	return d
}()

// A USB speaker without a microphone is the room's speaker: it plays, the
// microphone reads silence at the speaker's pace (the meeting and the
// level meter go on, reading nothing), and the status tells the staff the
// room cannot be heard.
func TestManagerSpeakerWithoutMicrophone(t *testing.T) {
	r := newManagerRig(t, []Device{qemuUSBSpeaker})
	r.expect(t, "open")
	ctx := context.Background()

	st := r.m.Status()
	if !st.Present || st.Kind != "speakerphone" || st.Name != qemuUSBSpeaker.Name ||
		!strings.Contains(st.Error, `"QEMU USB Audio" has no microphone`) || !strings.Contains(st.Error, "cannot be heard") {
		t.Errorf("status %+v, want QEMU USB Audio present, saying it has no microphone and the room cannot be heard", st)
	}
	if speaker, mic := r.m.current().Devices(); speaker.ID != qemuUSBSpeaker.ID || mic != (Device{}) {
		t.Errorf("devices %v and %v, want the USB speaker and none", speaker, mic)
	}

	tone := audio.NewTestTone()
	frame := make([]int16, audio.SampleRate/50)
	meter := audio.NewLevelMeter()
	for range 10 { // 200 ms in and out
		for i := range frame {
			frame[i] = 1234 // Read must overwrite it all with silence
		}
		if err := r.m.Read(ctx, frame); err != nil {
			t.Fatalf("Read without a microphone: %v", err)
		}
		meter.Write(frame)
		n := tone.Fill(frame)
		if err := r.m.Write(ctx, frame[:n]); err != nil {
			t.Fatalf("Write to the speaker: %v", err)
		}
	}
	if rms, peak := meter.Level(); rms != audio.SilenceDBFS || peak != audio.SilenceDBFS {
		t.Errorf("microphone level %.1f dBFS RMS, %.1f peak; want silence (%v)", rms, peak, audio.SilenceDBFS)
	}
	drain(ctx, r.m.current())
	if st := r.m.Stats(); st.Played < 10*int64(len(frame)) || st.Captured != 0 {
		t.Errorf("stats %+v: want the 200 ms of tone played and nothing captured", st)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.m.Read(cctx, make([]int16, 60*audio.SampleRate)); !errors.Is(err, context.Canceled) {
		t.Errorf("Read of a minute with a cancelled context = %v, want context.Canceled (silence is paced, not made up)", err)
	}

	// Unplugged, the usual message replaces the microphone's.
	r.fake.set(nil, nil)
	r.m.current().st.stop()
	r.expect(t, "gone")
	if st := r.m.Status(); st.Present || st.Error != UnpluggedMessage {
		t.Errorf("status after unplug %+v, want %q", st, UnpluggedMessage)
	}
}
