package evdev

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"roomkit/drivers"
	"roomkit/drivers/input"
)

// Device is one open event device delivering UI events. It is safe for
// concurrent use.
type Device struct {
	path, name string
	h          handle
	events     chan input.Event
	done       chan struct{}
	closeOnce  sync.Once
	wg         sync.WaitGroup

	mu   sync.Mutex
	gone bool
	err  string
}

// Open opens the event device at path, mapping its coordinates to a screen
// of the given size.
func Open(path string, screen image.Point, opts Options) (*Device, error) {
	return openWith(openKernel, path, screen, opts)
}

func openWith(open func(string) (handle, error), path string, screen image.Point, opts Options) (*Device, error) {
	if screen.X <= 0 || screen.Y <= 0 {
		return nil, fmt.Errorf("open input %s: screen size %v", path, screen)
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("open input %s: %w", path, err)
	}
	h, err := open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open input %s: no such device (unplugged?): %w", path, err)
		}
		return nil, fmt.Errorf("open input %s: %w", path, err)
	}
	info, err := h.info()
	if err != nil {
		h.close()
		return nil, fmt.Errorf("input %s: read capabilities: %w", path, err)
	}
	p, err := classify(path, info)
	if err != nil {
		h.close()
		return nil, err
	}
	d := &Device{
		path:   path,
		name:   info.Name,
		h:      h,
		events: make(chan input.Event, 64),
		done:   make(chan struct{}),
	}
	d.wg.Add(1)
	go d.run(newTracker(p, screen, opts, func() (deviceState, error) {
		st, err := h.state(info)
		if err != nil {
			err = fmt.Errorf("input %s (%s): state after dropped events: %w", path, info.Name, err)
			slog.Warn("input device state unknown after dropped events; releasing its touches", "err", err)
		}
		return st, err
	}))
	return d, nil
}

// run reads records until the device goes away or is closed.
func (d *Device) run(t *tracker) {
	defer d.wg.Done()
	defer close(d.events)
	size, order := d.h.recordSize(), d.h.order()
	buf := make([]byte, 64*size)
	var (
		have int // bytes of a record split across reads
		out  []input.Event
	)
	for {
		n, err := d.h.read(buf[have:])
		n += have
		i := 0
		for ; i+size <= n; i += size {
			out = t.feed(decodeRecord(buf[i:i+size], size, order), out[:0])
			for _, e := range out {
				select {
				case d.events <- e:
				case <-d.done:
					return
				}
			}
		}
		have = copy(buf, buf[i:n])
		if err != nil {
			select {
			case <-d.done:
				return // closed by us
			default:
			}
			d.mu.Lock()
			d.gone = true
			if errors.Is(err, syscall.ENODEV) {
				d.err = fmt.Sprintf("%s (%s) was unplugged", d.path, d.name)
			} else {
				d.err = fmt.Sprintf("read %s (%s): %v", d.path, d.name, err)
			}
			d.mu.Unlock()
			return
		}
	}
}

// Events delivers the device's events; it is closed when the device goes
// away or is closed.
func (d *Device) Events() <-chan input.Event { return d.events }

// Status says whether the device is still there.
func (d *Device) Status() drivers.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return drivers.Status{
		Kind:    "input",
		Name:    fmt.Sprintf("%s (%s)", d.name, d.path),
		Present: !d.gone,
		Error:   d.err,
	}
}

// Close stops reading and closes the device.
func (d *Device) Close() error {
	var err error
	d.closeOnce.Do(func() {
		close(d.done)
		err = d.h.close()
		d.wg.Wait()
		d.mu.Lock()
		d.gone = true
		d.mu.Unlock()
		if errors.Is(err, os.ErrClosed) {
			err = nil
		}
	})
	return err
}
