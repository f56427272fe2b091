package alsa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"

	"roomkit/drivers"
	"roomkit/drivers/audio"
)

// Options configure Open. The zero value picks the speakerphone by itself.
type Options struct {
	// Device picks the speaker (and, unless Microphone is set, the
	// microphone) by ALSA ID (":1,0") or by part of its name ("Jabra");
	// empty chooses automatically (see Choose).
	Device string
	// Microphone picks the microphone separately, the same way.
	Microphone string
	// Period is the ALSA period: how often miniaudio calls back. At most
	// 10 ms; the default is 10 ms (480 frames at 48 kHz).
	Period time.Duration
	// Volume is the speaker's software gain at the start, 0–100;
	// the default is 70.
	Volume int

	backend backend // nil: ALSA
}

// Sizes of the two queues. The speaker queue is short because whatever it
// holds is heard that much later; the microphone queue only needs to ride
// out a reader that is late by a few frames.
const (
	defaultPeriod = 10 * time.Millisecond
	speakerQueue  = 60 * time.Millisecond
	micQueue      = 200 * time.Millisecond
	// periods is how many periods ALSA's buffer holds: three rides out a
	// late wakeup without adding much delay.
	periods = 3
	// readActive: microphone samples dropped while nobody has read for
	// longer than this are not counted as overflows (the kit is simply
	// not in a meeting).
	readActive = time.Second
)

