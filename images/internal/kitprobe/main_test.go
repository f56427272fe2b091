package main

import (
	"testing"

	"roomkit/appliance/control"
)

// The probe copies two constants so that it builds without cgo; a change
// in the control package must not leave the QEMU test reading nothing.
func TestControlConstants(t *testing.T) {
	if controlAddr != control.DefaultAddr || tokenFile != control.TokenFile {
		t.Errorf("kitprobe uses %s and %s; the control API is at %s with %s", controlAddr, tokenFile, control.DefaultAddr, control.TokenFile)
	}
}
