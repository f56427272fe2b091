// Package ota holds what the kit, the portal, roomctl and the release tool
// say to each other about over-the-air updates: the update states (pinned
// in DESIGN.md), the report a kit sends with each heartbeat, the policy the
// portal answers with, and the release description signed into the TUF
// targets metadata.
//
// The moving parts live beside it: ota/rollout (rings and maintenance
// windows, pure arithmetic), ota/repo and cmd/roomkit-release (the
// repository side), ota/tufclient, ota/gokrazy and ota/agent (the kit side).
package ota

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"golang.org/x/mod/semver"
)

// State is where a kit is in an update. The values are pinned: roomctl
// status -json and the admin API show them, and IT's scripts match them.
type State string

const (
	Idle        State = "idle"        // nothing to do, or a release waits for its window
	Checking    State = "checking"    // reading the signed metadata
	Downloading State = "downloading" // streaming the root to the inactive partition
	Installing  State = "installing"  // verified; asking gokrazy for a trial boot
	Rebooting   State = "rebooting"   // the kit is going down to try the new root
	Healthy     State = "healthy"     // the new root passed its trial and was made permanent
	Failed      State = "failed"      // the update stopped; Error says why; the running root is untouched
	RolledBack  State = "rolled-back" // the new root did not come up healthy; the kit is back on the old one
)

// States lists every State, in the order an update passes them.
var States = []State{Idle, Checking, Downloading, Installing, Rebooting, Healthy, Failed, RolledBack}

// Valid reports whether s is one of States.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Status is the kit's update state as roomctl status -json and the admin
// API show it. The three first fields are pinned.
type Status struct {
	State         State  `json:"state"`
	TargetVersion string `json:"target_version"`
	Error         string `json:"error"`

	// Detail is one sentence for people, finer than State: "1.5.0
	// downloaded; installs in the window 01:00–04:00", "waiting: a meeting
	// is running", "trial boot of 1.5.0: healthy for 40 s of 120 s".
	Detail string `json:"detail,omitempty"`
	// Progress is the downloaded share of the target, 0 to 1.
	Progress float64 `json:"progress,omitempty"`
	// Last is the outcome of the last update that got as far as a trial.
	Last *Result `json:"last,omitempty"`
}

// Result is how an update ended.
type Result struct {
	Version string    `json:"version"`
	Outcome State     `json:"outcome"` // Healthy, Failed or RolledBack
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// Report is what a kit sends about updates with each heartbeat: its Status
// plus what the portal's rollout needs. A kit sends it only after the
// portal's answer carried a Policy (an older portal refuses unknown
// heartbeat fields).
type Report struct {
	Status
	Channel   string `json:"channel,omitempty"`
	Available string `json:"available,omitempty"` // newest release the kit may install, "" if none
}

// Limits on what a heartbeat may carry.
const (
	MaxVersionLen = 64
	MaxErrorLen   = 200
)

// Validate says what is wrong with a report a kit sent, in words.
func (r *Report) Validate() error {
	if !r.State.Valid() {
		return fmt.Errorf("update.state %q is not one of %s", r.State, joinStates())
	}
	for name, v := range map[string]string{"target_version": r.TargetVersion, "available": r.Available, "channel": r.Channel} {
		if len(v) > MaxVersionLen {
			return fmt.Errorf("update.%s is longer than %d bytes", name, MaxVersionLen)
		}
	}
	for name, v := range map[string]string{"error": r.Error, "detail": r.Detail} {
		if len(v) > MaxErrorLen || strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("update.%s must be one line of at most %d bytes", name, MaxErrorLen)
		}
	}
	if r.Progress < 0 || r.Progress > 1 {
		return fmt.Errorf("update.progress %v is not between 0 and 1", r.Progress)
	}
	if l := r.Last; l != nil {
		if l.Outcome != Healthy && l.Outcome != Failed && l.Outcome != RolledBack {
			return fmt.Errorf("update.last.outcome %q is not healthy, failed or rolled-back", l.Outcome)
		}
		if len(l.Version) > MaxVersionLen || len(l.Reason) > MaxErrorLen || strings.ContainsAny(l.Reason, "\r\n") {
			return errors.New("update.last: version or reason too long")
		}
	}
	return nil
}

