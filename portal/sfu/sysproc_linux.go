package sfu

import "syscall"

// sysProcAttr makes the kernel kill livekit-server when the portal dies, so
// a crashed portal never leaves an SFU holding its ports.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
