package drivers

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Nodes lists dir's device nodes named prefix plus a number (video0,
// event3, …) in the kernel's order: video10 after video9, not after video1.
func Nodes(dir, prefix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s* in %s: %w", prefix, dir, err)
	}
	type numbered struct {
		n    int
		path string
	}
	var found []numbered
	for _, e := range entries {
		num, ok := strings.CutPrefix(e.Name(), prefix)
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			continue
		}
		found = append(found, numbered{n, filepath.Join(dir, e.Name())})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].n < found[j].n })
	paths := make([]string, len(found))
	for i, f := range found {
		paths[i] = f.path
	}
	return paths, nil
}
