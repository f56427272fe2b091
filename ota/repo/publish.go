package repo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"roomkit/ota"
)

// Publish adds the root image in file image as release rel. For targets
// amd64 and rpi4 the file is a kit disk image (its first root partition
// is published) or a bare squashfs root; whose /etc/gokrazy/sbom.json must
// say rel.Version and rel.Target when unsquashfs is installed, and whose
// kernel is recorded in rel.Kernel. For sim any file is a root.
//
// Publishing a version and target that exist with the same bytes adds
// rel.Channels to it (promotion from beta to stable); with other bytes it
// is refused: a version names one image forever.
//
// The image is streamed: it is hashed while copied into the repository,
// never held in memory.
func (r *Repo) Publish(image string, rel ota.Release) error {
	if err := ota.CheckVersion(rel.Version); err != nil {
		return err
	}
	if !slices.Contains(ota.Targets, rel.Target) {
		return fmt.Errorf("target %q is not one of %s", rel.Target, strings.Join(ota.Targets, ", "))
	}
	if len(rel.Channels) == 0 {
		return errors.New("give at least one channel to publish in (like stable)")
	}
	for _, c := range rel.Channels {
		if err := ota.CheckChannel(c); err != nil {
			return err
		}
	}
	f, err := os.Open(image)
	if err != nil {
		return fmt.Errorf("open image: %w", err)
	}
	defer f.Close()
	return r.change(func() error { return r.publish(f, image, rel) })
}

func (r *Repo) publish(f *os.File, name string, rel ota.Release) error {
	// Keys first: a wrong key must stop us before anything is written.
	keys, err := r.onlineKeys(onlineRoles...)
	if err != nil {
		return err
	}
	size, err := fileSize(f)
	if err != nil {
		return fmt.Errorf("image %s: %w", name, err)
	}
	var src io.Reader
	var sec section
	if rel.Target == "sim" {
		src = f
		sec.what = "a sim image"
	} else {
		if size < 0 {
			return fmt.Errorf("%s is not a regular file: give a disk image or squashfs file for %s", name, rel.Target)
		}
		if sec, err = rootSection(f, size, name); err != nil {
			return err
		}
		src = sec.reader(f, size)
	}

	path := ota.TargetPath(rel.Version, rel.Target)
	if old, ok := r.targets.Signed.Targets[path]; ok {
		// Published before: only the hash matters, nothing is copied.
		h := sha256.New()
		if _, err := io.Copy(h, bufio.NewReaderSize(src, 256<<10)); err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		return r.promote(keys, path, old, h.Sum(nil), rel)
	}

	dir := filepath.Join(r.dir, "targets", "releases", rel.Version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	// The final name holds the hash, known only after the copy: write a
	// temporary file beside it and rename it (what renameio does, with the
	// name chosen late).
	defer os.Remove(dir) // only when empty: a refused first image leaves nothing
	tmp, err := os.CreateTemp(dir, ".publish-*")
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	defer tmp.Close()
	h := sha256.New()
	br := bufio.NewReaderSize(src, 256<<10)
	head, _ := br.Peek(MaxSimHeader)
	simImage, isSim := ParseSimImage(head)
	n, err := io.Copy(io.MultiWriter(tmp, h), br)
	if err != nil {
		return fmt.Errorf("copy %s into the repository: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("%s is empty", name)
	}
	sum := h.Sum(nil)

	if rel.Target == "sim" {
		if isSim && simImage.Version != rel.Version {
			return fmt.Errorf("%s is a sim image of version %s, not %s", name, simImage.Version, rel.Version)
		}
	} else {
		info, err := readRootInfo(tmp.Name())
		switch {
		case errors.Is(err, errNoUnsquashfs):
			slog.Warn("cannot check the root's version and target", "image", name, "reason", err.Error())
		case err != nil:
			return fmt.Errorf("%s: %w", name, err)
		default:
			if info.Version != rel.Version {
				return fmt.Errorf("%s says it is version %q (/etc/gokrazy/sbom.json), not %s: build it with VERSION=%s", name, info.Version, rel.Version, rel.Version)
			}
			if info.Target != rel.Target && !strings.HasPrefix(info.Target, rel.Target+"-") {
				return fmt.Errorf("%s is built for %q (/etc/gokrazy/sbom.json), not %s", name, info.Target, rel.Target)
			}
			if info.Hostname != "" && info.Hostname != "roomkit" {
				slog.Warn("the root sets a hostname: every kit that installs it takes that name; release roots are built without a label", "image", name, "hostname", info.Hostname)
			}
			rel.Kernel = info.Kernel
		}
	}

	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	final := filepath.Join(dir, hex.EncodeToString(sum)+"."+rel.Target+".root")
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}

	rel.Channels = normChannels(rel.Channels)
	tf, err := targetFile(n, sum, rel)
	if err != nil {
		return err
	}
	r.targets.Signed.Targets[path] = tf
	slog.Info("published", "version", rel.Version, "target", rel.Target, "from", sec.what, "bytes", n, "sha256", hex.EncodeToString(sum), "channels", rel.Channels, "kernel", rel.Kernel)
	return r.writeOnline(keys, true, true)
}

// promote handles a version and target that are already published: the
// same bytes gain channels, other bytes are refused.
func (r *Repo) promote(keys map[string]*key, path string, old *metadata.TargetFiles, sum []byte, rel ota.Release) error {
	if !bytes.Equal(old.Hashes["sha256"], sum) {
		return fmt.Errorf("%s is already published for %s with another image", rel.Version, rel.Target)
	}
	prev, err := ota.ReleaseOf(old)
	if err != nil {
		return fmt.Errorf("%s in the repository: %w", path, err)
	}
	chans := normChannels(append(slices.Clone(prev.Channels), rel.Channels...))
	if slices.Equal(chans, normChannels(prev.Channels)) {
		slog.Info("already published; nothing changed", "version", rel.Version, "target", rel.Target, "channels", chans)
		return nil
	}
	prev.Channels = chans
	tf, err := targetFile(old.Length, sum, prev)
	if err != nil {
		return err
	}
	r.targets.Signed.Targets[path] = tf
	slog.Info("promoted", "version", rel.Version, "target", rel.Target, "channels", chans)
	return r.writeOnline(keys, true, true)
}

func targetFile(n int64, sum []byte, rel ota.Release) (*metadata.TargetFiles, error) {
	b, err := json.Marshal(rel)
	if err != nil {
		return nil, err
	}
	raw := json.RawMessage(b)
	return &metadata.TargetFiles{
		Length: n,
		Hashes: metadata.Hashes{"sha256": metadata.HexBytes(sum)},
		Custom: &raw,
	}, nil
}

func normChannels(c []string) []string {
	c = slices.Clone(c)
	slices.Sort(c)
	return slices.Compact(c)
}
