package provisioning

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateIdentity(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})

	for _, tc := range []struct {
		name         string
		setup        func(t *testing.T, dir string) // prepare dir
		wantCreated  bool
		wantReplaced string // substring of Replaced, "" for nil
		wantAside    []byte // a corrupt-* file must keep these bytes
		wantSameAs   bool   // the identity made by setup is loaded again
	}{
		{
			name:        "first boot",
			setup:       func(t *testing.T, dir string) {},
			wantCreated: true,
		},
		{
			name: "existing key",
			setup: func(t *testing.T, dir string) {
				if _, err := LoadOrCreateIdentity(dir); err != nil {
					t.Fatal(err)
				}
			},
			wantSameAs: true,
		},
		{
			name: "garbage key file",
			setup: func(t *testing.T, dir string) {
				os.WriteFile(filepath.Join(dir, IdentityFile), []byte("not a key\n"), 0o600)
			},
			wantCreated:  true,
			wantReplaced: "damaged",
			wantAside:    []byte("not a key\n"),
		},
		{
			name: "truncated key file",
			setup: func(t *testing.T, dir string) {
				if _, err := LoadOrCreateIdentity(dir); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, IdentityFile)
				b, _ := os.ReadFile(p)
				os.WriteFile(p, b[:len(b)/2], 0o600)
			},
			wantCreated:  true,
			wantReplaced: "damaged",
		},
		{
			name: "a key that is not Ed25519",
			setup: func(t *testing.T, dir string) {
				os.WriteFile(filepath.Join(dir, IdentityFile), ecPEM, 0o600)
			},
			wantCreated:  true,
			wantReplaced: "want Ed25519",
			wantAside:    ecPEM,
		},
		{
			name: "key missing but state exists",
			setup: func(t *testing.T, dir string) {
				id, err := LoadOrCreateIdentity(dir)
				if err != nil {
					t.Fatal(err)
				}
				if err := SaveState(dir, State{DeviceID: id.DeviceID, Room: &Room{ID: "rm_1", Name: "Boardroom"}}); err != nil {
					t.Fatal(err)
				}
				os.Remove(filepath.Join(dir, IdentityFile))
			},
			wantCreated:  true,
			wantReplaced: "missing",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			var before string
			if tc.wantSameAs {
				b, _ := os.ReadFile(filepath.Join(dir, IdentityFile))
				before = string(b)
			}
			id, err := LoadOrCreateIdentity(dir)
			if err != nil {
				t.Fatalf("LoadOrCreateIdentity: %v", err)
			}
			if id.Created != tc.wantCreated {
				t.Errorf("Created = %v, want %v", id.Created, tc.wantCreated)
			}
			switch {
			case tc.wantReplaced == "" && id.Replaced != nil:
				t.Errorf("Replaced = %v, want nil", id.Replaced)
			case tc.wantReplaced != "" && (id.Replaced == nil || !strings.Contains(id.Replaced.Error(), tc.wantReplaced)):
				t.Errorf("Replaced = %v, want it to mention %q", id.Replaced, tc.wantReplaced)
			}
			if got := DeviceID(id.PublicKey()); got != id.DeviceID || len(got) != 43 {
				t.Errorf("DeviceID %q does not derive from the key (%q)", id.DeviceID, got)
			}
			p := filepath.Join(dir, IdentityFile)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
			}
			// What is on disk is what was returned.
			again, err := LoadOrCreateIdentity(dir)
			if err != nil || again.DeviceID != id.DeviceID || again.Created {
				t.Errorf("reload: %v, %+v; want the same identity %s", err, again, id.DeviceID)
			}
			if tc.wantSameAs {
				b, _ := os.ReadFile(p)
				if string(b) != before {
					t.Error("an existing key file was rewritten")
				}
			}
			if tc.wantAside != nil {
				aside, _ := filepath.Glob(filepath.Join(dir, IdentityFile+".corrupt-*"))
				if len(aside) != 1 {
					t.Fatalf("moved-aside files %v, want one", aside)
				}
				b, _ := os.ReadFile(aside[0])
				if !bytes.Equal(b, tc.wantAside) {
					t.Errorf("moved-aside file holds %q, want the damaged key %q", b, tc.wantAside)
				}
			}
		})
	}
}
