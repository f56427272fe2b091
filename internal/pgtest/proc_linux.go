package pgtest

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// procAttr runs a command as o (nil: as this process), and ends it when
// the test binary dies without stopping it.
func procAttr(o *owner) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	if o != nil {
		a.Credential = &syscall.Credential{Uid: o.Uid, Gid: o.Gid}
	}
	return a
}

// stopProcess asks postgres for a fast shutdown.
func stopProcess(p *os.Process) { p.Signal(syscall.SIGINT) }

func isSignalExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}
