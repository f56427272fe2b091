//go:build !linux

package pgtest

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

func procAttr(o *owner) *syscall.SysProcAttr { return nil }

var stopSignal = os.Interrupt

func isSignalExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}
