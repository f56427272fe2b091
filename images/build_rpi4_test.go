package images

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"roomkit/images/disk"
	"strings"
	"testing"

	"roomkit/settings"
)

// TestBuildRPi4 builds the Raspberry Pi 4 image and checks what the Pi's
// boot ROM, its firmware and gokrazy's init read: the hybrid MBR and the
// GPT, the boot FAT (firmware, config.txt with the UART on, the kernel,
// the Pi 4 and 400 device trees, the testboot-safe cmdline.txt), and
// static aarch64 programs in the root (a kit has no libc to load).
func TestBuildRPi4(t *testing.T) {
	if testing.Short() {
		t.Skip("image build: skipped with -short")
	}
	if err := NeedTools("mksquashfs", "unsquashfs", "mkfs.vfat", "mcopy", "mdir", "mtype", "mkfs.ext4", "debugfs"); err != nil {
		t.Skipf("image build skipped: %v", err)
	}
	// roomd needs cgo (ALSA, openh264): without the cross compilers Build
	// would fall back to a build that cannot work.
	if err := NeedTools("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++"); err != nil {
		t.Skipf("rpi4 image build skipped: %v (Debian's gcc-aarch64-linux-gnu and g++-aarch64-linux-gnu, scripts/setup-cross.sh)", err)
	}
	dir := t.TempDir()
	tg := mustTarget(t, "rpi4")
	cfg := Config{
		Target:   tg,
		Repo:     repoRoot(t),
		Out:      filepath.Join(dir, "rpi4.img"),
		Settings: settings.Settings{Label: "Pi Room", PortalURL: "https://portal.example"},
		Version:  "rpi4-test",
	}
	res, err := Build(context.Background(), cfg, filepath.Join(dir, "work"))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Logf("rpi4 image built: root %.1f MB, %v", float64(res.RootSize)/1e6, res.BuildTimes)

	// The partition table, as the flasher and gokrazy read it.
	f, err := os.Open(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	l, err := disk.ReadLayout(f, disk.MinDiskSize)
	f.Close()
	if err != nil {
		t.Fatalf("ReadLayout: %v", err)
	}
	if l != res.Layout {
		t.Errorf("partition table %+v\nwant %+v", l, res.Layout)
	}
	for i, want := range []struct {
		typ  string
		size int64
	}{{disk.TypeEFISystem, disk.BootSize}, {disk.TypeRootARM64, disk.RootSize}, {disk.TypeLinuxData, disk.RootSize}, {disk.TypeLinuxData, disk.MinPermSize}} {
		p := l.Partitions[i]
		if p.Type != want.typ || p.Size < want.size || (i < 3 && p.Size != want.size) {
			t.Errorf("p%d: type %s, %d bytes; want %s, %d bytes", i+1, p.Type, p.Size, want.typ, want.size)
		}
		if p.GUID != disk.PartUUID(disk.HostHash("pi-room"), i+1) {
			t.Errorf("p%d: GUID %s, want the hostname pi-room's", i+1, p.GUID)
		}
	}
	// The Pi's boot ROM reads only the MBR: the boot FAT must be in it,
	// active, as FAT32 LBA (0x0c), next to the GPT's protective entry.
	mbr := readAt(t, cfg.Out, 0, disk.SectorSize)
	e0, e1 := mbr[446:462], mbr[462:478]
	if e0[0] != 0x80 || e0[4] != 0x0c || binary.LittleEndian.Uint32(e0[8:]) != disk.BootOffset/disk.SectorSize || binary.LittleEndian.Uint32(e0[12:]) != disk.BootSize/disk.SectorSize {
		t.Errorf("MBR entry 1 % x: want the active boot FAT (0x0c) at LBA %d", e0, disk.BootOffset/disk.SectorSize)
	}
	if e1[4] != 0xee || mbr[510] != 0x55 || mbr[511] != 0xaa {
		t.Errorf("MBR: entry 2 type %#x, signature % x; want 0xee and 55 aa", e1[4], mbr[510:])
	}
	if sfdisk, err := lookPath("sfdisk"); err == nil {
		if out, err := exec.Command(sfdisk, "--verify", cfg.Out).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("No errors detected")) {
			t.Errorf("sfdisk --verify: %v\n%s", err, out)
		}
	}

	// The boot FAT.
	boot := filepath.Join(dir, "boot.fat")
	if err := os.WriteFile(boot, readAt(t, cfg.Out, l.Partitions[0].Offset, disk.BootSize), 0o644); err != nil {
		t.Fatal(err)
	}
	mtools := func(args ...string) []byte {
		cmd := exec.Command(args[0], append([]string{"-i", boot}, args[1:]...)...)
		cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	files := map[string]bool{}
	for _, line := range strings.Split(string(mtools("mdir", "-/", "-b", "::")), "\n") {
		files[strings.ToLower(strings.TrimPrefix(strings.TrimSpace(line), "::/"))] = true
	}
	for _, want := range []string{
		"vmlinuz", "cmdline.txt", "config.txt",
		"bcm2711-rpi-4-b.dtb", "bcm2711-rpi-400.dtb", "bcm2711-rpi-cm4.dtb", // Pi 4, Pi 400, CM4
		"start4.elf", "fixup4.dat", // the Pi 4's firmware
		"overlays/vc4-kms-v3d-pi4.dtbo",
	} {
		if !files[want] {
			t.Errorf("the boot FAT lacks %s", want)
		}
	}
	if conf := mtools("mtype", "::config.txt"); !bytes.Contains(conf, []byte("enable_uart=1")) || bytes.Contains(conf, []byte("enable_uart=0")) || !bytes.Contains(conf, []byte("kernel=vmlinuz")) {
		t.Errorf("config.txt: want the UART on and kernel=vmlinuz:\n%s", conf)
	}
	wantCmdline := CmdlineFile(Cmdline(tg, l, nil))
	if got := mtools("mtype", "::cmdline.txt"); !bytes.Equal(got, wantCmdline) {
		t.Errorf("cmdline.txt = %q, want %q", got, wantCmdline)
	}
	for _, want := range []string{"console=serial0,115200", "init=/gokrazy/init", "root=PARTUUID=" + l.Partitions[0].GUID + "/PARTNROFF=1"} {
		if !bytes.Contains(wantCmdline, []byte(want)) {
			t.Errorf("the command line lacks %s: %q", want, wantCmdline)
		}
	}
	for _, name := range []string{"vmlinuz ", "cmdline txt", "config  txt"} {
		if !bytes.Contains(readAt(t, boot, 0, 1<<20), []byte(name)) {
			t.Errorf("the root directory has no lowercase 8.3 entry %q", name)
		}
	}

	// The programs in the root: static aarch64 ELFs.
	ext := filepath.Join(dir, "extract")
	progs := []string{"user/roomd", "user/roomctl", "gokrazy/init", "gokrazy/dhcp"}
	if out, err := exec.Command("unsquashfs", append([]string{"-no-progress", "-d", ext, res.Root}, progs...)...).CombinedOutput(); err != nil {
		t.Fatalf("unsquashfs: %v\n%s", err, out)
	}
	for _, p := range progs {
		if err := staticELF(filepath.Join(ext, p), elf.EM_AARCH64); err != nil {
			t.Errorf("/%s: %v", p, err)
		}
	}
}

// staticELF says why path is not a static 64-bit executable for machine.
func staticELF(path string, machine elf.Machine) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if f.Machine != machine || f.Class != elf.ELFCLASS64 {
		return fmt.Errorf("a %v %v ELF, want %v ELFCLASS64", f.Machine, f.Class, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("has an interpreter (PT_INTERP): dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("needs shared libraries %v", libs)
	}
	return nil
}

func TestStaticELF(t *testing.T) {
	text := filepath.Join(t.TempDir(), "script")
	os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755)
	sh, err := elf.Open("/bin/sh") // dynamically linked on Debian
	if err != nil {
		t.Skip(err)
	}
	host := sh.Machine
	sh.Close()
	other := elf.EM_AARCH64
	if host == other {
		other = elf.EM_X86_64
	}
	for _, tc := range []struct {
		name, path string
		machine    elf.Machine
		want       string
	}{
		{"dynamic", "/bin/sh", host, "interpreter"},
		{"other machine", "/bin/sh", other, "want " + other.String()},
		{"not an ELF", text, elf.EM_AARCH64, "bad magic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := staticELF(tc.path, tc.machine); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("staticELF(%s) = %v, want an error containing %q", tc.path, err, tc.want)
			}
		})
	}
}
