package appliance

// Remote actions (docs/protocol.md §5.1): an admin asks the portal to
// restart roomd, reboot the kit, identify it or fetch its logs; the
// portal lists the request in its heartbeat answers until the kit says
// it is done, in a later heartbeat's actions_done (logs: by uploading
// them). The kit only ever calls out.
//
// Each action runs once: the kit remembers the IDs it took. A reboot's
// ID and its "done" are written to the state directory first, so the
// kit that comes back neither reboots again nor forgets to say it did.
//
// Restart and reboot wait for no meeting: during one they are refused
// ("a meeting is running") unless the admin confirmed "even during a
// meeting" (Action.Force). Ending a call for a restart nobody in the room
// asked for is worse than a restart a few minutes late; the admin who
// must (a kit misbehaving in a meeting) says so.

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"

	"roomkit/portalapi"
)

// IdentifyFor is how long the screen flashes the room's name.
const IdentifyFor = 10 * time.Second

// maxTaken bounds the action IDs the kit remembers: the portal stops
// listing an action once it heard the kit's "done".
const maxTaken = 64

// remoteFile keeps a reboot's "done" across the reboot.
const remoteFile = "remote-actions.json"

// remoteState is the link's part of remote actions.
type remoteState struct {
	known   bool                   // the last answer carried "actions": the portal knows actions_done
	done    []portalapi.ActionDone // to report in the next heartbeat
	taken   []string               // IDs taken, oldest first
	latency time.Duration          // the last heartbeat's round trip
}

func (r *remoteState) took(id string) bool {
	for _, t := range r.taken {
		if t == id {
			return true
		}
	}
	return false
}

func (r *remoteState) take(id string) {
	r.taken = append(r.taken, id)
	if len(r.taken) > maxTaken {
		r.taken = r.taken[len(r.taken)-maxTaken:]
	}
}

func (r *remoteState) untake(id string) {
	for i, t := range r.taken {
		if t == id {
			r.taken = append(r.taken[:i], r.taken[i+1:]...)
			return
		}
	}
}

// addRemote puts the remote actions' fields in a heartbeat, once the
// portal showed it knows them, and returns how many "done"s it carries.
func (l *portalLink) addRemote(rep *portalapi.Report) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.remote.known {
		return 0
	}
	rep.ActionsDone = append([]portalapi.ActionDone{}, l.remote.done...)
	rep.LatencyMS = l.remote.latency.Milliseconds()
	if l.cfg.Meeting != nil {
		rep.Meeting = l.cfg.Meeting()
	}
	return len(rep.ActionsDone)
}

// remoteAnswered takes a heartbeat answer: the "done"s it carried
// (sent) are delivered, and the actions not taken yet go to the kit.
func (l *portalLink) remoteAnswered(ans portalapi.HeartbeatAnswer, sent int, rtt time.Duration) {
	l.mu.Lock()
	l.remote.known, l.remote.latency = ans.ActionsKnown, rtt
	if sent > 0 {
		l.remote.done = l.remote.done[sent:]
		if len(l.remote.done) == 0 {
			l.clearRemoteFileLocked()
		}
	}
	var todo []portalapi.Action
	for _, a := range ans.Actions {
		if !l.remote.took(a.ID) {
			l.remote.take(a.ID)
			todo = append(todo, a)
		}
	}
	l.mu.Unlock()
	if len(todo) > 0 && l.cfg.Actions != nil {
		l.cfg.Actions(todo)
	}
}

// remoteRefused: a portal that refused the heartbeat may not know its
// remote fields; the next goes without, as for updates.
func (l *portalLink) remoteRefused() {
	l.mu.Lock()
	l.remote.known = false
	l.mu.Unlock()
}

// actionDone queues the kit's word on action id for the next heartbeat.
func (l *portalLink) actionDone(id string, err error) {
	d := portalapi.ActionDone{ID: id}
	if err != nil {
		d.Error = err.Error()
	}
	l.mu.Lock()
	l.remote.done = append(l.remote.done, d)
	l.mu.Unlock()
}

// actionFailed forgets that id was taken, so the portal's next answer
// brings it again (a logs upload that did not get through).
func (l *portalLink) actionFailed(id string) {
	l.mu.Lock()
	l.remote.untake(id)
	l.mu.Unlock()
}

type remoteSaved struct {
	Done  []portalapi.ActionDone `json:"done"`
	Taken []string               `json:"taken"`
}

// saveRemote writes the pending "done"s and the taken IDs before a
// reboot.
func (l *portalLink) saveRemote() error {
	l.mu.Lock()
	b, err := json.Marshal(remoteSaved{Done: l.remote.done, Taken: l.remote.taken})
	noStorage := l.storageErr != nil
	l.mu.Unlock()
	if err != nil || noStorage {
		return err
	}
	return renameio.WriteFile(filepath.Join(l.cfg.StateDir, remoteFile), b, 0o600)
}

