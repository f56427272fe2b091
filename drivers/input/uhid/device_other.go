//go:build !linux

package uhid

import (
	"errors"
	"fmt"
	"runtime"
)

// create fails: uhid is Linux's.
func create(name string, rd []byte) (device, error) {
	return nil, fmt.Errorf("uhid needs Linux, this is %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
