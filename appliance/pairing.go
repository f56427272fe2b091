package appliance

// Booting and pairing, the portal link's first loops (RFC 8628, the
// device flow; docs/protocol.md §1–4).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"roomkit/portalapi"
	"roomkit/provisioning"
)

// boot loads the identity and the state and reports whether the kit is
// paired. A state directory the kit cannot use does not stop it: it runs
// from memory (storage.go). Only a kit that cannot even make a key in
// memory says so on screen and tries again; ok is false when ctx ended
// first.
func (l *portalLink) boot(ctx context.Context) (paired, ok bool) {
	paired, err := l.load()
	if err == nil {
		return paired, true
	}
	l.log.Error("cannot use the kit's storage: running from memory, nothing will be kept", "dir", l.cfg.StateDir, "err", err)
	bo := newBackoff()
	for ctx.Err() == nil {
		merr := l.loadMemory(err)
		if merr == nil {
			return false, true
		}
		l.log.Error("cannot make an identity", "err", merr)
		l.waitRetry(ctx, bo, merr, fmt.Sprintf("Cannot make the kit's identity (%v)", merr))
	}
	return false, false
}

// pair shows codes until one is approved, and reports whether the kit is
// paired (false: ctx ended). A code that runs out or is denied is
// replaced by a fresh one, so an unattended kit always shows a usable
// code. A kit that lost its state asks the portal for its room first.
func (l *portalLink) pair(ctx context.Context) bool {
	if l.refuse(ctx) {
		return false
	}
	if l.recoverPending() && !l.recoverRoom(ctx) {
		return ctx.Err() == nil // the room is back, unless ctx ended
	}
	bo := newBackoff()
	label := l.cfg.Label
	if label == "" {
		label, _ = os.Hostname()
	}
	for ctx.Err() == nil {
		l.mu.Lock()
		client := l.client
		l.code = nil
		l.mu.Unlock()
		l.cfg.Signal()

		da, err := client.StartPairing(ctx, label)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			l.log.Warn("cannot get a pairing code", "portal", l.cfg.PortalURL, "err", err)
			l.waitRetry(ctx, bo, err, l.failureLine(err))
			continue
		}
		// bo is reset only once a poll is answered: a portal that hands
		// out codes but refuses every poll must not make the kit ask for
		// a fresh code every second or two.
		l.log.Info("pairing code issued", "code", da)
		l.mu.Lock()
		l.code = da
		l.connected = true
		l.errText, l.retryAt = "", time.Time{}
		l.metrics.PairingCodesIssued++
		l.mu.Unlock()
		l.cfg.Signal()

		if l.awaitApproval(ctx, client, da, bo) {
			return true
		}
	}
	return false
}

// awaitApproval polls for da until it is approved (true) or a fresh code
// is needed (false).
func (l *portalLink) awaitApproval(ctx context.Context, client *portalapi.Client, da *portalapi.DeviceAuthorization, bo *backoff) bool {
	for {
		// WaitForApproval sleeps before every poll; a second sleep means
		// the poll before it got an answer: the portal is there.
		polls := 0
		sleep := func(ctx context.Context, d time.Duration) error {
			if polls++; polls > 1 {
				l.online()
				bo.reset()
			}
			return l.sleep(ctx, d)
		}
		tok, err := client.WaitForApproval(ctx, da, sleep)
		switch {
		case err == nil:
			if err := l.paired(tok); err != nil {
				l.log.Error("cannot save the pairing", "err", err)
				l.waitRetry(ctx, bo, err, fmt.Sprintf("Cannot save the pairing (%v)", err))
				return false
			}
			bo.reset()
			return true
		case ctx.Err() != nil:
			return false
		case errors.Is(err, portalapi.ErrAccessDenied):
			l.log.Info("pairing code denied in the admin center")
			l.setMessage(msgDenied)
			return false
		case errors.Is(err, portalapi.ErrExpiredToken), errors.Is(err, portalapi.ErrInvalidGrant):
			l.log.Info("pairing code ran out: asking for a fresh one", "err", err)
			return false
		case portalBusy(err):
			// The portal is down or cannot answer for now (a 503
			// temporarily_unavailable while its disk is full, say): the
			// code on screen is still good, and an admin may be typing
			// it. Keep polling with it until it runs out.
			l.log.Warn("cannot poll the portal", "err", err)
			l.waitRetry(ctx, bo, err, l.failureLine(err))
			if !l.now().Before(da.ExpiresAt) {
				return false
			}
		default:
			// invalid_client (the portal refused the assertion),
			// invalid_request and the like: start over, slowly; bo grows
			// until a poll is answered.
			l.log.Warn("portal refused the pairing poll", "err", err)
			l.waitRetry(ctx, bo, err, l.failureLine(err))
			return false
		}
	}
}

// portalBusy reports whether err means the portal could not answer for
// now rather than refused: unreachable, or a 5xx answer (with an OAuth
// error such as temporarily_unavailable or server_error, or without).
func portalBusy(err error) bool {
	var oe *portalapi.OAuthError
	return errors.Is(err, portalapi.ErrUnreachable) || errors.As(err, &oe) && oe.Status >= http.StatusInternalServerError
}

// paired saves the new pairing.
func (l *portalLink) paired(tok *portalapi.Token) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := provisioning.State{
		Version:   provisioning.StateVersion,
		PortalURL: l.cfg.PortalURL,
		DeviceID:  l.id.DeviceID,
		Room:      tok.Room,
		PairedAt:  l.now().UTC(),
	}
	if err := l.saveStateLocked(st); err != nil {
		return err
	}
	l.saved = st
	l.token = tok
	l.code = nil
	l.message, l.errText, l.retryAt = "", "", time.Time{}
	l.connected = true
	l.setRoomLocked(*tok.Room)
	l.log.Info("paired", "room", tok.Room.Name, "room_id", tok.Room.ID)
	l.cfg.Signal()
	return nil
}
