package v4l2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"roomkit/drivers"
	"roomkit/drivers/camera"
)

// RescanInterval is how often a Manager without a camera looks for one.
// Polling is simpler than netlink uevents (which need a socket per kit and
// give nothing polling misses) and two seconds is quick enough for someone
// plugging a camera back in.
const RescanInterval = 2 * time.Second

// Manager keeps a camera available across unplug and replug. While no
// camera streams, Next returns an error wrapping camera.ErrUnplugged at
// once (callers wait and retry) and Status says why; every RescanInterval
// it tries to open one again. After a replug the camera may be another
// model: callers check Info again after ErrUnplugged.
type Manager struct {
	opts Options
	open func() (*Camera, error)
	done chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	cur     *Camera
	last    camera.Info // of the most recent camera, for Info while gone
	found   bool        // a camera streamed at some point
	lastErr string      // why the last attempt to open one failed
	closed  bool
}

// NewManager opens the best camera now if there is one and keeps looking
// every RescanInterval while there is none. Finding none is not an error:
// Status says so until one appears.
func NewManager(opts Options) *Manager {
	t := time.NewTicker(RescanInterval)
	m := newManager(opts, func() (*Camera, error) { return Open(opts) }, t.C)
	m.wg.Add(1)
	go func() { defer m.wg.Done(); <-m.done; t.Stop() }()
	return m
}

// newManager takes the opener and the rescan ticks, so tests drive both.
func newManager(opts Options, open func() (*Camera, error), tick <-chan time.Time) *Manager {
	m := &Manager{opts: opts, open: open, done: make(chan struct{})}
	m.rescan()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			select {
			case <-tick:
				m.rescan()
			case <-m.done:
				return
			}
		}
	}()
	return m
}

// rescan opens a camera if there is none.
func (m *Manager) rescan() {
	m.mu.Lock()
	if m.cur != nil || m.closed {
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	c, err := m.open() // outside the lock: opening takes a while
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		msg := err.Error()
		if errors.Is(err, ErrNoCamera) {
			msg = "" // nothing plugged in: Status has its own words for that
		}
		if msg != m.lastErr {
			slog.Info("no camera", "err", err)
			m.lastErr = msg
		}
		return
	}
	if m.closed || m.cur != nil {
		c.Close()
		return
	}
	if m.found {
		slog.Info("camera back", "camera", describeInfo(c.Info()))
	}
	m.cur, m.last, m.found, m.lastErr = c, c.Info(), true, ""
}

// current returns the streaming camera, or nil.
func (m *Manager) current() *Camera {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

// Info describes the streaming camera, or the last one while it is gone.
func (m *Manager) Info() camera.Info {
	if c := m.current(); c != nil {
		return c.Info()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// Next returns the next frame of the current camera. When the camera goes
// away it is closed and Next returns an error wrapping camera.ErrUnplugged,
// as it does at once until a camera is back.
func (m *Manager) Next(ctx context.Context) (camera.Frame, error) {
	c := m.current()
	if c == nil {
		return camera.Frame{}, fmt.Errorf("camera: %w", camera.ErrUnplugged)
	}
	f, err := c.Next(ctx)
	if err != nil && errors.Is(err, camera.ErrUnplugged) {
		m.drop(c)
	}
	return f, err
}

// drop forgets an unplugged camera so the next rescan looks for one.
func (m *Manager) drop(c *Camera) {
	m.mu.Lock()
	if m.cur == c {
		m.cur = nil
	}
	m.mu.Unlock()
	c.Close()
}

// RequestKeyframe forwards to the current camera. While none streams it
// does nothing: a replugged H.264 camera starts with a keyframe anyway.
func (m *Manager) RequestKeyframe() {
	if c := m.current(); c != nil {
		c.RequestKeyframe()
	}
}

// Status is the camera's, or says why there is none.
func (m *Manager) Status() drivers.Status {
	if c := m.current(); c != nil {
		return c.Status()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := drivers.Status{Kind: "camera", Present: false}
	switch {
	case m.found:
		st.Name = describeInfo(m.last)
		st.Error = UnpluggedMessage
	case m.lastErr != "":
		st.Name = "v4l2: no camera in " + m.opts.dir()
		st.Error = "No usable camera: " + m.lastErr
	default:
		st.Name = "v4l2: no camera in " + m.opts.dir()
		st.Error = "No camera found. Plug in a USB camera."
	}
	return st
}

// Close closes the camera and stops looking for one.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	c := m.cur
	m.cur = nil
	close(m.done)
	m.mu.Unlock()
	var err error
	if c != nil {
		err = c.Close()
	}
	m.wg.Wait()
	return err
}

var _ camera.Camera = (*Manager)(nil)
