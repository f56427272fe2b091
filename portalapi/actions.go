package portalapi

// Remote actions (docs/protocol.md §5.1): the portal lists an admin's
// requests in the heartbeat answer; the kit reports each done in a later
// heartbeat, or for "logs" by uploading its recent log lines. The kit
// only ever calls out: the portal never connects to it.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"roomkit/internal/textfield"
)

// Action kinds.
const (
	ActionRestart  = "restart"  // start roomd's state machine again
	ActionReboot   = "reboot"   // reboot the kit
	ActionIdentify = "identify" // flash the room's name on the screen
	ActionLogs     = "logs"     // upload the recent log lines
)

// LogsPath is where a kit uploads its recent log lines.
const LogsPath = "/api/v1/device/logs"

// Limits of a logs upload (the portal refuses more).
const (
	MaxLogLines     = 500
	MaxLogLineBytes = 512
	MaxActionError  = 200
)

// Action is one admin's request.
type Action struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Force: the admin confirmed "even during a meeting" (restart and
	// reboot wait for no meeting otherwise).
	Force bool `json:"force,omitempty"`
}

// ActionDone is the kit's word on an action: done when Error is empty,
// else not done, and why.
type ActionDone struct {
	ID    string `json:"id"`
	Error string `json:"error,omitempty"`
}

// MeetingNow is the meeting the room is in, for the admin center: its ID
// and how many take part, never what is said or shown.
type MeetingNow struct {
	ID           string `json:"id"`
	Participants int    `json:"participants"`
}

// parseActions keeps the actions the kit can read; one it cannot read
// costs that action, not the heartbeat.
func parseActions(raw json.RawMessage) []Action {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	out := []Action{}
	for _, r := range list {
		var a Action
		if json.Unmarshal(r, &a) == nil && a.ID != "" && len(a.ID) <= 64 {
			out = append(out, a)
		}
	}
	return out
}

func cleanDone(ds []ActionDone) []ActionDone {
	if ds == nil {
		return nil
	}
	out := make([]ActionDone, len(ds))
	for i, d := range ds {
		d.Error = textfield.Clean(d.Error, MaxActionError)
		out[i] = d
	}
	return out
}

// logsUpload is the body of POST LogsPath.
type logsUpload struct {
	Action string   `json:"action"`
	Lines  []string `json:"lines"`
}

// UploadLogs sends the kit's recent log lines for the action id. Lines
// beyond the limits are cut (the newest are kept); the caller has taken
// the secrets out.
func (c *Client) UploadLogs(ctx context.Context, accessToken, id string, lines []string) error {
	if len(lines) > MaxLogLines {
		lines = lines[len(lines)-MaxLogLines:]
	}
	up := logsUpload{Action: id, Lines: make([]string, len(lines))}
	for i, l := range lines {
		up.Lines[i] = textfield.Clean(l, MaxLogLineBytes)
	}
	body, err := json.Marshal(up)
	if err != nil {
		return fmt.Errorf("upload logs: %w", err)
	}
	status, resp, err := c.kitRequest(ctx, http.MethodPost, LogsPath, accessToken, body)
	if err != nil {
		return fmt.Errorf("upload logs: %w", err)
	}
	if status != http.StatusNoContent && status != http.StatusOK {
		return fmt.Errorf("upload logs: %w", refusal(status, resp))
	}
	return nil
}
