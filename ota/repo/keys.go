package repo

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// key is a private signing key with where it came from, so that errors can
// name the file.
type key struct {
	path string
	priv ed25519.PrivateKey
	tuf  *metadata.Key
	id   string
}

// newKey generates an Ed25519 key and writes it to path (PKCS#8 PEM, mode
// 0600). It refuses to overwrite a file: a lost key is worse than an error.
func newKey(path string) (*key, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%s already exists: refusing to overwrite a key", path)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	if err := writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return keyOf(path, priv)
}

// readKey reads an Ed25519 PKCS#8 PEM private key.
func readKey(path string) (*key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("key %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		slog.Warn("a key file is readable by others: chmod 600 it", "key", path, "mode", st.Mode().Perm().String())
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM private key (PKCS#8, \"BEGIN PRIVATE KEY\")", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s is not an Ed25519 key", path)
	}
	return keyOf(path, priv)
}

func keyOf(path string, priv ed25519.PrivateKey) (*key, error) {
	tk, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		return nil, err
	}
	id, err := tk.ID()
	if err != nil {
		return nil, err
	}
	return &key{path: path, priv: priv, tuf: tk, id: id}, nil
}

func (k *key) signer() (signature.Signer, error) {
	// Ed25519 signs the message itself: no pre-hash.
	return signature.LoadSigner(k.priv, crypto.Hash(0))
}

// onlineKeyPath is where the online key of role lives.
func (r *Repo) onlineKeyPath(role string) string {
	return filepath.Join(r.dir, "keys", "online", role+".pem")
}

// roleKey reads the online key of role and checks that the current root
// lists it for that role.
func (r *Repo) roleKey(role string) (*key, error) {
	k, err := readKey(r.onlineKeyPath(role))
	if err != nil {
		return nil, err
	}
	if err := r.checkRoleKey(k, role); err != nil {
		// A rotation that stopped between writing the new root and
		// installing the new key left it beside the old one: finish it.
		pending := r.onlineKeyPath(role) + ".new"
		if nk, perr := readKey(pending); perr == nil && r.checkRoleKey(nk, role) == nil {
			if err := os.Rename(pending, r.onlineKeyPath(role)); err != nil {
				return nil, fmt.Errorf("install the new %s key: %w", role, err)
			}
			nk.path = r.onlineKeyPath(role)
			slog.Warn("installed the new key an interrupted rotation left", "role", role, "key", nk.path)
			return nk, syncDir(filepath.Dir(pending))
		}
		return nil, err
	}
	return k, nil
}

func (r *Repo) checkRoleKey(k *key, role string) error {
	if !slices.Contains(r.root.Signed.Roles[role].KeyIDs, k.id) {
		return fmt.Errorf("%s is not a %s key of root v%d (keyid %.16s…): was it rotated?", k.path, role, r.root.Signed.Version, k.id)
	}
	return nil
}

// sign replaces m's signatures with ones by keys.
func sign[T metadata.Roles](m *metadata.Metadata[T], keys ...*key) error {
	m.ClearSignatures()
	for _, k := range keys {
		s, err := k.signer()
		if err != nil {
			return fmt.Errorf("load key %s: %w", k.path, err)
		}
		if _, err := m.Sign(s); err != nil {
			return fmt.Errorf("sign with %s: %w", k.path, err)
		}
	}
	return nil
}
