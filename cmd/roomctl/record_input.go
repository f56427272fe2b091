package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/google/renameio/v2"

	"roomkit/drivers/input/evdev"
)

// recordInput is `roomctl record-input`: it copies a touch screen's,
// tablet's or mouse's raw evdev events into a fixture for the evdev
// driver's tests (drivers/input/evdev/doc.go describes the format). It
// does not grab the device, so roomd keeps answering the taps.
//
//	roomctl record-input -device /dev/input/event2 -for 10s -o panel-tap.evdev
func recordInput(args []string) error {
	fs := flag.NewFlagSet("record-input", flag.ContinueOnError)
	device := fs.String("device", "", "the event node to record, e.g. /dev/input/event2 (see -list)")
	d := fs.Duration("for", 10*time.Second, "how long to record; tap, swipe or click meanwhile")
	out := fs.String("o", "", "the fixture file to write")
	list := fs.Bool("list", false, "list the input nodes the kit would use, and record nothing")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: record-input: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: record-input takes only flags, got %q", errUsage, fs.Args())
	}
	if *list {
		paths, err := evdev.Scan(evdev.DefaultDir)
		if err != nil {
			return err
		}
		for _, p := range paths {
			fmt.Println(p)
		}
		return nil
	}
	if *device == "" || *out == "" {
		return fmt.Errorf("%w: record-input needs -device NODE and -o FILE", errUsage)
	}
	if *d <= 0 || *d > 10*time.Minute {
		return fmt.Errorf("%w: record-input -for %v: want up to 10m", errUsage, *d)
	}
	fmt.Fprintf(os.Stderr, "recording %s for %v: tap, swipe or click now\n", *device, *d)
	var buf bytes.Buffer // minutes of events are kilobytes
	if err := evdev.Record(*device, &buf, *d); err != nil {
		return err
	}
	data := buf.Bytes()
	if err := renameio.WriteFile(*out, data, 0o644); err != nil {
		return fmt.Errorf("record input: %w", err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d bytes)\n", *out, len(data))
	return nil
}
