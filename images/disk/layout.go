// Package disk is the kit's disk layout: the partition tables gokrazy's
// init and update handlers expect (see gokrazy's packer and rootdev): a
// hybrid MBR, a GPT with its entries at LBA 2, then
//
//	p1  boot   100 MiB  FAT16 (one FAT): kernel, loader, cmdline.txt
//	p2  root   500 MiB  squashfs, the active root at first
//	p3  root   500 MiB  squashfs, the other root for A/B updates
//	p4  perm   the rest ext4, the kit's state (/perm)
//
// Partition GUIDs follow gok's scheme, 60c24cc1-f3f9-427a-8199-<fnv32a of
// the hostname>00<partition number>, so the kernel's
// root=PARTUUID=<p1>/PARTNROFF=1 finds p2 and gokrazy finds /perm.
//
// It is its own package so that what reads images (the release tool)
// need not import what builds them.
package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"strings"
	"unicode/utf16"
)

// Sizes of the layout, in bytes.
const (
	SectorSize  = 512
	MiB         = 1 << 20
	BootOffset  = 8192 * SectorSize // 4 MiB: room for the partition tables and alignment
	BootSize    = 100 * MiB
	RootSize    = 500 * MiB
	Root2Offset = BootOffset + BootSize
	Root3Offset = Root2Offset + RootSize
	PermOffset  = Root3Offset + RootSize
	// MinPermSize is the smallest /perm the kit works with; images are
	// built with it and the flasher grows it to fill the target.
	MinPermSize = 64 * MiB
	// gptSectors is what a GPT needs at the end of the disk: 32 sectors of
	// entries and the backup header.
	gptSectors = 33
	// MinDiskSize is the smallest disk an image fits on.
	MinDiskSize = PermOffset + MinPermSize + gptSectors*SectorSize
)

// GPT partition type GUIDs.
const (
	TypeEFISystem   = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	TypeLinuxData   = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
	TypeRootAMD64   = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
	TypeRootARM64   = "B921B045-1DF0-41C3-AF44-4C6F280D3FAE"
	gokrazyGUIDBase = "60c24cc1-f3f9-427a-8199"
)

// Partition is one entry of the kit's partition table.
type Partition struct {
	Number int    // 1–4
	Name   string // boot, root2, root3, perm
	Offset int64  // bytes from the start of the disk
	Size   int64  // bytes
	Type   string // GPT type GUID
	GUID   string // the partition's unique GUID (PARTUUID)
}

// Layout is the partition table for one disk.
type Layout struct {
	DiskSize   int64
	DiskGUID   string
	Partitions [4]Partition
}

// HostHash is the hostname-derived part of every partition GUID.
func HostHash(hostname string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(hostname))
	return h.Sum32()
}

// PartUUID returns the GUID of partition n (0: the disk itself).
func PartUUID(hostHash uint32, n int) string {
	return fmt.Sprintf("%s-%08x00%02x", gokrazyGUIDBase, hostHash, n)
}

// NewLayout lays out a disk of diskSize bytes for a target whose root
// partitions have rootType. It fails when the disk is too small.
func NewLayout(diskSize int64, hostHash uint32, arch string) (Layout, error) {
	if diskSize < MinDiskSize {
		return Layout{}, fmt.Errorf("the disk holds %s, the kit needs at least %s", HumanBytes(diskSize), HumanBytes(MinDiskSize))
	}
	rootType := TypeRootARM64
	if arch == "amd64" {
		rootType = TypeRootAMD64
	}
	// /perm ends before the backup GPT, on a sector boundary.
	lastUsable := diskSize/SectorSize - 1 - gptSectors
	permSize := (lastUsable+1)*SectorSize - PermOffset
	l := Layout{DiskSize: diskSize, DiskGUID: PartUUID(hostHash, 0)}
	l.Partitions = [4]Partition{
		{1, "boot", BootOffset, BootSize, TypeEFISystem, PartUUID(hostHash, 1)},
		{2, "root2", Root2Offset, RootSize, rootType, PartUUID(hostHash, 2)},
		{3, "root3", Root3Offset, RootSize, TypeLinuxData, PartUUID(hostHash, 3)},
		{4, "perm", PermOffset, permSize, TypeLinuxData, PartUUID(hostHash, 4)},
	}
	return l, nil
}

