// roomkit-image builds the kit's bootable gokrazy image for a target:
//
//	roomkit-image -target amd64 -out roomkit-amd64.img [-settings settings.json]
//
// Flash it with roomkit-flash.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"roomkit/images"
	"roomkit/settings"
)

var version = "dev"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "roomkit-image:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		target       = flag.String("target", "", "the kit hardware: rpi4, amd64, or amd64-testdevices (the QEMU test kit)")
		out          = flag.String("out", "", "the image file to write (default roomkit-TARGET.img)")
		settingsFile = flag.String("settings", "", "an installer settings file to pre-seed into /perm (its label names the host)")
		ca           = flag.String("ca", "", "a PEM file with the portal's CA, added to the kit's trust store")
		bins         = flag.String("binaries", "", "a directory with static roomd and roomctl for the target (default: build them)")
		roomd        = flag.String("roomd-flags", "", "roomd's flags in the image, space-separated (default: none)")
		otaRoot      = flag.String("ota-root", "", "the update repository's root metadata to trust (DIR/metadata/1.root.json from roomkit-release init); default: no updates")
		ntp          = flag.String("ntp", "", "the NTP servers the kit's clock syncs from, comma-separated (default: gokrazy's public pool)")
		keep         = flag.Bool("keep", false, "keep the work directory (the staged root) and print its path")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see -help)", flag.Args())
	}
	t, err := images.LookupTarget(*target)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = "roomkit-" + t.Name + ".img"
	}
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	cfg := images.Config{Target: t, Repo: repo, Out: *out, Binaries: *bins, Version: version,
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	if *roomd != "" {
		cfg.RoomdArgs = strings.Fields(*roomd)
	}
	if *settingsFile != "" {
		if cfg.Settings, err = settings.ReadFile(*settingsFile); err != nil {
			return err
		}
	}
	for _, h := range strings.Split(*ntp, ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.TimeServers = append(cfg.TimeServers, h)
		}
	}
	if *otaRoot != "" {
		if cfg.OTARoot, err = os.ReadFile(*otaRoot); err != nil {
			return fmt.Errorf("-ota-root: %w", err)
		}
	}
	if *ca != "" {
		if cfg.CACert, err = os.ReadFile(*ca); err != nil {
			return fmt.Errorf("-ca: %w", err)
		}
	}
	work, err := os.MkdirTemp("", "roomkit-image")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "work directory:", work)
	} else {
		defer os.RemoveAll(work)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	res, err := images.Build(ctx, cfg, work)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s image for host %q, root %.1f MB, built in %.1fs\n", *out, t.Name, res.Hostname,
		float64(res.RootSize)/1e6, time.Since(start).Seconds())
	return nil
}

// repoRoot finds the roomkit repository from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "images", "gokrazy", "go.mod")); err == nil {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("run roomkit-image inside the roomkit repository (no images/gokrazy/go.mod above %s)", dir)
		}
	}
}
