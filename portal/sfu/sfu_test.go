package sfu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

// binary returns the installed livekit-server or skips: setup installs it,
// so in CI (CI set) its absence is a failure.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := FindBinary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set, so setup should have installed it)", err)
		}
		t.Skipf("%v; skipping the test that needs a real LiveKit server", err)
	}
	return bin
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// listRooms calls LiveKit's RoomService with the given credentials, which
// proves both that the server answers and that it knows the key.
func listRooms(t *testing.T, url, key, secret string) error {
	t.Helper()
	rc := lksdk.NewRoomServiceClient(strings.Replace(url, "ws://", "http://", 1), key, secret)
	_, err := rc.ListRooms(t.Context(), &livekit.ListRoomsRequest{})
	return err
}

func TestStartAnswersAndRestarts(t *testing.T) {
	bin := binary(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dir := t.TempDir()
	s, err := Start(ctx, Options{Binary: bin, Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()

	if !strings.HasPrefix(s.URL, "ws://127.0.0.1:") {
		t.Errorf("URL = %q, want ws://127.0.0.1:PORT (loopback only)", s.URL)
	}
	if s.APIKey == "" || len(s.APISecret) < 32 {
		t.Errorf("credentials look weak: key %q, secret of %d characters", s.APIKey, len(s.APISecret))
	}
	checkAnswers(t, s)
	checkLoopbackOnly(t, s)
	if err := listRooms(t, s.URL, s.APIKey, s.APISecret); err != nil {
		t.Fatalf("RoomService with the generated key: %v", err)
	}
	if err := listRooms(t, s.URL, s.APIKey, "wrong-secret-wrong-secret-wrong-secret"); err == nil {
		t.Error("RoomService accepted a wrong secret")
	}
	if st, err := os.Stat(filepath.Join(dir, "livekit.yaml")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("config file: %v, mode %v; want 0600 (it holds the secret)", err, st.Mode().Perm())
	}

	url, key := s.URL, s.APIKey
	if err := s.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if s.URL != url || s.APIKey != key {
		t.Errorf("after Restart: %s/%s, want the same %s/%s", s.URL, s.APIKey, url, key)
	}
	checkAnswers(t, s)
	if err := listRooms(t, s.URL, s.APIKey, s.APISecret); err != nil {
		t.Fatalf("RoomService after Restart: %v", err)
	}

	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := http.Get(httpURL(s)); err == nil {
		t.Error("the server still answers after Stop")
	}
	if err := s.Restart(t.Context()); err == nil {
		t.Error("Restart after Stop succeeded")
	}
}

func TestStopsWhenContextEnds(t *testing.T) {
	bin := binary(t)
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Start(ctx, Options{Binary: bin, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	checkAnswers(t, s)
	cancel()
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	<-exited // waits for the process; a hang here is the failure
	if _, err := http.Get(httpURL(s)); err == nil {
		t.Error("the server still answers after its context ended")
	}
}

func checkAnswers(t *testing.T, s *Server) {
	t.Helper()
	resp, err := http.Get(httpURL(s))
	if err != nil {
		t.Fatalf("GET %s: %v", httpURL(s), err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "OK" {
		t.Fatalf("GET %s = %d %q, want 200 OK", httpURL(s), resp.StatusCode, body)
	}
}

func httpURL(s *Server) string { return strings.Replace(s.URL, "ws://", "http://", 1) + "/" }

func TestMissingBinary(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) Options
	}{
		{"no such file", func(t *testing.T) Options {
			return Options{Binary: filepath.Join(t.TempDir(), "livekit-server")}
		}},
		{"not installed anywhere", func(t *testing.T) Options {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644)
			t.Chdir(dir)
			t.Setenv("PATH", dir)
			return Options{}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(t.Context(), tt.setup(t))
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Start = %v, want ErrNotFound", err)
			}
			if !strings.Contains(err.Error(), "run scripts/setup-livekit.sh") {
				t.Errorf("error %q does not say how to fix it", err)
			}
		})
	}
}

func TestFindBinaryPrefersTools(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644)
	os.MkdirAll(filepath.Join(root, ".tools"), 0o755)
	want := filepath.Join(root, ".tools", "livekit-server")
	os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755)
	sub := filepath.Join(root, "a", "b")
	os.MkdirAll(sub, 0o755)
	t.Chdir(sub)
	t.Setenv("PATH", "")
	got, err := FindBinary()
	if err != nil || got != want {
		t.Errorf("FindBinary() = %q, %v; want %q", got, err, want)
	}
}

func TestConfigIsLoopbackOnly(t *testing.T) {
	c := configYAML("127.0.0.1", 7880, 7882, "APIkey", "secret", "http://127.0.0.1:8080/hook", "")
	if strings.Contains(c, "redis") {
		t.Errorf("a single node's config names Redis:\n%s", c)
	}
	for _, want := range []string{
		"port: 7880", "bind_addresses:\n  - 127.0.0.1", "udp_port: 7882", "node_ip: 127.0.0.1",
		"tcp_port: 0", "use_external_ip: false", "- 127.0.0.1/32", "turn:\n  enabled: false", "APIkey: secret",
		"room:\n  auto_create: false", "webhook:\n  api_key: APIkey\n  urls:\n    - \"http://127.0.0.1:8080/hook\"",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("config lacks %q:\n%s", want, c)
		}
	}
	for _, bad := range []string{"development", "0.0.0.0"} {
		if strings.Contains(c, bad) {
			t.Errorf("config has %q, which would listen beyond loopback or use fixed keys", bad)
		}
	}
}

func TestConfigOfAClusterNode(t *testing.T) {
	c := configYAML("127.0.0.1", 7880, 7882, "APIkey", "secret", "", "127.0.0.1:6390")
	for _, want := range []string{"redis:\n  address: \"127.0.0.1:6390\"", "room:\n  auto_create: false", "APIkey: secret"} {
		if !strings.Contains(c, want) {
			t.Errorf("config lacks %q:\n%s", want, c)
		}
	}
}

func TestStartRefusesHalfCredentials(t *testing.T) {
	for _, o := range []Options{{APIKey: "APIx"}, {APISecret: strings.Repeat("s", 40)}} {
		o.Binary = "/bin/true"
		if _, err := Start(t.Context(), o); err == nil || !strings.Contains(err.Error(), "both an API key and a secret") {
			t.Errorf("Start(%+v): %v, want a refusal of half the credentials", o, err)
		}
	}
}

// checkLoopbackOnly fails if the process has a TCP or UDP socket bound to
// anything but 127.0.0.1: the demo and tests must not listen on the network.
func checkLoopbackOnly(t *testing.T, s *Server) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("list the server's sockets: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	bound := 0
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, proto))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			local, remote := f[1], f[2]
			if !strings.HasPrefix(remote, "00000000:0000") && !strings.HasPrefix(remote, "0000000000000000") {
				continue // a connection, not a listener
			}
			bound++
			if !strings.HasPrefix(local, "0100007F:") {
				t.Errorf("livekit-server has a %s socket bound to %s, not 127.0.0.1", proto, local)
			}
		}
	}
	if bound < 2 {
		t.Errorf("found %d bound sockets, want at least the HTTP and the media port", bound)
	}
}
