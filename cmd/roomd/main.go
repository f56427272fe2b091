// roomd is the room kit's daemon: it pairs the kit with the portal, keeps
// it in touch, drives the screen and serves the local control API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	// A kit's root file system has no zoneinfo: embed it, so the room's
	// time zone works.
	_ "time/tzdata"

	"roomkit/appliance"
	"roomkit/appliance/control"
	"roomkit/provisioning"
	"roomkit/ui"
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "0.1.0-dev"

const defaultPortal = "http://127.0.0.1:8080"

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		fmt.Fprintln(os.Stderr, "roomd:", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	var (
		portal      = flag.String("portal", "", "the portal's URL (default: settings.json's portal_url, else the one the kit was paired with, else "+defaultPortal+")")
		stateDir    = flag.String("state", "/perm/roomkit", "the kit's state directory (identity, pairing, control credential)")
		devicesFlag = flag.String("devices", "real", "device drivers: real or sim (synthetic camera and speakerphone)")
		controlAddr = flag.String("control", control.DefaultAddr, "the local control API: loopback host:port or unix:/path")
		screenAddr  = flag.String("screen", "", "with -devices sim: serve the screen simulator on this loopback host:port")
		sizeFlag    = flag.String("size", "1920x1080", "with -devices sim: screen size, 1920x1080 or 1280x800 (a kit uses its display's)")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (roomd takes flags only; see -help)", flag.Args())
	}
	var size image.Point
	switch *sizeFlag {
	case "1920x1080":
		size = ui.Size1080p
	case "1280x800":
		size = ui.Size800p
	default:
		return fmt.Errorf("-size %q: want 1920x1080 or 1280x800", *sizeFlag)
	}
	// A settings file with errors is shown on screen by the kit, which
	// carries on with defaults: a typo must not leave a room dark.
	settings, settingsErr := provisioning.LoadSettings(*stateDir)
	*portal = portalURL(*portal, settings, *stateDir)

	var devs *devices
	switch *devicesFlag {
	case "real":
		if *screenAddr != "" {
			return errors.New("-screen needs -devices sim")
		}
		var err error
		if devs, err = openReal(settings, log); err != nil {
			return err
		}
	case "sim":
		devs = openSim(size, *screenAddr != "")
	default:
		return fmt.Errorf("-devices %q: want real or sim", *devicesFlag)
	}
	defer devs.close()

	cfg := appliance.Config{
		StateDir:     *stateDir,
		PortalURL:    *portal,
		Version:      version,
		Logger:       log,
		Display:      devs.display,
		Input:        devs.input,
		Camera:       devs.camera,
		Speakerphone: devs.speakerphone,
		GPIO:         devs.gpio,
		Settings:     settings,
		SettingsErr:  settingsErr,
	}
	screen := devs.screen

	kit, err := appliance.New(cfg)
	if err != nil {
		return err
	}
	token, err := control.LoadOrCreateToken(*stateDir)
	if err != nil {
		// No usable storage: the kit still shows its screen, its storage
		// warning and can meet; only roomctl, which reads the credential
		// from the state directory, is locked out until storage works.
		log.Error("control API credential not stored; roomctl cannot authenticate", "err", err)
		if token, err = control.NewToken(); err != nil {
			return err
		}
	}
	cl, err := control.Listen(*controlAddr)
	if err != nil {
		return fmt.Errorf("-control: %w", err)
	}
	servers := []*http.Server{{Handler: control.Handler(kit, token, log), ReadHeaderTimeout: 10 * time.Second}}
	go serve(log, servers[0], cl, "control API")
	log.Info("control API", "addr", *controlAddr)

	if screen != nil {
		if strings.HasPrefix(*screenAddr, "unix:") {
			return errors.New("-screen: want a loopback host:port a browser can open")
		}
		sl, err := control.Listen(*screenAddr)
		if err != nil {
			return fmt.Errorf("-screen: %w", err)
		}
		srv := &http.Server{Handler: screen, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go serve(log, srv, sl, "screen simulator")
		log.Info("screen simulator at http://" + sl.Addr().String() + "/")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runCtx, restart := context.WithCancel(ctx)
	defer restart()
	stuckTick := time.NewTicker(10 * time.Second)
	defer stuckTick.Stop()
	inMeeting := func() bool { return kit.Status().State == appliance.InMeeting }
	go restartWhenStuck(runCtx, devs.speakerphone, inMeeting, stuckTick.C, restart, log)
	log.Info("roomd starting", "version", version, "portal", *portal, "state", *stateDir, "devices", *devicesFlag)
	err = kit.Run(runCtx)
	if ctx.Err() == nil && runCtx.Err() != nil {
		// restartWhenStuck: exit now, without the deferred device
		// closes, which could wait on the stuck audio thread; gokrazy
		// starts roomd again.
		os.Exit(1)
	}

	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(shutdown)
	}
	log.Info("roomd stopped")
	return err
}

// serve serves srv on l until Shutdown. A server that stops otherwise
// is logged: the kit itself keeps running.
func serve(log *slog.Logger, srv *http.Server, l net.Listener, what string) {
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error(what+" stopped", "err", err)
	}
}

// portalURL picks the portal: the -portal flag, else settings.json's
// portal_url (what the installer chose), else the portal the kit was
// paired with (so a paired kit keeps its portal across reboots), else
// defaultPortal. A damaged state file is dealt with (and shown) by the
// kit itself.
func portalURL(flagValue string, s provisioning.Settings, stateDir string) string {
	switch {
	case flagValue != "":
		return flagValue
	case s.PortalURL != "":
		return s.PortalURL
	}
	// Peek: a damaged state file must stay where the kit finds it, so
	// the kit can recover its room from the portal.
	if st, err := provisioning.PeekState(stateDir); err == nil && st.PortalURL != "" {
		return st.PortalURL
	}
	return defaultPortal
}
