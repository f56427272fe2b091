package control

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"roomkit/appliance"
	"roomkit/drivers"
)

type fakeKit struct {
	mu     sync.Mutex
	status appliance.Status
	resets int
}

func (k *fakeKit) Status() appliance.Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.status
}

func (k *fakeKit) Metrics() appliance.Metrics {
	return appliance.Metrics{HeartbeatsOK: 7, HeartbeatsFailed: 2, PairingCodesIssued: 3}
}

func (k *fakeKit) FactoryReset(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.resets++
	k.status = appliance.Status{State: appliance.Pairing, DeviceID: "new-device", UserCode: "BCDF-GHJK"}
	return nil
}

var readyStatus = appliance.Status{State: appliance.Ready, RoomName: "Boardroom", PortalURL: "http://127.0.0.1:8080", PortalConnected: true,
	Version: "0.1.0", DeviceID: "dev", Devices: []drivers.Status{{Kind: "camera", Name: "Synthetic camera", Present: true}}, UptimeSeconds: 42}

// serve starts the control API on a loopback port with a token in a new
// state directory.
func serve(t *testing.T, kit Kit) (addr, dir, token string) {
	t.Helper()
	dir = t.TempDir()
	token, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: Handler(kit, token, nil)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), dir, token
}

// send makes one request with auth as its Authorization header ("" for
// none) and returns the status and the body.
func send(t *testing.T, method, url, auth, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestAuth(t *testing.T) {
	addr, _, token := serve(t, &fakeKit{status: readyStatus})
	for _, tc := range []struct {
		name, method, path, auth string
		want                     int
	}{
		{"no token", "GET", "/v1/status", "", 401},
		{"wrong token", "GET", "/v1/status", "Bearer " + strings.Repeat("x", len(token)), 401},
		{"token without Bearer", "GET", "/v1/status", token, 401},
		{"prefix of the token", "GET", "/v1/status", "Bearer " + token[:10], 401},
		{"metrics need it too", "GET", "/metrics", "", 401},
		{"reset needs it too", "POST", "/v1/factory-reset", "Bearer nope", 401},
		{"status", "GET", "/v1/status", "Bearer " + token, 200},
		{"metrics", "GET", "/metrics", "Bearer " + token, 200},
		{"reset is a POST", "GET", "/v1/factory-reset", "Bearer " + token, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, tc.method, "http://"+addr+tc.path, tc.auth, "")
			if code != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.want)
			}
			if code == 401 && !strings.Contains(string(body), TokenFile) {
				t.Errorf("401 body %q does not say where the token is", body)
			}
		})
	}
}

func TestClient(t *testing.T) {
	kit := &fakeKit{status: readyStatus}
	addr, dir, _ := serve(t, kit)
	c, err := Dial(addr, dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil || st.RoomName != "Boardroom" || st.State != appliance.Ready || len(st.Devices) != 1 || st.UptimeSeconds != 42 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	m, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`roomkit_kit_state{state="ready"} 1`,
		`roomkit_kit_state{state="pairing"} 0`,
		`roomkit_heartbeats_total{result="ok"} 7`,
		`roomkit_heartbeats_total{result="failed"} 2`,
		"roomkit_pairing_codes_issued_total 3",
		"roomkit_uptime_seconds 42",
		"roomkit_portal_connected 1",
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
	st, err = c.FactoryReset(ctx)
	if err != nil || st.State != appliance.Pairing || st.DeviceID != "new-device" || kit.resets != 1 {
		t.Errorf("FactoryReset = %+v, %v (resets %d)", st, err, kit.resets)
	}
	// The credential survives: roomctl keeps working after a reset.
	if _, err := c.Status(ctx); err != nil {
		t.Errorf("status after reset: %v", err)
	}
}

func TestClientErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateToken(dir); err != nil {
		t.Fatal(err)
	}
	// A port nobody listens on.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	free := l.Addr().String()
	l.Close()

	c, err := Dial(free, dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Status(context.Background())
	if want := "roomd is not running (no answer on " + free + ")"; err == nil || err.Error() != want {
		t.Errorf("Status with no roomd: %v, want %q", err, want)
	}

	missing := filepath.Join(t.TempDir(), "nothing")
	if _, err := Dial(DefaultAddr, missing); err == nil || !strings.Contains(err.Error(), "cannot read the control credential "+filepath.Join(missing, TokenFile)) {
		t.Errorf("Dial without a credential: %v", err)
	}
	if _, err := Dial("192.0.2.1:7444", dir); err == nil || !strings.Contains(err.Error(), "only loopback") {
		t.Errorf("Dial to another machine: %v; want a refusal (the token must stay local)", err)
	}

	if os.Geteuid() != 0 { // root reads anything
		os.Chmod(filepath.Join(dir, TokenFile), 0)
		_, err := Dial(DefaultAddr, dir)
		want := "cannot read the control credential " + filepath.Join(dir, TokenFile) + ": permission denied (run as the kit's user)"
		if err == nil || err.Error() != want {
			t.Errorf("Dial with an unreadable credential: %v, want %q", err, want)
		}
	}
}

func TestListen(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"localhost:0", true},
		{"0.0.0.0:7444", false},
		{":7444", false},
		{"[::]:7444", false},
		{"192.168.1.10:7444", false},
		{"portal.example:7444", false},
		{"7444", false},
	} {
		l, err := Listen(tc.addr)
		if l != nil {
			l.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("Listen(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "loopback") {
			t.Errorf("Listen(%q) error %q does not say what is allowed", tc.addr, err)
		}
	}
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "roomd.sock")

	// A socket left behind by a roomd that died is replaced.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	l, err := Listen("unix:" + sock)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	// A live one is not taken over.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := Listen("unix:" + sock); err == nil || !strings.Contains(err.Error(), "another roomd") {
		t.Errorf("Listen on a live socket: %v", err)
	}

	// A file that is not a socket is never removed.
	file := filepath.Join(dir, "precious")
	os.WriteFile(file, []byte("data"), 0o600)
	if _, err := Listen("unix:" + file); err == nil {
		t.Error("Listen replaced a regular file")
	}
	if b, _ := os.ReadFile(file); string(b) != "data" {
		t.Error("the regular file was changed")
	}

	// roomctl talks over the socket.
	kit := &fakeKit{status: readyStatus}
	token, _ := LoadOrCreateToken(dir)
	sock2 := filepath.Join(dir, "api.sock")
	l2, err := Listen("unix:" + sock2)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: Handler(kit, token, nil)}
	go srv.Serve(l2)
	defer srv.Close()
	c, err := Dial("unix:"+sock2, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status(context.Background()); err != nil || st.RoomName != "Boardroom" {
		t.Errorf("Status over the socket: %+v, %v", st, err)
	}
}

func TestLoadOrCreateToken(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreateToken(dir)
	if err != nil || len(a) < 32 {
		t.Fatalf("token %q, %v", a, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, TokenFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	b, err := LoadOrCreateToken(dir)
	if err != nil || a != b {
		t.Errorf("second load gave another token (%v)", err)
	}
}
