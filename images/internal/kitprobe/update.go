package main

// The probe's second job, for the A/B test: it takes one action at a time
// from the host test (reached through QEMU's guestfwd, like the portal) and
// carries it out through gokrazy's local update API, the way the kit's
// update agent will: PUT /update/root, POST /update/testboot, POST /reboot.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// gokrazySocket is where gokrazy serves its update API (gokrazy's
// HTTPUnixSocket): without /etc/gokr-pw.txt it needs no password there
// and listens nowhere else.
const gokrazySocket = "/run/gokrazy-http.sock"

// Action is one step the host asks for. The host hands out each action
// once; the probe reports its outcome (Report.Done or Report.ActionError)
// before a reboot ends it.
type Action struct {
	ID string `json:"id"`
	// Root is a path on the control server: a root squashfs to write to
	// the inactive root partition. SHA256 is its hash, which gokrazy's
	// answer must repeat.
	Root   string `json:"root,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Testboot boots the inactive root once, at the next boot.
	Testboot bool `json:"testboot,omitempty"`
	// Reboot restarts the kit; through kexec when Kexec is set, else
	// through the firmware and the boot loader (what a cold start does).
	Reboot bool `json:"reboot,omitempty"`
	Kexec  bool `json:"kexec,omitempty"`
	// Tap touches the uhid multitouch screen; Camera unbinds or binds
	// vivid (kit.go).
	Tap    *Tap   `json:"tap,omitempty"`
	Camera string `json:"camera,omitempty"`
	// DumpRoomd sends roomd SIGQUIT: Go prints every goroutine's stack
	// (into roomd's log, which -roomd-log copies) and exits; gokrazy
	// restarts it. For a failing test's artifacts.
	DumpRoomd bool `json:"dump_roomd,omitempty"`
}

// updater carries out actions.
type updater struct {
	control string       // the host's control server, e.g. http://10.0.2.101
	host    *http.Client // to the control server
	gokrazy *http.Client // to gokrazy's unix socket
}

func newUpdater(control, socket string) *updater {
	return &updater{
		control: strings.TrimSuffix(control, "/"),
		host:    &http.Client{Timeout: 10 * time.Minute}, // a root is tens of MB through emulated networking
		gokrazy: unixClient(socket),
	}
}

// unixClient speaks HTTP to the server on the unix socket path.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// next asks the host for an action; nil when there is none.
func (u *updater) next(ctx context.Context) (*Action, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.control+"/action", nil)
	resp, err := u.host.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil, nil
	case http.StatusOK:
	default:
		return nil, fmt.Errorf("action: %s", resp.Status)
	}
	var a Action
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&a); err != nil {
		return nil, fmt.Errorf("action: %w", err)
	}
	if a.ID == "" {
		return nil, fmt.Errorf("action without an id")
	}
	return &a, nil
}

// run carries out a's update steps. The reboot is separate (reboot):
// the probe reports first, since the reboot stops it.
func (u *updater) run(ctx context.Context, a *Action) error {
	if a.Tap != nil {
		if err := tap(*a.Tap); err != nil {
			return err
		}
	}
	if a.Camera != "" {
		if err := camera(a.Camera); err != nil {
			return err
		}
	}
	if a.DumpRoomd {
		if err := signalRoomd(syscall.SIGQUIT); err != nil {
			return err
		}
	}
	if a.Root != "" {
		if err := u.writeRoot(ctx, a.Root, a.SHA256); err != nil {
			return err
		}
	}
	if a.Testboot {
		if _, err := u.post(ctx, "/update/testboot", nil); err != nil {
			return err
		}
	}
	return nil
}

// writeRoot streams the host's root squashfs into gokrazy's /update/root.
func (u *updater) writeRoot(ctx context.Context, path, want string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.control+path, nil)
	src, err := u.host.Do(req)
	if err != nil {
		return fmt.Errorf("fetch root: %w", err)
	}
	defer src.Body.Close()
	if src.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch root %s: %s", path, src.Status)
	}
	put, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://gokrazy/update/root", src.Body)
	put.ContentLength = src.ContentLength
	resp, err := u.gokrazy.Do(put)
	if err != nil {
		return fmt.Errorf("PUT /update/root: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT /update/root: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	// gokrazy answers with the SHA-256 of what it wrote.
	if got := strings.TrimSpace(string(body)); want != "" && got != want {
		return fmt.Errorf("PUT /update/root: gokrazy wrote a root with SHA-256 %s, the host sent %s", got, want)
	}
	return nil
}

// reboot asks gokrazy to stop the services (this probe among them) and
// restart the machine.
func (u *updater) reboot(ctx context.Context, kexec bool) error {
	form := url.Values{"wait_per_signal": {"10s"}}
	if !kexec {
		form.Set("kexec", "off")
	}
	_, err := u.post(ctx, "/reboot", form)
	return err
}

func (u *updater) post(ctx context.Context, path string, form url.Values) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://gokrazy"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := u.gokrazy.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}