func joinStates() string {
	s := make([]string, len(States))
	for i, v := range States {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// Window is a daily maintenance window in the room's own time zone,
// "HH:MM" to "HH:MM" on the wall clock; it may cross midnight. Start ==
// End means always.
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// DefaultWindow is 01:00–04:00, room time.
var DefaultWindow = Window{Start: "01:00", End: "04:00"}

// Policy is the portal's answer about updates, carried in the heartbeat
// answer: what this room may install, and when.
type Policy struct {
	Channel string `json:"channel"`
	Window  Window `json:"window"`
	// TimeZone is the room's IANA zone the window is read in ("" : UTC).
	TimeZone string `json:"time_zone,omitempty"`
	// Allowed is the newest version the rollout lets this room install
	// ("" : none yet: the room's ring has not been reached, or paused).
	Allowed     string `json:"allowed,omitempty"`
	Paused      bool   `json:"paused,omitempty"`
	PauseReason string `json:"pause_reason,omitempty"`
	// InstallNow, when not empty, is the ID of an admin's request to
	// install the newest release of the channel now (outside the window;
	// still never during a meeting). The kit reports it done by the ID.
	InstallNow string `json:"install_now,omitempty"`
}

// Targets a release is built for.
var Targets = []string{"amd64", "rpi4", "sim"}

// Release is the custom part of a TUF target: what the kit needs to decide
// whether to install it, signed with the rest of the targets metadata.
type Release struct {
	Version  string   `json:"version"`
	Channels []string `json:"channels"`
	Target   string   `json:"target"` // one of Targets
	// Kernel is the kernel release the root's modules are built for: the
	// boot partition is not A/B, so a kit installs only a root made for
	// the kernel it runs.
	Kernel string `json:"kernel,omitempty"`
}

// TargetPath is where a release's root image lives in the repository's
// targets, relative to the targets directory.
func TargetPath(version, target string) string {
	return "releases/" + version + "/" + target + ".root"
}

// ReleaseOf reads the release description signed into a target.
func ReleaseOf(tf *metadata.TargetFiles) (Release, error) {
	var r Release
	if tf == nil || tf.Custom == nil {
		return r, errors.New("the target carries no release description")
	}
	if err := json.Unmarshal(*tf.Custom, &r); err != nil {
		return r, fmt.Errorf("release description: %w", err)
	}
	if err := CheckVersion(r.Version); err != nil {
		return r, err
	}
	return r, nil
}

var channelRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// CheckChannel accepts channel names: a lower-case letter, then up to 31
// lower-case letters, digits or dashes ("stable", "beta", "lab-2").
func CheckChannel(c string) error {
	if !channelRE.MatchString(c) {
		return fmt.Errorf("channel %q is not a channel name (lower-case letters, digits and dashes, like stable or beta)", c)
	}
	return nil
}

var versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// CheckVersion accepts release versions: MAJOR.MINOR.PATCH with an
// optional -prerelease, no leading "v".
func CheckVersion(v string) error {
	if !versionRE.MatchString(v) || !semver.IsValid("v"+v) {
		return fmt.Errorf("version %q is not MAJOR.MINOR.PATCH[-pre] (like 1.5.0)", v)
	}
	return nil
}

// Compare orders release versions like semver: -1 if a < b, 0, +1. A
// version that is not a release (a development build from git describe)
// sorts before every release, so such a kit takes any release.
func Compare(a, b string) int {
	return semver.Compare(canonical(a), canonical(b))
}

func canonical(v string) string {
	if CheckVersion(v) != nil {
		return "v0.0.0-dev"
	}
	return "v" + v
}
