package ota

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.5.0", "1.5.0", 0},
		{"1.4.9", "1.5.0", -1},
		{"1.10.0", "1.9.0", 1},
		{"1.5.0-rc.1", "1.5.0", -1},
		{"v0.3.0-12-gabc", "0.0.1", -1}, // a development build takes any release
		{"", "1.0.0", -1},
	} {
		if got := Compare(c.a, c.b); got != c.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"1.5.0": true, "0.0.1-beta.2": true, "v1.5.0": false, "1.5": false, "1.5.0 ": false, "01.5.0": false, "": false,
	} {
		if err := CheckVersion(v); (err == nil) != ok {
			t.Errorf("CheckVersion(%q) = %v, want ok=%v", v, err, ok)
		}
	}
}

func TestReportValidate(t *testing.T) {
	good := Report{Status: Status{State: Downloading, TargetVersion: "1.5.0", Progress: 0.5}, Channel: "stable"}
	for _, c := range []struct {
		name   string
		change func(*Report)
		want   string // "" : valid
	}{
		{"good", func(*Report) {}, ""},
		{"unknown state", func(r *Report) { r.State = "exploding" }, `"exploding" is not one of idle`},
		{"long version", func(r *Report) { r.TargetVersion = strings.Repeat("1", 65) }, "target_version is longer"},
		{"two-line error", func(r *Report) { r.Error = "a\nb" }, "update.error must be one line"},
		{"progress", func(r *Report) { r.Progress = 1.5 }, "not between 0 and 1"},
		{"last outcome", func(r *Report) { r.Last = &Result{Version: "1.4.0", Outcome: Idle} }, "last.outcome"},
	} {
		r := good
		c.change(&r)
		err := r.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestReleaseOf(t *testing.T) {
	raw := json.RawMessage(`{"version":"1.5.0","channels":["stable"],"target":"amd64","kernel":"6.12.1","future":1}`)
	r, err := ReleaseOf(&metadata.TargetFiles{Custom: &raw})
	if err != nil || r.Version != "1.5.0" || r.Target != "amd64" || r.Kernel != "6.12.1" {
		t.Errorf("ReleaseOf = %+v, %v", r, err)
	}
	bad := json.RawMessage(`{"version":"latest"}`)
	if _, err := ReleaseOf(&metadata.TargetFiles{Custom: &bad}); err == nil {
		t.Error("a release named latest was accepted")
	}
	if _, err := ReleaseOf(&metadata.TargetFiles{}); err == nil {
		t.Error("a target without a release description was accepted")
	}
}
