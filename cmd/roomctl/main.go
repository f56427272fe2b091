// roomctl controls the room kit's roomd through its local control API.
//
//	roomctl [-control ADDR] [-state DIR] status [-json]
//	roomctl [-control ADDR] [-state DIR] health [-json]
//	roomctl [-control ADDR] [-state DIR] factory-reset
//	roomctl [-control ADDR] [-state DIR] meet-now | join <id> | leave
//	roomctl [-control ADDR] [-state DIR] mute | unmute | camera on|off | volume <0-100>
//	roomctl [-control ADDR] [-state DIR] end | lock | unlock
//	roomctl [-control ADDR] [-state DIR] ota-guard [-deadline D]
//
// Exit codes: 0 done, 1 failed, 2 usage error; health exits 3 when the
// kit's health is failed (its tree printed all the same), so a script
// tells a sick kit from a roomd it could not ask.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"roomkit/appliance"
	"roomkit/appliance/control"
	"roomkit/internal/textfield"
	"roomkit/ota"
	"roomkit/ui"
)

const usage = `usage: roomctl [-control ADDR] [-state DIR] <command>

commands:
  status [-json]   the kit's state, room, portal, devices (and the code while pairing)
  health [-json]   the kit's health checks; exit code 3 when one failed
  factory-reset    erase the kit's identity and pairing; it shows a new code
  meet-now         start an instant meeting in the room
  join <id>        join the meeting with this ID (123456789 or 123-456-789)
  leave            leave the meeting
  mute, unmute     the room's microphone (also lights the mute LED)
  camera on|off    the room's camera in the meeting (off: no picture leaves the kit)
  volume <0-100>   the speaker's volume
  end              end the room's meeting for everyone (the room must organise it)
  lock, unlock     lock the room's meeting (no new guests) or unlock it
  record-camera    record a camera's answers and frames as a test fixture (-help for flags)
  record-input     record a touch screen's or mouse's events as a test fixture (-help for flags)
  ota-guard        a service in the image: reboots a trial boot of an update not
                   committed by its deadline + 5 min (back to the old root), never
                   during a meeting roomd reports (-help for flags)

flags:
`

// errUsage marks mistakes in the command line (exit code 2).
var errUsage = errors.New("usage")

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUnhealthy):
		os.Exit(3) // the tree on stdout says why
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "roomctl:", strings.TrimPrefix(err.Error(), "usage: "))
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "roomctl:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("roomctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	addr := fs.String("control", control.DefaultAddr, "roomd's control API: host:port or unix:/path")
	stateDir := fs.String("state", "/perm/roomkit", "the kit's state directory, where the control credential is")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: no command given", errUsage)
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch cmd {
	case "status":
		asJSON, err := jsonFlag("status", rest, stderr)
		if err != nil {
			return err
		}
		c, err := control.Dial(*addr, *stateDir)
		if err != nil {
			return err
		}
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		}
		return printStatus(stdout, st)
	case "health":
		return runHealth(ctx, *addr, *stateDir, rest, stdout, stderr)
	case "factory-reset":
		if len(rest) > 0 {
			return fmt.Errorf("%w: factory-reset takes no arguments, got %q", errUsage, rest)
		}
		c, err := control.Dial(*addr, *stateDir)
		if err != nil {
			return err
		}
		st, err := c.FactoryReset(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "factory reset done; new device ID %s, the kit is %s\n", st.DeviceID, st.State)
		return nil
	case "meet-now", "join", "leave", "mute", "unmute", "camera", "volume", "end", "lock", "unlock":
		v, err := parseVerb(cmd, rest)
		if err != nil {
			return err
		}
		c, err := control.Dial(*addr, *stateDir)
		if err != nil {
			return err
		}
		// Joining asks the portal and connects to the meeting server.
		mctx, mcancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer mcancel()
		st, err := v.do(mctx, c)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, summary(cmd, st))
		return nil
	case "record-camera":
		return recordCamera(rest)
	case "record-input":
		return recordInput(rest)
	case "ota-guard":
		return runGuard(*addr, *stateDir, rest, stderr)
	default:
		return fmt.Errorf("%w: unknown command %q (want status, health, factory-reset, meet-now, join, leave, mute, unmute, camera, volume, end, lock, unlock, record-camera, record-input or ota-guard)", errUsage, cmd)
	}
}

// jsonFlag parses the arguments of a command whose only flag is -json.
func jsonFlag(cmd string, args []string, stderr io.Writer) (bool, error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print it as JSON")
	if err := fs.Parse(args); err != nil {
		return false, fmt.Errorf("%w: %s: %v", errUsage, cmd, err)
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("%w: %s takes no arguments, got %q", errUsage, cmd, fs.Args())
	}
	return *asJSON, nil
}

