package main

// The update agent (ota/agent) beside the kit. A kit whose image carries
// a trusted root (-ota-root) runs it against gokrazy's local update API;
// a sim kit (-devices sim) runs it against a fake gokrazy whose disk lives
// in the state directory, and "reboots" by starting the kit's state
// machine again on the version the fake disk booted.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"roomkit/appliance"
	"roomkit/ota/agent"
	"roomkit/ota/gokrazy"
	"roomkit/ota/gokrazytest"
	"roomkit/ota/tufclient"
	"roomkit/settings"
)

// otaOptions are roomd's -ota-* flags and what they need of the rest.
type otaOptions struct {
	Root     string // -ota-root: the trusted root.json; "": no agent
	URL      string // -ota-url: where the repository is served; "": settings.json's ota_url, else the portal's + "/ota"
	Check    time.Duration
	Settle   time.Duration
	Deadline time.Duration

	StateDir string // the kit's; the agent's state is under it (ota/)
	Portal   string
	Settings settings.Settings
	Sim      bool
}

// repoURL is where the kit reads the update repository: -ota-url, else
// settings.json's ota_url, else the portal's URL + "/ota".
func repoURL(flagURL string, s settings.Settings, portal string) string {
	switch {
	case flagURL != "":
		return flagURL
	case s.OTAURL != "":
		return s.OTAURL
	}
	return strings.TrimRight(portal, "/") + "/ota"
}

// hardwareTarget is the release target this build runs on.
func hardwareTarget() string {
	if runtime.GOARCH == "arm64" {
		return "rpi4"
	}
	return runtime.GOARCH
}

// updates runs the update agent for one kit.
type updates struct {
	opt  otaOptions
	log  *slog.Logger
	root []byte
	repo tufclient.Config
	gk   *gokrazy.Client
	fake *gokrazytest.Fake // sim kits' disk; nil on a real kit
}

// newUpdates reads the trusted root and, for a sim kit, opens its fake
// disk. Without -ota-root it returns nil: updates are off, and the
// kit's Updates check says so.
func newUpdates(opt otaOptions, log *slog.Logger) (*updates, error) {
	if opt.Root == "" {
		return nil, nil
	}
	root, err := os.ReadFile(opt.Root)
	if err != nil {
		return nil, fmt.Errorf("-ota-root: %w", err)
	}
	base := repoURL(opt.URL, opt.Settings, opt.Portal)
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("the update repository %q is not an http(s) URL (-ota-url, settings.json ota_url)", base)
	}
	u := &updates{opt: opt, log: log, root: root}
	u.repo = tufclient.Config{
		BaseURL:     base,
		TrustedRoot: root,
		CacheDir:    filepath.Join(opt.StateDir, "ota", "tuf"),
		Client:      repoClient(opt.Settings),
	}
	if opt.Sim {
		f, err := gokrazytest.New(filepath.Join(opt.StateDir, "ota", "sim-disk"))
		if err != nil {
			return nil, err
		}
		u.fake, u.gk = f, f.Client()
	} else {
		u.gk = gokrazy.New(gokrazy.Socket)
	}
	return u, nil
}

// close stops a sim kit's fake gokrazy.
func (u *updates) close() {
	if u != nil && u.fake != nil {
		u.fake.Close()
	}
}

// booted is the version the kit runs: on a sim kit the version of the
// image its fake disk booted (own, roomd's, for the disk's first root),
// and whether that image was built to fail its trial.
func (u *updates) booted(own string) (version string, unhealthy bool) {
	if u == nil || u.fake == nil {
		return own, false
	}
	img, ok := u.fake.BootedImage()
	if !ok {
		return own, false
	}
	return img.Version, img.Unhealthy
}

// run runs the agent until ctx ends. On a sim kit a reboot restarts the
// kit on the booted version (onBoot says whether that image is unhealthy)
// and runs a new agent for the new boot, as a real reboot would.
func (u *updates) run(ctx context.Context, kit *appliance.Kit, version string, onBoot func(unhealthy bool)) error {
	for {
		rebooted := false
		cfg := agent.Config{
			Host:       kit,
			StateDir:   filepath.Join(u.opt.StateDir, "ota"),
			Repo:       u.repo,
			Target:     hardwareTarget(),
			Version:    version,
			Gokrazy:    u.gk,
			Log:        u.log,
			CheckEvery: u.opt.Check,
			Settle:     u.opt.Settle,
			Deadline:   u.opt.Deadline,
		}
		if u.fake != nil {
			cfg.Target = "sim"
			// Called from Run's goroutine, as Run's last act: this one.
			cfg.OnReboot = func() { rebooted = true }
		}
		a, err := agent.New(cfg)
		if err != nil {
			return err
		}
		kit.UseUpdater(a)
		u.log.Info("update agent", "version", version, "target", cfg.Target, "repository", u.repo.BaseURL)
		err = a.Run(ctx)
		if err != nil || !rebooted || ctx.Err() != nil {
			return err
		}
		var unhealthy bool
		version, unhealthy = u.booted(version)
		if onBoot != nil {
			onBoot(unhealthy)
		}
		kit.Restart(version)
	}
}

// repoClient reaches the update repository: through the installer's
// proxy when there is one, like the portal. No overall timeout: a root
// image takes minutes, and tufclient aborts a download that stalls.
func repoClient(s settings.Settings) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.HTTPProxy != "" {
		if u, err := url.Parse(s.HTTPProxy); err == nil && u.Host != "" {
			tr.Proxy = http.ProxyURL(u)
		}
	}
	return &http.Client{Transport: tr}
}

// errNoRoot is the flag check's answer to timing flags without a root.
var errNoRoot = errors.New("-ota-url, -ota-check, -ota-settle and -ota-deadline need -ota-root")
