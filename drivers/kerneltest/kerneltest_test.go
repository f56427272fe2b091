package kerneltest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"
)

// The lines Record writes must give back the bytes exactly: smoke.sh
// rebuilds testdata fixtures from them.
func TestRecordLines(t *testing.T) {
	t.Cleanup(func(old io.Writer) func() { return func() { out = old } }(out))
	big := bytes.Repeat([]byte("vivid colour bars "), 1000) // several chunks
	for _, tc := range []struct {
		name  string
		data  []byte
		lines int
	}{
		{"empty.txt", nil, 1},
		{"cards.txt", []byte(" 0 [Dummy          ]: Dummy - Dummy\n"), 2},
		{"frame.v4l2.gz", big, 1 + (len(big)+chunk-1)/chunk},
	} {
		var buf bytes.Buffer
		out = &buf
		Record(t, tc.name, tc.data)
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != tc.lines {
			t.Fatalf("%s: %d lines, want %d", tc.name, len(lines), tc.lines)
		}
		var got []byte
		for _, l := range lines[:len(lines)-1] {
			f := strings.Fields(l)
			if len(f) != 3 || f[0] != "FIXTURE" || f[1] != tc.name {
				t.Fatalf("%s: line %q", tc.name, l)
			}
			b, err := base64.StdEncoding.DecodeString(f[2])
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got = append(got, b...)
		}
		if !bytes.Equal(got, tc.data) {
			t.Errorf("%s: decoded %d bytes, want the %d recorded", tc.name, len(got), len(tc.data))
		}
		if want := fmt.Sprintf("FIXTURE %s sha256:%x", tc.name, sha256.Sum256(tc.data)); lines[len(lines)-1] != want {
			t.Errorf("%s: last line %q, want %q", tc.name, lines[len(lines)-1], want)
		}
	}
}
