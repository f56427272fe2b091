package settings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		wantErr    string // "" for none
	}{
		{"empty object", `{}`, ""},
		{"everything", `{"portal_url": "https://portal.example", "label": "Boardroom kit", "time_zone": "Europe/Zurich",
			"http_proxy": "http://proxy:3128", "display": {"rotate": 90}, "gpio": {"mute_button": "GPIO17", "mute_led": "GPIO27"},
			"camera": {"prefer_1080p": true}}`, ""},
		{"syntax error on line 3", "{\n  \"label\": \"x\",\n  \"time_zone\": \"UTC\",,\n}", "line 3"},
		{"unknown field on line 2", "{\n  \"portal\": \"https://x\"\n}", `line 2: json: unknown field "portal"`},
		{"wrong type", "{\n\n \"display\": {\"rotate\": \"ninety\"}}", "line 3: display.rotate must be a int"},
		{"bad URL", `{"portal_url": "portal.example"}`, "portal_url"},
		{"plain HTTP across a network", `{"portal_url": "http://portal.example"}`, "portal_url: portal URL \"http://portal.example\": plain HTTP is allowed only to a portal on this machine"},
		{"plain HTTP on loopback", `{"portal_url": "http://127.0.0.1:8080"}`, ""},
		{"plain HTTP allowed for a test rig", `{"portal_url": "http://10.0.2.100", "allow_plain_http": true}`, ""},
		{"plain HTTP proxy", `{"portal_url": "https://portal.example", "http_proxy": "http://10.1.1.1:3128"}`, ""},
		{"update repository on a CDN", `{"ota_url": "https://cdn.example/roomkit/ota"}`, ""},
		{"update repository not a URL", `{"ota_url": "cdn.example/ota"}`, `ota_url "cdn.example/ota": want an https:// URL`},
		{"update repository over plain HTTP", `{"ota_url": "http://cdn.example/ota"}`, `ota_url "http://cdn.example/ota": plain HTTP only`},
		{"bad proxy", `{"http_proxy": "socks5://x"}`, "http_proxy"},
		{"bad zone", `{"time_zone": "Mars/Olympus"}`, "not a time zone"},
		{"bad rotation", `{"display": {"rotate": 45}}`, "display.rotate 45"},
		{"empty file", ``, "empty"},
		{"two objects", `{} {}`, "more than one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if s, err := Load(dir); err != nil || s != (Settings{}) {
		t.Errorf("no settings file: %+v, %v; want defaults and no error", s, err)
	}
	path := filepath.Join(dir, File)
	os.WriteFile(path, []byte("{\n \"label\": 7\n}"), 0o644)
	if s, err := Load(dir); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 2") || s != (Settings{}) {
		t.Errorf("broken settings: %+v, %v; want defaults and an error naming %s line 2", s, err, path)
	}
}

func TestEncode(t *testing.T) {
	s := Settings{PortalURL: "https://portal.example", Label: "Room 4.01", Display: Display{Rotate: 90}}
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := Parse(b); err != nil || back != s {
		t.Errorf("Encode then Parse = %+v, %v; want %+v", back, err, s)
	}
	if !strings.HasSuffix(string(b), "}\n") || !strings.Contains(string(b), "\n  \"label\": \"Room 4.01\",\n") {
		t.Errorf("Encode wrote %q; want one field a line and a final newline", b)
	}
	if _, err := (Settings{PortalURL: "ftp://x"}).Encode(); err == nil || !strings.HasPrefix(err.Error(), "settings: portal_url") {
		t.Errorf("Encode of bad settings: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"portal_url": "https://p", "display": {"rotate": 90}}`))
	f.Add([]byte("{\n,"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err == nil && s.Check() != nil {
			t.Fatalf("accepted settings that fail Check: %+v", s)
		}
	})
}
