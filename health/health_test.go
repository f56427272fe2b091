package health

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 5, 9, 14, 2, 0, time.UTC)

// fixed is a check whose result a test sets; it counts its evaluations.
type fixed struct {
	res   Result
	evals int
}

func (f *fixed) check(name string) *Check {
	return New(name, func(time.Time) Result { f.evals++; return f.res })
}

func TestDependencyFailed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		network    Result
		portal     Result
		wantStatus Status
		wantLines  []string // every node, in tree order
		wantEvals  int      // of the calendar check
	}{
		{
			name:       "all pass",
			network:    Pass("eth0 192.0.2.7"),
			portal:     Pass("last heartbeat 4 s ago"),
			wantStatus: OK,
			wantLines:  []string{"ok Network: eth0 192.0.2.7", "ok Portal: last heartbeat 4 s ago", "ok Calendar: listed"},
			wantEvals:  1,
		},
		{
			name:       "the network fails: its dependents say so, not their own noise",
			network:    Fail("no network: no cable, or no interface is up"),
			portal:     Fail("unreachable since 09:14 (connection refused)"),
			wantStatus: Failed,
			wantLines: []string{"failed Network: no network: no cable, or no interface is up",
				"failed Portal: dependency Network failed", "failed Calendar: dependency Network failed"},
			wantEvals: 0,
		},
		{
			name:       "a degraded dependency does not hide its dependents",
			network:    Degrade("slow"),
			portal:     Fail("unreachable since 09:14 (connection refused)"),
			wantStatus: Failed,
			wantLines: []string{"degraded Network: slow", "failed Portal: unreachable since 09:14 (connection refused)",
				"failed Calendar: dependency Portal failed"},
			wantEvals: 0,
		},
		{
			name:       "degraded is worse than ok, better than failed",
			network:    Pass("eth0"),
			portal:     Degrade("slow answers"),
			wantStatus: Degraded,
			wantLines:  []string{"ok Network: eth0", "degraded Portal: slow answers", "ok Calendar: listed"},
			wantEvals:  1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net, portal, cal := &fixed{res: tc.network}, &fixed{res: tc.portal}, &fixed{res: Pass("listed")}
			tree := NewTree(net.check("Network").Then(portal.check("Portal").Then(cal.check("Calendar"))))
			r := tree.Evaluate(t0)
			if r.Status != tc.wantStatus {
				t.Errorf("status %q, want %q", r.Status, tc.wantStatus)
			}
			if got := lines(r.Checks); strings.Join(got, "\n") != strings.Join(tc.wantLines, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.wantLines, "\n"))
			}
			if cal.evals != tc.wantEvals {
				t.Errorf("calendar evaluated %d times, want %d", cal.evals, tc.wantEvals)
			}
		})
	}
}

func lines(ns []Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, fmt.Sprintf("%s %s", n.Status, n.Line()))
		out = append(out, lines(n.Checks)...)
	}
	return out
}

func TestSince(t *testing.T) {
	cam := &fixed{}
	tree := NewTree(cam.check("Camera"))
	steps := []struct {
		at        time.Duration
		res       Result
		wantSince time.Duration
	}{
		{0, Pass("Logitech"), 0},
		{15 * time.Second, Pass("Logitech"), 0},                                              // still ok: since start
		{30 * time.Second, Fail("no frames for 12 s"), 30 * time.Second},                     // entered failed now
		{45 * time.Second, Fail("no frames for 27 s"), 30 * time.Second},                     // same status, other words: kept
		{60 * time.Second, Fail("no frames").At(t0.Add(18 * time.Second)), 18 * time.Second}, // the check knows better
		{75 * time.Second, Pass("Logitech"), 75 * time.Second},
	}
	for i, s := range steps {
		cam.res = s.res
		r := tree.Evaluate(t0.Add(s.at))
		if got, want := r.Checks[0].Since, t0.Add(s.wantSince); !got.Equal(want) {
			t.Errorf("step %d: since %v, want %v", i, got.Format(time.TimeOnly), want.Format(time.TimeOnly))
		}
	}
}

