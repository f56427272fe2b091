//go:build !linux

package health

import "errors"

// SystemSpace is only implemented where kits run (Linux); elsewhere (a
// developer's laptop running the portal) the storage check says so.
func SystemSpace(dir string) (Space, error) {
	return Space{}, errors.New("free space is only checked on Linux")
}
