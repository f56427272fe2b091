package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"roomkit/appliance"
	"roomkit/drivers"
)

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{nil, "no command"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"status", "extra"}, "status takes no arguments"},
		{[]string{"status", "-yaml"}, "status"},
		{[]string{"factory-reset", "now"}, "factory-reset takes no arguments"},
		{[]string{"-nope", "status"}, "nope"},
	} {
		var out, errOut bytes.Buffer
		err := run(tc.args, &out, &errOut)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("roomctl %q: %v; want a usage error mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestPrintStatus(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, appliance.Status{
		State: appliance.Pairing, PortalURL: "http://127.0.0.1:8080", UserCode: "BCDF-GHJK",
		VerificationURI: "http://127.0.0.1:8080/admin/pair", Version: "0.1.0", DeviceID: "dev", UptimeSeconds: 75,
		CodeExpiresAt: time.Date(2026, 11, 3, 9, 10, 0, 0, time.UTC),
		Devices:       []drivers.Status{{Kind: "camera", Name: "USB camera", Present: false, Error: "unplugged"}},
	})
	got := b.String()
	for _, want := range []string{
		"state:        pairing\n",
		"portal:       http://127.0.0.1:8080 (offline)\n",
		"user code:    BCDF-GHJK\n",
		"uptime:       1m15s\n",
		"camera:       USB camera (missing): unplugged\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "room:") {
		t.Errorf("an unpaired kit's status names a room:\n%s", got)
	}
}
