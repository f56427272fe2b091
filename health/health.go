// Package health is the kit's health tree: named checks with dependencies,
// each ok, degraded or failed with a sentence a person can act on and the
// time it entered that status. roomctl prints it, the Settings screen shows
// its problems, the heartbeat carries its summary to the portal, and the
// watchdog and the update agent ask it whether the kit is healthy.
//
// The shape follows router7's internal/diag: a check's children depend on
// it, and a child whose dependency failed is not evaluated; it reports
// "dependency X failed" instead, so a portal that is down reads as one
// problem, not as three (portal, calendar, clock).
package health

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Status is how a check is doing.
type Status string

const (
	OK       Status = "ok"
	Degraded Status = "degraded" // works, but something needs attention
	Failed   Status = "failed"   // does not work
)

// rank orders statuses from best to worst; an unknown status ranks as
// failed, so a report from a newer kit never reads better than it is.
func (s Status) rank() int {
	switch s {
	case OK:
		return 0
	case Degraded:
		return 1
	}
	return 2
}

// Worse returns the worse of s and t.
func (s Status) Worse(t Status) Status {
	if t.rank() > s.rank() {
		return t
	}
	return s
}

// Result is what a check finds.
type Result struct {
	Status Status
	// Detail is a sentence without the check's name: "no frames for
	// 12 s". The name is put in front where the result is shown.
	Detail string
	// Since is when the condition began, when the check knows better
	// than the tree (the last heartbeat that got through, the last
	// frame). Zero: the tree keeps the time it first saw this status.
	Since time.Time
}

// Pass, Degrade and Fail make results.
func Pass(format string, args ...any) Result {
	return Result{Status: OK, Detail: fmt.Sprintf(format, args...)}
}

func Degrade(format string, args ...any) Result {
	return Result{Status: Degraded, Detail: fmt.Sprintf(format, args...)}
}

func Fail(format string, args ...any) Result {
	return Result{Status: Failed, Detail: fmt.Sprintf(format, args...)}
}

// At returns r with Since set to t.
func (r Result) At(t time.Time) Result {
	r.Since = t
	return r
}

// Check is one named check and the checks that depend on it.
type Check struct {
	Name string
	Eval func(now time.Time) Result
	deps []*Check
}

// New returns a check called name that eval evaluates.
func New(name string, eval func(now time.Time) Result) *Check {
	return &Check{Name: name, Eval: eval}
}

// Then makes children depend on c and returns c, so a tree reads as it
// nests: health.New("Network", …).Then(health.New("Portal", …)).
func (c *Check) Then(children ...*Check) *Check {
	c.deps = append(c.deps, children...)
	return c
}

// Tree evaluates a set of checks and remembers since when each has had
// its status. It is safe for concurrent use.
type Tree struct {
	roots []*Check

	mu   sync.Mutex
	seen map[string]seen // by path: "Network/Portal"
}

type seen struct {
	status Status
	since  time.Time
}

// NewTree returns a tree of the given top-level checks.
func NewTree(roots ...*Check) *Tree {
	return &Tree{roots: roots, seen: map[string]seen{}}
}

// Evaluate runs every check (but the dependents of failed ones) at now.
func (t *Tree) Evaluate(now time.Time) Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := Report{Status: OK, Checks: t.evaluate(t.roots, "", nil, now)}
	for _, n := range r.Checks {
		r.Status = r.Status.Worse(n.worst())
	}
	return r
}