// Perm is the /perm partition.
func (l Layout) Perm() Partition { return l.Partitions[3] }

// WritePartitionTables writes the hybrid MBR and the primary GPT at the start
// of w and the backup GPT at its end. The hybrid MBR lists the boot FAT as
// well as the protective GPT partition: the Raspberry Pi's boot ROM reads
// only the MBR.
func (l Layout) WritePartitionTables(w io.WriterAt) error {
	entries := l.gptEntries()
	lastLBA := uint64(l.DiskSize/SectorSize - 1)
	primary := l.gptHeader(1, lastLBA, 2, lastLBA, entries)
	backup := l.gptHeader(lastLBA, 1, lastLBA-32, lastLBA, entries)
	for _, b := range []struct {
		off  int64
		data []byte
	}{
		{0, l.mbr()},
		{SectorSize, primary},
		{2 * SectorSize, entries},
		{int64(lastLBA-32) * SectorSize, entries},
		{int64(lastLBA) * SectorSize, backup},
	} {
		if _, err := w.WriteAt(b.data, b.off); err != nil {
			return fmt.Errorf("write partition table at %d: %w", b.off, err)
		}
	}
	return nil
}

func (l Layout) mbr() []byte {
	b := make([]byte, SectorSize)
	chs := []byte{0xfe, 0xff, 0xff} // invalid CHS: use the LBA fields
	entry := func(i int, active, typ byte, first, count uint32) {
		e := b[446+16*i:]
		e[0] = active
		copy(e[1:4], chs)
		e[4] = typ
		copy(e[5:8], chs)
		binary.LittleEndian.PutUint32(e[8:], first)
		binary.LittleEndian.PutUint32(e[12:], count)
	}
	entry(0, 0x80, 0x0c, BootOffset/SectorSize, BootSize/SectorSize) // FAT (LBA)
	entry(1, 0x00, 0xee, 1, BootOffset/SectorSize-1)                 // protective GPT
	b[510], b[511] = 0x55, 0xaa
	return b
}

// gptEntries returns the 128 entries of 128 bytes (32 sectors).
func (l Layout) gptEntries() []byte {
	b := make([]byte, 128*128)
	for i, p := range l.Partitions {
		e := b[i*128:]
		copy(e[0:16], guidBytes(p.Type))
		copy(e[16:32], guidBytes(p.GUID))
		binary.LittleEndian.PutUint64(e[32:], uint64(p.Offset/SectorSize))
		binary.LittleEndian.PutUint64(e[40:], uint64((p.Offset+p.Size)/SectorSize-1))
		// Names as gok writes them; tools show them.
		name := "Linux filesystem"
		if i == 0 {
			name = "Microsoft basic data"
		}
		for j, u := range utf16.Encode([]rune(name)) {
			binary.LittleEndian.PutUint16(e[56+2*j:], u)
		}
	}
	return b
}

func (l Layout) gptHeader(current, backup, entriesLBA, lastLBA uint64, entries []byte) []byte {
	h := make([]byte, SectorSize)
	copy(h, "EFI PART")
	binary.LittleEndian.PutUint32(h[8:], 0x00010000)
	binary.LittleEndian.PutUint32(h[12:], 92)
	binary.LittleEndian.PutUint64(h[24:], current)
	binary.LittleEndian.PutUint64(h[32:], backup)
	binary.LittleEndian.PutUint64(h[40:], 34)
	binary.LittleEndian.PutUint64(h[48:], lastLBA-gptSectors)
	copy(h[56:72], guidBytes(l.DiskGUID))
	binary.LittleEndian.PutUint64(h[72:], entriesLBA)
	binary.LittleEndian.PutUint32(h[80:], 128)
	binary.LittleEndian.PutUint32(h[84:], 128)
	binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(entries))
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
	return h
}

