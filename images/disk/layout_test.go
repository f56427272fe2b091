package disk

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLayout(t *testing.T) {
	tests := []struct {
		name     string
		size     int64
		arch     string
		rootType string
		wantErr  string
	}{
		{"amd64 8 GiB", 8 << 30, "amd64", TypeRootAMD64, ""},
		{"rpi4 smallest", MinDiskSize, "arm64", TypeRootARM64, ""},
		{"too small", MinDiskSize - SectorSize, "amd64", "", "the kit needs at least"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewLayout(tt.size, HostHash("roomkit"), tt.arch)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			disk := filepath.Join(t.TempDir(), "disk")
			f, err := os.Create(disk)
			if err != nil {
				t.Fatal(err)
			}
			f.Truncate(tt.size)
			if err := l.WritePartitionTables(f); err != nil {
				t.Fatal(err)
			}
			got, err := ReadLayout(f, tt.size)
			f.Close()
			if err != nil {
				t.Fatalf("ReadLayout: %v", err)
			}
			if got != l {
				t.Errorf("read back %+v\nwant %+v", got, l)
			}
			if got.Partitions[1].Type != tt.rootType {
				t.Errorf("root type %s, want %s", got.Partitions[1].Type, tt.rootType)
			}
			perm := got.Perm()
			if end := perm.Offset + perm.Size; end > tt.size-33*SectorSize {
				t.Errorf("/perm ends at %d, into the backup GPT at %d", end, tt.size-33*SectorSize)
			}
			if perm.GUID != "60c24cc1-f3f9-427a-8199-"+strings.TrimPrefix(PartUUID(HostHash("roomkit"), 4), gokrazyGUIDBase+"-") {
				t.Errorf("perm GUID %s", perm.GUID)
			}
			// A second opinion from util-linux, when it is there.
			if sfdisk, err := exec.LookPath("/usr/sbin/sfdisk"); err == nil {
				out, err := exec.Command(sfdisk, "--verify", disk).CombinedOutput()
				if err != nil || !bytes.Contains(out, []byte("No errors detected")) {
					t.Errorf("sfdisk --verify: %v\n%s", err, out)
				}
			}
		})
	}
}

func TestPartUUID(t *testing.T) {
	// gok's scheme: the fnv32a of the hostname, then 00 and the partition.
	if got, want := PartUUID(HostHash("gokrazy"), 1), "60c24cc1-f3f9-427a-8199-"; !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "0001") || len(got) != 36 {
		t.Errorf("PartUUID = %q", got)
	}
}
