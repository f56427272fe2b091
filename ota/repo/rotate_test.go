package repo

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"roomkit/ota"
)

func publishSim(t *testing.T, r *Repo, version string) {
	t.Helper()
	if err := r.Publish(writeImage(t, []byte("sim root "+version)), ota.Release{Version: version, Target: "sim", Channels: []string{"stable"}}); err != nil {
		t.Fatalf("Publish %s: %v", version, err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRotateTargets(t *testing.T) {
	r := newRepo(t)
	first := r.Root()
	publishSim(t, r, "1.0.0")
	old := filepath.Join(t.TempDir(), "old-targets.pem")
	copyFile(t, r.onlineKeyPath(RoleTargets), old)

	if err := r.Rotate(RoleTargets, []string{RootKeyPath(r.Dir(), 1)}, ""); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	s := serve(t, r.Dir())
	up, err := client(t, s.URL, first, time.Now())
	if err != nil {
		t.Fatalf("a kit with root v1 refuses the rotated repository: %v", err)
	}
	if v := up.GetTrustedMetadataSet().Root.Signed.Version; v != 2 {
		t.Errorf("kit trusts root v%d, want 2", v)
	}
	if _, err := up.GetTargetInfo(ota.TargetPath("1.0.0", "sim")); err != nil {
		t.Errorf("the release published before the rotation is gone: %v", err)
	}
	if _, err := os.Stat(r.onlineKeyPath(RoleTargets) + ".new"); err == nil {
		t.Error("the pending key file is left behind")
	}

	// The old key put back is refused by the repository with a sentence...
	copyFile(t, old, r.onlineKeyPath(RoleTargets))
	err = r.Publish(writeImage(t, []byte("evil")), ota.Release{Version: "9.9.9", Target: "sim", Channels: []string{"stable"}})
	want := r.onlineKeyPath(RoleTargets) + " is not a targets key of root v2 (keyid "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "…): was it rotated?") {
		t.Fatalf("Publish with the old targets key: %v, want %q…", err, want)
	}

	// ...and metadata it signs (the compromised-key attack: the rest
	// properly signed) is refused by a kit.
	oldKey, err := readKey(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.load(); err != nil {
		t.Fatal(err)
	}
	tg := r.targets
	tg.Signed.Version++
	tf, err := targetFile(4, make([]byte, 32), ota.Release{Version: "9.9.9", Target: "sim", Channels: []string{"stable"}})
	if err != nil {
		t.Fatal(err)
	}
	tg.Signed.Targets[ota.TargetPath("9.9.9", "sim")] = tf
	if err := sign(tg, oldKey); err != nil {
		t.Fatal(err)
	}
	b, err := tg.ToBytes(true)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(r.metaPath(tg.Signed.Version, RoleTargets), b, 0o644); err != nil {
		t.Fatal(err)
	}
	r.snapshot.Signed.Meta["targets.json"] = metaFile(tg.Signed.Version, b)
	keys, err := r.onlineKeys(RoleSnapshot, RoleTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.writeOnline(keys, false, true); err != nil {
		t.Fatal(err)
	}
	_, err = client(t, s.URL, first, time.Now())
	var unsigned *metadata.ErrUnsignedMetadata
	if !errors.As(err, &unsigned) {
		t.Fatalf("a kit accepted targets signed by the rotated-out key: %v", err)
	}
}

func TestRotateRoot(t *testing.T) {
	r := newRepo(t)
	first := r.Root()
	publishSim(t, r, "1.0.0")
	if err := r.Rotate(RoleRoot, []string{RootKeyPath(r.Dir(), 1)}, ""); err != nil {
		t.Fatalf("Rotate root: %v", err)
	}
	if _, err := os.Stat(RootKeyPath(r.Dir(), 2)); err != nil {
		t.Fatalf("the new root key: %v", err)
	}
	// The retired key signs nothing any more.
	err := r.Rotate(RoleTimestamp, []string{RootKeyPath(r.Dir(), 1)}, "")
	if want := RootKeyPath(r.Dir(), 1) + " is not a root key of root v2"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Rotate with the retired root key: %v, want %q…", err, want)
	}
	// Re-signing with the same key extends the root's life.
	if err := r.Rotate(RoleRoot, []string{RootKeyPath(r.Dir(), 2)}, RootKeyPath(r.Dir(), 2)); err != nil {
		t.Fatalf("re-sign root: %v", err)
	}
	s := serve(t, r.Dir())
	up, err := client(t, s.URL, first, time.Now())
	if err != nil {
		t.Fatalf("a kit with root v1 refuses: %v", err)
	}
	if v := up.GetTrustedMetadataSet().Root.Signed.Version; v != 3 {
		t.Errorf("kit trusts root v%d, want 3", v)
	}
	if _, err := up.GetTargetInfo(ota.TargetPath("1.0.0", "sim")); err != nil {
		t.Error(err)
	}
}

func TestRotateThreshold(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ota")
	if err := Init(dir, InitOptions{RootKeys: 3, RootThreshold: 2}); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Root()
	err = r.Rotate(RoleSnapshot, []string{RootKeyPath(dir, 1)}, "")
	if want := "root v1 needs 2 root keys to sign its successor, 1 given"; err == nil || err.Error() != want {
		t.Fatalf("Rotate with one of 2: %v, want %q", err, want)
	}
	// The same key twice counts once.
	if err := r.Rotate(RoleSnapshot, []string{RootKeyPath(dir, 1), RootKeyPath(dir, 1)}, ""); err == nil {
		t.Fatal("one key given twice met a threshold of 2")
	}
	if err := r.Rotate(RoleSnapshot, []string{RootKeyPath(dir, 1), RootKeyPath(dir, 2)}, ""); err != nil {
		t.Fatal(err)
	}
	// Replace root-1 by root-4: root-2 and root-4 meet the new threshold.
	if err := r.Rotate(RoleRoot, []string{RootKeyPath(dir, 1), RootKeyPath(dir, 2)}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(RootKeyPath(dir, 4)); err != nil {
		t.Fatal(err)
	}
	s := serve(t, dir)
	if _, err := client(t, s.URL, first, time.Now()); err != nil {
		t.Fatalf("a kit refuses after two rotations: %v", err)
	}
	if err := r.Rotate(RoleTargets, []string{RootKeyPath(dir, 4), RootKeyPath(dir, 3)}, ""); err != nil {
		t.Fatalf("the new root key set cannot sign: %v", err)
	}
}

func TestRefresh(t *testing.T) {
	r := newRepo(t)
	first := r.Root()
	now := time.Now().UTC()
	r.SetClock(func() time.Time { return now.Add(-6 * 24 * time.Hour) })
	publishSim(t, r, "1.0.0") // timestamp now expires in a day
	s := serve(t, r.Dir())

	later := now.Add(2 * 24 * time.Hour)
	_, err := client(t, s.URL, first, later)
	var expired *metadata.ErrExpiredMetadata
	if !errors.As(err, &expired) {
		t.Fatalf("a kit two days later accepted an expired timestamp: %v", err)
	}
	if err := r.Refresh(later); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	up, err := client(t, s.URL, first, later)
	if err != nil {
		t.Fatalf("a kit refuses the refreshed repository: %v", err)
	}
	ts := up.GetTrustedMetadataSet()
	if ts.Timestamp.Signed.Version != 3 || ts.Snapshot.Signed.Version != 2 || ts.Targets[RoleTargets].Signed.Version != 2 {
		t.Errorf("refresh with time left signed timestamp v%d snapshot v%d targets v%d, want 3 2 2",
			ts.Timestamp.Signed.Version, ts.Snapshot.Signed.Version, ts.Targets[RoleTargets].Signed.Version)
	}

	// 20 days on the snapshot (30 days, signed 6 days ago) has less than half left.
	much := now.Add(20 * 24 * time.Hour)
	if err := r.Refresh(much); err != nil {
		t.Fatal(err)
	}
	up, err = client(t, s.URL, first, much)
	if err != nil {
		t.Fatal(err)
	}
	ts = up.GetTrustedMetadataSet()
	if ts.Snapshot.Signed.Version != 3 || ts.Targets[RoleTargets].Signed.Version != 2 {
		t.Errorf("snapshot v%d targets v%d, want 3 and 2", ts.Snapshot.Signed.Version, ts.Targets[RoleTargets].Signed.Version)
	}
	if want := much.Add(7 * 24 * time.Hour).Truncate(time.Second); !ts.Timestamp.Signed.Expires.Equal(want) {
		t.Errorf("timestamp expires %v, want %v", ts.Timestamp.Signed.Expires, want)
	}
}

func TestKeyFiles(t *testing.T) {
	r := newRepo(t)
	files, _ := filepath.Glob(filepath.Join(r.Dir(), "keys", "*", "*.pem"))
	if len(files) != 4 {
		t.Fatalf("key files %v, want root-1 and three online keys", files)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
		b, _ := os.ReadFile(f)
		if !strings.HasPrefix(string(b), "-----BEGIN PRIVATE KEY-----\n") {
			t.Errorf("%s is not a PKCS#8 PEM key", f)
		}
	}
	for _, tc := range []struct{ name, body, want string }{
		{"garbage", "not a key", " is not a PEM private key (PKCS#8, \"BEGIN PRIVATE KEY\")"},
		{"missing", "", " does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := r.onlineKeyPath(RoleTimestamp)
			if tc.body == "" {
				os.Remove(p)
			} else if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			err := r.Refresh(time.Now())
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("Refresh with a %s timestamp key: %v, want %q", tc.name, err, p+tc.want)
			}
		})
	}
}

func TestInitRefusals(t *testing.T) {
	nonEmpty := t.TempDir()
	os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o644)
	for _, tc := range []struct {
		name string
		dir  string
		o    InitOptions
		want string
	}{
		{"non-empty", nonEmpty, InitOptions{}, nonEmpty + " is not empty: init creates a repository only in an empty or new directory"},
		{"too many keys", "", InitOptions{RootKeys: 17}, "a repository needs between 1 and 16 root keys, not 17"},
		{"threshold above keys", "", InitOptions{RootKeys: 2, RootThreshold: 3}, "the root threshold must be between 1 and the number of root keys (2), not 3"},
		{"unknown role", "", InitOptions{Expires: map[string]time.Duration{"mirror": time.Hour}}, `expiry for "mirror": the roles are root, targets, snapshot and timestamp`},
		{"short expiry", "", InitOptions{Expires: map[string]time.Duration{"timestamp": time.Minute}}, "expiry for timestamp is 1m0s: give at least an hour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "ota")
			}
			if err := Init(dir, tc.o); err == nil || err.Error() != tc.want {
				t.Fatalf("Init: %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is not an update repository (no repo.json): create one with roomkit-release init") {
		t.Errorf("Open of an empty directory: %v", err)
	}
}

func TestRotateInterrupted(t *testing.T) {
	r := newRepo(t)
	first := r.Root()
	old := filepath.Join(t.TempDir(), "old.pem")
	copyFile(t, r.onlineKeyPath(RoleTargets), old)
	if err := r.Rotate(RoleTargets, []string{RootKeyPath(r.Dir(), 1)}, ""); err != nil {
		t.Fatal(err)
	}
	// What a cut between the new root and the key's installation leaves:
	// the new key pending, the old one in place.
	if err := os.Rename(r.onlineKeyPath(RoleTargets), r.onlineKeyPath(RoleTargets)+".new"); err != nil {
		t.Fatal(err)
	}
	copyFile(t, old, r.onlineKeyPath(RoleTargets))
	publishSim(t, r, "1.0.0")
	if _, err := os.Stat(r.onlineKeyPath(RoleTargets) + ".new"); err == nil {
		t.Error("the pending key is still pending")
	}
	s := serve(t, r.Dir())
	if _, err := client(t, s.URL, first, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestRefreshWarnsRootExpiry(t *testing.T) {
	var logs strings.Builder
	saved := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(saved)

	dir := filepath.Join(t.TempDir(), "ota")
	if err := Init(dir, InitOptions{Expires: map[string]time.Duration{RoleRoot: 8 * time.Hour}}); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Refresh(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "the root expires soon") {
		t.Errorf("warned with 7 of 8 hours left: %s", logs.String())
	}
	if err := r.Refresh(time.Now().Add(7 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "the root expires soon: re-sign it with the offline root keys (roomkit-release rotate -role root)") {
		t.Errorf("no warning with an hour left: %s", logs.String())
	}
}

func TestRotateLostMachine(t *testing.T) {
	r := newRepo(t)
	first := r.Root()
	publishSim(t, r, "1.0.0")
	// The release machine is gone: no online key left.
	for _, role := range onlineRoles {
		os.Remove(r.onlineKeyPath(role))
	}
	root := []string{RootKeyPath(r.Dir(), 1)}
	err := r.Rotate(RoleTargets, root, "")
	want := "key " + r.onlineKeyPath(RoleSnapshot) + " does not exist (rotate it too: -role targets,snapshot)"
	if err == nil || err.Error() != want {
		t.Fatalf("Rotate targets alone: %v, want %q", err, want)
	}
	if _, err := os.Stat(r.metaPath(2, RoleRoot)); err == nil {
		t.Fatal("a refused rotation wrote a root")
	}
	for _, tc := range []struct {
		role, newKey, want string
	}{
		{"targets,root", "", "rotate a root key on its own, not with other roles"},
		{"targets,snapshot", "x.pem", "a new key file can be given for one role only; rotating several makes a new key for each"},
		{"targets,mirror", "", `role "mirror" is not root, targets, snapshot or timestamp`},
	} {
		if err := r.Rotate(tc.role, root, tc.newKey); err == nil || err.Error() != tc.want {
			t.Errorf("Rotate %s: %v, want %q", tc.role, err, tc.want)
		}
	}
	if err := r.Rotate("targets, snapshot,timestamp", root, ""); err != nil {
		t.Fatalf("Rotate all three: %v", err)
	}
	s := serve(t, r.Dir())
	up, err := client(t, s.URL, first, time.Now())
	if err != nil {
		t.Fatalf("a kit refuses after rotating all online keys: %v", err)
	}
	if _, err := up.GetTargetInfo(ota.TargetPath("1.0.0", "sim")); err != nil {
		t.Error(err)
	}
	publishSim(t, r, "1.0.1")
}
