package alsa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"

	"roomkit/drivers"
	"roomkit/drivers/audio"
)

// RescanInterval is how often a Manager looks for the speakerphone while
// it is gone: two seconds is quick enough for someone replugging a cable.
const RescanInterval = 2 * time.Second

// NotFoundMessage is the Status error while no speakerphone is found.
const NotFoundMessage = "No speakerphone found. Plug in the USB speakerphone."

// Manager is the kit's speakerphone: an audio.Speakerphone that survives
// the device being unplugged and plugged back in. While it is gone Read
// and Write return audio.ErrUnplugged at once (the meeting goes on without
// audio rather than hanging), and every RescanInterval the Manager
// enumerates the devices again and reopens the speakerphone; volume and
// mute carry over. It is safe for concurrent use.
type Manager struct {
	open         func() (*Speakerphone, error)
	after        func(time.Duration) <-chan time.Time // the rescan clock; tests replace it
	closeBackend func() error
	notify       func(event string) // tests learn of "gone" and "open" here
	// cards lists the kernel's sound cards (CardsFile): a speakerphone
	// whose card left the list is gone even if miniaudio never said so.
	cards func() (map[int]Card, error)

	done   chan struct{}
	wg     sync.WaitGroup
	leaked atomic.Bool // a dropped stream's close never finished (Stuck)

	mu      sync.Mutex
	sp      *Speakerphone // nil while gone
	name    string        // the last speakerphone's name, for Status
	lastErr error
	volume  int
	muted   bool
	closed  bool
}

var _ audio.Speakerphone = (*Manager)(nil)

// NewManager opens the speakerphone chosen by opts and keeps it open. Not
// finding one is not an error: the Status says so until one appears. The
// error is for what rescanning cannot fix: miniaudio failing to start.
func NewManager(opts Options) (*Manager, error) {
	be := opts.backend
	var closeBackend func() error
	if be == nil {
		b, err := newMalgoBackend(malgo.BackendAlsa)
		if err != nil {
			return nil, err
		}
		be, closeBackend = b, b.close
	}
	m := newManager(func() (*Speakerphone, error) { return open(be, opts) }, opts.Volume)
	m.closeBackend = closeBackend
	m.start()
	return m, nil
}

func newManager(open func() (*Speakerphone, error), volume int) *Manager {
	if volume == 0 {
		volume = 70
	}
	return &Manager{
		open:   open,
		after:  time.After,
		notify: func(string) {},
		cards:  readCards,
		done:   make(chan struct{}),
		volume: min(max(volume, 0), 100),
	}
}

// start opens the speakerphone once, then watches it from a goroutine.
func (m *Manager) start() {
	m.tryOpen()
	m.wg.Add(1)
	go m.watch()
}

func (m *Manager) watch() {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		sp := m.sp
		m.mu.Unlock()
		if sp != nil {
			select {
			case <-sp.gone:
				m.drop(sp)
			case <-m.after(RescanInterval):
				if why := m.vanished(sp); why != "" {
					slog.Warn("speakerphone vanished without an ALSA error", "name", sp.speaker.Name, "why", why)
					m.drop(sp)
				}
			case <-m.done:
				return
			}
			continue
		}
		select {
		case <-m.after(RescanInterval):
			m.tryOpen()
		case <-m.done:
			return
		}
	}
}

// vanished says why sp is gone although miniaudio did not stop it, or "".
// Unplugging a USB speaker that only plays does not always reach
// miniaudio's stop callback (seen with QEMU's usb-audio under the test
// kernel: playback went on into the void for minutes), so the Manager
// also checks that the card is still there.
func (m *Manager) vanished(sp *Speakerphone) string {
	if sp.speaker.Card < 0 {
		return "" // not a kernel card (the null backend)
	}
	cards, err := m.cards()
	if err != nil {
		return "" // no card list: nothing to go by
	}
	if _, ok := cards[sp.speaker.Card]; !ok {
		return fmt.Sprintf("sound card %d is no longer in %s", sp.speaker.Card, CardsFile)
	}
	return ""
}

// closeTimeout is how long drop waits for an unplugged stream to close
// before it counts it as leaked.
const closeTimeout = 10 * time.Second

// Stuck reports whether an unplugged speakerphone's audio thread did not
// stop (see backend.go): it keeps a CPU busy until the process exits, so
// roomd restarts itself once no meeting is on.
func (m *Manager) Stuck() bool { return m.leaked.Load() }

func readCards() (map[int]Card, error) {
	b, err := os.ReadFile(CardsFile)
	if err != nil {
		return nil, err
	}
	return ParseCards(b)
}

