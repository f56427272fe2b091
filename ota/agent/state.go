package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/renameio/v2"

	"roomkit/ota"
)

// phase is where an update is, finer than ota.State and persisted: a kit
// that loses power, or boots a trial root, carries on from it.
type phase string

const (
	phaseIdle        phase = "idle"
	phaseDownloading phase = "downloading" // Written bytes are on the inactive partition
	phaseDownloaded  phase = "downloaded"  // verified; waits for the window
	phaseTestbootSet phase = "testboot-set"
	phaseRebooting   phase = "rebooting" // into the trial
	phaseTrial       phase = "trial"     // the new root runs; Verdict once it failed
	phaseSwitching   phase = "switching"
	phaseCommitted   phase = "committed"
	phaseFailed      phase = "failed"
)

// schema is the version of state.json this agent writes. A newer root's
// agent reads an older file, and after a rollback an older agent reads a
// newer one: fields are only added, unknown ones are ignored.
const schema = 1

// target is the release being installed, as the signed metadata described
// it.
type target struct {
	Version string `json:"version"`
	Path    string `json:"path"`
	URL     string `json:"url"`
	Length  int64  `json:"length"`
	SHA256  string `json:"sha256"` // hex
	Target  string `json:"target"`
	Kernel  string `json:"kernel,omitempty"`
}

// device is what the trial compares: the same camera and speakerphone as
// before the update.
type device struct {
	Check   string `json:"check"` // health.NameCamera, health.NameSpeakerphone
	Present bool   `json:"present"`
	Name    string `json:"name,omitempty"` // the check's detail when ok
}

// state is state.json. It is written before each gokrazy call, so a cut
// at any point finds the step it was about to take.
type state struct {
	Schema  int     `json:"schema"`
	Phase   phase   `json:"phase"`
	Target  *target `json:"target,omitempty"`
	Written int64   `json:"written,omitempty"` // downloading: bytes sent to gokrazy's PUT
	// Attempts counts trial boots of Target that ended without a verdict
	// (a hang, a panic, a cut).
	Attempts     int       `json:"attempts,omitempty"`
	TrialStarted time.Time `json:"trial_started,omitzero"`
	// TrialRestarts counts roomd's starts within one trial boot after
	// the first.
	TrialRestarts int `json:"trial_restarts,omitempty"`
	// TrialDeadline is the agent's Deadline in seconds, written before
	// the trial boot: the guard (roomctl ota-guard), which has no
	// roomd flags, reboots a trial not committed by then plus
	// GuardGrace.
	TrialDeadline int      `json:"trial_deadline_s,omitempty"`
	Verdict       string   `json:"verdict,omitempty"` // why the trial failed
	Fingerprint   []device `json:"fingerprint,omitempty"`
	// FailingBefore names the checks that had already failed before the
	// update (a USB speaker without a microphone): the trial holds the
	// new root to the kit's state before it, so a release that fixes a
	// failing check can still be installed.
	FailingBefore []string `json:"failing_before,omitempty"`
	// Floor is the highest version ever committed here: nothing at or
	// below it is installed again (an image rollback).
	Floor   string      `json:"floor,omitempty"`
	Blocked []string    `json:"blocked,omitempty"` // versions that rolled back
	Last    *ota.Result `json:"last,omitempty"`
	Error   string      `json:"error,omitempty"` // phaseFailed: why
	// RequestID is the last admin "install now" request acted on;
	// InstallNow says Target installs outside the window because of it.
	RequestID  string `json:"request_id,omitempty"`
	InstallNow bool   `json:"install_now,omitempty"`
}

func (s *state) blocked(version string) bool { return slices.Contains(s.Blocked, version) }

func (s *state) block(version string) {
	if !s.blocked(version) {
		s.Blocked = append(s.Blocked, version)
	}
}

// store keeps the state in dir/state.json; dir "" keeps it in memory.
type store struct {
	dir string
}

func (st store) path() string { return filepath.Join(st.dir, "state.json") }

func (st store) load() (state, error) {
	s := state{Schema: schema, Phase: phaseIdle}
	if st.dir == "" {
		return s, nil
	}
	b, err := os.ReadFile(st.path())
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read the update state %s: %w", st.path(), err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("the update state %s is damaged (%v): remove it to start over", st.path(), err)
	}
	if s.Phase == "" {
		s.Phase = phaseIdle
	}
	return s, nil
}

func (st store) save(s state) error {
	if st.dir == "" {
		return nil
	}
	s.Schema = schema
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return fmt.Errorf("write the update state: %w", err)
	}
	if err := renameio.WriteFile(st.path(), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the update state %s: %w", st.path(), err)
	}
	// The rename is durable only once the directory is.
	if d, err := os.Open(st.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
