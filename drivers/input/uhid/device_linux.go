package uhid

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// node is the uhid character device.
const node = "/dev/uhid"

// bindTimeout bounds the wait for the kernel to bind a driver and create
// the event device. It happens in a kernel worker after UHID_CREATE2 and
// takes milliseconds, but seconds on an emulated CPU under load.
const bindTimeout = 60 * time.Second

// sysInput is where sysfs lists input devices, to find ours by its uniq.
const sysInput = "/sys/class/input"

var seq atomic.Uint64

// kernelDevice is one device created through its own open /dev/uhid: the
// device lives exactly as long as the file.
type kernelDevice struct {
	f        *os.File
	uniq     string
	event    string
	wmu      sync.Mutex // one event per write
	started  chan struct{}
	readDone chan struct{}

	mu      sync.Mutex
	opened  bool
	changed chan struct{} // closed and replaced when opened changes
	readErr error
}

func create(name string, rd []byte) (device, error) {
	f, err := os.OpenFile(node, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	// uniq finds the input device in sysfs: the name need not be unique.
	uniq := fmt.Sprintf("roomkit-uhid-%d-%d", os.Getpid(), seq.Add(1))
	ev, err := createEvent(name, "roomkit-uhid", uniq, rd)
	if err != nil {
		f.Close()
		return nil, err
	}
	d := &kernelDevice{
		f:        f,
		uniq:     uniq,
		started:  make(chan struct{}),
		readDone: make(chan struct{}),
		changed:  make(chan struct{}),
	}
	if err := d.write(ev); err != nil {
		f.Close()
		return nil, fmt.Errorf("UHID_CREATE2: %w", err)
	}
	go d.serve()
	if err := d.waitBound(); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func (d *kernelDevice) write(ev []byte) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	_, err := d.f.Write(ev)
	return err
}

// serve answers the kernel until the file is closed: hid-multitouch reads
// the feature reports while it binds the device and waits for the answer.
func (d *kernelDevice) serve() {
	defer close(d.readDone)
	var startOnce sync.Once
	buf := make([]byte, eventSize)
	for {
		n, err := d.f.Read(buf)
		if err != nil {
			d.mu.Lock()
			d.readErr = err
			d.mu.Unlock()
			return
		}
		r, err := parseRequest(buf[:n])
		if err != nil {
			continue // not for us to judge: the kernel wrote it
		}
		switch r.typ {
		case evStart:
			startOnce.Do(func() { close(d.started) })
		case evOpen, evClose:
			d.mu.Lock()
			d.opened = r.typ == evOpen
			close(d.changed)
			d.changed = make(chan struct{})
			d.mu.Unlock()
		case evGetReport:
			report, ok := featureReport(r.rnum)
			var reply []byte
			if ok && r.rtype == rtypeFeature {
				reply = getReportReply(r.id, 0, report)
			} else {
				reply = getReportReply(r.id, uint16(syscall.EIO), nil)
			}
			d.write(reply) // if this fails the kernel times out and says so
		case evSetReport:
			// hid-multitouch sets the input mode and latency features of
			// panels that have them; ours has none, so any is fine.
			d.write(setReportReply(r.id, 0))
		}
	}
}

// waitBound waits for a driver to start the device and for its event node.
func (d *kernelDevice) waitBound() error {
	deadline := time.NewTimer(bindTimeout)
	defer deadline.Stop()
	select {
	case <-d.started:
	case <-d.readDone:
		return fmt.Errorf("%s closed before a driver bound the device: %v", node, d.readErr)
	case <-deadline.C:
		return fmt.Errorf("no HID driver bound the device within %v (kernel without CONFIG_HID_MULTITOUCH?)", bindTimeout)
	}
	if _, err := os.Stat(sysInput); err != nil {
		return nil // no sysfs: Device will say ""
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if ev := findEvent(sysInput, d.uniq); ev != "" {
			d.event = ev
			return nil
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("the driver started the device but no event device with uniq %q appeared in %s within %v", d.uniq, sysInput, bindTimeout)
		}
	}
}

// findEvent returns the /dev/input/event* node of the input device whose
// uniq is uniq.
func findEvent(dir, uniq string) string {
	inputs, _ := filepath.Glob(filepath.Join(dir, "input*", "uniq")) // the pattern is valid
	for _, u := range inputs {
		b, err := os.ReadFile(u)
		if err != nil || strings.TrimSpace(string(b)) != uniq {
			continue
		}
		evs, _ := filepath.Glob(filepath.Join(filepath.Dir(u), "event*"))
		if len(evs) > 0 {
			return filepath.Join("/dev/input", filepath.Base(evs[0]))
		}
	}
	return ""
}

func (d *kernelDevice) input(report []byte) error {
	select {
	case <-d.readDone:
		return errors.New("device closed")
	default:
	}
	if err := d.write(inputEvent(report)); err != nil {
		return fmt.Errorf("UHID_INPUT2: %w", err)
	}
	return nil
}

func (d *kernelDevice) path() string { return d.event }

func (d *kernelDevice) waitOpen(ctx context.Context) error {
	for {
		d.mu.Lock()
		opened, changed := d.opened, d.changed
		d.mu.Unlock()
		if opened {
			return nil
		}
		select {
		case <-changed:
		case <-d.readDone:
			return errors.New("device closed")
		case <-ctx.Done():
			return fmt.Errorf("wait for a reader of %s: %w", d.event, ctx.Err())
		}
	}
}

func (d *kernelDevice) close() error {
	// UHID_DESTROY unplugs the device now; closing the file would too, but
	// only once every reference to the file is gone.
	derr := d.write(destroyEvent())
	cerr := d.f.Close()
	<-d.readDone
	if errors.Is(cerr, os.ErrClosed) {
		return nil
	}
	if cerr != nil {
		return cerr
	}
	if derr != nil && !errors.Is(derr, os.ErrClosed) {
		return fmt.Errorf("UHID_DESTROY: %w", derr)
	}
	return nil
}