// loadRemote reads what saveRemote wrote before a reboot; the file goes
// once its "done"s are delivered.
func (l *portalLink) loadRemoteLocked() {
	b, err := os.ReadFile(filepath.Join(l.cfg.StateDir, remoteFile))
	if err != nil {
		return
	}
	var s remoteSaved
	if err := json.Unmarshal(b, &s); err != nil {
		l.log.Warn("remote actions file damaged: ignoring it", "err", err)
		l.clearRemoteFileLocked()
		return
	}
	for _, id := range s.Taken {
		if !l.remote.took(id) {
			l.remote.take(id)
		}
	}
	have := map[string]bool{}
	for _, d := range l.remote.done {
		have[d.ID] = true
	}
	for _, d := range s.Done {
		if !have[d.ID] {
			l.remote.done = append(l.remote.done, d)
		}
	}
}

func (l *portalLink) clearRemoteFileLocked() {
	if l.storageErr != nil {
		return
	}
	if err := os.Remove(filepath.Join(l.cfg.StateDir, remoteFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		l.log.Warn("cannot remove the remote actions file", "err", err)
	}
}

// errInMeeting is why a restart or reboot was not done.
var errInMeeting = errors.New("a meeting is running (ask again with \"even during a meeting\" to end it)")

// runActions carries out the portal's actions. It runs on the heartbeat's
// goroutine, so what takes long or ends the state loop runs apart.
func (k *Kit) runActions(as []portalapi.Action) {
	for _, a := range as {
		k.log.Info("remote action", "action", a.Kind, "id", a.ID, "even_during_meeting", a.Force)
		switch a.Kind {
		case portalapi.ActionIdentify:
			until := k.now().Add(IdentifyFor)
			k.screen.post(k, func(s *screenState) { s.identifyUntil = until })
			k.link.actionDone(a.ID, nil)
		case portalapi.ActionRestart, portalapi.ActionReboot:
			if busy := k.Busy(); busy != "" && !a.Force {
				k.log.Warn("remote action refused: a meeting is running", "action", a.Kind, "id", a.ID)
				k.link.actionDone(a.ID, errInMeeting)
				continue
			}
			k.link.actionDone(a.ID, nil)
			if a.Kind == portalapi.ActionReboot {
				k.reboot(a.ID)
				continue
			}
			k.devWG.Go(func() { k.Restart(k.runningVersion()) })
		case portalapi.ActionLogs:
			k.devWG.Go(func() { k.uploadLogs(a.ID) })
		default:
			k.link.actionDone(a.ID, errors.New("this kit does not know the action "+a.Kind))
		}
	}
}

// reboot reboots the kit (Config.Reboot), saving the action's "done"
// first; a kit without a reboot (sim) restarts its state machine, as its
// "reboots" for updates do.
func (k *Kit) reboot(id string) {
	if err := k.link.saveRemote(); err != nil {
		k.log.Warn("cannot save the reboot's \"done\" before rebooting", "err", err)
	}
	if k.cfg.Reboot == nil {
		k.devWG.Go(func() { k.Restart(k.runningVersion()) })
		return
	}
	k.devWG.Go(func() {
		ctx, cancel := context.WithTimeout(k.runCtx, 30*time.Second)
		defer cancel()
		k.meetings.endAll()
		if err := k.cfg.Reboot(ctx); err != nil {
			k.log.Error("reboot failed", "err", err)
			k.link.mu.Lock()
			for i, d := range k.link.remote.done {
				if d.ID == id {
					k.link.remote.done[i].Error = "the reboot failed: " + err.Error()
				}
			}
			k.link.mu.Unlock()
		}
	})
}

// uploadLogs sends the ring's lines for action id; a failed upload is
// tried again when the portal lists the action again.
func (k *Kit) uploadLogs(id string) {
	lines := []string{"this kit keeps no log lines (roomd runs without a log ring)"}
	if k.cfg.Logs != nil {
		lines = k.cfg.Logs.Lines()
	}
	ctx, cancel := context.WithTimeout(k.runCtx, time.Minute)
	defer cancel()
	err := k.link.withToken(ctx, func(c *portalapi.Client, tok string) error { return c.UploadLogs(ctx, tok, id, lines) })
	if err != nil {
		k.log.Warn("logs upload failed: trying again with the next heartbeat", "id", id, "err", err)
		k.link.actionFailed(id)
		return
	}
	k.log.Info("logs uploaded", "id", id, "lines", len(lines))
}

// meetingNow is the heartbeat's "meeting": its ID and head count only.
func (k *Kit) meetingNow() *portalapi.MeetingNow {
	m := k.meetings.state()
	if m == nil {
		return nil
	}
	return &portalapi.MeetingNow{ID: m.Info.ID, Participants: len(m.Participants)}
}
