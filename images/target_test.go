package images

import (
	"bytes"
	"roomkit/images/disk"
	"strings"
	"testing"
)

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
	l, _ := disk.NewLayout(disk.MinDiskSize, disk.HostHash("roomkit"), "amd64")
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
