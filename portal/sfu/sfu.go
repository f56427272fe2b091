// Package sfu supervises a single-node LiveKit server on loopback: the
// selective forwarding unit meetings run on in the demo and in tests.
// Production deployments point the portal at a LiveKit cluster instead.
//
// The server binds only to one address, 127.0.0.1 unless told otherwise
// (signalling, HTTP and media), never discovers an external address and
// gets a freshly generated API key and secret on every Start, so no two
// runs share credentials.
package sfu

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
)

// Options configures Start.
type Options struct {
	Binary string       // the livekit-server executable; "": FindBinary()
	Dir    string       // holds the generated config file; "": a temporary directory removed by Stop
	Logger *slog.Logger // receives the server's log lines; nil: discard
	// Address is the one IPv4 address LiveKit binds and advertises;
	// "": 127.0.0.1. The QEMU kit test uses an address of its own network
	// namespace, which its guest can reach and the host's loopback cannot.
	Address string
	// WebhookURL, if set, receives LiveKit's webhooks (signed with the
	// server's API key): the portal's endpoint that enforces a meeting's
	// lock on participants who join with a token minted before it.
	WebhookURL string
	// Redis, if set (host:port), makes the server one node of a LiveKit
	// cluster: the nodes sharing a Redis route each room to one of them
	// and accept signalling for any room (docs/livekit.md, "A cluster").
	Redis string
	// APIKey and APISecret, if set, are the server's credentials; the
	// nodes of one cluster share them. "": freshly generated.
	APIKey, APISecret string
}

// Server is a running livekit-server.
type Server struct {
	URL       string // ws://ADDRESS:PORT, for clients and for tokens' audience
	APIKey    string
	APISecret string

	binary  string
	addr    string // the address bound and advertised
	webhook string // Options.WebhookURL
	redis   string // Options.Redis
	config  string // path of the YAML config
	tempDir string // removed by Stop when we created it
	log     *slog.Logger
	port    int

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	exitErr error         // cmd.Wait's result, valid after exited is closed
	stopped bool
	done    chan struct{} // closed when Stop begins
	halted  chan struct{} // closed when Stop has finished
	stopErr error         // Stop's result, valid after halted is closed
	lines   *tail
	nodeID  string // LiveKit's node ID, from its start-up log line
}

// ErrNotFound says the livekit-server binary is not installed.
var ErrNotFound = errors.New("livekit-server not found: run scripts/setup-livekit.sh")

// startTimeout bounds the wait for a fresh process to answer HTTP when the
// caller's context has no deadline; LiveKit is ready within a second or two.
const startTimeout = 60 * time.Second

// FindBinary returns the livekit-server to run: .tools/livekit-server at the
// module root (found by walking up from the working directory to go.mod),
// else livekit-server from $PATH.
func FindBinary() (string, error) {
	if dir, err := os.Getwd(); err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, ".tools", "livekit-server")
				if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
					return p, nil
				}
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := exec.LookPath("livekit-server"); err == nil {
		return p, nil
	}
	return "", ErrNotFound
}

// Start writes a config, starts livekit-server and waits until it answers
// HTTP. The server is stopped when ctx ends or Stop is called.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = FindBinary(); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotFound, err)
	}
	s := &Server{binary: bin, addr: opts.Address, webhook: opts.WebhookURL, redis: opts.Redis, log: opts.Logger, done: make(chan struct{}), halted: make(chan struct{})}
	if s.addr == "" {
		s.addr = "127.0.0.1"
	}
	if ip := net.ParseIP(s.addr); ip == nil || ip.To4() == nil {
		return nil, fmt.Errorf("livekit: address %q is not an IPv4 address", s.addr)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "livekit-")
		if err != nil {
			return nil, fmt.Errorf("livekit: config dir: %w", err)
		}
		dir, s.tempDir = d, d
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("livekit: config dir: %w", err)
	}
	s.config = filepath.Join(dir, "livekit.yaml")
	s.APIKey, s.APISecret = opts.APIKey, opts.APISecret
	if (s.APIKey == "") != (s.APISecret == "") {
		s.removeTemp()
		return nil, errors.New("livekit: give both an API key and a secret, or neither")
	}
	if s.APIKey == "" {
		s.APIKey = "API" + randomString(12)
		s.APISecret = randomString(43)
	}

	// Free ports are found by binding and closing, so another process may
	// take one before LiveKit binds it; a few fresh tries make that harmless.
	var err error
	for range 3 {
		if err = s.choosePorts(); err != nil {
			break
		}
		if err = s.launch(ctx); err == nil {
			break
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		s.removeTemp()
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.done:
		}
	}()
	return s, nil
}

