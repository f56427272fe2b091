//go:build tools

// Package gokrazy pins what a kit image is assembled from: the gokrazy
// runtime (its init library and system services) and the kernel and
// firmware packages. It is a module of its own so that the roomkit module,
// and `go mod download` for it, do not carry ~100 MB of kernels and
// firmware that only image builds need.
package gokrazy

import (
	_ "github.com/gokrazy/firmware"
	_ "github.com/gokrazy/gokrazy"
	_ "github.com/gokrazy/gokrazy/cmd/dhcp"
	_ "github.com/gokrazy/gokrazy/cmd/heartbeat"
	_ "github.com/gokrazy/gokrazy/cmd/ntp"
	_ "github.com/gokrazy/gokrazy/cmd/randomd"
	_ "github.com/gokrazy/kernel.amd64"
	_ "github.com/gokrazy/kernel.rpi"
)
