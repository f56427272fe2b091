package alsa

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// backend is what the driver needs from miniaudio. The real one speaks
// ALSA; tests use the same code on miniaudio's null backend, or a fake.
type backend interface {
	devices() ([]Device, error)
	open(speaker, mic Device, cfg streamConfig, cb callbacks) (stream, error)
	close() error
}

// stream is one started or stopped duplex device.
type stream interface {
	start() error
	stop() error
	close()
}

type streamConfig struct {
	periodFrames uint32
	periods      uint32
}

// callbacks run on miniaudio's real-time thread.
type callbacks struct {
	data    func(out, in []byte, frames uint32)
	stopped func() // the device stopped, whether we asked or not
}

// backendNull is miniaudio's null backend: malgo v0.11.24's BackendNull
// names the custom backend, one before it.
const backendNull = malgo.BackendNull + 1

// malgoBackend is a miniaudio context on one backend.
type malgoBackend struct {
	ctx      *malgo.AllocatedContext
	alsa     bool
	readFile func(string) ([]byte, error)
}

func newMalgoBackend(kind malgo.Backend) (*malgoBackend, error) {
	// Not real-time: when a USB speaker is pulled out mid-stream,
	// miniaudio's ALSA loop (ma_device_wait__alsa) keeps polling the
	// disconnected PCM, which answers POLLERR at once, forever; its thread
	// spins and ma_device_uninit never returns. At SCHED_FIFO that spin
	// left the rest of the kit 5 % of a CPU (seen in the QEMU kit test);
	// at normal priority it costs one core until roomd restarts. With 10 ms
	// periods and three of them buffered, normal scheduling keeps up.
	ctx, err := malgo.InitContext([]malgo.Backend{kind}, malgo.ContextConfig{ThreadPriority: malgo.ThreadPriorityNormal}, nil)
	if err != nil {
		return nil, fmt.Errorf("start miniaudio (%s): %w", backendName(kind), err)
	}
	return &malgoBackend{ctx: ctx, alsa: kind == malgo.BackendAlsa, readFile: os.ReadFile}, nil
}

func backendName(kind malgo.Backend) string {
	switch kind {
	case malgo.BackendAlsa:
		return "ALSA"
	case backendNull:
		return "null backend"
	}
	return fmt.Sprintf("backend %d", kind)
}

func (b *malgoBackend) devices() ([]Device, error) {
	play, err := b.ctx.Devices(malgo.Playback)
	if err != nil {
		return nil, fmt.Errorf("list speakers: %w", err)
	}
	capt, err := b.ctx.Devices(malgo.Capture)
	if err != nil {
		return nil, fmt.Errorf("list microphones: %w", err)
	}
	cards := map[int]Card{}
	if b.alsa {
		// Without the card list USB devices are still found by name; a
		// kernel without /proc/asound has no sound cards anyway.
		if raw, err := b.readFile(CardsFile); err == nil {
			if c, err := ParseCards(raw); err == nil {
				cards = c
			}
		}
	}
	return merge(b.convert(play), b.convert(capt), cards), nil
}

func (b *malgoBackend) convert(infos []malgo.DeviceInfo) []Device {
	out := make([]Device, 0, len(infos))
	for _, info := range infos {
		d := Device{Name: info.Name(), raw: info.ID}
		if b.alsa {
			d.ID = cString(info.ID[:])
		} else {
			d.ID = info.ID.String()
		}
		out = append(out, d)
	}
	return out
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func (b *malgoBackend) close() error {
	err := b.ctx.Uninit()
	b.ctx.Free()
	return err
}

func (b *malgoBackend) open(speaker, mic Device, cfg streamConfig, cb callbacks) (stream, error) {
	s := &malgoStream{ids: new([2]malgo.DeviceID)}
	s.ids[0], s.ids[1] = speaker.raw, mic.raw
	// miniaudio keeps the device IDs' addresses; they stay pinned for the
	// device's life so Go memory may sit in its C config.
	s.pin.Pin(s.ids)
	// A speaker without a microphone (Choose's zero mic) opens playback
	// only: a duplex device would need some capture device, and the
	// default one may be a loopback or nothing at all.
	kind := malgo.Duplex
	if mic.ID == "" {
		kind = malgo.Playback
	}
	dc := malgo.DefaultDeviceConfig(kind)
	dc.SampleRate = 48000
	dc.PeriodSizeInFrames = cfg.periodFrames
	dc.Periods = cfg.periods
	dc.PerformanceProfile = malgo.LowLatency
	dc.Playback.Format, dc.Playback.Channels = malgo.FormatS16, 1
	dc.Playback.DeviceID = pointer(&s.ids[0])
	if kind == malgo.Duplex {
		dc.Capture.Format, dc.Capture.Channels = malgo.FormatS16, 1
		dc.Capture.DeviceID = pointer(&s.ids[1])
	}
	dev, err := malgo.InitDevice(b.ctx.Context, dc, malgo.DeviceCallbacks{Data: cb.data, Stop: cb.stopped})
	if err != nil {
		s.pin.Unpin()
		return nil, err
	}
	s.dev = dev
	return s, nil
}

func pointer(id *malgo.DeviceID) unsafe.Pointer { return unsafe.Pointer(id) }

type malgoStream struct {
	dev *malgo.Device
	ids *[2]malgo.DeviceID
	pin runtime.Pinner

	// mu makes start, stop and close take turns: miniaudio's uninit must
	// not run while a stop is under way on another thread (the two then
	// wait for each other for ever). A stop's own stop callback closes
	// the stream from another goroutine, which waits here for the stop.
	mu     sync.Mutex
	closed bool
}

func (s *malgoStream) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStreamClosed
	}
	return s.dev.Start()
}

func (s *malgoStream) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStreamClosed
	}
	return s.dev.Stop()
}

func (s *malgoStream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.dev.Uninit()
	s.pin.Unpin()
}

var errStreamClosed = errors.New("the audio stream is closed")

// openError turns miniaudio's result into words for the room's staff.
func openError(speaker, mic Device, err error) error {
	var r malgo.Result
	if !errors.As(err, &r) {
		return fmt.Errorf("open speakerphone %s: %w", speaker.Name, err)
	}
	switch r {
	case malgo.ErrBusy, malgo.ErrAlreadyInUse:
		return fmt.Errorf("the speakerphone %q is in use by another program (ALSA device %s busy): %w", speaker.Name, speaker.ID, err)
	case malgo.ErrDoesNotExist, malgo.ErrNoDevice:
		return fmt.Errorf("%w: %q disappeared while opening it: %v", ErrNoSpeakerphone, speaker.Name, err)
	case malgo.ErrAccessDenied:
		return fmt.Errorf("no permission to open the speakerphone %q (ALSA device %s): %w", speaker.Name, speaker.ID, err)
	case malgo.ErrFormatNotSupported, malgo.ErrInvalidDeviceConfig:
		return fmt.Errorf("the speakerphone %q cannot do 48 kHz 16-bit mono in and out: %w", speaker.Name, err)
	}
	if mic.ID != "" && mic.ID != speaker.ID {
		return fmt.Errorf("open speaker %q and microphone %q: %w", speaker.Name, mic.Name, err)
	}
	return fmt.Errorf("open speakerphone %q (ALSA device %s): %w", speaker.Name, speaker.ID, err)
}
