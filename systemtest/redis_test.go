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
	"sync"
	"syscall"
	"testing"
	"time"
)

// redisServer is Debian's redis-server on a loopback port, started and
// stopped by the test as whatever user runs it, with nothing on disk
// beyond its temporary directory (no snapshots, no append-only file).
type redisServer struct {
	Addr   string // 127.0.0.1:PORT
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	lines  *lineLog
}

// startRedis starts redis-server on addr ("": a free loopback port) and
// waits until it answers PING. Without redis-server t is skipped with a
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
	r := &redisServer{Addr: addr, dir: t.TempDir(), exited: make(chan struct{}), lines: &lineLog{}}
	r.cmd = exec.Command(bin, "--bind", host, "--port", port, "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "notice")
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = r.cmd.Stdout
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	ready := make(chan struct{})
	go func() {
		var once sync.Once
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			r.lines.add(sc.Text())
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				once.Do(func() { close(ready) })
			}
		}
		r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(r.stop)
	select {
	case <-ready:
	case <-r.exited:
		t.Fatalf("redis-server on %s exited before it was ready:\n%s", addr, r.lines)
	case <-time.After(30 * time.Second):
		t.Fatalf("redis-server on %s not ready after 30 s:\n%s", addr, r.lines)
	}
	return r
}

// stop ends Redis (SIGTERM) and waits for it to exit.
func (r *redisServer) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
	}
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

// lineLog keeps a process's last lines for failure messages.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	if len(l.lines) > 30 {
		l.lines = l.lines[1:]
	}
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