// Stats count what went wrong in the stream since Open; /metrics shows them.
type Stats struct {
	Captured  int64 // microphone samples the device delivered
	Played    int64 // speaker samples the device played (silence included)
	Underruns int64 // times the speaker ran dry while playing and got silence
	Overflows int64 // microphone samples dropped because nobody read them in time
	Xruns     int64 // callbacks that came later than two periods: audio was lost in ALSA
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("speakerphone closed")

// Speakerphone is one open duplex stream on the chosen ALSA devices. It
// implements audio.Speakerphone and is safe for concurrent use by one
// reader and one writer.
type Speakerphone struct {
	speaker, mic Device
	be           backend
	ownBackend   bool
	st           stream
	period       int // samples per period

	micQ, spkQ *ring
	micReady   chan struct{} // a period arrived
	spkRoom    chan struct{} // a period was played
	gone       chan struct{} // closed when the device stopped by itself
	closed     chan struct{} // closed by Close

	goneOnce, closeOnce sync.Once
	closing             atomic.Bool // we stop the device: not an unplug

	gain  atomic.Int32 // 0–100
	muted atomic.Bool

	// now is a monotonic clock for the callback; tests replace it.
	now   func() time.Duration
	epoch time.Time

	lastCallback atomic.Int64 // now() of the previous callback
	lastMic      atomic.Int64 // now() when microphone samples last arrived
	lastRead     atomic.Int64 // now() when Read last ran
	playing      atomic.Bool  // the speaker had samples in the previous callback

	captured, played, underruns, overflows, xruns atomic.Int64
}

var _ audio.Speakerphone = (*Speakerphone)(nil)

// Open finds the speakerphone, opens it full duplex at 48 kHz mono and
// starts it. The error says what was found when nothing fits
// (ErrNoSpeakerphone) and names the device when it is busy.
func Open(opts Options) (*Speakerphone, error) {
	be, own := opts.backend, false
	if be == nil {
		b, err := newMalgoBackend(malgo.BackendAlsa)
		if err != nil {
			return nil, err
		}
		be, own = b, true
	}
	s, err := open(be, opts)
	if err != nil {
		if own {
			be.close()
		}
		return nil, err
	}
	s.ownBackend = own
	return s, nil
}

func open(be backend, opts Options) (*Speakerphone, error) {
	period := opts.Period
	if period == 0 {
		period = defaultPeriod
	}
	if period < time.Millisecond || period > defaultPeriod {
		return nil, fmt.Errorf("audio period %v: want 1 ms to 10 ms", period)
	}
	volume := 70
	if opts.Volume != 0 {
		volume = min(max(opts.Volume, 0), 100)
	}
	devs, err := be.devices()
	if err != nil {
		return nil, fmt.Errorf("find speakerphone: %w", err)
	}
	speaker, mic, err := Choose(devs, opts.Device, opts.Microphone)
	if err != nil {
		return nil, err
	}
	s := newSpeakerphone(speaker, mic, samples(period))
	s.be = be
	s.gain.Store(int32(volume))
	st, err := be.open(speaker, mic, streamConfig{periodFrames: uint32(s.period), periods: periods},
		callbacks{data: s.process, stopped: s.stopped})
	if err != nil {
		return nil, openError(speaker, mic, err)
	}
	s.st = st
	if err := st.start(); err != nil {
		s.closing.Store(true)
		st.close()
		return nil, openError(speaker, mic, err)
	}
	if mic.ID == "" {
		slog.Warn("speaker without a microphone: the room cannot be heard", "speaker", speaker.String(), "period", period)
	} else {
		slog.Info("speakerphone", "speaker", speaker.String(), "microphone", mic.String(), "period", period)
	}
	return s, nil
}

func samples(d time.Duration) int { return int(d * audio.SampleRate / time.Second) }

func newSpeakerphone(speaker, mic Device, period int) *Speakerphone {
	s := &Speakerphone{
		speaker:  speaker,
		mic:      mic,
		period:   period,
		micQ:     newRing(samples(micQueue)),
		spkQ:     newRing(samples(speakerQueue)),
		micReady: make(chan struct{}, 1),
		spkRoom:  make(chan struct{}, 1),
		gone:     make(chan struct{}),
		closed:   make(chan struct{}),
		epoch:    time.Now(),
	}
	s.now = func() time.Duration { return time.Since(s.epoch) }
	s.gain.Store(70)
	return s
}

// process is miniaudio's data callback, on its real-time thread: no
// allocation, no blocking beyond the rings' short copies.
func (s *Speakerphone) process(out, in []byte, frames uint32) {
	t := s.now()
	if prev := s.lastCallback.Swap(int64(t)); prev != 0 {
		// A callback more than two periods late means ALSA ran over or
		// under and miniaudio restarted the stream: audio was lost there.
		if gap := time.Duration(int64(t)-prev) * audio.SampleRate / time.Second; int(gap) > 2*s.period+int(frames) {
			s.xruns.Add(1)
		}
	}
	var mic []int16
	silent := s.muted.Load()
	switch {
	case len(in) >= 2:
		mic = asSamples(in)
		s.captured.Add(int64(len(mic)))
	case s.mic.ID == "" && len(out) >= 2:
		// No microphone: the speaker's clock paces silence into the
		// microphone queue, so Read blocks as long as it would on a real
		// one and the meeting and the level meter read silence rather
		// than spin or fail. push reads only out's length here.
		mic, silent = asSamples(out), true
	}
	if mic != nil {
		dropped := s.micQ.push(mic, silent)
		// Dropped silence from no microphone is no loss worth counting.
		if last := s.lastRead.Load(); dropped > 0 && last != 0 && int64(t)-last < int64(readActive) && s.mic.ID != "" {
			s.overflows.Add(int64(dropped))
		}
		s.lastMic.Store(int64(t))
		signal(s.micReady)
	}
	if len(out) >= 2 {
		spk := asSamples(out)
		n := s.spkQ.pop(spk)
		gain := s.gain.Load()
		for i := range spk[:n] {
			spk[i] = int16(int32(spk[i]) * gain / 100)
		}
		clear(spk[n:])
		if n < len(spk) && s.playing.Load() {
			s.underruns.Add(1)
		}
		s.playing.Store(n == len(spk))
		s.played.Add(int64(len(spk)))
		if n > 0 {
			signal(s.spkRoom)
		}
	}
}

// asSamples views miniaudio's buffer of native-endian s16 as samples.
func asSamples(b []byte) []int16 {
	return unsafe.Slice((*int16)(unsafe.Pointer(&b[0])), len(b)/2)
}

// signal wakes a waiter, if any, without ever blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// stopped is miniaudio's stop callback. A stop we did not ask for is the
// device going away: USB unplugged, or an ALSA error miniaudio could not
// recover from.
func (s *Speakerphone) stopped() {
	if s.closing.Load() {
		return
	}
	s.goneOnce.Do(func() { close(s.gone) })
}

func (s *Speakerphone) errGone(op string) error {
	select {
	case <-s.closed:
		return fmt.Errorf("%s: %w", op, ErrClosed)
	default:
	}
	return fmt.Errorf("%s %s: %w", op, s.speaker.Name, audio.ErrUnplugged)
}

// Read blocks until len(buf) microphone samples were captured or ctx ends;
// without a microphone it delivers silence at the speaker's pace. Samples
// older than the current frame plus two periods are dropped first (and
// counted): after a stall the caller gets fresh audio, not a backlog.
func (s *Speakerphone) Read(ctx context.Context, buf []int16) error {
	now := s.now()
	prev := time.Duration(s.lastRead.Swap(int64(now)))
	if keep := len(buf) + 2*s.period; keep < s.micQ.size() {
		// A backlog after a recent Read is a stall worth counting; before
		// the first Read in a while it is just the idle time before a
		// meeting.
		if n := s.micQ.trim(keep); n > 0 && prev != 0 && now-prev < readActive && s.mic.ID != "" {
			s.overflows.Add(int64(n))
		}
	}
	got := 0
	for {
		got += s.micQ.pop(buf[got:])
		if got == len(buf) {
			s.lastRead.Store(int64(s.now()))
			return nil
		}
		select {
		case <-s.micReady:
		case <-s.gone:
			return s.errGone("read microphone")
		case <-s.closed:
			return s.errGone("read microphone")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Write queues buf for the speaker, blocking while the queue is full (it
// holds 60 ms). Gain is applied as the samples are played.
func (s *Speakerphone) Write(ctx context.Context, buf []int16) error {
	for len(buf) > 0 {
		select {
		case <-s.gone:
			return s.errGone("write speaker")
		case <-s.closed:
			return s.errGone("write speaker")
		default:
		}
		buf = buf[s.spkQ.pushSome(buf):]
		if len(buf) == 0 {
			return nil
		}
		select {
		case <-s.spkRoom:
		case <-s.gone:
			return s.errGone("write speaker")
		case <-s.closed:
			return s.errGone("write speaker")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return ctx.Err()
}

// SetVolume sets the speaker's software gain, 0–100 (linear, like the
// synthetic speakerphone).
func (s *Speakerphone) SetVolume(percent int) { s.gain.Store(int32(min(max(percent, 0), 100))) }

// Volume returns the speaker's gain, 0–100.
func (s *Speakerphone) Volume() int { return int(s.gain.Load()) }

// SetMute mutes the microphone: Read delivers silence, so nothing the room
// says leaves the kit, whatever the meeting code does.
func (s *Speakerphone) SetMute(mute bool) { s.muted.Store(mute) }

// Muted reports whether the microphone is muted.
func (s *Speakerphone) Muted() bool { return s.muted.Load() }

// Info names the speaker in use.
func (s *Speakerphone) Info() audio.Info {
	return audio.Info{Name: s.speaker.Name, ID: s.speaker.ID, Channels: 1}
}

// Devices returns the speaker and the microphone in use; mic is the zero
// Device when the speaker has no microphone (see Choose).
func (s *Speakerphone) Devices() (speaker, mic Device) { return s.speaker, s.mic }

// Stats returns the stream's counters.
func (s *Speakerphone) Stats() Stats {
	return Stats{
		Captured:  s.captured.Load(),
		Played:    s.played.Load(),
		Underruns: s.underruns.Load(),
		Overflows: s.overflows.Load(),
		Xruns:     s.xruns.Load(),
	}
}

// Unplugged reports whether the device went away.
func (s *Speakerphone) Unplugged() bool {
	select {
	case <-s.gone:
		return true
	default:
		return false
	}
}

// Status reports the device, that it is gone once unplugged, and that the
// room cannot be heard when the speaker has no microphone: the speaker
// works, so the device is present, with the problem in words.
func (s *Speakerphone) Status() drivers.Status {
	st := drivers.Status{Kind: "speakerphone", Name: s.speaker.Name, Present: !s.Unplugged()}
	switch {
	case !st.Present:
		st.Error = UnpluggedMessage
	case s.mic.ID == "":
		st.Error = noMicMessage(s.speaker)
	}
	return st
}

// noMicMessage is the Status error of a speaker without a microphone. It
// names the device by its card ("QEMU USB Audio", not "QEMU USB Audio,
// USB Audio"), as it is written on it.
func noMicMessage(speaker Device) string {
	name, _, _ := strings.Cut(speaker.Name, ", ")
	return fmt.Sprintf("The speakerphone %q has no microphone: the room can hear the meeting but cannot be heard. Plug in a speakerphone with a microphone.", name)
}

// UnpluggedMessage is the Status error while the speakerphone is gone.
const UnpluggedMessage = "The speakerphone is unplugged. Check its USB cable."

// Close stops the stream and wakes a blocked Read or Write with ErrClosed.
func (s *Speakerphone) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		close(s.closed)
		if s.st != nil {
			s.st.close()
		}
		if s.ownBackend {
			if err := s.be.close(); err != nil {
				slog.Warn("close miniaudio", "err", err)
			}
		}
	})
	return nil
}

// latency is how long ago the newest microphone samples arrived: measured
// right after Read returns, it is the callback-to-reader delay.
func (s *Speakerphone) latency() time.Duration {
	return s.now() - time.Duration(s.lastMic.Load())
}
