package gpio

import "roomkit/drivers"

// Broken stands in for a panel that settings.json describes but that
// could not be opened (err), so the Settings screen and the status say
// why. It sends no events, and setting its LED fails with err.
func Broken(err error) Controls { return broken{err} }

type broken struct{ err error }

func (p broken) Events() <-chan Event  { return nil }
func (p broken) SetMuteLED(bool) error { return p.err }
func (p broken) Close() error          { return nil }
func (p broken) Status() drivers.Status {
	return drivers.Status{Kind: "gpio", Name: "GPIO panel", Present: false, Error: p.err.Error()}
}
