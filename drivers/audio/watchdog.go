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

// RestartWhenStuck calls restart once sp's audio thread is stuck and no
// meeting is on (inMeeting, asked on every tick): only a new process
// frees that thread, and gokrazy starts one at once. It returns when ctx
// ends, after restart, or at once for a driver that cannot get stuck.
func RestartWhenStuck(ctx context.Context, sp Speakerphone, inMeeting func() bool, tick <-chan time.Time, restart func(), log *slog.Logger) {
	m, ok := sp.(Stuck)
	if !ok {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		if m.Stuck() && !inMeeting() {
			log.Error("restarting roomd: an unplugged speakerphone left an audio thread running")
			restart()
			return
		}
	}
}
