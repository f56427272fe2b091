package evdev

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scan input devices: %w", err)
	}
	type numbered struct {
		n    int
		path string
	}
	var found []numbered
	for _, e := range entries {
		num, ok := strings.CutPrefix(e.Name(), "event")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			continue
		}
		path := filepath.Join(dir, e.Name())
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
		found = append(found, numbered{n, path})
	}
	// event10 after event9, as the kernel numbered them.
	sort.Slice(found, func(i, j int) bool { return found[i].n < found[j].n })
	paths := make([]string, len(found))
	for i, f := range found {
		paths[i] = f.path
	}
	return paths, nil
}
