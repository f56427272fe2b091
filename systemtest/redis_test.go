package systemtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"roomkit/internal/proctest"
)

// redisServer is Debian's redis-server on a loopback port, started and
// stopped by the test as whatever user runs it, with nothing on disk
// beyond its temporary directory (no snapshots, no append-only file).
type redisServer struct {
	Addr string // 127.0.0.1:PORT
	proc *proctest.Proc
}

// startRedis starts redis-server on addr ("": a free loopback port) and
// waits until it says it is ready. Without redis-server t is skipped with a
// message naming the setup script, unless the environment sets CI.
func startRedis(t testing.TB, addr string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server not found: run scripts/setup-test.sh"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI is set, so setup should have installed it)", msg)
		}
		t.Skipf("%s; skipping the test that needs a real Redis", msg)
	}
	if addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("redis: find a free port: %v", err)
		}
		addr = l.Addr().String()
		l.Close()
	}
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--bind", host, "--port", port, "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "notice")
	// The bound only ends a hang: Redis is ready in milliseconds.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := proctest.Start(ctx, cmd, "Ready to accept connections", syscall.SIGTERM)
	if err != nil {
		t.Fatalf("redis-server on %s: %v", addr, err)
	}
	r := &redisServer{Addr: addr, proc: p}
	t.Cleanup(r.stop)
	return r
}

// stop ends Redis (SIGTERM) and waits for it to exit.
func (r *redisServer) stop() { r.proc.Stop(10 * time.Second) }

// TestRedisServer: the helper's Redis answers once started, and not once
// stopped; a second stop does no harm (the cluster test stops it midway).
func TestRedisServer(t *testing.T) {
	r := startRedis(t, "")
	ctx := context.Background()
	if got, err := r.command(ctx, "PING"); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	r.stop()
	if _, err := r.command(ctx, "PING"); err == nil {
		t.Error("a stopped Redis still answers")
	}
	r.stop()
}

// command sends Redis one command over its own protocol (RESP) and
// returns a simple or bulk string reply ("" for none): the tests need no
// client library for a PING or an HGET.
func (r *redisServer) command(ctx context.Context, args ...string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return "", fmt.Errorf("redis %s: %w", r.Addr, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", fmt.Errorf("redis %s: %w", r.Addr, err)
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("redis %s: %w", r.Addr, err)
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "+"):
		return line[1:], nil
	case strings.HasPrefix(line, "-"):
		return "", fmt.Errorf("redis %s: %s", r.Addr, line[1:])
	case line == "$-1":
		return "", nil // nil bulk string: no such key or field
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("redis %s: bad reply %q", r.Addr, line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return "", fmt.Errorf("redis %s: %w", r.Addr, err)
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("redis %s: unexpected reply %q", r.Addr, line)
}
