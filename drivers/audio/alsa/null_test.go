package alsa

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/gen2brain/malgo"

	"roomkit/drivers/audio"
	"roomkit/drivers/audio/audiotest"
)

// nullBackend is miniaudio with its null backend: the real device thread
// and callbacks, paced by a timer, with no sound card.
func nullBackend(t testing.TB) *malgoBackend {
	t.Helper()
	b, err := newMalgoBackend(backendNull)
	if err != nil {
		t.Fatalf("miniaudio null backend: %v", err)
	}
	t.Cleanup(func() { b.close() })
	return b
}

func openNull(t testing.TB) *Speakerphone {
	t.Helper()
	s, err := Open(Options{Device: "NULL", backend: nullBackend(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestNullBackendConformance(t *testing.T) {
	audiotest.Conformance(t, func(t *testing.T) audio.Speakerphone { return openNull(t) })
}

func TestNullBackendStream(t *testing.T) {
	s := openNull(t)
	ctx := context.Background()
	if speaker, mic := s.Devices(); !strings.Contains(speaker.Name, "NULL") || !mic.Capture {
		t.Errorf("devices %v and %v, want the null backend's", speaker, mic)
	}
	tone := audio.NewTestTone()
	frame := make([]int16, audio.SampleRate/50)
	for range 25 { // half a second, in and out
		if err := s.Read(ctx, frame); err != nil {
			t.Fatal(err)
		}
		n := tone.Fill(frame)
		if err := s.Write(ctx, frame[:n]); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Captured < 25*int64(len(frame)) || st.Played == 0 {
		t.Errorf("stats %+v: want half a second captured and some played", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Read(ctx, frame); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
	if err := s.Write(ctx, frame); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
}

// Unplugging mid-stream: miniaudio stops the device by itself and calls
// the stop callback, as its ALSA backend does when the USB device is gone.
func TestNullBackendUnplugMidStream(t *testing.T) {
	s := openNull(t)
	ctx := context.Background()
	frame := make([]int16, 960)
	if err := s.Read(ctx, frame); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var readErr error
	go func() {
		defer wg.Done()
		for readErr == nil {
			readErr = s.Read(ctx, frame)
		}
	}()
	if err := s.st.stop(); err != nil { // behind the driver's back
		t.Fatal(err)
	}
	wg.Wait()
	if !errors.Is(readErr, audio.ErrUnplugged) {
		t.Errorf("Read during unplug = %v, want audio.ErrUnplugged", readErr)
	}
	if err := s.Write(ctx, frame); !errors.Is(err, audio.ErrUnplugged) {
		t.Errorf("Write after unplug = %v, want audio.ErrUnplugged", err)
	}
	if st := s.Status(); st.Present || st.Error != UnpluggedMessage {
		t.Errorf("status %+v, want %q", st, UnpluggedMessage)
	}
}

// fakeBackend lists devices and fails to open as told.
type fakeBackend struct {
	mu      sync.Mutex
	devs    []Device
	openErr error
	real    backend // opens for real (the null backend) when set
}

func (f *fakeBackend) devices() ([]Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Device(nil), f.devs...), nil
}

func (f *fakeBackend) open(speaker, mic Device, cfg streamConfig, cb callbacks) (stream, error) {
	f.mu.Lock()
	err, real := f.openErr, f.real
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if real == nil {
		return nil, errors.New("fake backend cannot stream")
	}
	devs, err := real.devices()
	if err != nil {
		return nil, err
	}
	sp, mc, err := Choose(devs, "NULL", "")
	if err != nil {
		return nil, err
	}
	if mic.ID == "" {
		mc = Device{} // a speaker without a microphone: playback only
	}
	return real.open(sp, mc, cfg, cb)
}

func (f *fakeBackend) close() error { return nil }

func (f *fakeBackend) set(devs []Device, openErr error) {
	f.mu.Lock()
	f.devs, f.openErr = devs, openErr
	f.mu.Unlock()
}

func TestOpenErrors(t *testing.T) {
	jabra := dev(":1,0", "Jabra SPEAK 510 USB, USB Audio", true, true)
	jabra.Card = 1
	tests := []struct {
		name    string
		devs    []Device
		openErr error
		want    string
		is      error
	}{
		{"busy", []Device{jabra}, malgo.ErrBusy,
			`the speakerphone "Jabra SPEAK 510 USB, USB Audio" is in use by another program (ALSA device :1,0 busy)`, malgo.ErrBusy},
		{"no permission", []Device{jabra}, malgo.ErrAccessDenied,
			`no permission to open the speakerphone "Jabra SPEAK 510 USB, USB Audio"`, malgo.ErrAccessDenied},
		{"gone while opening", []Device{jabra}, malgo.ErrNoDevice, "disappeared while opening it", ErrNoSpeakerphone},
		{"missing", nil, nil, "no speakerphone found: no speaker (no sound devices at all)", ErrNoSpeakerphone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(Options{backend: &fakeBackend{devs: tt.devs, openErr: tt.openErr}})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.is) {
				t.Errorf("Open = %v\nwant an error saying %q that is %v", err, tt.want, tt.is)
			}
		})
	}
	if _, err := Open(Options{Period: 20e6, backend: &fakeBackend{}}); err == nil || !strings.Contains(err.Error(), "want 1 ms to 10 ms") {
		t.Errorf("Open with a 20 ms period = %v, want a refusal", err)
	}
}
