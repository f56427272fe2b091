package images

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"roomkit/images/disk"
	"strings"
	"time"
)

// cmdlinePad is room in cmdline.txt and the loader entry for gokrazy's
// in-place edits (testboot adds " gokrazy.try_boot_inactive=1").
const cmdlinePad = 64

// Cmdline returns the kernel command line of a target's image.
func Cmdline(t Target, l disk.Layout, extra []string) string {
	parts := []string{t.Cmdline, "root=PARTUUID=" + l.Partitions[0].GUID + "/PARTNROFF=1"}
	return strings.Join(append(parts, extra...), " ")
}

// CmdlineFile is cmdline.txt in the testboot-safe form: the command line,
// then a newline, then padding. gokrazy's testboot replaces each newline
// with " gokrazy.try_boot_inactive=1\n" in place; the newline right after
// the command line puts the flag on it, and the padding takes the bytes
// that shift past the file's end.
func CmdlineFile(cmdline string) []byte {
	return append([]byte(cmdline+"\n"), bytes.Repeat([]byte{' '}, cmdlinePad)...)
}

// LoaderEntry is systemd-boot's entry in the testboot-safe form: the lines
// before the options end in \r (which systemd-boot takes as a line end and
// testboot leaves alone), so the only \n is right after the command line.
func LoaderEntry(cmdline string) []byte {
	return append([]byte("title gokrazy\rlinux /vmlinuz\roptions "+cmdline+"\n"), bytes.Repeat([]byte{' '}, cmdlinePad)...)
}

// makeBoot writes the boot FAT: FAT16 with a single FAT (gokrazy's
// on-device FAT reader, which edits cmdline.txt for updates, reads no
// other kind), the kernel, the command line, and the loader or firmware.
func makeBoot(ctx context.Context, out string, cfg Config, kernelDir string, l disk.Layout) error {
	os.Remove(out)
	serial := fmt.Sprintf("%08x", disk.HostHash(Hostname(cfg.Settings.Label)))
	if err := run(ctx, nil, "mkfs.vfat", "-F", "16", "-f", "1", "-n", "GOKRAZY", "-i", serial, "-C", out, fmt.Sprint(disk.BootSize/1024)); err != nil {
		return err
	}
	stage := out + ".d"
	os.RemoveAll(stage)
	defer os.RemoveAll(stage)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return err
	}
	cmdline := Cmdline(cfg.Target, l, cfg.KernelArgs)
	type file struct{ dst, src string } // dst in the FAT
	var files []file
	lit := func(dst string, b []byte) error {
		p := filepath.Join(stage, strings.ReplaceAll(dst, "/", "_"))
		files = append(files, file{dst, p})
		return os.WriteFile(p, b, 0o644)
	}
	if err := lit("cmdline.txt", CmdlineFile(cmdline)); err != nil {
		return err
	}
	// The kernel first: gokrazy's MBR boot code finds it by its extents,
	// and the FAT lays files out in copy order.
	files = append([]file{{"vmlinuz", filepath.Join(kernelDir, "vmlinuz")}}, files...)
	var dirs []string
	if cfg.Target.UEFI {
		dirs = []string{"loader", "loader/entries", "EFI", "EFI/BOOT"}
		if err := lit("loader/entries/gokrazy.conf", LoaderEntry(cmdline)); err != nil {
			return err
		}
		if err := lit("loader/loader.conf", []byte("timeout 0\n")); err != nil {
			return err
		}
		files = append(files, file{"EFI/BOOT/BOOTX64.EFI", systemdBoot})
	} else {
		// Raspberry Pi: the firmware reads config.txt and the device trees.
		conf, err := os.ReadFile(filepath.Join(kernelDir, "config.txt"))
		if err != nil {
			return fmt.Errorf("kernel config.txt: %w", err)
		}
		conf = bytes.ReplaceAll(conf, []byte("enable_uart=0"), []byte("enable_uart=1"))
		if err := lit("config.txt", conf); err != nil {
			return err
		}
		fwDir, err := (&gokrazyModule{dir: filepath.Join(cfg.Repo, "images", "gokrazy"), goarch: cfg.Target.GOARCH}).moduleDir(ctx, cfg.Target.Firmware)
		if err != nil {
			return err
		}
		dirs = []string{"overlays"}
		for _, g := range []struct{ dir, pattern string }{
			{kernelDir, "*.dtb"}, {kernelDir, "overlays/*"},
			{fwDir, "*.bin"}, {fwDir, "*.dat"}, {fwDir, "*.elf"},
		} {
			m, _ := filepath.Glob(filepath.Join(g.dir, g.pattern))
			for _, p := range m {
				rel, _ := filepath.Rel(g.dir, p)
				files = append(files, file{rel, p})
			}
		}
	}
	env := []string{"MTOOLS_SKIP_CHECK=1"}
	for _, d := range dirs {
		if err := run(ctx, env, "mmd", "-i", out, "::"+d); err != nil {
			return err
		}
	}
	// Fixed times for every file (mcopy -m keeps the source's).
	stamp := time.Unix(epoch, 0)
	for _, f := range files {
		if strings.HasPrefix(f.src, stage) {
			os.Chtimes(f.src, stamp, stamp)
		}
		if err := run(ctx, env, "mcopy", "-m", "-i", out, f.src, "::"+f.dst); err != nil {
			return err
		}
	}
	return lowercaseShortNames(out)
}

// lowercaseShortNames rewrites the root directory's 8.3 entries of
// lowercase names (mtools stores them uppercase with the "lowercase" case
// flags) in lowercase, as gok's FAT writer does: older gokrazy FAT readers
// look names up in lowercase only.
func lowercaseShortNames(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	bpb := make([]byte, 512)
	if _, err := f.ReadAt(bpb, 0); err != nil {
		return err
	}
	sector := int64(binary.LittleEndian.Uint16(bpb[11:]))
	reserved := int64(binary.LittleEndian.Uint16(bpb[14:]))
	fats := int64(bpb[16])
	rootEntries := int64(binary.LittleEndian.Uint16(bpb[17:]))
	fatSectors := int64(binary.LittleEndian.Uint16(bpb[22:]))
	if fats != 1 || fatSectors == 0 {
		return fmt.Errorf("boot FAT: want FAT16 with one FAT, got %d FATs", fats)
	}
	dir := make([]byte, rootEntries*32)
	off := (reserved + fatSectors) * sector
	if _, err := f.ReadAt(dir, off); err != nil {
		return err
	}
	for i := 0; i < len(dir); i += 32 {
		e := dir[i : i+32]
		if e[0] == 0 {
			break
		}
		if e[0] == 0xe5 || e[11] == 0x0f || e[11]&0x08 != 0 { // deleted, long name, volume label
			continue
		}
		if e[12]&0x08 != 0 {
			copy(e[0:8], bytes.ToLower(e[0:8]))
		}
		if e[12]&0x10 != 0 {
			copy(e[8:11], bytes.ToLower(e[8:11]))
		}
	}
	if _, err := f.WriteAt(dir, off); err != nil {
		return err
	}
	return f.Close()
}
