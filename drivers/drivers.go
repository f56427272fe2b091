// Package drivers holds what every hardware driver of the kit shares: the
// status a device reports to the portal and to roomctl, and a small registry
// so roomd picks drivers by name (periph.io style) instead of importing each.
//
// Each kind of device lives in its own package (camera, audio, display,
// input) with an interface, and a …test package beside it with fakes.
package drivers

import (
	"fmt"
	"sort"
	"sync"
)

// Status is what a device reports about itself: shown on screen, in
// `roomctl status` and in the heartbeat to the portal.
type Status struct {
	Kind    string `json:"kind"`            // "camera", "speakerphone", "display", "input"
	Name    string `json:"name"`            // human name, e.g. "Synthetic camera"
	Present bool   `json:"present"`         // false when unplugged or never found
	Error   string `json:"error,omitempty"` // what went wrong, in words for the room's staff
}

// Registry maps driver names to constructors. It is safe for concurrent use.
type Registry[T any] struct {
	kind string
	mu   sync.Mutex
	open map[string]func() (T, error)
}

// NewRegistry returns an empty registry for devices of the given kind.
func NewRegistry[T any](kind string) *Registry[T] {
	return &Registry[T]{kind: kind, open: make(map[string]func() (T, error))}
}

// Register adds a driver. Registering a name twice is a programming error.
func (r *Registry[T]) Register(name string, open func() (T, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.open[name]; dup {
		panic(fmt.Sprintf("%s driver %q registered twice", r.kind, name))
	}
	r.open[name] = open
}

// Open opens the device of the named driver.
func (r *Registry[T]) Open(name string) (T, error) {
	r.mu.Lock()
	open, ok := r.open[name]
	r.mu.Unlock()
	if !ok {
		var zero T
		return zero, fmt.Errorf("no %s driver %q (have %v)", r.kind, name, r.Names())
	}
	return open()
}

// Names lists the registered drivers, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.open))
	for n := range r.open {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
