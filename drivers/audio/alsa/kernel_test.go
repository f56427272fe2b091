package alsa

// Tests against real ALSA drivers, inside the QEMU test kernel
// (images/kernel/testdevices/smoke.sh): snd-dummy, snd-aloop (what is
// played on Loopback device 0 is captured on device 1) and snd-usb-audio
// driving QEMU's usb-audio, a USB speaker without a microphone.

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gen2brain/malgo"

	"roomkit/drivers/audio"
	"roomkit/drivers/kerneltest"
)

// kernelDevices enumerates through miniaudio's ALSA backend, as Open does.
func kernelDevices(t *testing.T) (*malgoBackend, []Device) {
	t.Helper()
	b, err := newMalgoBackend(malgo.BackendAlsa)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.close() })
	devs, err := b.devices()
	if err != nil {
		t.Fatal(err)
	}
	return b, devs
}

// find returns the device of the card with the given driver whose ID ends
// in ",dev".
func find(t *testing.T, devs []Device, driver string, dev string) Device {
	t.Helper()
	for _, d := range devs {
		if d.Driver == driver && strings.HasSuffix(d.ID, ","+dev) {
			return d
		}
	}
	t.Fatalf("no %s device %s among %v", driver, dev, devs)
	return Device{}
}

func TestKernelChoose(t *testing.T) {
	kerneltest.Require(t)
	cards, err := os.ReadFile(CardsFile)
	if err != nil {
		t.Fatal(err)
	}
	kerneltest.Record(t, "cards-qemu.txt", cards)
	_, devs := kernelDevices(t)
	js, _ := json.MarshalIndent(devs, "", "  ")
	kerneltest.Record(t, "devices-qemu.json", append(js, '\n'))
	for _, d := range devs {
		t.Logf("device %s card %d driver %q", d, d.Card, d.Driver)
	}

	// QEMU's usb-audio is a speaker only: with nothing asked for it is
	// still the room's speaker, alone, never with Dummy's or Loopback's
	// microphone.
	speaker, mic, err := Choose(devs, "", "")
	if err != nil {
		t.Fatalf("Choose with QEMU's speaker-only USB audio: %v", err)
	}
	if speaker.Driver != "USB-Audio" || !strings.Contains(speaker.Name, "QEMU USB Audio") || mic != (Device{}) {
		t.Errorf("chose speaker %v (%s) and microphone %v, want QEMU USB Audio and no microphone", speaker, speaker.Driver, mic)
	}
	// A microphone asked for that is not there is an error, not ignored.
	if _, _, err := Choose(devs, "", "Jabra"); !errors.Is(err, ErrNoSpeakerphone) || !strings.Contains(err.Error(), `no microphone matches "Jabra"`) {
		t.Errorf("Choose with a missing microphone asked for: %v, want ErrNoSpeakerphone saying so", err)
	}
	// With a microphone named, the speaker is still picked by itself: the
	// USB card, over Dummy and Loopback.
	speaker, mic, err = Choose(devs, "", "Loopback")
	if err != nil {
		t.Fatal(err)
	}
	if speaker.Driver != "USB-Audio" || !strings.Contains(speaker.Name, "QEMU USB Audio") || mic.Driver != "Loopback" {
		t.Errorf("chose speaker %v (%s) and microphone %v (%s), want QEMU USB Audio and Loopback", speaker, speaker.Driver, mic, mic.Driver)
	}
}