func TestJSON(t *testing.T) {
	tree := NewTree(
		New("Network", func(time.Time) Result { return Pass("eth0 192.0.2.7") }).Then(
			New("Portal", func(time.Time) Result { return Fail("unreachable since 09:14 (connection refused)").At(t0) })),
		New("Display", func(time.Time) Result { return Pass("Framebuffer") }),
	)
	b, err := json.Marshal(tree.Evaluate(t0.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":"failed","checks":[` +
		`{"name":"Network","status":"ok","detail":"eth0 192.0.2.7","since":"2026-12-05T09:15:02Z","checks":[` +
		`{"name":"Portal","status":"failed","detail":"unreachable since 09:14 (connection refused)","since":"2026-12-05T09:14:02Z","checks":[]}]},` +
		`{"name":"Display","status":"ok","detail":"Framebuffer","since":"2026-12-05T09:15:02Z","checks":[]}]}`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Errorf("a kit's own report is refused: %v", err)
	}
}

func sample() Report {
	return Report{Status: Failed, Checks: []Node{
		{Name: "Network", Status: OK, Detail: "eth0 192.0.2.7", Since: t0, Checks: []Node{
			{Name: "Portal", Status: Failed, Detail: "unreachable since 09:14 (connection refused)", Since: t0, Checks: []Node{
				{Name: "Calendar", Status: Failed, Detail: "dependency Portal failed", Since: t0, Checks: []Node{}},
			}},
		}},
		{Name: "Camera", Status: Degraded, Detail: "Logitech C920: busy", Since: t0, Checks: []Node{}},
		{Name: "Display", Status: OK, Detail: "Framebuffer", Since: t0, Checks: []Node{}},
	}}
}

func TestProblemsAndHeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		r        Report
		problems []string
		headline string
	}{
		{"healthy", Report{Status: OK, Checks: []Node{{Name: "Display", Status: OK}}}, nil, "All checks pass"},
		{"causes only, worst first", sample(),
			[]string{"Portal: unreachable since 09:14 (connection refused)", "Camera: Logitech C920: busy"},
			"Portal: unreachable since 09:14 (connection refused) (and 1 more)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range tc.r.Problems() {
				got = append(got, p.Line())
			}
			if strings.Join(got, "|") != strings.Join(tc.problems, "|") {
				t.Errorf("problems %q, want %q", got, tc.problems)
			}
			if h := tc.r.Headline(); h != tc.headline {
				t.Errorf("headline %q, want %q", h, tc.headline)
			}
		})
	}
}

