package evdev

import (
	"bufio"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Record copies the raw events of the device at path to w as a fixture
// file (see the package comment) for d, then returns. Recording does not
// grab the device: the UI keeps working while someone taps.
func Record(path string, w io.Writer, d time.Duration) error {
	h, err := openKernel(path)
	if err != nil {
		return fmt.Errorf("record input %s: %w", path, err)
	}
	return record(h, path, w, d)
}

func record(h handle, path string, w io.Writer, d time.Duration) error {
	info, err := h.info()
	if err != nil {
		h.close()
		return fmt.Errorf("record input %s: read capabilities: %w", path, err)
	}
	// Closing the device is what ends a blocked read.
	var expired atomic.Bool
	timer := time.AfterFunc(d, func() { expired.Store(true); h.close() })
	defer func() {
		if timer.Stop() {
			h.close()
		}
	}()
	// The header carries the kernel's answers after each SYN_DROPPED, so
	// the events wait in memory until the recording ends (24 bytes each:
	// a minute of two-finger swiping is a few megabytes).
	size, order := h.recordSize(), h.order()
	buf := make([]byte, 64*size)
	var (
		rec      []byte
		have     int
		dropping bool
	)
	for {
		n, rerr := h.read(buf[have:])
		n += have
		i := 0
		for ; i+size <= n; i += size {
			e := decodeRecord(buf[i:i+size], size, order)
			rec = appendRecord(rec, e)
			switch {
			case e.Type == evSyn && e.Code == synDropped:
				dropping = true
			case dropping && e.Type == evSyn && e.Code == synReport:
				// Ask when the tracker would: the replay answers with this.
				dropping = false
				st, err := h.state(info)
				if err != nil {
					return fmt.Errorf("record input %s: %w", path, err)
				}
				info.Resyncs = append(info.Resyncs, st)
			}
		}
		have = copy(buf, buf[i:n])
		if rerr != nil {
			if expired.Load() {
				break // the recording time is up
			}
			return fmt.Errorf("record input %s: %w", path, rerr)
		}
	}
	bw := bufio.NewWriter(w)
	if err := writeFixtureHeader(bw, info); err != nil {
		return fmt.Errorf("record input %s: %w", path, err)
	}
	if _, err := bw.Write(rec); err != nil {
		return fmt.Errorf("record input %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("record input %s: %w", path, err)
	}
	return nil
}
