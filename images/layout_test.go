package images

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
		{"amd64 8 GiB", 8 << 30, "amd64", typeRootAMD64, ""},
		{"rpi4 smallest", MinDiskSize, "arm64", typeRootARM64, ""},
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
			if sfdisk, err := lookPath("sfdisk"); err == nil {
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

func TestHostname(t *testing.T) {
	for _, tt := range []struct{ label, want string }{
		{"", "roomkit"},
		{"Room 4.01 (Zürich)", "room-4-01-z-rich"},
		{"---", "roomkit"},
		{strings.Repeat("a", 80), strings.Repeat("a", 63)},
	} {
		if got := Hostname(tt.label); got != tt.want {
			t.Errorf("Hostname(%q) = %q, want %q", tt.label, got, tt.want)
		}
	}
}

// testboot edits cmdline.txt and the loader entry in place, the way
// gokrazy's update handler does: every \n becomes
// " gokrazy.try_boot_inactive=1\n", and the file keeps its length.
func testboot(b []byte) []byte {
	rep := bytes.ReplaceAll(b, []byte{'\n'}, []byte(" gokrazy.try_boot_inactive=1\n"))
	return rep[:len(b)]
}

func TestLoaderFilesSurviveTestboot(t *testing.T) {
	tg, _ := LookupTarget("amd64")
	l, _ := NewLayout(MinDiskSize, HostHash("roomkit"), "amd64")
	cmdline := Cmdline(tg, l, nil)
	for _, tt := range []struct {
		name string
		file []byte
		line func([]byte) string // the kernel command line the loader sees
	}{
		{"cmdline.txt", CmdlineFile(cmdline), func(b []byte) string { return string(b[:bytes.IndexByte(b, '\n')]) }},
		{"loader entry", LoaderEntry(cmdline), func(b []byte) string {
			for _, line := range strings.FieldsFunc(string(b), func(r rune) bool { return r == '\r' || r == '\n' }) {
				if opts, ok := strings.CutPrefix(line, "options "); ok {
					return opts
				}
			}
			return ""
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.TrimSpace(tt.line(tt.file)); got != cmdline {
				t.Errorf("before testboot the loader sees %q, want %q", got, cmdline)
			}
			after := testboot(tt.file)
			want := cmdline + " gokrazy.try_boot_inactive=1"
			if got := strings.TrimSpace(tt.line(after)); got != want {
				t.Errorf("after testboot the loader sees %q, want %q", got, want)
			}
			if tt.name == "loader entry" && !bytes.HasPrefix(after, []byte("title gokrazy\rlinux /vmlinuz\r")) {
				t.Errorf("testboot damaged the entry's other lines: %q", after)
			}
		})
	}
	if !strings.Contains(cmdline, "root=PARTUUID="+l.Partitions[0].GUID+"/PARTNROFF=1") {
		t.Errorf("cmdline %q does not name the root by the boot partition's PARTUUID", cmdline)
	}
}

func TestLookupTarget(t *testing.T) {
	if _, err := LookupTarget("rpi5"); err == nil || !strings.Contains(err.Error(), "want one of amd64, amd64-testdevices, rpi4") {
		t.Errorf("LookupTarget(rpi5) = %v", err)
	}
}
