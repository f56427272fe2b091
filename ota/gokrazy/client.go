// Package gokrazy is the kit's client of gokrazy's local update API, served
// by gokrazy's init on the unix socket /run/gokrazy-http.sock (no password
// there): PUT /update/root writes the inactive root partition and answers
// the SHA-256 of what it wrote, POST /update/testboot boots that partition
// once at the next boot, POST /update/switch makes it permanent, POST
// /reboot restarts the kit.
//
// gokrazy picks "the inactive partition" from the kernel command line it
// booted with, and that still names the old root during a trial boot and
// after a switch until the next reboot: a PUT /update/root then would
// overwrite the root the kit runs from. PutRoot therefore refuses to write
// whenever the running root is not the one the command line names (see
// Partitions).
package gokrazy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
)

// Socket is where gokrazy serves its HTTP API for local processes.
const Socket = "/run/gokrazy-http.sock"

// Client talks to gokrazy's update API. It is safe for concurrent use, but
// gokrazy serialises each handler, and the update agent calls it from one
// goroutine.
type Client struct {
	socket string
	http   *http.Client
	disk   Disk
	local  bool
}

// New returns a client of the API on the unix socket, judging the disk of
// the running system (LocalDisk).
func New(socket string) *Client {
	c := &Client{socket: socket, disk: LocalDisk(), local: true}
	c.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		// A root is written in one long request; gokrazy has no
		// server timeouts either.
		DisableCompression: true,
	}}
	return c
}

// WithDisk returns a copy of c that judges and reads d instead of the
// running system's disk: a fake gokrazy's (ota/gokrazytest) slots.
func (c *Client) WithDisk(d Disk) *Client {
	cp := *c
	cp.disk, cp.local = d, false
	return &cp
}

// Partitions reports where the kit runs from and where a PUT would write.
func (c *Client) Partitions() (Partitions, error) { return c.disk.Partitions() }

// ErrRootInUse is the guard's refusal: the partition gokrazy would write
// is the one the kit runs from.
var ErrRootInUse = errors.New("the kit runs from the partition gokrazy would overwrite (trial boot, or switched and not yet rebooted): reboot before installing another release")

// PutRoot streams the length bytes r yields to the inactive root
// partition and returns the hex SHA-256 gokrazy computed over what it
// wrote. It refuses, without a request, when the running root is not the
// command line's (ErrRootInUse). gokrazy always writes from the
// partition's first byte.
//
// The length goes out as Content-Length: a chunked upload of unknown
// length costs the kit a framing pass over the image on both sides of
// the socket (a tenth of the update's speed under emulation), and a body
// that ends early or runs long fails the request instead of writing a
// root of the wrong size.
func (c *Client) PutRoot(ctx context.Context, r io.Reader, length int64) (string, error) {
	p, err := c.disk.Partitions()
	if err != nil {
		return "", fmt.Errorf("before writing the root: %w", err)
	}
	if p.Moved() {
		return "", fmt.Errorf("%w (running %s, command line %s)", ErrRootInUse, p.RunningName, p.CmdlineName)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://gokrazy/update/root", r)
	if err != nil {
		return "", err
	}
	req.ContentLength = length
	body, err := c.send(req)
	if err != nil {
		return "", err
	}
	sum := strings.TrimSpace(body)
	if !sha256RE.MatchString(sum) {
		return "", fmt.Errorf("gokrazy answered the root upload with %q, not a SHA-256", shorten(sum))
	}
	return sum, nil
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ReadInactive opens the partition PutRoot writes, for reading back what
// an interrupted download already wrote there. It refuses like PutRoot.
func (c *Client) ReadInactive() (io.ReadCloser, error) {
	p, err := c.disk.Partitions()
	if err != nil {
		return nil, err
	}
	if p.Moved() {
		return nil, fmt.Errorf("%w (running %s, command line %s)", ErrRootInUse, p.RunningName, p.CmdlineName)
	}
	return c.disk.OpenInactive()
}

// TestBoot makes the next boot, and only that one, boot the inactive root.
func (c *Client) TestBoot(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodPost, "/update/testboot", nil)
	return err
}

// Switch makes the root the kit runs from (after a trial boot) permanent.
// It refuses when the kit does not run from the partition gokrazy would
// switch to: switching would then make the other root permanent.
func (c *Client) Switch(ctx context.Context) error {
	p, err := c.disk.Partitions()
	if err != nil {
		return fmt.Errorf("before switching: %w", err)
	}
	if !p.Moved() {
		return fmt.Errorf("not in a trial boot (running %s, as the command line says): switching would make the other root permanent", p.RunningName)
	}
	_, err = c.do(ctx, http.MethodPost, "/update/switch", nil)
	return err
}

// Reboot asks gokrazy to stop the services and reboot (through kexec where
// gokrazy can). The kernel's caches are flushed first: gokrazy edits the
// boot partition's files in place and does not sync them.
//
// gokrazy answers only after it stopped the services (the caller among
// them, usually: its context ends first) and unmounted /perm, so the
// state written before is safe; services get 10 s per signal to stop. Not
// "async": that reboots one second after the answer, /perm possibly
// still mounted.
func (c *Client) Reboot(ctx context.Context) error {
	if c.local {
		syscall.Sync()
	}
	_, err := c.do(ctx, http.MethodPost, "/reboot", strings.NewReader(url.Values{"wait_per_signal": {"10s"}}.Encode()))
	return err
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader) (string, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://gokrazy"+path, body)
	if err != nil {
		return "", err
	}
	if path == "/reboot" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.send(req)
}

// send makes req and returns gokrazy's answer, an error for any status
// but 200.
func (c *Client) send(req *http.Request) (string, error) {
	method, path := req.Method, req.URL.Path
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("gokrazy %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", fmt.Errorf("gokrazy %s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("gokrazy %s %s: %s: %s", method, path, resp.Status, shorten(strings.TrimSpace(string(b))))
	}
	return string(b), nil
}

func shorten(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
