//go:build !linux

package sfu

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