// printStatus prints aligned "key: value" lines, skipping what does not
// apply (no room while pairing, no code once paired).
func printStatus(w io.Writer, s appliance.Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			// Names come from the portal and drivers, maybe stored before
			// the portal refused control characters: never let one reach
			// the terminal raw.
			fmt.Fprintf(tw, "%s:\t%s\n", textfield.Escape(k), textfield.Escape(v))
		}
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format(time.RFC3339)
	}
	line("state", string(s.State))
	line("room", s.RoomName)
	line("location", s.Location)
	line("time zone", s.TimeZone)
	connected := "offline"
	if s.PortalConnected {
		connected = "connected"
	}
	line("portal", s.PortalURL+" ("+connected+")")
	line("last heartbeat", ts(s.LastHeartbeat))
	line("user code", s.UserCode)
	line("enter it at", s.VerificationURI)
	line("code expires", ts(s.CodeExpiresAt))
	line("message", s.Message)
	line("error", s.Error)
	if m := s.Meeting; m != nil {
		line("meeting", ui.FormatMeetingID(m.ID)+" "+m.Title)
		line("join link", m.JoinURL)
		var roles []string
		if m.Organizer {
			roles = append(roles, "organiser")
		}
		if m.Locked {
			roles = append(roles, "locked")
		}
		line("meeting is", strings.Join(roles, ", "))
		line("connection", m.Connection)
		names := make([]string, 0, len(m.Participants))
		for _, p := range m.Participants {
			n := p.Name
			if n == "" {
				n = p.Identity
			}
			if p.AudioMuted {
				n += " (muted)"
			}
			names = append(names, n)
		}
		if len(names) == 0 {
			line("participants", "none yet (the room is alone)")
		} else {
			line("participants", fmt.Sprintf("%d: %s", len(names), strings.Join(names, ", ")))
		}
		line("sharing", m.Sharing)
		line("video", onOff(!m.CameraOff))
	}
	if s.State == appliance.Ready || s.State == appliance.InMeeting {
		line("microphone", map[bool]string{true: "muted", false: "on"}[s.Muted])
		line("volume", fmt.Sprintf("%d%%", s.Volume))
	}
	for _, u := range s.Upcoming {
		line("today", u.Start.Local().Format("15:04")+"–"+u.End.Local().Format("15:04")+" "+ui.FormatMeetingID(u.ID)+" "+u.Title)
	}
	line("version", s.Version)
	if u := s.Update; u != nil {
		line("update", updateLine(*u))
		if l := u.Last; l != nil {
			v := fmt.Sprintf("%s %s %s", l.Version, l.Outcome, ts(l.At))
			if l.Reason != "" {
				v += " (" + l.Reason + ")"
			}
			line("last update", v)
		}
	}
	if c := s.Config; c != nil {
		line("profile", profileLine(*c))
	}
	line("device ID", s.DeviceID)
	line("uptime", (time.Duration(s.UptimeSeconds) * time.Second).String())
	for _, d := range s.Devices {
		v := d.Name
		if !d.Present {
			v += " (missing)"
		}
		if d.Error != "" {
			v += ": " + d.Error
		}
		line(d.Kind, v)
	}
	return tw.Flush()
}

// profileLine is the room's configuration profile in one line:
// "0123456789abcdef applied", "… rejected: camera (no camera named
// Logitech; found: vivid)", "… (fedcba9876543210 waits for no meeting
// to restart roomd)".
func profileLine(c appliance.ConfigStatus) string {
	var parts []string
	if c.Revision != "" {
		v := c.Revision + " " + c.State
		var why []string
		for _, r := range c.Rejected {
			why = append(why, r.Field+" ("+r.Reason+")")
		}
		if len(why) > 0 {
			v += ": " + strings.Join(why, ", ")
		}
		parts = append(parts, v)
	}
	if c.PendingRevision != "" {
		parts = append(parts, "("+c.PendingRevision+" waits for the kit to be idle to restart roomd)")
	}
	return strings.Join(parts, " ")
}