// TestKernelUSBSpeaker plays the test tone on QEMU's USB audio device
// through the whole driver, chosen by itself: a speaker without a
// microphone, opened playback only, whose microphone reads silence.
func TestKernelUSBSpeaker(t *testing.T) {
	kerneltest.Require(t)
	s, err := Open(Options{Volume: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if speaker, mic := s.Devices(); speaker.Driver != "USB-Audio" || mic != (Device{}) {
		t.Fatalf("opened %v and %v, want QEMU USB Audio and no microphone", speaker, mic)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	frame := make([]int16, audio.SampleRate/50)
	for range 5 {
		frame[0] = 1
		if err := s.Read(ctx, frame); err != nil || frame[0] != 0 {
			t.Fatalf("Read without a microphone: %v, first sample %d; want silence", err, frame[0])
		}
	}
	if err := audio.PlayTone(ctx, s, audio.NewTone(1000, -12, 500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	drain(ctx, s)
	st := s.Stats()
	if st.Played < audio.SampleRate/2 || st.Captured != 0 || st.Overflows != 0 {
		t.Errorf("the USB speaker played %d samples, captured %d and lost %d; want the half second of tone and nothing else (no microphone, no loss)",
			st.Played, st.Captured, st.Overflows)
	}
	if st := s.Status(); !st.Present || !strings.Contains(st.Error, `"QEMU USB Audio" has no microphone`) {
		t.Errorf("status %+v, want present, saying QEMU USB Audio has no microphone", st)
	}
	t.Logf("USB speaker stats %+v", st)
}

// drain waits until the speaker queue has been played.
func drain(ctx context.Context, s *Speakerphone) {
	for s.spkQ.len() > 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKernelLoopbackTone plays the test tone on Loopback device 0 and
// listens on device 1: the frequency and level must come back, and the
// round trip through the driver's queues and ALSA is measured.
func TestKernelLoopbackTone(t *testing.T) {
	kerneltest.Require(t)
	_, devs := kernelDevices(t)
	play, capt := find(t, devs, "Loopback", "0"), find(t, devs, "Loopback", "1")
	s, err := Open(Options{Device: play.ID, Microphone: capt.ID, Volume: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	frame := make([]int16, audio.SampleRate/100) // 10 ms
	for range 20 {                               // let both sides settle, and hear silence
		if err := s.Read(ctx, frame); err != nil {
			t.Fatal(err)
		}
	}
	const hz, dbfs = 1000, -12
	tone := audio.NewTone(hz, dbfs, time.Second)
	played := make(chan error, 1)
	t0 := time.Now()
	go func() { played <- audio.PlayTone(ctx, s, tone) }()

	var (
		got     []int16
		latency time.Duration
	)
	for len(got) < audio.SampleRate*3/2 {
		if err := s.Read(ctx, frame); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if latency == 0 {
			for i, v := range frame {
				if v > 1000 || v < -1000 {
					// The tone's fade-in reaches 1000 after 0.4 ms.
					latency = now.Sub(t0) - time.Duration(len(frame)-i)*time.Second/audio.SampleRate
					got = append(got, frame[i:]...)
					break
				}
			}
			continue
		}
		got = append(got, frame...)
	}
	if err := <-played; err != nil {
		t.Fatal(err)
	}
	if latency == 0 {
		t.Fatal("the tone played on Loopback,0 never arrived on Loopback,1")
	}
	steady := got[audio.SampleRate/10 : audio.SampleRate*8/10] // inside the tone, past the fades
	crossings := 0
	for i := 1; i < len(steady); i++ {
		if (steady[i-1] < 0) != (steady[i] < 0) {
			crossings++
		}
	}
	measured := float64(crossings) / 2 / (float64(len(steady)) / audio.SampleRate)
	m := audio.NewLevelMeter()
	m.Write(steady)
	rms, peak := m.Level()
	if math.Abs(measured-hz) > 0.02*hz {
		t.Errorf("captured %.1f Hz, want %d Hz", measured, hz)
	}
	if math.Abs(peak-dbfs) > 1 || math.Abs(rms-(dbfs-3.01)) > 1 {
		t.Errorf("captured peak %.1f dBFS, RMS %.1f dBFS; want %d and %.1f", peak, rms, dbfs, dbfs-3.01)
	}
	st := s.Stats()
	t.Logf("MEASURED aloop round trip (speaker queue, Loopback,0 -> Loopback,1, microphone queue): %v; tone %.1f Hz at %.1f dBFS peak; stats %+v",
		latency.Round(100*time.Microsecond), measured, peak, st)
}

// TestKernelBusy holds QEMU's USB speaker the way another program would
// (exclusively, on hw:) and opens the speakerphone on it.
func TestKernelBusy(t *testing.T) {
	kerneltest.Require(t)
	b, devs := kernelDevices(t)
	usb := find(t, devs, "USB-Audio", "0")
	id := usb.raw
	dc := malgo.DefaultDeviceConfig(malgo.Playback)
	dc.SampleRate = 48000
	dc.Playback.Format, dc.Playback.Channels = malgo.FormatS16, 2
	dc.Playback.ShareMode = malgo.Exclusive
	dc.Playback.DeviceID = id.Pointer()
	holder, err := malgo.InitDevice(b.ctx.Context, dc, malgo.DeviceCallbacks{Data: func(out, in []byte, n uint32) { clear(out) }})
	if err != nil {
		t.Fatalf("hold %s: %v", usb.ID, err)
	}
	released := false
	release := func() {
		if !released {
			holder.Uninit()
			released = true
		}
	}
	defer release()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}

	type result struct {
		s   *Speakerphone
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Open(Options{Microphone: "Loopback"})
		done <- result{s, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(15 * time.Second):
		release()
		r = <-done
		if r.s != nil {
			r.s.Close()
		}
		t.Fatalf("Open of a busy speaker did not return until the other program let go (then: %v)", r.err)
	}
	if r.err == nil {
		r.s.Close()
		t.Fatal("Open of a busy speaker worked, want an error")
	}
	t.Logf("Open while busy: %v", r.err)
	if !strings.Contains(r.err.Error(), "in use by another program") || !strings.Contains(r.err.Error(), "QEMU USB Audio") {
		t.Errorf("Open while busy: %v; want it to name the speaker and say it is in use", r.err)
	}
}
