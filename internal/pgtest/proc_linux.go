package pgtest

import (
	"errors"
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

// stopSignal asks postgres for a fast shutdown.
const stopSignal = syscall.SIGINT

func isSignalExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}
