package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"roomkit/appliance/control"
)

// The probe copies two constants so that it builds without cgo; a change
// in the control package must not leave the QEMU test reading nothing.
func TestControlConstants(t *testing.T) {
	if controlAddr != control.DefaultAddr || tokenFile != control.TokenFile {
		t.Errorf("kitprobe uses %s and %s; the control API is at %s with %s", controlAddr, tokenFile, control.DefaultAddr, control.TokenFile)
	}
}

// fakeGokrazy records what the probe asks of gokrazy's update API.
type fakeGokrazy struct {
	mu       sync.Mutex
	root     []byte
	calls    []string
	rootCode int // the answer to PUT /update/root; 0: 200
}

func (g *fakeGokrazy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r.ParseForm()
	call := r.Method + " " + r.URL.Path
	if q := r.PostForm.Encode(); q != "" {
		call += "?" + q
	}
	g.calls = append(g.calls, call)
	switch r.URL.Path {
	case "/update/root":
		b, _ := io.ReadAll(r.Body)
		if g.rootCode != 0 {
			http.Error(w, "disk on fire", g.rootCode)
			return
		}
		g.root = b
		fmt.Fprintf(w, "%x", sha256.Sum256(b))
	}
}

func TestUpdater(t *testing.T) {
	root := bytes.Repeat([]byte("squashfs"), 100000)
	sum := fmt.Sprintf("%x", sha256.Sum256(root))
	for _, tc := range []struct {
		name      string
		action    Action
		rootCode  int
		wantCalls []string
		wantErr   string
		wantRoot  bool
	}{
		{"root and testboot", Action{ID: "a", Root: "/root.squashfs", SHA256: sum, Testboot: true},
			0, []string{"PUT /update/root", "POST /update/testboot"}, "", true},
		{"testboot only", Action{ID: "b", Testboot: true}, 0, []string{"POST /update/testboot"}, "", false},
		{"hash mismatch stops before testboot", Action{ID: "c", Root: "/root.squashfs", SHA256: "00", Testboot: true},
			0, []string{"PUT /update/root"}, "gokrazy wrote a root with SHA-256 " + sum, true},
		{"gokrazy fails", Action{ID: "d", Root: "/root.squashfs", Testboot: true},
			http.StatusInternalServerError, []string{"PUT /update/root"}, "500 Internal Server Error: disk on fire", false},
		{"missing root", Action{ID: "e", Root: "/nothing"}, 0, nil, "fetch root /nothing: 404", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &fakeGokrazy{rootCode: tc.rootCode}
			sock := filepath.Join(t.TempDir(), "gokrazy.sock")
			ln, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			gs := &http.Server{Handler: g}
			go gs.Serve(ln)
			defer gs.Close()
			host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/root.squashfs" {
					http.NotFound(w, r)
					return
				}
				w.Write(root)
			}))
			defer host.Close()

			u := newUpdater(host.URL, sock)
			err = u.run(context.Background(), &tc.action)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("run: %v, want an error containing %q", err, tc.wantErr)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			if !slices.Equal(g.calls, tc.wantCalls) {
				t.Errorf("gokrazy saw %q, want %q", g.calls, tc.wantCalls)
			}
			if got := bytes.Equal(g.root, root); got != tc.wantRoot {
				t.Errorf("the root written matches the host's: %v, want %v", got, tc.wantRoot)
			}
		})
	}
}

func TestReboot(t *testing.T) {
	for _, tc := range []struct {
		kexec bool
		want  string
	}{
		{false, "POST /reboot?kexec=off&wait_per_signal=10s"},
		{true, "POST /reboot?wait_per_signal=10s"},
	} {
		g := &fakeGokrazy{}
		sock := filepath.Join(t.TempDir(), "gokrazy.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		gs := &http.Server{Handler: g}
		go gs.Serve(ln)
		if err := newUpdater("http://unused", sock).reboot(context.Background(), tc.kexec); err != nil {
			t.Errorf("reboot: %v", err)
		}
		gs.Close()
		if len(g.calls) != 1 || g.calls[0] != tc.want {
			t.Errorf("kexec %v: gokrazy saw %q, want %q", tc.kexec, g.calls, tc.want)
		}
	}
}

func TestNextAction(t *testing.T) {
	for _, tc := range []struct {
		name    string
		code    int
		body    string
		want    *Action
		wantErr string
	}{
		{"none", http.StatusNoContent, "", nil, ""},
		{"one", http.StatusOK, `{"id":"ab","root":"/r","sha256":"ff","testboot":true,"reboot":true}`,
			&Action{ID: "ab", Root: "/r", SHA256: "ff", Testboot: true, Reboot: true}, ""},
		{"no id", http.StatusOK, `{"reboot":true}`, nil, "without an id"},
		{"garbage", http.StatusOK, `reboot now`, nil, "action: invalid character"},
		{"host error", http.StatusInternalServerError, "", nil, "500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.code)
				io.WriteString(w, tc.body)
			}))
			defer host.Close()
			a, err := newUpdater(host.URL, "").next(context.Background())
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("next: %v, want an error containing %q", err, tc.wantErr)
			}
			if (a == nil) != (tc.want == nil) || a != nil && *a != *tc.want {
				t.Errorf("next = %+v, want %+v", a, tc.want)
			}
		})
	}
}
