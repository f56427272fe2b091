package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"roomkit/appliance/control"
	"roomkit/health"
)

// healthKit answers the control API's health route; nothing else is asked.
type healthKit struct {
	control.Kit
	r health.Report
}

func (k healthKit) Health(time.Time) health.Report { return k.r }

// serveHealth runs a control API whose kit reports r.
func serveHealth(t *testing.T, r health.Report) (addr, dir string) {
	t.Helper()
	dir = t.TempDir()
	token, err := control.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := control.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: control.Handler(healthKit{r: r}, token, nil)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), dir
}

func TestHealthCommand(t *testing.T) {
	since := time.Date(2026, 12, 5, 9, 14, 2, 0, time.UTC)
	ok := health.Report{Status: health.OK, Checks: []health.Node{
		{Name: "Display", Status: health.OK, Detail: "HDMI-1", Since: since, Checks: []health.Node{}}}}
	failed := health.Report{Status: health.Failed, Checks: []health.Node{
		{Name: "Camera", Status: health.Failed, Detail: "no frames for 12 s\x1b[2J", Since: since, Checks: []health.Node{}}}}
	for _, tc := range []struct {
		name    string
		r       health.Report
		args    []string
		wantErr error
		want    string // in stdout
	}{
		{"healthy", ok, nil, nil, "ok\nok        Display: HDMI-1\n"},
		{"failed exits 3, escaped", failed, nil, errUnhealthy,
			`failed    Camera: no frames for 12 s\x1b[2J (since 2026-12-05 09:14:02 UTC)`},
		{"json", failed, []string{"-json"}, errUnhealthy, `"detail": "no frames for 12 s\u001b[2J"`},
		{"usage", ok, []string{"now"}, errUsage, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, dir := serveHealth(t, tc.r)
			var out, errOut bytes.Buffer
			err := run(append([]string{"-control", addr, "-state", dir, "health"}, tc.args...), &out, &errOut)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("err %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out.String())
			}
			if len(tc.args) == 1 && tc.args[0] == "-json" {
				var back health.Report
				if err := json.Unmarshal(out.Bytes(), &back); err != nil || back.Status != tc.r.Status {
					t.Errorf("-json prints %s (%v)", out.String(), err)
				}
			}
		})
	}
}