// drop forgets a speakerphone that went away.
func (m *Manager) drop(sp *Speakerphone) {
	slog.Warn("speakerphone unplugged", "name", sp.speaker.Name, "id", sp.speaker.ID)
	m.mu.Lock()
	if m.sp == sp {
		m.sp = nil
		m.lastErr = nil
	}
	m.mu.Unlock()
	m.notify("gone")
	// Closing can take long or never end: miniaudio's uninit waits for its
	// device thread, which a USB speaker pulled out mid-write can leave
	// stuck in ALSA (seen with QEMU's usb-audio). The status and the
	// rescans must not wait for it.
	go func() {
		done := make(chan struct{})
		go func() { sp.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(closeTimeout):
			m.leaked.Store(true)
			slog.Error("the unplugged speakerphone's audio thread does not stop; roomd must restart to free it", "name", sp.speaker.Name)
		}
	}()
}

func (m *Manager) tryOpen() {
	sp, err := m.open()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		if sp != nil {
			sp.Close()
		}
		return
	}
	if err != nil {
		// Say a new problem once, not every two seconds.
		if m.lastErr == nil || m.lastErr.Error() != err.Error() {
			slog.Warn("speakerphone not available", "err", err)
		}
		m.lastErr = err
		m.mu.Unlock()
		m.notify("missing")
		return
	}
	sp.SetVolume(m.volume)
	sp.SetMute(m.muted)
	m.sp, m.name, m.lastErr = sp, sp.speaker.Name, nil
	m.mu.Unlock()
	m.notify("open")
}

func (m *Manager) current() *Speakerphone {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sp
}

// unplugged turns an error of a speakerphone the Manager has just dropped
// into audio.ErrUnplugged, so callers see one error for "gone".
func (m *Manager) unplugged(op string, err error) error {
	if errors.Is(err, ErrClosed) {
		m.mu.Lock()
		closed := m.closed
		m.mu.Unlock()
		if !closed {
			return fmt.Errorf("%s: %w", op, audio.ErrUnplugged)
		}
	}
	return err
}

// Read reads the microphone; while the speakerphone is gone it returns
// audio.ErrUnplugged at once.
func (m *Manager) Read(ctx context.Context, buf []int16) error {
	sp := m.current()
	if sp == nil {
		return m.goneErr("read microphone")
	}
	return m.unplugged("read microphone", sp.Read(ctx, buf))
}

// Write plays samples; while the speakerphone is gone it returns
// audio.ErrUnplugged at once.
func (m *Manager) Write(ctx context.Context, buf []int16) error {
	sp := m.current()
	if sp == nil {
		return m.goneErr("write speaker")
	}
	return m.unplugged("write speaker", sp.Write(ctx, buf))
}

func (m *Manager) goneErr(op string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("%s: %w", op, ErrClosed)
	}
	return fmt.Errorf("%s: %w", op, audio.ErrUnplugged)
}

// SetVolume sets the speaker's software gain, 0–100; it is kept across
// replugging.
func (m *Manager) SetVolume(percent int) {
	m.mu.Lock()
	m.volume = min(max(percent, 0), 100)
	sp := m.sp
	m.mu.Unlock()
	if sp != nil {
		sp.SetVolume(percent)
	}
}

// SetMute mutes the microphone; it is kept across replugging.
func (m *Manager) SetMute(mute bool) {
	m.mu.Lock()
	m.muted = mute
	sp := m.sp
	m.mu.Unlock()
	if sp != nil {
		sp.SetMute(mute)
	}
}

// Info names the speakerphone in use, or the last one seen.
func (m *Manager) Info() audio.Info {
	if sp := m.current(); sp != nil {
		return sp.Info()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return audio.Info{Name: m.name, Channels: 1}
}

// Stats returns the current stream's counters (zero while gone).
func (m *Manager) Stats() Stats {
	if sp := m.current(); sp != nil {
		return sp.Stats()
	}
	return Stats{}
}

// Status says which speakerphone is in use, or in words what is wrong: it
// was unplugged, none was ever found, or it is busy.
func (m *Manager) Status() drivers.Status {
	if sp := m.current(); sp != nil {
		if st := sp.Status(); st.Present {
			return st
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := drivers.Status{Kind: "speakerphone", Name: m.name}
	switch {
	case m.lastErr != nil && !errors.Is(m.lastErr, ErrNoSpeakerphone):
		st.Error = m.lastErr.Error() // busy, no permission: the unplug advice would mislead
	case m.name != "":
		st.Error = UnpluggedMessage
	default:
		st.Name = "Speakerphone"
		st.Error = NotFoundMessage
	}
	return st
}

// Close stops watching and closes the speakerphone.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	m.mu.Unlock()
	m.wg.Wait()
	m.mu.Lock()
	sp := m.sp
	m.sp = nil
	m.mu.Unlock()
	if sp != nil {
		sp.Close()
	}
	if m.closeBackend != nil {
		return m.closeBackend()
	}
	return nil
}