func TestWriteText(t *testing.T) {
	var b strings.Builder
	if err := sample().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `failed
ok        Network: eth0 192.0.2.7
failed      Portal: unreachable since 09:14 (connection refused) (since 2026-12-05 09:14:02 UTC)
failed        Calendar: dependency Portal failed (since 2026-12-05 09:14:02 UTC)
degraded  Camera: Logitech C920: busy (since 2026-12-05 09:14:02 UTC)
ok        Display: Framebuffer
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestSummary(t *testing.T) {
	long := strings.Repeat("é", MaxDetail+10)
	r := sample()
	r.Checks[1].Detail = "busy\x1b[2J" + long
	wide := Report{Status: OK}
	for i := range MaxChecks + 5 {
		wide.Checks = append(wide.Checks, Node{Name: fmt.Sprint("Check ", i), Status: OK, Detail: "fine"})
	}
	deep := Report{Status: Degraded, Checks: []Node{{Name: "1", Status: OK, Checks: []Node{{Name: "2", Status: OK, Checks: []Node{
		{Name: "3", Status: OK, Checks: []Node{{Name: "4", Status: OK, Checks: []Node{{Name: "5", Status: Degraded}}}}}}}}}}}
	for _, tc := range []struct {
		name  string
		in    Report
		check func(t *testing.T, s Report)
	}{
		{"passing details dropped, problems kept", sample(), func(t *testing.T, s Report) {
			if d := s.Checks[0].Detail; d != "" {
				t.Errorf("ok check keeps its detail %q", d)
			}
			if d := s.Checks[0].Checks[0].Detail; d != "unreachable since 09:14 (connection refused)" {
				t.Errorf("failed check's detail %q", d)
			}
		}},
		{"odd text made to fit", r, func(t *testing.T, s Report) {
			d := s.Checks[1].Detail
			if strings.Contains(d, "\x1b") || len(d) > MaxDetail || !strings.HasSuffix(d, "…") {
				t.Errorf("detail not cleaned: %q", d)
			}
		}},
		{"at most MaxChecks", wide, func(t *testing.T, s Report) {
			if len(s.Checks) != MaxChecks {
				t.Errorf("%d checks, want %d", len(s.Checks), MaxChecks)
			}
		}},
		{"at most MaxDepth, status of the whole tree", deep, func(t *testing.T, s Report) {
			if s.Status != Degraded {
				t.Errorf("status %q, want degraded", s.Status)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.in.Summary()
			tc.check(t, s)
			if err := s.Validate(); err != nil {
				t.Errorf("the portal would refuse the summary: %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	node := func(mod func(*Node)) Report {
		n := Node{Name: "Camera", Status: Failed, Detail: "no frames for 12 s", Since: t0}
		mod(&n)
		return Report{Status: n.worst(), Checks: []Node{n}}
	}
	var many []Node
	for range MaxChecks + 1 {
		many = append(many, Node{Name: "x", Status: OK})
	}
	deep := Node{Name: "5", Status: OK}
	for i := 4; i > 0; i-- {
		deep = Node{Name: fmt.Sprint(i), Status: OK, Checks: []Node{deep}}
	}
	for _, tc := range []struct {
		name string
		r    Report
		want string // in the error; "" for none
	}{
		{"good", node(func(*Node) {}), ""},
		{"empty tree", Report{Status: OK, Checks: []Node{}}, ""},
		{"status worse than the checks: a summary that cut one", Report{Status: Failed, Checks: []Node{{Name: "Camera", Status: OK}}}, ""},
		{"unknown status", Report{Status: "fine"}, `status is "fine"`},
		{"status not the worst", Report{Status: OK, Checks: []Node{{Name: "Camera", Status: Failed}}}, `worst check is "failed"`},
		{"node status", Report{Status: Failed, Checks: []Node{{Name: "Camera", Status: "broken"}}}, `checks[0].status is "broken"`},
		{"empty name", node(func(n *Node) { n.Name = "" }), "checks[0].name is empty"},
		{"line break in detail", node(func(n *Node) { n.Detail = "a\nb" }), "checks[0].detail contains a line break"},
		{"long detail", node(func(n *Node) { n.Detail = strings.Repeat("x", MaxDetail+1) }), "at most 200 fit"},
		{"bad UTF-8 name", node(func(n *Node) { n.Name = "\xff" }), "checks[0].name is not valid text"},
		{"too many", Report{Status: OK, Checks: many}, "more than 64 checks"},
		{"too deep", Report{Status: OK, Checks: []Node{deep}}, "nest more than 4 deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// roomd's watchdog finds the "Audio thread" check wherever it sits.
func TestFind(t *testing.T) {
	r := Report{Status: Failed, Checks: []Node{
		{Name: NameNetwork, Status: OK, Checks: []Node{{Name: NamePortal, Status: Failed, Detail: "unreachable"}}},
		{Name: NameAudioThread, Status: OK},
	}}
	for _, tc := range []struct {
		name   string
		found  bool
		status Status
	}{
		{NamePortal, true, Failed},
		{NameAudioThread, true, OK},
		{NameCamera, false, ""},
	} {
		n, ok := r.Find(tc.name)
		if ok != tc.found || n.Status != tc.status {
			t.Errorf("Find(%q) = %v %q, want %v %q", tc.name, ok, n.Status, tc.found, tc.status)
		}
	}
}