// choosePorts picks free loopback ports for signalling (TCP) and media (UDP)
// and writes the config.
func (s *Server) choosePorts() error {
	l, err := net.Listen("tcp", net.JoinHostPort(s.addr, "0"))
	if err != nil {
		return fmt.Errorf("livekit: find a free TCP port: %w", err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	u, err := net.ListenPacket("udp", net.JoinHostPort(s.addr, "0"))
	if err != nil {
		return fmt.Errorf("livekit: find a free UDP port: %w", err)
	}
	udp := u.LocalAddr().(*net.UDPAddr).Port
	u.Close()
	s.URL = "ws://" + net.JoinHostPort(s.addr, strconv.Itoa(s.port))
	if err := renameio.WriteFile(s.config, []byte(configYAML(s.addr, s.port, udp, s.APIKey, s.APISecret, s.webhook, s.redis)), 0o600); err != nil {
		return fmt.Errorf("livekit: write config: %w", err)
	}
	return nil
}

// configYAML is LiveKit's configuration for a loopback-only single node.
// rtc.tcp_port is 0 (off): LiveKit binds its ICE/TCP listener on every
// interface, and by default on the fixed port 7881, which would break both
// the loopback-only promise and parallel test servers. Media is UDP muxed on
// one port bound to 127.0.0.1 only (rtc.ips.includes); node_ip pins the
// advertised candidate, so no STUN lookup of an external address happens.
// room.auto_create is off: only the portal creates rooms (RoomService,
// with max_participants), so a token kept from an ended meeting cannot
// bring its room back, uncapped. With redis the node joins the cluster
// that Redis holds together.
func configYAML(addr string, port, udpPort int, key, secret, webhook, redis string) string {
	hook := ""
	if webhook != "" {
		hook = fmt.Sprintf("webhook:\n  api_key: %s\n  urls:\n    - %q\n", key, webhook)
	}
	if redis != "" {
		hook += fmt.Sprintf("redis:\n  address: %q\n", redis)
	}
	return fmt.Sprintf(`# Written by roomkit/portal/sfu; regenerated on every start.
port: %[2]d
bind_addresses:
  - %[1]s
rtc:
  udp_port: %[3]d
  tcp_port: 0
  node_ip: %[1]s
  use_external_ip: false
  enable_loopback_candidate: true
  ips:
    includes:
      - %[1]s/32
turn:
  enabled: false
room:
  auto_create: false
keys:
  %[4]s: %[5]s
logging:
  json: true
  level: info
%[6]s`, addr, port, udpPort, key, secret, hook)
}

// launch starts the process and waits until it answers HTTP.
func (s *Server) launch(ctx context.Context) error {
	cmd := exec.Command(s.binary, "--config", s.config)
	cmd.Env = environ()
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("livekit: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	lines := newTail(20)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("livekit: start %s: %w", s.binary, err)
	}
	exited := make(chan struct{})
	var copied sync.WaitGroup
	copied.Add(1)
	go func() {
		defer copied.Done()
		s.relay(stdout, lines)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.lines, s.stopped = cmd, exited, lines, false
	s.mu.Unlock()
	go func() {
		copied.Wait() // Wait closes the pipe; read it to the end first
		err := cmd.Wait()
		s.mu.Lock()
		s.exitErr = err
		s.mu.Unlock()
		close(exited)
	}()

	wctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := s.waitReady(wctx, exited); err != nil {
		s.kill()
		return fmt.Errorf("livekit: %w%s", err, lines.String())
	}
	s.log.Info("livekit-server ready", "url", s.URL, "pid", cmd.Process.Pid)
	return nil
}

// environ is our environment without LIVEKIT_* variables, which LiveKit
// would take over the config (inherited keys, a Redis URL, a config body).
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIVEKIT_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady polls the server's HTTP port until it answers 200.
func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + net.JoinHostPort(s.addr, strconv.Itoa(s.port)) + "/"
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			s.mu.Lock()
			err := s.exitErr
			s.mu.Unlock()
			return fmt.Errorf("livekit-server exited before it was ready (%v)", err)
		case <-ctx.Done():
			return fmt.Errorf("livekit-server did not answer on %s: %w", url, ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop ends the server and waits for it to exit; every call waits, so a
// caller's Stop also covers a stop its context's end began. LiveKit drains
// rooms on the first signal (waiting for participants to leave) and stops
// at once on the second, so a short grace period is followed by the second
// signal.
func (s *Server) Stop() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		<-s.halted
		return s.stopErr
	}
	s.stopped = true
	close(s.done)
	s.mu.Unlock()
	s.stopErr = s.halt()
	s.removeTemp()
	close(s.halted)
	return s.stopErr
}

// halt stops the current process without marking the Server stopped.
func (s *Server) halt() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	for i, wait := range []time.Duration{time.Second, 5 * time.Second} {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			s.log.Info("livekit-server stopped", "forced", i > 0)
			return nil
		case <-time.After(wait):
		}
	}
	s.kill()
	return errors.New("livekit: livekit-server ignored SIGTERM and was killed")
}

