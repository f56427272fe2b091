// Package proctest runs a server process for a test (PostgreSQL, Redis):
// it starts the process, returns once the process says in its output that
// it is ready, keeps the output's last lines for failure messages, and
// stops it.
package proctest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// keepLines is how many of the output's last lines a Proc keeps: enough
// for a server's reason to refuse to start.
const keepLines = 30

// Proc is a server process started by Start.
type Proc struct {
	name string
	cmd  *exec.Cmd
	stop os.Signal
	done chan struct{} // closed once the process has ended
	err  error         // cmd.Wait's answer, once done is closed
	log  lastLines
}

// Start starts cmd and returns once a line of its output (stdout and
// stderr) contains ready. stop is the signal that asks this server to
// shut down (Stop sends it). If the process ends first, or ctx ends first
// (the process is then stopped), Start returns an error that quotes the
// output's last lines.
func Start(ctx context.Context, cmd *exec.Cmd, ready string, stop os.Signal) (*Proc, error) {
	p := &Proc{name: filepath.Base(cmd.Path), cmd: cmd, stop: stop, done: make(chan struct{})}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.name, err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.name, err)
	}
	isReady := make(chan struct{})
	go func() {
		var once sync.Once
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.log.add(sc.Text())
			if strings.Contains(sc.Text(), ready) {
				once.Do(func() { close(isReady) })
			}
		}
		io.Copy(io.Discard, out) // a line too long for the scanner: drain the rest, so Wait returns
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case <-isReady:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s ended before it was ready (%v):\n%s", p.name, p.err, p.Log())
	case <-ctx.Done():
		p.Stop(time.Minute)
		return nil, fmt.Errorf("%s not ready: %w:\n%s", p.name, ctx.Err(), p.Log())
	}
}

// Stop asks the process to shut down and waits until it has; a process
// still running after grace is killed. It returns the process's end
// (cmd.Wait's error); stopping a process that has ended only returns that.
func (p *Proc) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.cmd.Process.Signal(p.stop)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.cmd.Process.Kill()
		<-p.done
	}
	return p.err
}

// Done is closed once the process has ended, by Stop or by itself.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Log is the output's last lines.
func (p *Proc) Log() string { return p.log.String() }

// lastLines keeps a process's last keepLines lines.
type lastLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lastLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	if len(l.lines) > keepLines {
		l.lines = l.lines[1:]
	}
}

func (l *lastLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
