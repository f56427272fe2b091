// roomd is the room kit's daemon: it pairs the kit with the portal, keeps
// it in touch, drives the screen and serves the local control API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	// A kit's root file system has no zoneinfo: embed it, so the room's
	// time zone works.
	_ "time/tzdata"

	"roomkit/appliance"
	"roomkit/appliance/control"
	"roomkit/drivers/audio"
	"roomkit/drivers/gpio"
	"roomkit/health"
	"roomkit/ota/gokrazy"
	"roomkit/settings"
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	// The ring keeps the recent lines, without secrets, for an admin who
	// fetches the kit's logs from the admin center.
	ring := appliance.NewLogRing()
	log := slog.New(ring.Handler(slog.NewTextHandler(os.Stderr, nil)))
	if err := run(log, ring); err != nil {
		fmt.Fprintln(os.Stderr, "roomd:", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, ring *appliance.LogRing) error {
	var (
		portal      = flag.String("portal", "", "the portal's URL (default: settings.json's portal_url, else the one the kit was paired with, else "+defaultPortal+")")
		stateDir    = flag.String("state", "/perm/roomkit", "the kit's state directory (identity, pairing, control credential)")
		devicesFlag = flag.String("devices", "real", "device drivers: real or sim (synthetic camera and speakerphone)")
		controlAddr = flag.String("control", control.DefaultAddr, "the local control API: loopback host:port or unix:/path")
		screenAddr  = flag.String("screen", "", "with -devices sim: serve the screen simulator on this loopback host:port")
		sizeFlag    = flag.String("size", "1920x1080", "with -devices sim: screen size, 1920x1080 or 1280x800 (a kit uses its display's)")
		otaRoot     = flag.String("ota-root", "", "the update repository's trusted root.json (in the image); none: updates are off")
		otaURL      = flag.String("ota-url", "", "where the update repository is served (default: settings.json's ota_url, else the portal's URL + /ota)")
		otaCheck    = flag.Duration("ota-check", 0, "how often to look for a release (default 1h ± 30m; shorter for demos and tests)")
		otaSettle   = flag.Duration("ota-settle", 0, "how long a trial boot must stay healthy before it is made permanent (default 2m)")
		otaDeadline = flag.Duration("ota-deadline", 0, "a trial boot not healthy by then rolls back (default 10m)")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (roomd takes flags only; see -help)", flag.Args())
	}
	size, err := simSize(*sizeFlag)
	if err != nil {
		return err
	}
	// A settings file with errors is shown on screen by the kit, which
	// carries on with defaults: a typo must not leave a room dark.
	settings, settingsErr := settings.Load(*stateDir)
	*portal = portalURL(*portal, settings, *stateDir)
	if *otaRoot == "" && (*otaURL != "" || *otaCheck != 0 || *otaSettle != 0 || *otaDeadline != 0) {
		return errNoRoot
	}

	// The drivers open with settings.json under the room's profile as
	// the kit last took it (docs/profiles.md): a profile that changes
	// them restarts roomd.
	startup, cameraName := appliance.StartupSettings(*stateDir, settings)
	var devs *devices
	switch *devicesFlag {
	case "real":
		if *screenAddr != "" {
			return errors.New("-screen needs -devices sim")
		}
		if devs, err = openReal(startup, cameraName, log); err != nil {
			return err
		}
	case "sim":
		devs = openSim(size, *screenAddr != "")
	default:
		return fmt.Errorf("-devices %q: want real or sim", *devicesFlag)
	}
	defer devs.close()

	upd, err := newUpdates(otaOptions{Root: *otaRoot, URL: *otaURL, Check: *otaCheck, Settle: *otaSettle, Deadline: *otaDeadline,
		StateDir: *stateDir, Portal: *portal, Settings: settings, Sim: *devicesFlag == "sim"}, log)
	if err != nil {
		return err
	}
	defer upd.close()
	// A sim kit runs the version its fake disk booted, as a real one
	// runs the root it booted.
	running, unhealthy := upd.booted(version)
	devs.simUnhealthy(unhealthy)

	cfg := appliance.Config{
		StateDir:     *stateDir,
		PortalURL:    *portal,
		Version:      running,
		Logger:       log,
		Display:      devs.display,
		Input:        devs.input,
		Camera:       devs.camera,
		Speakerphone: devs.speakerphone,
		GPIO:         devs.gpio,
		Settings:     settings,
		SettingsErr:  settingsErr,
		Logs:         ring,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runCtx, restart := context.WithCancel(ctx)
	defer restart()
	if *devicesFlag == "real" {
		// An admin's remote reboot; a sim kit restarts its state machine.
		cfg.Reboot = gokrazy.New(gokrazy.Socket).Reboot
		// A profile that changes the drivers' settings: roomd exits,
		// gokrazy starts it again, and the drivers open with them. A
		// sim kit's devices take none: its state machine restarts.
		cfg.RestartRoomd = restart
		cfg.CameraNames = realCameraNames
		cfg.GPIOPins = gpio.Pins
	}
	kit, err := appliance.New(cfg)
	if err != nil {
		return err
	}
	servers, err := serveAPIs(kit, *stateDir, *controlAddr, *screenAddr, devs.screen, log)
	if err != nil {
		return err
	}
	defer servers.shutdown()

	stuckTick := time.NewTicker(10 * time.Second)
	defer stuckTick.Stop()
	inMeeting := func() bool { return kit.Status().State == appliance.InMeeting }
	audioStuck := func() bool {
		n, ok := kit.Health(time.Now()).Find(health.NameAudioThread)
		return ok && n.Status == health.Failed
	}
	go audio.RestartWhenStuck(runCtx, audioStuck, inMeeting, stuckTick.C, restart, log)
	log.Info("roomd starting", "version", running, "portal", *portal, "state", *stateDir, "devices", *devicesFlag)
	if upd != nil {
		agentDone := make(chan struct{})
		defer func() { restart(); <-agentDone }()
		go func() {
			defer close(agentDone)
			if err := upd.run(runCtx, kit, running, devs.simUnhealthy); err != nil {
				// The kit carries on without updates; its Updates check
				// shows the agent's last word.
				log.Error("update agent stopped", "err", err)
			}
		}()
	}
	err = kit.Run(runCtx)
	if ctx.Err() == nil && runCtx.Err() != nil {
		// audio.RestartWhenStuck, or a profile's new driver settings
		// (Config.RestartRoomd): exit now, without the deferred device
		// closes, which could wait on a stuck audio thread; gokrazy
		// starts roomd again.
		os.Exit(1)
	}

	log.Info("roomd stopped")
	return err
}
