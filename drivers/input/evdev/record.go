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
	bw := bufio.NewWriter(w)
	if err := writeFixtureHeader(bw, info); err != nil {
		h.close()
		return fmt.Errorf("record input %s: %w", path, err)
	}
	// Closing the device is what ends a blocked read.
	var expired atomic.Bool
	timer := time.AfterFunc(d, func() { expired.Store(true); h.close() })
	defer func() {
		if timer.Stop() {
			h.close()
		}
	}()
	size, order := h.recordSize(), h.order()
	buf := make([]byte, 64*size)
	var rec []byte
	have := 0
	for {
		n, rerr := h.read(buf[have:])
		n += have
		i := 0
		rec = rec[:0]
		for ; i+size <= n; i += size {
			rec = appendRecord(rec, decodeRecord(buf[i:i+size], size, order))
		}
		have = copy(buf, buf[i:n])
		if _, err := bw.Write(rec); err != nil {
			return fmt.Errorf("record input %s: %w", path, err)
		}
		if rerr != nil {
			if expired.Load() {
				break // the recording time is up
			}
			return fmt.Errorf("record input %s: %w", path, rerr)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("record input %s: %w", path, err)
	}
	return nil
}
