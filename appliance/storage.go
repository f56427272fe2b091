package appliance

// A kit whose state directory cannot be used (an unwritable /perm, or none:
// gokrazy mounts no /perm when its file system is damaged) still works: it
// runs from memory with a new identity, can be paired, and says on screen
// that nothing it learns will survive a reboot. A dark room is worse than
// a room that must be paired again after a power cut.

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"roomkit/provisioning"
)

// msgNoStorage is the warning line while the kit runs without storage.
const msgNoStorage = "The kit's storage (/perm) is not writable: settings will not be kept."

// memoryIdentity makes an identity that lives in memory only.
func memoryIdentity() (*provisioning.Identity, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity: %w", err)
	}
	return &provisioning.Identity{Key: key, DeviceID: provisioning.DeviceID(pub), Created: true}, nil
}

// loadMemory starts the kit without storage, because of why: a fresh
// identity in memory, nothing paired.
func (l *portalLink) loadMemory(why error) error {
	id, err := memoryIdentity()
	if err != nil {
		return err
	}
	l.log.Info("new identity, in memory only", "device_id", id.DeviceID)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.storageErr = why
	l.id = id
	l.client = l.newClient(id)
	l.saved = provisioning.State{Version: provisioning.StateVersion}
	l.recovering = false
	l.message = ""
	l.errText, l.retryAt = "", time.Time{}
	l.cfg.Signal()
	return nil
}

// saveStateLocked keeps st in the state directory; without storage, only
// in memory (the caller's l.saved).
func (l *portalLink) saveStateLocked(st provisioning.State) error {
	if l.storageErr != nil {
		return nil
	}
	return provisioning.SaveState(l.cfg.StateDir, st)
}

// storageLineLocked is the warning the screen and the status show while
// the kit runs without storage.
func (l *portalLink) storageLineLocked() string {
	if l.storageErr == nil {
		return ""
	}
	return msgNoStorage
}
