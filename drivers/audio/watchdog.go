package audio

import (
	"context"
	"log/slog"
	"time"
)

// Stuck is implemented by drivers whose audio thread can get stuck for
// good (alsa.Manager: an unplugged device whose close never returned).
type Stuck interface {
	Stuck() bool
}

// RestartWhenStuck calls restart once stuck reports a stuck audio thread
// and no meeting is on (both asked on every tick): only a new process frees
// that thread, and gokrazy starts one at once. roomd asks the kit's health
// tree (its "Audio thread" check, fed by a Stuck driver), so the watchdog
// and what `roomctl health` shows can never disagree. It returns when ctx
// ends or after restart.
func RestartWhenStuck(ctx context.Context, stuck, inMeeting func() bool, tick <-chan time.Time, restart func(), log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		if stuck() && !inMeeting() {
			log.Error("restarting roomd: an unplugged speakerphone left an audio thread running")
			restart()
			return
		}
	}
}