func (s *Server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	cmd.Process.Kill()
	<-exited
}

// NodeID is LiveKit's ID of this node (as a cluster's Redis names it),
// known once the server is ready; a restart gives it a new one.
func (s *Server) NodeID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodeID
}

// Kill ends the server at once without a goodbye to its participants, as
// a crash or a power cut of its machine would, and leaves it down: Stop
// then only cleans up.
func (s *Server) Kill() error {
	s.mu.Lock()
	stopped, running := s.stopped, s.cmd != nil
	s.mu.Unlock()
	if stopped || !running {
		return errors.New("livekit: Kill of a server that is not running")
	}
	s.kill()
	return nil
}

// Drain asks the server to drain, as an operator's SIGTERM does: it takes
// no new rooms and exits once its last participant has left. Stop (a
// second signal) ends it at once; Exited is closed when it is gone.
func (s *Server) Drain() error {
	s.mu.Lock()
	cmd, stopped := s.cmd, s.stopped
	s.mu.Unlock()
	if stopped || cmd == nil {
		return errors.New("livekit: Drain of a server that is not running")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("livekit: drain: %w", err)
	}
	return nil
}

// Exited is closed when the current process has exited.
func (s *Server) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exited
}

// Crash kills the server without a goodbye to its participants, as a
// crash or a power cut would, and starts it again on the same ports.
func (s *Server) Crash(ctx context.Context) error {
	s.mu.Lock()
	stopped, running := s.stopped, s.cmd != nil
	s.mu.Unlock()
	if stopped || !running {
		return errors.New("livekit: Crash of a server that is not running")
	}
	s.kill()
	if err := s.launch(ctx); err != nil {
		return fmt.Errorf("start after crash: %w", err)
	}
	return nil
}

// Restart stops the server and starts it again on the same ports with the
// same credentials, as a LiveKit restart in production would look to
// clients. ctx bounds the wait for the new process; the server still stops
// when Start's context ends.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return errors.New("livekit: Restart after Stop")
	}
	s.mu.Unlock()
	if err := s.halt(); err != nil {
		return err
	}
	if err := s.launch(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped { // Stop ran while we were starting
		return errors.Join(errors.New("livekit: stopped during Restart"), s.halt())
	}
	return nil
}

func (s *Server) removeTemp() {
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
}

// relay copies LiveKit's JSON log lines into the slog logger, keeping the
// last few for error messages. LiveKit's info lines (every join, periodic
// load reports) become Debug, so they do not drown the portal's own log;
// its warnings and errors keep their level.
func (s *Server) relay(r io.Reader, t *tail) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		t.add(line)
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			s.log.Warn(line, "source", "livekit") // not JSON: a panic or a config error
			continue
		}
		level := slog.LevelDebug
		switch rec["level"] {
		case "warn", "warning":
			level = slog.LevelWarn
		case "error", "dpanic", "panic", "fatal":
			level = slog.LevelError
		}
		msg, _ := rec["msg"].(string)
		if id, ok := rec["nodeID"].(string); ok && msg == "starting LiveKit server" {
			s.mu.Lock()
			s.nodeID = id
			s.mu.Unlock()
		}
		attrs := []any{"source", "livekit"}
		for k, v := range rec {
			switch k {
			case "level", "msg", "ts", "caller", "stacktrace":
				continue
			}
			attrs = append(attrs, k, v)
		}
		s.log.Log(context.Background(), level, msg, attrs...)
	}
	io.Copy(io.Discard, r)
}

// tail keeps the last n lines of output.
type tail struct {
	mu    sync.Mutex
	n     int
	lines []string
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[1:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return "; its last output:\n" + strings.Join(t.lines, "\n")
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters from crypto/rand (62^n possibilities).
func randomString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randUint(len(alphabet))]
	}
	return string(b)
}

func randUint(n int) int {
	var buf [1]byte
	limit := 256 - 256%n // reject to avoid modulo bias
	for {
		rand.Read(buf[:])
		if int(buf[0]) < limit {
			return int(buf[0]) % n
		}
	}
}
