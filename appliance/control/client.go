package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"roomkit/appliance"
)

// maxAnswer caps what the client reads of roomd's answers.
const maxAnswer = 1 << 20

// Client talks to a running roomd.
type Client struct {
	addr  string
	token string
	http  *http.Client
	base  string
}

// Dial prepares a client for the control API at addr ("host:port" or
// "unix:/path"), with the credential from stateDir. It does not connect
// yet: the first request says whether roomd is running.
func Dial(addr, stateDir string) (*Client, error) {
	path := filepath.Join(stateDir, TokenFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("cannot read the control credential %s: permission denied (run as the kit's user)", path)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("cannot read the control credential %s: it does not exist (is roomd running with -state %s?)", path, stateDir)
	case err != nil:
		return nil, fmt.Errorf("cannot read the control credential %s: %w", path, err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return nil, fmt.Errorf("the control credential %s is empty (restart roomd to make a new one)", path)
	}
	c := &Client{addr: addr, token: tok, base: "http://" + addr}
	tr := &http.Transport{}
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		c.base = "http://roomd"
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
	} else if err := CheckLoopback(addr); err != nil {
		// The token must not travel beyond the machine.
		return nil, err
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// Status returns the kit's status.
func (c *Client) Status(ctx context.Context) (appliance.Status, error) {
	var s appliance.Status
	err := c.call(ctx, http.MethodGet, "/v1/status", &s)
	return s, err
}

// FactoryReset erases the kit's identity and pairing and returns its status
// afterwards (pairing, with a new device ID).
func (c *Client) FactoryReset(ctx context.Context) (appliance.Status, error) {
	var s appliance.Status
	err := c.call(ctx, http.MethodPost, "/v1/factory-reset", &s)
	return s, err
}

// Metrics returns the kit's metrics in Prometheus text format.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	var b []byte
	err := c.call(ctx, http.MethodGet, "/metrics", &b)
	return string(b), err
}

func (c *Client) call(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("roomd is not running (no answer on %s)", c.addr)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("reading roomd's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("roomd: %s", e.Error)
		}
		return fmt.Errorf("roomd answered %s", resp.Status)
	}
	if b, ok := out.(*[]byte); ok {
		*b = body
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("roomd's answer is not what roomctl expects (%v): are roomd and roomctl the same version?", err)
	}
	return nil
}
