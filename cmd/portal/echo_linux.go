package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// noEcho stops the terminal on stdin from showing what is typed (a
// password) and returns what undoes that.
func noEcho() (restore func()) {
	fd := int(os.Stdin.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	old := *t
	t.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return func() {}
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, &old) }
}

// stdinIsTerminal says whether a person is typing on stdin.
func stdinIsTerminal() bool {
	_, err := unix.IoctlGetTermios(int(os.Stdin.Fd()), unix.TCGETS)
	return err == nil
}