// updateLine is the update agent's state in one line: "downloading 1.5.0
// (42 %): …", "failed 1.5.0: the download did not match …", "idle".
func updateLine(u ota.Status) string {
	v := string(u.State)
	if u.TargetVersion != "" {
		v += " " + u.TargetVersion
	}
	if u.State == ota.Downloading && u.Progress > 0 {
		v += fmt.Sprintf(" (%d %%)", int(u.Progress*100))
	}
	switch {
	case u.Error != "":
		v += ": " + u.Error
	case u.Detail != "":
		v += ": " + u.Detail
	}
	return v
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// verb is one meeting command, parsed.
type verb struct {
	do func(ctx context.Context, c *control.Client) (appliance.Status, error)
}

// parseVerb checks a meeting command's arguments before roomd is asked,
// so that a typo gets a usage error (exit 2) saying what is wanted.
func parseVerb(cmd string, args []string) (verb, error) {
	none := func(do func(ctx context.Context, c *control.Client) (appliance.Status, error)) (verb, error) {
		if len(args) > 0 {
			return verb{}, fmt.Errorf("%w: %s takes no arguments, got %q", errUsage, cmd, args)
		}
		return verb{do}, nil
	}
	switch cmd {
	case "meet-now":
		return none(func(ctx context.Context, c *control.Client) (appliance.Status, error) { return c.MeetNow(ctx) })
	case "leave":
		return none(func(ctx context.Context, c *control.Client) (appliance.Status, error) { return c.Leave(ctx) })
	case "end":
		return none(func(ctx context.Context, c *control.Client) (appliance.Status, error) { return c.EndMeeting(ctx) })
	case "lock", "unlock":
		locked := cmd == "lock"
		return none(func(ctx context.Context, c *control.Client) (appliance.Status, error) {
			return c.SetLocked(ctx, locked)
		})
	case "mute", "unmute":
		muted := cmd == "mute"
		return none(func(ctx context.Context, c *control.Client) (appliance.Status, error) { return c.SetMuted(ctx, muted) })
	case "join":
		if len(args) != 1 {
			return verb{}, fmt.Errorf("%w: join takes one meeting ID, like 123-456-789", errUsage)
		}
		id, err := meetingID(args[0])
		if err != nil {
			return verb{}, err
		}
		return verb{func(ctx context.Context, c *control.Client) (appliance.Status, error) { return c.Join(ctx, id) }}, nil
	case "camera":
		if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
			return verb{}, fmt.Errorf("%w: camera takes on or off", errUsage)
		}
		off := args[0] == "off"
		return verb{func(ctx context.Context, c *control.Client) (appliance.Status, error) {
			return c.SetCameraOff(ctx, off)
		}}, nil
	case "volume":
		if len(args) != 1 {
			return verb{}, fmt.Errorf("%w: volume takes a number from 0 to 100", errUsage)
		}
		n, err := strconv.Atoi(strings.TrimSuffix(args[0], "%"))
		if err != nil || n < 0 || n > 100 {
			return verb{}, fmt.Errorf("%w: volume %q: want a number from 0 to 100", errUsage, args[0])
		}
		return verb{func(ctx context.Context, c *control.Client) (appliance.Status, error) { return c.SetVolume(ctx, n) }}, nil
	}
	return verb{}, fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// meetingID accepts 123456789 and 123-456-789 (protocol.md §7).
func meetingID(s string) (string, error) {
	d := s
	if len(s) == 11 && s[3] == '-' && s[7] == '-' {
		d = s[:3] + s[4:7] + s[8:]
	}
	ok := len(d) == 9
	for i := 0; ok && i < len(d); i++ {
		ok = d[i] >= '0' && d[i] <= '9'
	}
	if !ok {
		return "", fmt.Errorf("%w: join %q: that is not a meeting ID: it has 9 digits, like 123-456-789", errUsage, s)
	}
	return d, nil
}

// summary is the line a verb prints when it worked.
func summary(cmd string, st appliance.Status) string {
	switch {
	case cmd == "leave":
		return "left the meeting; the kit is " + string(st.State)
	case cmd == "end":
		return "ended the meeting for everyone; the kit is " + string(st.State)
	case (cmd == "lock" || cmd == "unlock") && st.Meeting != nil:
		if st.Meeting.Locked {
			return fmt.Sprintf("meeting %s locked: nobody new can join", ui.FormatMeetingID(st.Meeting.ID))
		}
		return fmt.Sprintf("meeting %s unlocked: guests with the link can join", ui.FormatMeetingID(st.Meeting.ID))
	case st.Meeting != nil && (cmd == "meet-now" || cmd == "join"):
		return fmt.Sprintf("in meeting %s %s\njoin link: %s", ui.FormatMeetingID(st.Meeting.ID), st.Meeting.Title, st.Meeting.JoinURL)
	case cmd == "mute" || cmd == "unmute":
		return "microphone " + map[bool]string{true: "muted", false: "on"}[st.Muted]
	case cmd == "camera" && st.Meeting != nil:
		return "camera " + onOff(!st.Meeting.CameraOff)
	case cmd == "volume":
		return fmt.Sprintf("volume %d%%", st.Volume)
	}
	return "done; the kit is " + string(st.State)
}
