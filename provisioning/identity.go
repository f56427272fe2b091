package provisioning

import (
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
)

// IdentityFile holds the kit's private key in its state directory.
const IdentityFile = "identity.key"

// maxKeyFileSize caps what is read of the key file: a PEM Ed25519 key is
// about 120 bytes.
const maxKeyFileSize = 16 << 10

// Identity is the kit's own key pair. The private key never leaves the kit;
// the portal knows the kit by DeviceID, derived from the public key.
type Identity struct {
	Key      ed25519.PrivateKey
	DeviceID string
	// Created is true when the key was generated just now.
	Created bool
	// Replaced says why a new identity was made when the kit had one
	// before (its key file was damaged, or missing while its state was
	// not): the room must then be paired again, and the screen says so.
	Replaced error
}

// PublicKey returns the kit's public key.
func (id *Identity) PublicKey() ed25519.PublicKey { return id.Key.Public().(ed25519.PublicKey) }

// LogValue keeps the private key out of logs, whatever logs an Identity.
func (id *Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("device_id", id.DeviceID), slog.Bool("created", id.Created))
}

// LoadOrCreateIdentity loads the kit's key from dir, or makes one on first
// boot. A damaged key file is moved aside (identity.key.corrupt-<unix
// time>), never deleted, and a new key replaces it.
func LoadOrCreateIdentity(dir string) (*Identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	path := filepath.Join(dir, IdentityFile)
	data, err := readCapped(path, maxKeyFileSize)
	var replaced error
	switch {
	case err == nil:
		key, perr := parseKey(data)
		if perr == nil {
			return &Identity{Key: key, DeviceID: DeviceID(key.Public().(ed25519.PublicKey))}, nil
		}
		aside, merr := moveAside(path)
		if merr != nil {
			return nil, fmt.Errorf("identity %s is damaged (%v) and cannot be moved aside: %w", path, perr, merr)
		}
		replaced = fmt.Errorf("the key file %s was damaged (%v); kept it as %s", path, perr, aside)
	case errors.Is(err, fs.ErrNotExist):
		// First boot, unless the kit has state: then the key was lost.
		if _, serr := os.Stat(filepath.Join(dir, StateFile)); serr == nil {
			replaced = fmt.Errorf("the key file %s is missing but the kit has state from before", path)
		}
	default:
		// Unreadable (permissions, I/O error): keep the file for a
		// technician and carry on with a new identity, as the protocol
		// asks (docs/protocol.md §2).
		aside, merr := moveAside(path)
		if merr != nil {
			return nil, fmt.Errorf("identity %s cannot be read (%v) nor moved aside: %w", path, err, merr)
		}
		replaced = fmt.Errorf("the key file %s could not be read (%v); kept it as %s", path, err, aside)
	}

	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode identity: %w", err)
	}
	if err := writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, fmt.Errorf("save identity: %w", err)
	}
	return &Identity{
		Key:      key,
		DeviceID: DeviceID(key.Public().(ed25519.PublicKey)),
		Created:  true,
		Replaced: replaced,
	}, nil
}

// parseKey decodes a PKCS#8 PEM Ed25519 private key.
func parseKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("PEM block %q, want PRIVATE KEY", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not PKCS#8: %v", err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T key, want Ed25519", k)
	}
	return key, nil
}
