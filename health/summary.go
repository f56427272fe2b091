package health

import (
	"errors"
	"fmt"
	"time"

	"roomkit/internal/textfield"
)

// The limits of a report that crosses the network (the heartbeat): the
// kit's Summary keeps within them and the portal refuses what does not.
// A kit has about fifteen checks three deep; the limits leave room for
// the update agent and for more devices without letting one heartbeat
// grow large.
const (
	MaxChecks = 64  // nodes in the whole tree
	MaxDepth  = 4   // levels of checks
	MaxName   = 64  // characters in a name
	MaxDetail = 200 // characters in a detail sentence
)

// Summary is the report as the heartbeat carries it: the same tree, with
// the details of passing checks left out (they change with every beat
// and say nothing the status does not), text made to fit the portal's
// rules, and at most MaxChecks checks MaxDepth deep. The status stays
// that of the whole tree.
func (r Report) Summary() Report {
	budget := MaxChecks
	out := Report{Status: r.Status, Checks: summarise(r.Checks, 1, &budget)}
	if !valid(out.Status) {
		out.Status = Failed
	}
	return out
}

func summarise(ns []Node, depth int, budget *int) []Node {
	out := []Node{}
	if depth > MaxDepth {
		return out
	}
	for _, n := range ns {
		if *budget == 0 {
			break
		}
		*budget--
		s := Node{Name: textfield.Clean(n.Name, MaxName), Status: n.Status, Since: n.Since.UTC().Truncate(time.Second)}
		if !valid(s.Status) {
			s.Status = Failed
		}
		if s.Status != OK {
			s.Detail = textfield.Clean(n.Detail, MaxDetail)
		}
		if s.Name == "" {
			s.Name = "?"
		}
		s.Checks = summarise(n.Checks, depth+1, budget)
		out = append(out, s)
	}
	return out
}

func valid(s Status) bool { return s == OK || s == Degraded || s == Failed }

// Validate checks a report that came over the network: known statuses, a
// top status no better than its worst check (it may be worse: a summary
// keeps the whole tree's status when it cuts checks), names and details that are
// one line of text within the limits, and no more than MaxChecks checks
// MaxDepth deep. The error names the field, for the kit's log.
func (r Report) Validate() error {
	if !valid(r.Status) {
		return fmt.Errorf("status is %q; want ok, degraded or failed", r.Status)
	}
	count := 0
	worst := OK
	if err := validate(r.Checks, "checks", 1, &count); err != nil {
		return err
	}
	for _, n := range r.Checks {
		worst = worst.Worse(n.worst())
	}
	if worst.rank() > r.Status.rank() {
		return fmt.Errorf("status is %q but the worst check is %q", r.Status, worst)
	}
	return nil
}

func validate(ns []Node, field string, depth int, count *int) error {
	if len(ns) == 0 {
		return nil
	}
	if depth > MaxDepth {
		return fmt.Errorf("%s: checks nest more than %d deep", field, MaxDepth)
	}
	for i, n := range ns {
		if *count++; *count > MaxChecks {
			return fmt.Errorf("more than %d checks", MaxChecks)
		}
		// The node's path is only built when it is needed: a heartbeat
		// checks every node of every report, and nearly all are fine.
		f := func() string { return fmt.Sprintf("%s[%d]", field, i) }
		switch err := textfield.Check(n.Name, MaxName); {
		case n.Name == "":
			return errors.New(f() + ".name is empty")
		case err != nil:
			return fmt.Errorf("%s.name %v", f(), err)
		}
		if err := textfield.Check(n.Detail, MaxDetail); err != nil {
			return fmt.Errorf("%s.detail %v", f(), err)
		}
		if !valid(n.Status) {
			return fmt.Errorf("%s.status is %q; want ok, degraded or failed", f(), n.Status)
		}
		if len(n.Checks) == 0 {
			continue
		}
		if err := validate(n.Checks, f()+".checks", depth+1, count); err != nil {
			return err
		}
	}
	return nil
}
