package evdev

import (
	"fmt"
	"log/slog"

	"roomkit/drivers"
)

// DefaultDir is where the kernel puts event devices.
const DefaultDir = "/dev/input"

// Scan lists the event devices in dir (DefaultDir if empty) that the UI can
// use: touch screens, tablets, mice and keyboards. Power buttons, lid
// switches and accelerometers are left out.
func Scan(dir string) ([]string, error) { return scanWith(openKernel, dir) }

func scanWith(open func(string) (handle, error), dir string) ([]string, error) {
	if dir == "" {
		dir = DefaultDir
	}
	nodes, err := drivers.Nodes(dir, "event") // event10 after event9, as the kernel numbered them
	if err != nil {
		return nil, fmt.Errorf("scan input devices: %w", err)
	}
	var paths []string
	for _, path := range nodes {
		h, err := open(path)
		if err != nil {
			slog.Debug("skip input device", "path", path, "err", err)
			continue
		}
		info, err := h.info()
		h.close()
		if err != nil {
			slog.Debug("skip input device", "path", path, "err", err)
			continue
		}
		if _, err := classify(path, info); err != nil {
			continue
		}
		paths = append(paths, path)
	}
	return paths, nil
}
