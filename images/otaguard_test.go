package images

import (
	"slices"
	"testing"
)

// TestKitServices: an image with an update root runs the update guard
// beside roomd, pointed at roomd's state and control API.
func TestKitServices(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []Service
	}{
		{"no update root", Config{RoomdArgs: []string{"-devices", "real"}},
			[]Service{{Path: "/user/roomd", Args: []string{"-devices", "real"}}}},
		{"update root", Config{OTARoot: []byte("{}")}, []Service{
			{Path: "/user/roomd", Args: []string{"-ota-root", OTARootPath}},
			{Path: "/user/roomctl", Args: []string{"ota-guard"}}}},
		{"roomd's state and control", Config{OTARoot: []byte("{}"), RoomdArgs: []string{"--state=/perm/kit", "-control", "unix:/run/roomd.sock", "-ota-deadline", "5m"},
			Extra: []Program{{Name: "kitprobe", Args: []string{"-x"}}}}, []Service{
			{Path: "/user/roomd", Args: []string{"--state=/perm/kit", "-control", "unix:/run/roomd.sock", "-ota-deadline", "5m", "-ota-root", OTARootPath}},
			{Path: "/user/roomctl", Args: []string{"-state", "/perm/kit", "-control", "unix:/run/roomd.sock", "ota-guard"}},
			{Path: "/user/kitprobe", Args: []string{"-x"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := kitServices(tc.cfg)
			if !slices.EqualFunc(got, tc.want, func(a, b Service) bool { return a.Path == b.Path && slices.Equal(a.Args, b.Args) }) {
				t.Errorf("services %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCheckTimeServers: gokrazy's ntp adds port 123 to each server, so an
// image refuses names it could never query.
func TestCheckTimeServers(t *testing.T) {
	for _, tc := range []struct {
		hosts []string
		ok    bool
	}{
		{nil, true},
		{[]string{"ntp.example.com", "10.0.2.2", "fd00::1", "time"}, true},
		{[]string{"ntp.example.com:123"}, false},
		{[]string{"ntp://ntp.example.com"}, false},
		{[]string{"-bad.example.com"}, false},
		{[]string{""}, false},
	} {
		if err := checkTimeServers(tc.hosts); (err == nil) != tc.ok {
			t.Errorf("checkTimeServers(%q) = %v", tc.hosts, err)
		}
	}
}
