// roomctl controls the room kit's roomd through its local control API.
//
//	roomctl [-control ADDR] [-state DIR] status [-json]
//	roomctl [-control ADDR] [-state DIR] factory-reset
//
// Exit codes: 0 done, 1 failed, 2 usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"roomkit/appliance"
	"roomkit/appliance/control"
)

const usage = `usage: roomctl [-control ADDR] [-state DIR] <command>

commands:
  status [-json]   the kit's state, room, portal, devices (and the code while pairing)
  factory-reset    erase the kit's identity and pairing; it shows a new code
  record-camera    record a camera's answers and frames as a test fixture (-help for flags)
  record-input     record a touch screen's or mouse's events as a test fixture (-help for flags)

flags:
`

// errUsage marks mistakes in the command line (exit code 2).
var errUsage = errors.New("usage")

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
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
		sfs := flag.NewFlagSet("status", flag.ContinueOnError)
		sfs.SetOutput(stderr)
		asJSON := sfs.Bool("json", false, "print the status as JSON")
		if err := sfs.Parse(rest); err != nil {
			return fmt.Errorf("%w: status: %v", errUsage, err)
		}
		if sfs.NArg() > 0 {
			return fmt.Errorf("%w: status takes no arguments, got %q", errUsage, sfs.Args())
		}
		c, err := control.Dial(*addr, *stateDir)
		if err != nil {
			return err
		}
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		}
		return printStatus(stdout, st)
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
	case "record-camera":
		return recordCamera(rest)
	case "record-input":
		return recordInput(rest)
	default:
		return fmt.Errorf("%w: unknown command %q (want status, factory-reset, record-camera or record-input)", errUsage, cmd)
	}
}

// printStatus prints aligned "key: value" lines, skipping what does not
// apply (no room while pairing, no code once paired).
func printStatus(w io.Writer, s appliance.Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
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
	line("version", s.Version)
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
