package control

import (
	"bytes"
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
	return c.callWith(ctx, method, path, nil, out)
}

// callWith is call with a JSON request body (in, if not nil).
func (c *Client) callWith(ctx context.Context, method, path string, in, out any) error {
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reqBody)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
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

// MeetNow starts an instant meeting in the room and returns the kit's
// status once it is in it.
func (c *Client) MeetNow(ctx context.Context) (appliance.Status, error) {
	return c.verb(ctx, "/v1/meeting/meet-now", nil)
}

// Join joins the meeting id ("123456789" or "123-456-789").
func (c *Client) Join(ctx context.Context, id string) (appliance.Status, error) {
	return c.verb(ctx, "/v1/meeting/join", JoinRequest{ID: id})
}

// Leave leaves the meeting.
func (c *Client) Leave(ctx context.Context) (appliance.Status, error) {
	return c.verb(ctx, "/v1/meeting/leave", nil)
}

// SetMuted mutes or unmutes the room's microphone.
func (c *Client) SetMuted(ctx context.Context, muted bool) (appliance.Status, error) {
	return c.verb(ctx, "/v1/microphone", MicrophoneRequest{Muted: &muted})
}

// SetCameraOff turns the room's camera off or on in the meeting.
func (c *Client) SetCameraOff(ctx context.Context, off bool) (appliance.Status, error) {
	return c.verb(ctx, "/v1/meeting/camera", CameraRequest{Off: &off})
}

// SetVolume sets the speaker's volume, 0–100.
func (c *Client) SetVolume(ctx context.Context, percent int) (appliance.Status, error) {
	return c.verb(ctx, "/v1/volume", VolumeRequest{Volume: &percent})
}

// EndMeeting ends the meeting the room organises for everyone and
// returns the kit's status once it is home.
func (c *Client) EndMeeting(ctx context.Context) (appliance.Status, error) {
	return c.verb(ctx, "/v1/meeting/end", nil)
}

// SetLocked locks (no new guests may join) or unlocks the meeting the
// room organises.
func (c *Client) SetLocked(ctx context.Context, locked bool) (appliance.Status, error) {
	return c.verb(ctx, "/v1/meeting/lock", LockRequest{Locked: &locked})
}

func (c *Client) verb(ctx context.Context, path string, in any) (appliance.Status, error) {
	var s appliance.Status
	err := c.callWith(ctx, http.MethodPost, path, in, &s)
	return s, err
}
