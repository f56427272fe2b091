package procmem

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  string
		want    Usage
		wantErr string
	}{
		{"both", "Name:\tportal\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n", Usage{RSS: 40 << 20, HWM: 50 << 20}, ""},
		{"no unit", "VmRSS: 1\nVmHWM: 2\n", Usage{RSS: 1024, HWM: 2048}, ""},
		{"split", "VmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nRssAnon:\t   10240 kB\nRssFile:\t   30720 kB\nRssShmem:\t       0 kB\n", Usage{RSS: 40 << 20, HWM: 50 << 20, Anon: 10 << 20, File: 30 << 20}, ""},
		{"no RSS (a kernel thread)", "Name:\tkthreadd\nThreads:\t1\n", Usage{}, "VmRSS:: no such field"},
		{"no HWM", "VmRSS:\t1 kB\n", Usage{}, "VmHWM:: no such field"},
		{"not a number", "VmRSS:\tlots kB\nVmHWM:\t1 kB\n", Usage{}, `VmRSS: "lots kB"`},
		{"empty", "", Usage{}, "no such field"},
	} {
		got, err := Parse([]byte(tc.status))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %+v, %v; want an error with %q", tc.name, got, err, tc.wantErr)
		case got != tc.want:
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestRead(t *testing.T) {
	u, err := Read(os.Getpid(), "the test")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if u.RSS <= 0 || u.HWM < u.RSS {
		t.Errorf("this process: %+v", u)
	}
	if _, err := Read(-1, "nobody"); err == nil || !strings.Contains(err.Error(), "did nobody exit?") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a process that is not there: %v", err)
	}
}
