package main

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// A recording replaces its file only when it is complete: a recorder that
// fails half-way (a camera unplugged, ^C) leaves the old fixture, or none,
// and no temporary file.
func TestRecordTo(t *testing.T) {
	unplugged := errors.New("camera unplugged")
	for _, tc := range []struct {
		name    string
		file    string // the target's name
		old     string // the target's contents before; "" for none
		failErr error  // what the recorder fails with after writing "half"
		want    string // the target's contents after; "" for none
	}{
		{"new file", "cam.fixture", "", nil, "recorded"},
		{"replaces the old file", "cam.fixture", "old", nil, "recorded"},
		{"gzipped", "cam.fixture.gz", "", nil, "recorded"},
		{"failure keeps the old file", "cam.fixture", "old", unplugged, "old"},
		{"failure leaves no file", "cam.fixture.gz", "", unplugged, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			if tc.old != "" {
				if err := os.WriteFile(path, []byte(tc.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := recordTo(path, func(w io.Writer) error {
				if tc.failErr != nil {
					w.Write([]byte("half"))
					return tc.failErr
				}
				_, err := w.Write([]byte("recorded"))
				return err
			})
			if !errors.Is(err, tc.failErr) {
				t.Fatalf("recordTo = %v, want %v", err, tc.failErr)
			}
			if got := readFixture(t, path); got != tc.want {
				t.Errorf("%s holds %q, want %q", tc.file, got, tc.want)
			}
			left, _ := os.ReadDir(dir)
			if n := map[bool]int{true: 1}[tc.want != ""]; len(left) != n {
				t.Errorf("the directory holds %d files, want %d (no temporary file left)", len(left), n)
			}
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

// readFixture returns path's contents, gunzipped for .gz; "" if there is
// no such file.
func readFixture(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if filepath.Ext(path) == ".gz" {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
