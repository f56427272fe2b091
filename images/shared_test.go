package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"roomkit/settings"
)

// Image builds take most of this package's test time on two cores, so
// the amd64 tests share theirs (at most once per test binary):
//
//	a   the QEMU test's image: roomd plus the probe
//	a2  a second build from a's inputs: TestBuildAMD64 checks that its
//	    root is byte-identical to a's, and inspects its disk (a's disk is
//	    the one QEMU boots and changes)
//	b   the A/B test's update: a's inputs under another build name, so the
//	    guest can tell the roots apart
//
// They live in a directory that TestMain removes.
var shared struct {
	mu     sync.Mutex
	dir    string
	builds map[string]*sharedBuild
}

type sharedBuild struct {
	cfg  Config
	res  Result
	err  error
	took time.Duration
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedAMD64 returns the shared build called name (a, a2 or b), building
// it and what it depends on first.
func sharedAMD64(t *testing.T, name string) (Config, Result) {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	b, err := sharedBuildLocked(t, name)
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	return b.cfg, b.res
}

func sharedBuildLocked(t *testing.T, name string) (*sharedBuild, error) {
	if b, ok := shared.builds[name]; ok {
		return b, b.err
	}
	if shared.dir == "" {
		d, err := os.MkdirTemp("", "roomkit-images-test-")
		if err != nil {
			return nil, err
		}
		shared.dir, shared.builds = d, map[string]*sharedBuild{}
	}
	var cfg Config
	switch name {
	case "a":
		probe, err := buildKitprobe(shared.dir)
		if err != nil {
			return nil, err
		}
		cfg = Config{
			Target:     mustTarget(t, "amd64"),
			KernelArgs: qemuKernelArgs,
			Repo:       repoRoot(t),
			// The guest reaches the host's loopback portal through a forwarded
			// address: plain HTTP across the (virtual) network, allowed for the rig.
			Settings: settings.Settings{PortalURL: "http://" + guestPortal, Label: "QEMU Test Room", AllowPlainHTTP: true},
			Extra:    []Program{{Name: "kitprobe", Path: probe, Args: []string{"-control", "http://" + guestControl}}},
			Version:  "qemu-test",
		}
	case "a2", "b":
		a, err := sharedBuildLocked(t, "a")
		if err != nil {
			return nil, err
		}
		cfg = a.cfg
		cfg.Binaries = filepath.Join(a.res.WorkDir, "kit") // the same roomd, built once
		if name == "b" {
			cfg.Version = "qemu-test-b"
		}
	default:
		return nil, fmt.Errorf("no shared build %q", name)
	}
	cfg.Out = filepath.Join(shared.dir, name+".img")
	start := time.Now()
	res, err := Build(context.Background(), cfg, filepath.Join(shared.dir, "work-"+name))
	b := &sharedBuild{cfg: cfg, res: res, err: err, took: time.Since(start)}
	shared.builds[name] = b
	if err == nil {
		t.Logf("shared amd64 build %s in %.1fs (root squashfs %.1f MB): %v", name, b.took.Seconds(), float64(res.RootSize)/1e6, res.BuildTimes)
	}
	return b, err
}

// buildKitprobe builds the QEMU tests' guest probe into dir.
func buildKitprobe(dir string) (string, error) {
	probe := filepath.Join(dir, "kitprobe")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-buildid=", "-o", probe, "./internal/kitprobe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build kitprobe: %v\n%s", err, out)
	}
	return probe, nil
}
