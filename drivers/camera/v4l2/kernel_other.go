//go:build !linux || !cgo

package v4l2

import (
	"errors"
	"fmt"
)

// errNoCgo explains why a kit built without cgo has no camera: go4vl
// reads the kernel's V4L2 structures through cgo.
var errNoCgo = errors.New("this build has no V4L2 support: build on Linux with cgo (a C compiler and the linux-libc-dev headers)")

func openKernel(path string) (device, error) {
	return nil, fmt.Errorf("open %s: %w", path, errNoCgo)
}
