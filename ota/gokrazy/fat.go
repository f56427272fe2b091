package gokrazy

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// fileExtent finds path ("/loader/entries/gokrazy.conf") on a FAT16 file
// system the way gokrazy's own FAT reader (github.com/gokrazy/internal/fat,
// which other modules may not import) does for its in-place edits: by 8.3
// short names, ignoring case. It returns where the file's bytes start and
// its length. gokrazy assumes the file is contiguous; fileExtent checks
// the cluster chain and refuses a fragmented file, which gokrazy would
// have edited wrongly too.
func fileExtent(r io.ReaderAt, path string) (offset, length int64, err error) {
	bpb := make([]byte, 512)
	if _, err := r.ReadAt(bpb, 0); err != nil {
		return 0, 0, fmt.Errorf("read the FAT boot sector: %w", err)
	}
	sector := int64(binary.LittleEndian.Uint16(bpb[11:]))
	perCluster := int64(bpb[13])
	reserved := int64(binary.LittleEndian.Uint16(bpb[14:]))
	fats := int64(bpb[16])
	rootEntries := int64(binary.LittleEndian.Uint16(bpb[17:]))
	fatSectors := int64(binary.LittleEndian.Uint16(bpb[22:]))
	if sector < 512 || sector%512 != 0 || perCluster == 0 || fats == 0 || fatSectors == 0 || rootEntries == 0 {
		return 0, 0, fmt.Errorf("not a FAT16 file system (sector size %d, %d sectors per cluster, %d FATs of %d sectors, %d root entries)", sector, perCluster, fats, fatSectors, rootEntries)
	}
	clusterSize := perCluster * sector
	fatOff := reserved * sector
	rootOff := (reserved + fats*fatSectors) * sector
	dataOff := rootOff + (rootEntries*32+sector-1)/sector*sector
	clusterOff := func(c int64) int64 { return dataOff + (c-2)*clusterSize }

	dirOff, dirEntries := rootOff, rootEntries
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, part := range parts {
		want := shortName(part)
		dir := make([]byte, dirEntries*32)
		if _, err := r.ReadAt(dir, dirOff); err != nil {
			return 0, 0, fmt.Errorf("read a FAT directory: %w", err)
		}
		found := false
		for e := 0; e+32 <= len(dir); e += 32 {
			d := dir[e : e+32]
			if d[0] == 0 {
				break
			}
			attr := d[11]
			if d[0] == 0xe5 || attr == 0x0f || attr&0x08 != 0 {
				continue // deleted, long name, volume label
			}
			if !strings.EqualFold(string(d[0:11]), want) {
				continue
			}
			first := int64(binary.LittleEndian.Uint16(d[26:]))
			size := int64(binary.LittleEndian.Uint32(d[28:]))
			if first < 2 {
				return 0, 0, fmt.Errorf("%s: no data cluster", path)
			}
			isDir := attr&0x10 != 0
			if isDir != (i < len(parts)-1) {
				return 0, 0, fmt.Errorf("%s: %s is not a %s", path, part, map[bool]string{true: "directory", false: "file"}[i < len(parts)-1])
			}
			if isDir {
				dirOff, dirEntries = clusterOff(first), clusterSize/32
				found = true
				break
			}
			// The chain must run cluster after cluster.
			for c, left := first, size-clusterSize; left > 0; left -= clusterSize {
				var next [2]byte
				if _, err := r.ReadAt(next[:], fatOff+c*2); err != nil {
					return 0, 0, fmt.Errorf("read the FAT: %w", err)
				}
				if n := int64(binary.LittleEndian.Uint16(next[:])); n != c+1 {
					return 0, 0, fmt.Errorf("%s is fragmented on the FAT: it cannot be edited in place", path)
				}
				c++
			}
			return clusterOff(first), size, nil
		}
		if !found {
			return 0, 0, fmt.Errorf("%s: not found", path)
		}
	}
	return 0, 0, fmt.Errorf("%s: not a file", path)
}

// shortName is name's 8.3 directory form as gokrazy's FAT code derives
// it: "GOKRAZ~1CON" for gokrazy.conf (a name that does not fit gets the
// numeric tail ~1, as mtools gives the first such name in a directory).
func shortName(name string) string {
	name = strings.TrimLeft(strings.ReplaceAll(strings.ToUpper(name), " ", ""), ".")
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > -1 {
		base, ext = name[:i], name[i+1:]
	}
	fit := true
	if len(base) > 8 {
		base, fit = base[:8], false
	}
	if len(ext) > 3 {
		ext, fit = ext[:3], false
	}
	if !fit {
		base = base[:min(len(base), 6)] + "~1"
	}
	return fmt.Sprintf("%-8s%-3s", base, ext)
}
