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
func (k *Kit) loadMemory(why error) error {
	id, err := memoryIdentity()
	if err != nil {
		return err
	}
	k.log.Info("new identity, in memory only", "device_id", id.DeviceID)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.storageErr = why
	k.id = id
	k.client = k.newClient(id)
	k.saved = provisioning.State{Version: provisioning.StateVersion}
	k.recovering = false
	k.message = ""
	k.errText, k.retryAt = "", time.Time{}
	k.state = Pairing
	k.signal()
	return nil
}

// saveStateLocked keeps st in the state directory; without storage, only
// in memory (the caller's k.saved).
func (k *Kit) saveStateLocked(st provisioning.State) error {
	if k.storageErr != nil {
		return nil
	}
	return provisioning.SaveState(k.cfg.StateDir, st)
}

// storageLineLocked is the warning the screen and the status show while
// the kit runs without storage.
func (k *Kit) storageLineLocked() string {
	if k.storageErr == nil {
		return ""
	}
	return msgNoStorage
}
