package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"roomkit/ui"
)

// hostCABundle is Debian's CA bundle (package ca-certificates).
var hostCABundle = "/etc/ssl/certs/ca-certificates.crt"

// OTARootPath is where an image keeps the update root it trusts.
const OTARootPath = "/etc/roomkit/ota-root.json"

// stageRoot lays out the root file system in dir.
func stageRoot(dir string, cfg Config, hostname, bin, kit, kernelDir string, services []Service) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	// The mount points gokrazy's init expects; var lives on /perm.
	for _, d := range []string{"bin", "dev", "etc/ssl", "etc/gokrazy", "proc", "sys", "tmp", "perm", "lib", "run", "mnt", "gokrazy", "user", "usr/share"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	links := map[string]string{
		"var": "/perm/var",
		// A symlink: without it gokrazy mounts a tmpfs over /etc and
		// hides everything below.
		"etc/resolv.conf": "/tmp/resolv.conf",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			return err
		}
	}

	ca, err := os.ReadFile(hostCABundle)
	if err != nil {
		return fmt.Errorf("CA bundle: %w (install ca-certificates)", err)
	}
	if len(cfg.CACert) > 0 {
		ca = append(append(ca, '\n'), cfg.CACert...)
	}
	sbom, err := json.Marshal(map[string]any{"sbom_hash": "", "sbom": map[string]string{"version": cfg.Version, "target": cfg.Target.Name}})
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"etc/hostname":          []byte(hostname),
		"etc/hosts":             []byte("127.0.0.1 localhost\n::1 localhost\n127.0.1.1 " + hostname + "\n"),
		"etc/ssl/ca-bundle.pem": ca,
		"etc/gokrazy/sbom.json": sbom,
		// No etc/gokr-pw.txt: gokrazy then runs without a password and
		// serves its update API on /run/gokrazy-http.sock only.
	}
	if len(cfg.OTARoot) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, "etc", "roomkit"), 0o755); err != nil {
			return err
		}
		files[strings.TrimPrefix(OTARootPath, "/")] = cfg.OTARoot
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}

	for _, s := range append([]string{"init"}, systemServices...) {
		if err := copyFile(filepath.Join(bin, s), filepath.Join(dir, "gokrazy", s), 0o755); err != nil {
			return err
		}
	}
	for _, s := range []string{"roomd", "roomctl"} {
		if err := copyFile(filepath.Join(kit, s), filepath.Join(dir, "user", s), 0o755); err != nil {
			return err
		}
	}
	for _, p := range cfg.Extra {
		if err := copyFile(p.Path, filepath.Join(dir, "user", p.Name), 0o755); err != nil {
			return err
		}
	}
	// A kernel with everything built in (the test kernel) has no modules.
	if err := copyTree(filepath.Join(kernelDir, "lib", "modules"), filepath.Join(dir, "lib", "modules")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("kernel modules: %w", err)
	}
	// libasound reads its configuration at run time.
	alsa := filepath.Join(cfg.Repo, ".tools", "alsa", cfg.Target.GOARCH, "usr", "share", "alsa")
	if _, err := os.Stat(alsa); err != nil {
		alsa = "/usr/share/alsa" // the same alsa-lib version's data, from Debian
	}
	if err := copyTree(alsa, filepath.Join(dir, "usr", "share", "alsa")); err != nil {
		return fmt.Errorf("ALSA configuration: %w (install libasound2-data or run scripts/setup-cross.sh)", err)
	}
	// The UI reads its fallback fonts (Arabic, Hebrew, CJK room names)
	// from the same paths Debian installs them at, so the kit, the
	// simulator and the tests draw with the same files.
	for _, font := range ui.FallbackFontFiles() {
		to := filepath.Join(dir, strings.TrimPrefix(font, "/"))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := copyFile(font, to, 0o644); err != nil {
			return fmt.Errorf("fallback font: %w (run scripts/setup-image.sh: it installs fonts-noto-core, fonts-nanum and fonts-droid-fallback)", err)
		}
	}
	// Directory modes as in the golden file list, not the umask's idea.
	return filepath.WalkDir(filepath.Join(dir, "usr", "share", "fonts"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return os.Chmod(path, 0o755)
	})
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode) // not the umask's idea of it
}

// copyTree copies regular files, directories and symlinks; the module
// cache's read-only modes become 0644/0755.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if err := os.MkdirAll(to, 0o755); err != nil {
				return err
			}
			return os.Chmod(to, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case d.Type().IsRegular():
			return copyFile(path, to, 0o644)
		}
		return nil // devices and sockets have no place in a root
	})
}

// makeSquashfs packs dir reproducibly: fixed times and owners, sorted
// entries (mksquashfs sorts directories), no xattrs.
func makeSquashfs(ctx context.Context, dir, out string) error {
	os.Remove(out)
	t := strconv.Itoa(epoch)
	// Directory and symlink times too, which -all-time does not reach on
	// every version: set them on disk first.
	stamp := time.Unix(epoch, 0)
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink == 0 {
			os.Chtimes(path, stamp, stamp)
		}
		return nil
	})
	return run(ctx, nil, "mksquashfs", dir, out,
		"-noappend", "-comp", "gzip", "-all-root", "-no-xattrs", "-reproducible",
		"-all-time", t, "-mkfs-time", t, "-quiet", "-no-progress")
}
