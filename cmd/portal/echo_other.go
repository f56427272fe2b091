//go:build !linux

package main

// noEcho cannot hide typing here; the password is read as typed.
func noEcho() (restore func()) { return func() {} }

func stdinIsTerminal() bool { return false }
