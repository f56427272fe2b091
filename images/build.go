// Package images assembles the kit's gokrazy-format disk images (the
// partition layout is package images/disk) and writes them to disks.
package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"roomkit/images/disk"
	"strings"
	"time"

	"roomkit/settings"
)

// Config describes one image.
type Config struct {
	Target Target
	// Repo is the roomkit repository's root (it holds images/gokrazy,
	// the module that pins gokrazy, its kernels and firmware).
	Repo string
	// Out is the disk image to write.
	Out string
	// Settings are pre-seeded into /perm/roomkit/settings.json when not
	// zero; the label is the hostname (and so the partition GUIDs).
	Settings settings.Settings
	// CACert is the portal's CA in PEM, added to the system's bundle.
	CACert []byte
	// Binaries is a directory with static roomd and roomctl for the
	// target; empty builds them (scripts/build-static.sh, else without
	// cgo).
	Binaries string
	// RoomdArgs are roomd's flags in the image (default: none; roomd's
	// defaults suit a kit).
	RoomdArgs []string
	// OTARoot is the update repository's root metadata (N.root.json from
	// roomkit-release init) the kit trusts; it goes to OTARootPath and
	// roomd gets -ota-root. Empty: the kit does not update itself.
	OTARoot []byte
	// TimeServers are the NTP servers gokrazy's ntp sets the clock from
	// (host names or addresses, port 123); empty: gokrazy's public pool.
	// Networks that block NTP to the internet name their own: until the
	// clock is set the kit does not check update signatures (docs/ota.md).
	TimeServers []string
	// Extra are further programs in /user, supervised like roomd; tests
	// add probes with it. Program.Path is the host file.
	Extra []Program
	// KernelArgs are appended to the kernel command line.
	KernelArgs []string
	// Version names the build (the init's build timestamp). Keep it
	// fixed for reproducible roots.
	Version string
	Log     *slog.Logger
}

// Program is a host binary installed as /user/<Name> and started with Args.
type Program struct {
	Name string
	Path string
	Args []string
}

// Result says what Build made.
type Result struct {
	Hostname   string
	Layout     disk.Layout
	RootSize   int64  // bytes of the root squashfs
	Root       string // path of the root squashfs (in WorkDir)
	WorkDir    string
	BuildTimes map[string]time.Duration
}

// epoch is every file's time in the root: a root's bytes must depend on its
// contents only.
const epoch = 1700000000

// Hostname derives the kit's hostname from its label: lowercase letters,
// digits and dashes, "roomkit" when the label has none.
func Hostname(label string) string {
	h := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(label), "-"), "-")
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-")
	}
	if h == "" {
		return "roomkit"
	}
	return h
}

