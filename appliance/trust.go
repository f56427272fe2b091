package appliance

// How the kit decides whether it may talk to its portal, and what it does
// when its state file was damaged but its key was not (docs/protocol.md
// §1, §4).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"roomkit/portalapi"
	"roomkit/provisioning"
)

// portalLines are the screen's lines for the portal URL: refusal when the
// kit will not use it at all (plain HTTP across a network, or no URL),
// warning when it uses plain HTTP across a network because settings.json
// allows it.
func portalLines(portalURL string, allowPlainHTTP bool) (refusal, warning string) {
	err := provisioning.CheckPortalURL(portalURL, allowPlainHTTP)
	switch {
	case errors.Is(err, provisioning.ErrInsecurePortal):
		return fmt.Sprintf("Refusing the portal at %s: plain HTTP would send the kit's credentials unencrypted. Use https://", portalURL), ""
	case err != nil:
		return fmt.Sprintf("The portal URL %q is not usable: it must be https://", portalURL), ""
	}
	if allowPlainHTTP && errors.Is(provisioning.CheckPortalURL(portalURL, false), provisioning.ErrInsecurePortal) {
		return "", msgPlainHTTP
	}
	return "", ""
}

// refusePortal holds the state function while the portal URL is refused:
// nothing the kit could ask would be safe, and only a new URL (settings
// or flag, then a restart) changes that. The screen and roomctl status
// show why all along (errorLineLocked). It reports whether it held.
func (k *Kit) refusePortal(ctx context.Context) bool {
	if k.portalErr == "" {
		return false
	}
	k.mu.Lock()
	k.connected = false
	k.mu.Unlock()
	k.signal()
	<-ctx.Done()
	return true
}

func (k *Kit) recoverPending() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.recovering
}

// recoverRoom asks the portal which room the kit's key is paired with,
// after the state file that said so was found damaged (or missing). It returns true
// when the portal says the kit is not paired, so pairing should start,
// and false once the room is back (the kit is ready) or ctx ended. Every
// other failure is retried with backoff: starting the device flow on a
// guess would leave a code the admin center refuses while the portal
// still holds this key.
func (k *Kit) recoverRoom(ctx context.Context) bool {
	bo := newBackoff()
	for ctx.Err() == nil {
		k.mu.Lock()
		client := k.client
		k.mu.Unlock()
		tok, err := client.RefreshToken(ctx)
		if err == nil && tok.Room == nil {
			err = fmt.Errorf("recover the room: %w: the token answer names no room", portalapi.ErrBadAnswer)
		}
		switch {
		case err == nil:
			if err := k.paired(tok); err != nil {
				k.log.Error("cannot save the recovered pairing", "err", err)
				k.waitRetry(ctx, bo, err, fmt.Sprintf("Cannot save the pairing (%v)", err))
				continue
			}
			k.mu.Lock()
			k.recovering = false
			k.mu.Unlock()
			k.log.Info("room recovered from the portal", "room", tok.Room.Name, "room_id", tok.Room.ID)
			return false
		case ctx.Err() != nil:
			return false
		case errors.Is(err, portalapi.ErrNotPaired):
			k.log.Info("the portal holds no room for this kit: pairing again")
			k.mu.Lock()
			k.recovering = false
			k.message = k.recoverMsg
			k.errText, k.retryAt = "", time.Time{}
			k.mu.Unlock()
			k.signal()
			return true
		default:
			k.log.Warn("cannot recover the room from the portal yet", "portal", k.cfg.PortalURL, "err", err)
			k.waitRetry(ctx, bo, err, k.failureLine(err))
		}
	}
	return false
}