func (t *Tree) evaluate(checks []*Check, prefix string, failed *Node, now time.Time) []Node {
	nodes := make([]Node, 0, len(checks))
	for _, c := range checks {
		path := prefix + c.Name
		var res Result
		if failed != nil {
			// Its own findings would only repeat the dependency's
			// failure in other words.
			res = Fail("dependency %s failed", failed.Name).At(failed.Since)
		} else {
			res = c.Eval(now)
		}
		if res.Status == "" {
			res.Status = Failed // a check that says nothing is not a pass
		}
		since := res.Since
		if since.IsZero() {
			since = now
			if s, ok := t.seen[path]; ok && s.status == res.Status {
				since = s.since
			}
		}
		t.seen[path] = seen{res.Status, since}
		n := Node{Name: c.Name, Status: res.Status, Detail: res.Detail, Since: since.UTC()}
		var childFailed *Node
		if failed != nil {
			childFailed = failed // the root cause, not the chain
		} else if n.Status == Failed {
			childFailed = &n
		}
		n.Checks = t.evaluate(c.deps, path+"/", childFailed, now)
		nodes = append(nodes, n)
	}
	return nodes
}

// Report is an evaluated tree, as `roomctl health -json` prints it, the
// control API serves it and the heartbeat carries it (docs/health.md).
type Report struct {
	Status Status `json:"status"` // the worst of the checks
	Checks []Node `json:"checks"`
}

// Node is one evaluated check.
type Node struct {
	Name   string    `json:"name"`
	Status Status    `json:"status"`
	Detail string    `json:"detail"`
	Since  time.Time `json:"since"`
	Checks []Node    `json:"checks"`
}

func (n Node) worst() Status {
	s := n.Status
	for _, c := range n.Checks {
		s = s.Worse(c.worst())
	}
	return s
}

// Line is the node as one sentence: "Camera: no frames for 12 s".
func (n Node) Line() string {
	if n.Detail == "" {
		return n.Name + ": " + string(n.Status)
	}
	return n.Name + ": " + n.Detail
}

// Find returns the check called name, wherever it is in the tree.
func (r Report) Find(name string) (Node, bool) {
	var find func(ns []Node) (Node, bool)
	find = func(ns []Node) (Node, bool) {
		for _, n := range ns {
			if n.Name == name {
				return n, true
			}
			if m, ok := find(n.Checks); ok {
				return m, true
			}
		}
		return Node{}, false
	}
	return find(r.Checks)
}

// Healthy reports whether nothing failed; a degraded kit still works.
func (r Report) Healthy() bool { return r.Status != Failed }

// Problems lists the checks that are not ok, worst first and in tree
// order within a status, leaving out those that only failed because a
// dependency did: the Settings screen and the admin center show causes.
func (r Report) Problems() []Node {
	var out []Node
	var walk func(ns []Node)
	walk = func(ns []Node) {
		for _, n := range ns {
			if n.Status != OK {
				p := n
				p.Checks = nil
				out = append(out, p)
			}
			if n.Status != Failed {
				walk(n.Checks)
			}
		}
	}
	walk(r.Checks)
	slices.SortStableFunc(out, func(a, b Node) int { return b.Status.rank() - a.Status.rank() })
	return out
}

// Headline is the report in one line for a list of rooms: the worst
// problem, and how many more there are.
func (r Report) Headline() string {
	ps := r.Problems()
	switch len(ps) {
	case 0:
		return "All checks pass"
	case 1:
		return ps[0].Line()
	}
	return fmt.Sprintf("%s (and %d more)", ps[0].Line(), len(ps)-1)
}

// WriteText prints the tree for people, one check per line, indented by
// dependency:
//
//	degraded
//	ok        Network: eth0 192.0.2.7
//	ok          Portal: last heartbeat 4 s ago
//	degraded  Camera: no frames for 12 s (since 09:14:02 UTC)
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", r.Status)
	var walk func(ns []Node, depth int)
	walk = func(ns []Node, depth int) {
		for _, n := range ns {
			line := n.Line()
			if n.Status != OK && !n.Since.IsZero() {
				line += " (since " + n.Since.Format("2006-01-02 15:04:05 MST") + ")"
			}
			fmt.Fprintf(&b, "%-9s %s%s\n", n.Status, strings.Repeat("  ", depth), line)
			walk(n.Checks, depth+1)
		}
	}
	walk(r.Checks, 0)
	_, err := io.WriteString(w, b.String())
	return err
}
