// Package drivers holds what every hardware driver of the kit shares: the
// status a device reports to the portal and to roomctl.
//
// Each kind of device lives in its own package (camera, audio, display,
// input, gpio) with an interface, and a …test package beside it with fakes.
// roomd imports the drivers it opens (cmd/roomd/devices.go): a kit has one
// driver per kind and its options come from settings.json, so a registry
// of drivers by name would only add an indirection.
package drivers

// Status is what a device reports about itself: shown on screen, in
// `roomctl status` and in the heartbeat to the portal.
type Status struct {
	Kind    string `json:"kind"`            // "camera", "speakerphone", "display", "input"
	Name    string `json:"name"`            // human name, e.g. "Synthetic camera"
	Present bool   `json:"present"`         // false when unplugged or never found
	Error   string `json:"error,omitempty"` // what went wrong, in words for the room's staff
}
