package evdev

import (
	"fmt"
	"image"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"roomkit/drivers"
	"roomkit/drivers/input"
)

// RescanInterval is how often a Manager looks for new devices. Polling is
// simpler than netlink uevents and two seconds is quick enough for someone
// plugging in a keyboard.
const RescanInterval = 2 * time.Second

// Manager merges every usable event device into one input.Source and
// follows devices being plugged in and out. It is safe for concurrent use.
type Manager struct {
	dir    string
	scan   func() ([]string, error)
	open   func(path string) (*Device, error)
	events chan input.Event
	done   chan struct{}
	wg     sync.WaitGroup // the rescan loop and the per-device forwarders

	mu      sync.Mutex
	devs    map[string]*Device
	failed  map[string]bool // paths that would not open, not retried until they vanish
	lastErr string
	closed  bool

	dropped chan<- string // tests learn here that a device was dropped
}

// NewManager opens every usable device in dir (DefaultDir if empty) and
// rescans it every RescanInterval. Finding no devices is not an error: the
// Status says so until one appears.
func NewManager(dir string, screen image.Point, opts Options) *Manager {
	if dir == "" {
		dir = DefaultDir
	}
	m := newManager(dir,
		func() ([]string, error) { return Scan(dir) },
		func(path string) (*Device, error) { return Open(path, screen, opts) })
	m.rescan()
	t := time.NewTicker(RescanInterval)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer t.Stop()
		for {
			select {
			case <-t.C:
				m.rescan()
			case <-m.done:
				return
			}
		}
	}()
	return m
}

func newManager(dir string, scan func() ([]string, error), open func(string) (*Device, error)) *Manager {
	return &Manager{
		dir:    dir,
		scan:   scan,
		open:   open,
		events: make(chan input.Event, 64),
		done:   make(chan struct{}),
		devs:   make(map[string]*Device),
		failed: make(map[string]bool),
	}
}

// rescan opens devices that appeared since the last scan.
func (m *Manager) rescan() {
	paths, err := m.scan()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if err != nil {
		m.lastErr = err.Error()
		return
	}
	present := make(map[string]bool, len(paths))
	for _, path := range paths {
		present[path] = true
		if m.devs[path] != nil || m.failed[path] {
			continue
		}
		d, err := m.open(path)
		if err != nil {
			slog.Warn("input device not usable", "path", path, "err", err)
			m.failed[path] = true
			m.lastErr = err.Error()
			continue
		}
		slog.Info("input device", "path", path, "name", d.name)
		m.devs[path] = d
		m.wg.Add(1)
		go m.forward(path, d)
	}
	for path := range m.failed {
		if !present[path] {
			delete(m.failed, path) // may be a different device next time
		}
	}
}

// forward copies a device's events until it goes away, then drops it.
func (m *Manager) forward(path string, d *Device) {
	defer m.wg.Done()
	for e := range d.Events() {
		select {
		case m.events <- e:
		case <-m.done:
			return
		}
	}
	st := d.Status()
	d.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.devs[path] == d {
		delete(m.devs, path)
	}
	if st.Error != "" && !m.closed {
		slog.Warn("input device gone", "path", path, "err", st.Error)
		m.lastErr = st.Error
	}
	if m.dropped != nil {
		m.dropped <- path
	}
}

// Events delivers the events of all devices. It is closed by Close only: a
// kit whose keyboard is unplugged keeps its touch screen.
func (m *Manager) Events() <-chan input.Event { return m.events }

// Status lists the devices in use; Present is whether there is any.
func (m *Manager) Status() drivers.Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.devs))
	for _, d := range m.devs {
		names = append(names, d.name)
	}
	sort.Strings(names)
	st := drivers.Status{Kind: "input", Present: len(names) > 0, Error: m.lastErr}
	if len(names) == 0 {
		st.Name = fmt.Sprintf("evdev: no touch screen, mouse or keyboard in %s", m.dir)
	} else {
		st.Name = "evdev: " + strings.Join(names, ", ")
	}
	return st
}

// Close closes every device and ends the event stream.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	devs := make([]*Device, 0, len(m.devs))
	for _, d := range m.devs {
		devs = append(devs, d)
	}
	m.mu.Unlock()
	for _, d := range devs {
		d.Close()
	}
	m.wg.Wait()
	close(m.events)
	return nil
}