// guidBytes encodes a GUID in its mixed-endian on-disk form.
func guidBytes(s string) []byte {
	var a uint32
	var b, c uint16
	var d [8]byte
	if _, err := fmt.Sscanf(s, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		&a, &b, &c, &d[0], &d[1], &d[2], &d[3], &d[4], &d[5], &d[6], &d[7]); err != nil {
		panic(fmt.Sprintf("bad GUID %q: %v", s, err)) // only constants and PartUUID reach here
	}
	out := make([]byte, 16)
	binary.LittleEndian.PutUint32(out[0:], a)
	binary.LittleEndian.PutUint16(out[4:], b)
	binary.LittleEndian.PutUint16(out[6:], c)
	copy(out[8:], d[:])
	return out
}

func guidString(b []byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint16(b[4:]),
		binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}

// ReadLayout reads and checks the primary GPT of a kit disk or image of
// diskSize bytes. It is what the flasher uses to learn an image's
// partition GUIDs, and what tests use to check the assembler.
func ReadLayout(r io.ReaderAt, diskSize int64) (Layout, error) {
	hdr := make([]byte, SectorSize)
	if _, err := r.ReadAt(hdr, SectorSize); err != nil {
		return Layout{}, fmt.Errorf("read GPT header: %w", err)
	}
	if !bytes.Equal(hdr[:8], []byte("EFI PART")) {
		return Layout{}, errors.New("no GPT at LBA 1: not a kit image")
	}
	want := binary.LittleEndian.Uint32(hdr[16:])
	check := bytes.Clone(hdr[:92])
	binary.LittleEndian.PutUint32(check[16:], 0)
	if crc32.ChecksumIEEE(check) != want {
		return Layout{}, errors.New("the GPT header's checksum is wrong: the image is damaged")
	}
	entriesLBA := int64(binary.LittleEndian.Uint64(hdr[72:]))
	entries := make([]byte, 128*128)
	if _, err := r.ReadAt(entries, entriesLBA*SectorSize); err != nil {
		return Layout{}, fmt.Errorf("read GPT entries: %w", err)
	}
	if crc32.ChecksumIEEE(entries) != binary.LittleEndian.Uint32(hdr[88:]) {
		return Layout{}, errors.New("the GPT entries' checksum is wrong: the image is damaged")
	}
	l := Layout{DiskSize: diskSize, DiskGUID: guidString(hdr[56:72])}
	names := []string{"boot", "root2", "root3", "perm"}
	for i := range l.Partitions {
		e := entries[i*128:]
		first := int64(binary.LittleEndian.Uint64(e[32:]))
		last := int64(binary.LittleEndian.Uint64(e[40:]))
		l.Partitions[i] = Partition{
			Number: i + 1, Name: names[i],
			Offset: first * SectorSize, Size: (last - first + 1) * SectorSize,
			Type: strings.ToUpper(guidString(e[0:16])), GUID: guidString(e[16:32]),
		}
	}
	if l.Partitions[0].Offset != BootOffset || l.Partitions[3].Offset != PermOffset {
		return Layout{}, fmt.Errorf("the partitions are not where a kit image has them (boot at %d, perm at %d)", l.Partitions[0].Offset, l.Partitions[3].Offset)
	}
	return l, nil
}

// HostHashOf returns the hostname hash encoded in the layout's GUIDs.
func (l Layout) HostHashOf() (uint32, error) {
	var h uint32
	var n int
	if _, err := fmt.Sscanf(l.DiskGUID, gokrazyGUIDBase+"-%08x00%02x", &h, &n); err != nil {
		return 0, fmt.Errorf("disk GUID %s is not a gokrazy GUID: %w", l.DiskGUID, err)
	}
	return h, nil
}