// Build assembles the image cfg describes into cfg.Out. Its work
// directory is removed unless keepWork is set by the caller through
// Result.WorkDir (tests inspect the root there).
func Build(ctx context.Context, cfg Config, workDir string) (Result, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tools := []string{"mksquashfs", "mkfs.vfat", "mcopy", "mmd", "mkfs.ext4", "debugfs"}
	if cfg.Target.UEFI {
		tools = append(tools, systemdBoot)
	}
	if err := NeedTools(tools...); err != nil {
		return Result{}, err
	}
	if err := cfg.Settings.Check(); err != nil {
		return Result{}, fmt.Errorf("settings: %w", err)
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	res := Result{Hostname: Hostname(cfg.Settings.Label), WorkDir: workDir, BuildTimes: map[string]time.Duration{}}
	step := func(name string, start time.Time) { res.BuildTimes[name] = time.Since(start) }

	gk := &gokrazyModule{dir: filepath.Join(cfg.Repo, "images", "gokrazy"), goarch: cfg.Target.GOARCH}
	kernelDir := filepath.Join(cfg.Repo, cfg.Target.KernelDir)
	if cfg.Target.KernelDir == "" {
		var err error
		if kernelDir, err = gk.moduleDir(ctx, cfg.Target.Kernel); err != nil {
			return res, err
		}
	}

	t := time.Now()
	bin := filepath.Join(workDir, "bin")
	services, err := gk.buildSystem(ctx, bin, filepath.Join(workDir, "initmod"), cfg)
	if err != nil {
		return res, err
	}
	step("gokrazy", t)

	t = time.Now()
	kit, err := kitBinaries(ctx, cfg, filepath.Join(workDir, "kit"), log)
	if err != nil {
		return res, err
	}
	step("roomd", t)

	t = time.Now()
	rootDir := filepath.Join(workDir, "root")
	if err := stageRoot(rootDir, cfg, res.Hostname, bin, kit, kernelDir, services); err != nil {
		return res, err
	}
	res.Root = filepath.Join(workDir, "root.squashfs")
	if err := makeSquashfs(ctx, rootDir, res.Root); err != nil {
		return res, err
	}
	st, err := os.Stat(res.Root)
	if err != nil {
		return res, err
	}
	res.RootSize = st.Size()
	if res.RootSize > disk.RootSize {
		return res, fmt.Errorf("the root file system is %s, more than its %s partition", disk.HumanBytes(res.RootSize), disk.HumanBytes(disk.RootSize))
	}
	step("root", t)

	t = time.Now()
	hash := disk.HostHash(res.Hostname)
	res.Layout, err = disk.NewLayout(disk.MinDiskSize, hash, cfg.Target.GOARCH)
	if err != nil {
		return res, err
	}
	bootImg := filepath.Join(workDir, "boot.fat")
	if err := makeBoot(ctx, bootImg, cfg, kernelDir, res.Layout); err != nil {
		return res, err
	}
	step("boot", t)

	t = time.Now()
	if err := assemble(ctx, cfg.Out, res.Layout, bootImg, res.Root); err != nil {
		return res, err
	}
	if cfg.Settings != (settings.Settings{}) {
		b, err := cfg.Settings.Encode()
		if err != nil {
			return res, err
		}
		if err := SeedPerm(ctx, cfg.Out, res.Layout.Perm(), map[string][]byte{"roomkit/" + settings.File: b}); err != nil {
			return res, err
		}
	}
	step("disk", t)
	log.Info("image built", "out", cfg.Out, "target", cfg.Target.Name, "hostname", res.Hostname, "root_bytes", res.RootSize)
	return res, nil
}

// kitBinaries returns the directory holding roomd and roomctl for the
// target: cfg.Binaries, else a static cgo build, else a pure-Go build.
func kitBinaries(ctx context.Context, cfg Config, out string, log *slog.Logger) (string, error) {
	if cfg.Binaries != "" {
		for _, n := range []string{"roomd", "roomctl"} {
			if _, err := os.Stat(filepath.Join(cfg.Binaries, n)); err != nil {
				return "", fmt.Errorf("kit binaries: %w", err)
			}
		}
		return cfg.Binaries, nil
	}
	script := filepath.Join(cfg.Repo, "scripts", "build-static.sh")
	cmd := exec.CommandContext(ctx, script, cfg.Target.GOARCH, out)
	cmd.Dir = cfg.Repo
	// roomd reports the image's version (roomctl status, the heartbeat)
	// and its update agent compares releases with it: it must be the one
	// in the root's sbom, not the checkout's git describe.
	cmd.Env = append(os.Environ(), "VERSION="+cfg.Version)
	if b, err := cmd.CombinedOutput(); err == nil {
		return out, nil
	} else {
		log.Warn("static cgo build failed; building roomd without cgo (no ALSA, no openh264)", "err", err, "output", lastLine(b))
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("go is not on PATH")
	}
	cmd = exec.CommandContext(ctx, goBin, "build", "-trimpath", "-tags", "netgo,osusergo",
		"-ldflags", "-buildid= -X main.version="+cfg.Version, "-o", out+"/", "./cmd/roomd", "./cmd/roomctl")
	cmd.Dir = cfg.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+cfg.Target.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build roomd: %w\n%s", err, b)
	}
	return out, nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// assemble writes the disk image: partition tables, boot FAT, the root in
// p2 (p3 stays empty until the first update) and an empty ext4 /perm.
func assemble(ctx context.Context, out string, l disk.Layout, boot, root string) error {
	f, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create image: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(l.DiskSize); err != nil {
		return fmt.Errorf("size image: %w", err)
	}
	if err := l.WritePartitionTables(f); err != nil {
		return err
	}
	for _, part := range []struct {
		src string
		off int64
	}{{boot, l.Partitions[0].Offset}, {root, l.Partitions[1].Offset}} {
		if err := copyAt(f, part.src, part.off); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	return FormatPerm(ctx, out, l.Perm())
}

func copyAt(dst *os.File, src string, off int64) error {
	s, err := os.Open(src)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := io.Copy(io.NewOffsetWriter(dst, off), s); err != nil {
		return fmt.Errorf("copy %s into the image: %w", filepath.Base(src), err)
	}
	return nil
}
