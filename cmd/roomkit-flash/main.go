// roomkit-flash writes a kit image to a disk (an SD card, a USB stick, an
// SSD) or to a file, pre-seeding the kit's installer settings:
//
//	roomkit-flash -image roomkit-rpi4.img -device /dev/sdX -settings settings.json
//	roomkit-flash -image roomkit-amd64.img -out disk.img -portal https://portal.example -label "Room 4.01"
//
// It refuses mounted disks and the disk the system runs from, and reads
// everything back to verify it.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"

	"roomkit/images"
	"roomkit/images/disk"
	"roomkit/settings"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "roomkit-flash:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		image        = flag.String("image", "", "the kit image (from make image)")
		device       = flag.String("device", "", "the whole disk to write, e.g. /dev/sdX (everything on it is lost)")
		out          = flag.String("out", "", "write to this file instead of a disk")
		size         = flag.String("size", "", "with -out: the disk size, e.g. 8G or 2048M (default: the image's)")
		settingsFile = flag.String("settings", "", "an installer settings file (JSON) to pre-seed into /perm/roomkit")
		portal       = flag.String("portal", "", "pre-seed: the portal's URL")
		label        = flag.String("label", "", "pre-seed: the room's label")
		tz           = flag.String("timezone", "", "pre-seed: the time zone, e.g. Europe/Zurich")
		proxy        = flag.String("proxy", "", "pre-seed: an HTTP proxy URL for the portal")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see -help)", flag.Args())
	}
	if *image == "" {
		return fmt.Errorf("-image is required (build one with make image TARGET=rpi4|amd64)")
	}
	cfg := images.FlashConfig{Image: *image, Device: *device, Out: *out, Progress: os.Stderr}
	if *size != "" {
		n, err := disk.ParseBytes(*size, 1, math.MaxInt64)
		if err != nil {
			return fmt.Errorf("-size: %w", err)
		}
		cfg.OutSize = n
	}

	var s settings.Settings
	seed := false
	if *settingsFile != "" {
		var err error
		if s, err = settings.ReadFile(*settingsFile); err != nil {
			return err
		}
		seed = true
	}
	for _, f := range []struct {
		v   string
		dst *string
	}{{*portal, &s.PortalURL}, {*label, &s.Label}, {*tz, &s.TimeZone}, {*proxy, &s.HTTPProxy}} {
		if f.v != "" {
			*f.dst, seed = f.v, true
		}
	}
	if seed {
		var err error
		if cfg.Settings, err = s.Encode(); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := images.Flash(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "done: %s is written and verified\n", *device+*out)
	return nil
}
