package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"roomkit/appliance"
	"roomkit/appliance/control"
	"roomkit/drivers/audio/audiotest"
	"roomkit/drivers/camera"
	"roomkit/drivers/camera/cameratest"
	"roomkit/portal"
	"roomkit/ui"
	"roomkit/ui/simulator"
)

// testLogger keeps the components' logs out of passing runs; -v shows them.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// runningPortal is a real portal served on a loopback port.
type runningPortal struct {
	*portal.Server
	URL   string
	addr  string
	http  *http.Server
	token string // an admin API token
}

// startPortal starts a portal on addr ("127.0.0.1:0" for any port) with its
// state in dir. Reusing the address of a stopped portal restarts "the same"
// portal, as a server reboot would.
func startPortal(t testing.TB, dir, addr string) *runningPortal {
	t.Helper()
	return startPortalWith(t, dir, addr, portal.LiveKit{})
}

// startPortalWith is startPortal with meetings on the LiveKit server lk.
func startPortalWith(t testing.TB, dir, addr string, lk portal.LiveKit) *runningPortal {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("portal listen: %v", err)
	}
	url := "http://" + ln.Addr().String()
	srv, err := portal.New(portal.Config{DataDir: dir, URL: url, Logger: testLogger(t), LiveKit: lk, AssetsDir: joinPageAssets()})
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	p := &runningPortal{Server: srv, URL: url, addr: ln.Addr().String(), http: &http.Server{Handler: srv.Handler()}}
	go p.http.Serve(ln)
	p.token, err = srv.CreateAPIToken("systemtest")
	if err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	t.Cleanup(p.stop)
	return p
}

func (p *runningPortal) stop() {
	p.http.Close()
	p.Server.Close()
}

// api calls the admin REST API and decodes the answer into out (if not nil).
func (p *runningPortal) api(t testing.TB, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

type roomJSON struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Location string    `json:"location"`
	State    string    `json:"state"`
	Online   bool      `json:"online"`
	LastSeen time.Time `json:"last_seen"`
	Version  string    `json:"version"`
}

func (p *runningPortal) rooms(t testing.TB) []roomJSON {
	var rooms []roomJSON
	if code := p.api(t, "GET", "/api/v1/admin/rooms", nil, &rooms); code != http.StatusOK {
		t.Fatalf("list rooms: HTTP %d", code)
	}
	return rooms
}

// runningKit is the real roomd kit with simulated devices, its control API
// and its screen simulator on loopback ports.
type runningKit struct {
	*appliance.Kit
	dir       string
	control   *control.Client
	ScreenURL string
	stop      func()
	speaker   *audiotest.Synthetic // its speakerphone: what the room hears
	screen    *simulator.Simulator
	steps     *joinSteps // when its joins passed each step
}

const testVersion = "1.2.3-test"

func startKit(t testing.TB, dir, portalURL string) *runningKit {
	t.Helper()
	return startKitWith(t, dir, portalURL, cameratest.NewSynthetic(640, 480, 15))
}

// startKitWith is startKit with the given camera.
func startKitWith(t testing.TB, dir, portalURL string, cam camera.Camera) *runningKit {
	t.Helper()
	sim := simulator.New(ui.Size1080p)
	sp := audiotest.NewSynthetic(440)
	steps := &joinSteps{}
	kit, err := appliance.New(appliance.Config{
		StateDir: dir, PortalURL: portalURL, Version: testVersion,
		Display: sim, Input: sim.Input(),
		Camera:       cam,
		Speakerphone: sp,
		Logger:       testLogger(t),
		// A short heartbeat so unpairing shows within the test's patience;
		// kits use 15 s.
		HeartbeatInterval: 300 * time.Millisecond,
		OnJoinStep:        steps.note,
	})
	if err != nil {
		t.Fatalf("appliance.New: %v", err)
	}
	token, err := control.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := control.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctrl := &http.Server{Handler: control.Handler(kit, token, testLogger(t))}
	go ctrl.Serve(cl)
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	screen := &http.Server{Handler: sim.Handler()}
	go screen.Serve(sl)
	client, err := control.Dial(cl.Addr().String(), dir)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { kit.Run(ctx); close(done) }()
	k := &runningKit{Kit: kit, dir: dir, control: client, ScreenURL: "http://" + sl.Addr().String() + "/", speaker: sp, screen: sim, steps: steps}
	var stopped bool
	k.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		ctrl.Close()
		screen.Close()
		sim.Close()
	}
	t.Cleanup(k.stop)
	return k
}

// status reads the kit's status the way roomctl does: over the control API.
func (k *runningKit) status(t testing.TB) appliance.Status {
	t.Helper()
	st, err := k.control.Status(context.Background())
	if err != nil {
		t.Fatalf("control status: %v", err)
	}
	return st
}

// waitFor polls cond until it holds or the deadline passes; what is the
// condition in words, for the failure message.
func waitFor(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("waited %v for %s; last seen: %s", within, what, last)
}

func (k *runningKit) waitState(t testing.TB, within time.Duration, want appliance.State, check func(appliance.Status) bool) appliance.Status {
	t.Helper()
	var st appliance.Status
	waitFor(t, within, fmt.Sprintf("the kit to be %s", want), func() (bool, string) {
		st = k.status(t)
		ok := st.State == want && (check == nil || check(st))
		return ok, fmt.Sprintf("state=%s room=%q code=%q error=%q", st.State, st.RoomName, st.UserCode, st.Error)
	})
	return st
}

func hasCode(st appliance.Status) bool { return strings.TrimSpace(st.UserCode) != "" }
