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

// refuse holds the link's loops while the portal URL is refused:
// nothing the kit could ask would be safe, and only a new URL (settings
// or flag, then a restart) changes that. The screen and roomctl status
// show why all along (errorLineLocked). It reports whether it held.
func (l *portalLink) refuse(ctx context.Context) bool {
	if l.portalErr == "" {
		return false
	}
	l.mu.Lock()
	l.connected = false
	l.mu.Unlock()
	l.cfg.Signal()
	<-ctx.Done()
	return true
}

func (l *portalLink) recoverPending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recovering
}

// recoverRoom asks the portal which room the kit's key is paired with,
// after the state file that said so was found damaged (or missing). It returns true
// when the portal says the kit is not paired, so pairing should start,
// and false once the room is back (the kit is ready) or ctx ended. Every
// other failure is retried with backoff: starting the device flow on a
// guess would leave a code the admin center refuses while the portal
// still holds this key.
func (l *portalLink) recoverRoom(ctx context.Context) bool {
	bo := newBackoff()
	for ctx.Err() == nil {
		l.mu.Lock()
		client := l.client
		l.mu.Unlock()
		tok, err := client.RefreshToken(ctx)
		if err == nil && tok.Room == nil {
			err = fmt.Errorf("recover the room: %w: the token answer names no room", portalapi.ErrBadAnswer)
		}
		switch {
		case err == nil:
			if err := l.paired(tok); err != nil {
				l.log.Error("cannot save the recovered pairing", "err", err)
				l.waitRetry(ctx, bo, err, fmt.Sprintf("Cannot save the pairing (%v)", err))
				continue
			}
			l.mu.Lock()
			l.recovering = false
			l.mu.Unlock()
			l.log.Info("room recovered from the portal", "room", tok.Room.Name, "room_id", tok.Room.ID)
			return false
		case ctx.Err() != nil:
			return false
		case errors.Is(err, portalapi.ErrNotPaired):
			l.log.Info("the portal holds no room for this kit: pairing again")
			l.mu.Lock()
			l.recovering = false
			l.message = l.recoverMsg
			l.errText, l.retryAt = "", time.Time{}
			l.mu.Unlock()
			l.cfg.Signal()
			return true
		default:
			l.log.Warn("cannot recover the room from the portal yet", "portal", l.cfg.PortalURL, "err", err)
			l.waitRetry(ctx, bo, err, l.failureLine(err))
		}
	}
	return false
}
