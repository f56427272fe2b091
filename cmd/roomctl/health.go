package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"roomkit/appliance/control"
	"roomkit/health"
	"roomkit/internal/textfield"
)

// errUnhealthy is a health tree that failed: exit code 3.
var errUnhealthy = errors.New("the kit's health is failed")

// runHealth prints the kit's health tree, as text or as JSON.
func runHealth(ctx context.Context, addr, stateDir string, args []string, stdout, stderr io.Writer) error {
	asJSON, err := jsonFlag("health", args, stderr)
	if err != nil {
		return err
	}
	c, err := control.Dial(addr, stateDir)
	if err != nil {
		return err
	}
	r, err := c.Health(ctx)
	if err != nil {
		return err
	}
	if err := printHealth(stdout, r, asJSON); err != nil {
		return err
	}
	if !r.Healthy() {
		return errUnhealthy
	}
	return nil
}

func printHealth(w io.Writer, r health.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	// Details repeat what drivers and the portal said: never let a
	// control character reach the terminal raw.
	escape(r.Checks)
	return r.WriteText(w)
}

func escape(ns []health.Node) {
	for i := range ns {
		ns[i].Name = textfield.Escape(ns[i].Name)
		ns[i].Detail = textfield.Escape(ns[i].Detail)
		escape(ns[i].Checks)
	}
}
