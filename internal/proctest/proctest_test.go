package proctest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary stands in for a server when PROCTEST_SERVER says how
// to behave: "ready" says so and runs until SIGTERM, "deaf" says so and
// ignores SIGTERM, "fail" says why and exits 3, "mute" never says it is
// ready.
func TestMain(m *testing.M) {
	switch os.Getenv("PROCTEST_SERVER") {
	case "":
		os.Exit(m.Run())
	case "ready":
		serve(true, syscall.SIGTERM)
	case "deaf":
		signal.Ignore(syscall.SIGTERM)
		serve(true, syscall.SIGUSR1)
	case "fail":
		fmt.Println("starting")
		fmt.Fprintln(os.Stderr, "FATAL: the port is taken")
		os.Exit(3)
	case "mute":
		serve(false, syscall.SIGTERM)
	}
}

func serve(ready bool, stop os.Signal) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, stop)
	fmt.Println("starting")
	if ready {
		fmt.Fprintln(os.Stderr, "Ready to accept connections")
	}
	<-c
	os.Exit(0)
}

func server(how string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PROCTEST_SERVER="+how)
	return cmd
}

func TestReadyThenStop(t *testing.T) {
	p, err := Start(context.Background(), server("ready"), "Ready to accept", syscall.SIGTERM)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Log(); got != "starting\nReady to accept connections" {
		t.Errorf("Log = %q, want both lines, stdout's and stderr's", got)
	}
	if err := p.Stop(time.Minute); err != nil {
		t.Errorf("Stop: %v", err)
	}
	<-p.Done()
	if err := p.Stop(time.Minute); err != nil {
		t.Errorf("Stop again: %v", err)
	}
}

func TestKilledAfterGrace(t *testing.T) {
	p, err := Start(context.Background(), server("deaf"), "Ready to accept", syscall.SIGTERM)
	if err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := p.Stop(0); !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("Stop of a server that ignores its signal: %v, want it killed", err)
	}
}

func TestEndsBeforeReady(t *testing.T) {
	_, err := Start(context.Background(), server("fail"), "Ready to accept", syscall.SIGTERM)
	if err == nil || !strings.Contains(err.Error(), "ended before it was ready (exit status 3)") || !strings.Contains(err.Error(), "starting\nFATAL: the port is taken") {
		t.Errorf("Start of a server that fails: %v", err)
	}
}

func TestNeverReady(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Start(ctx, server("mute"), "Ready to accept", syscall.SIGTERM)
	if err == nil || !strings.Contains(err.Error(), "not ready: context canceled") {
		t.Errorf("Start of a server that never says it is ready: %v", err)
	}
}

func TestNoBinary(t *testing.T) {
	_, err := Start(context.Background(), exec.Command("/nonexistent/server"), "ready", syscall.SIGTERM)
	if err == nil || !strings.HasPrefix(err.Error(), "start server: ") {
		t.Errorf("Start of a missing binary: %v", err)
	}
}
