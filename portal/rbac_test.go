package portal

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// publicAdminRoutes are the routes under /admin and /api/v1/admin that
// need no signed-in principal: sign-in, the stylesheet, redirects, and
// the one-time links (the link is the credential).
var publicAdminRoutes = []string{
	"GET /admin",
	"GET /admin/{$}",
	"GET /admin/static/",
	"GET /admin/login",
	"POST /admin/login",
	"GET /admin/invite/{token}",
	"POST /admin/invite/{token}",
}

// sourceRoutes walks the package's route table as written: every
// X.HandleFunc(pattern, …) and X.Handle(pattern, …) in its non-test
// files, patterns resolved through string constants. Registrations under
// a condition (the update repository) count too.
func sourceRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	consts := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, af)
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, sp := range gd.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[n.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	var eval func(ast.Expr) (string, bool)
	eval = func(x ast.Expr) (string, bool) {
		switch x := x.(type) {
		case *ast.BasicLit:
			if x.Kind == token.STRING {
				s, err := strconv.Unquote(x.Value)
				return s, err == nil
			}
		case *ast.Ident:
			s, ok := consts[x.Name]
			return s, ok
		case *ast.BinaryExpr:
			if x.Op == token.ADD {
				a, ok1 := eval(x.X)
				b, ok2 := eval(x.Y)
				return a + b, ok1 && ok2
			}
		case *ast.ParenExpr:
			return eval(x.X)
		}
		return "", false
	}
	seen := map[string]bool{}
	var out []string
	for _, af := range parsed {
		ast.Inspect(af, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
				return true
			}
			p, ok := eval(call.Args[0])
			if !ok {
				t.Errorf("%s: a route whose pattern this test cannot read; use a string constant", fset.Position(call.Pos()))
				return true
			}
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
			return true
		})
	}
	sort.Strings(out)
	return out
}

func isAdminRoute(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	return path == "/metrics" || strings.HasPrefix(path, "/admin") || strings.HasPrefix(path, "/api/v1/admin")
}

// TestRouteRules: every admin route has an access rule (or is one of
// the few public ones), and every rule a route.
func TestRouteRules(t *testing.T) {
	routes := sourceRoutes(t)
	if len(routes) < 40 {
		t.Fatalf("found only %d routes: the walk of the route table is broken", len(routes))
	}
	for _, p := range routes {
		if !isAdminRoute(p) {
			continue
		}
		_, ruled := accessRules[p]
		public := slices.Contains(publicAdminRoutes, p)
		switch {
		case !ruled && !public:
			t.Errorf("the admin route %q has no access rule: add one to accessRules (access.go) and to docs/team.md", p)
		case ruled && public:
			t.Errorf("the route %q is both public and ruled", p)
		}
	}
	for p := range accessRules {
		if !slices.Contains(routes, p) {
			t.Errorf("accessRules has %q, which is no route", p)
		}
	}
	// What the table must say, whatever else changes in it.
	selfService := []string{"POST /admin/logout", "POST /admin/account/password", "POST /admin/account/sign-out-everywhere", "POST /admin/account/time-zone"}
	for p, ru := range accessRules {
		method, path, _ := strings.Cut(p, " ")
		switch {
		case method != http.MethodGet && !slices.Contains(selfService, p) && ru.role.rank() < RoleAdmin.rank():
			t.Errorf("%s changes something, yet a %s may: a viewer may read, not change", p, ru.role)
		case (strings.HasPrefix(path, "/admin/team/") || strings.HasPrefix(path, "/api/v1/admin/admins/")) && ru.role != RoleOwner:
			t.Errorf("%s manages administrators, yet a %s may", p, ru.role)
		case (strings.Contains(path, "/tokens") || strings.Contains(path, "/audit") || strings.Contains(path, "/team") ||
			strings.Contains(path, "/admins")) && (ru.on != account || ru.role.rank() < RoleAdmin.rank()):
			t.Errorf("%s is account-wide for admins and owners, yet its rule is %+v", p, ru)
		case strings.Contains(path, "{id}") && strings.Contains(path, "/rooms/") && ru.on != room:
			t.Errorf("%s is about a room, yet its rule is not held to the room's group: %+v", p, ru)
		}
	}
}

// rbacPrincipal is one of the principals the RBAC table tries.
type rbacPrincipal struct {
	role  Role
	group string // "" for the whole account
	// set up per server:
	token, cookie, csrf string
}

func (p rbacPrincipal) String() string {
	if p.group == "" {
		return string(p.role)
	}
	return string(p.role) + "@" + p.group
}

// rbacTarget is what a request is about: a room (and its meeting) in
// the group east or west, or the fleet's policy.
type rbacTarget struct {
	name  string
	group string // the room's group; "" for the fleet
}

// rbacFixture is a portal with rooms, meetings, administrators and
// tokens to try every route on. A fresh one per route keeps one route's
// effects (an unpair, a removal) from another's cases.
type rbacFixture struct {
	srv        *Server
	principals []*rbacPrincipal
	rooms      map[string]string // group → room ID
	meetings   map[string]string // group → meeting ID
	adminID    int64             // a target administrator
	tokenID    int64             // a target token
}

func newRBACFixture(t *testing.T) *rbacFixture {
	t.Helper()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	srv, err := New(Config{DataDir: t.TempDir(), URL: "http://portal.test", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f := &rbacFixture{srv: srv, rooms: map[string]string{}, meetings: map[string]string{}}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := srv.db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, g := range []string{"east", "west"} {
		id, mid := "room-"+g, strconv.Itoa(111111111*(i+1))
		exec(`INSERT INTO rooms (id, name, location, time_zone, device_id, public_key, label, state, created, grp)
			VALUES (?, ?, 'HQ', 'UTC', ?, x'00', 'kit', 'ready', 0, ?)`, id, "Room "+g, "dev-"+g, g)
		exec(`INSERT INTO meetings (id, room_id, title, instant, start_local, minutes, created)
			VALUES (?, ?, 'Stand-up', 0, '2026-11-03T09:00', 30, 0)`, mid, id)
		f.rooms[g], f.meetings[g] = id, mid
	}
	// Least power first: a route's side effects (an unpair) then come
	// from the first principal allowed, after the refusals were tried.
	for _, p := range []rbacPrincipal{{role: RoleViewer, group: "east"}, {role: RoleAdmin, group: "east"},
		{role: RoleViewer}, {role: RoleAdmin}, {role: RoleOwner}} {
		p := p
		email := strings.ReplaceAll(p.String(), "@", "-") + "@example.com"
		var id int64
		err := srv.db.QueryRow("INSERT INTO admins (email, pw_hash, created, role, groups) VALUES (?, 'x', 0, ?, ?) RETURNING id", email, string(p.role), p.group).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		p.cookie, p.csrf = randomToken(32), randomToken(32)
		exec("INSERT INTO sessions (hash, admin_id, csrf, expires) VALUES (?, ?, ?, ?)", hashSecret(p.cookie), id, p.csrf, now.Add(time.Hour).Unix())
		if p.token, _, err = srv.CreateAPITokenWith(p.String(), TokenOptions{Role: p.role, Group: p.group}); err != nil {
			t.Fatal(err)
		}
		f.principals = append(f.principals, &p)
	}
	// A second owner, so that removing or demoting the target never
	// meets the last-owner rule, and the targets of team and token routes.
	exec("INSERT INTO admins (email, pw_hash, created, role) VALUES ('spare-owner@example.com', 'x', 0, 'owner')")
	err = srv.db.QueryRow("INSERT INTO admins (email, pw_hash, created, role) VALUES ('target@example.com', 'x', 0, 'admin') RETURNING id").Scan(&f.adminID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.CreateAPITokenWith("target", TokenOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.db.QueryRow("SELECT id FROM api_tokens WHERE name = 'target'").Scan(&f.tokenID); err != nil {
		t.Fatal(err)
	}
	return f
}

// request builds the request of pattern for p about target tg.
func (f *rbacFixture) request(t *testing.T, pattern string, p *rbacPrincipal, tg rbacTarget) *http.Request {
	t.Helper()
	method, path, _ := strings.Cut(pattern, " ")
	group := tg.group
	if group == "" {
		group = "east"
	}
	for strings.Contains(path, "{") {
		i, j := strings.Index(path, "{"), strings.Index(path, "}")
		name, v := path[i+1:j], ""
		switch {
		case name == "id" && (strings.Contains(path, "/alerts/") || strings.Contains(path, "/webhooks/") || strings.Contains(path, "/profiles/")):
			v = "1" // none exists: the rule is checked before the handler looks
		case name == "id" && strings.Contains(path, "/tokens/"):
			v = strconv.FormatInt(f.tokenID, 10)
		case name == "id" && (strings.Contains(path, "/admins/") || strings.Contains(path, "/team/")):
			v = strconv.FormatInt(f.adminID, 10)
		case name == "id":
			v = f.rooms[group]
		case name == "meetingID":
			v = f.meetings[group]
		case name == "scope" && tg.group == "":
			v = "fleet"
		case name == "scope":
			v = "group:" + tg.group
		case name == "group":
			v = group
		case name == "user_code":
			v = "BCDF-GHJK"
		case name == "channel":
			v = "stable"
		case name == "version":
			v = "1.0.0"
		case name == "kind":
			v = "identify"
		default:
			t.Fatalf("%s: no test value for {%s}: teach TestRBAC one", pattern, name)
		}
		path = path[:i] + url.PathEscape(v) + path[j+1:]
	}
	api := strings.HasPrefix(path, "/api/") || path == "/metrics"
	var body string
	switch {
	case api && method != http.MethodGet:
		body = "{}"
		if strings.HasSuffix(pattern, "/group") {
			body = `{"group":"` + group + `"}`
		}
	case !api && method != http.MethodGet:
		v := url.Values{"csrf": {p.csrf}}
		if strings.HasSuffix(pattern, "/group") {
			v.Set("group", group)
		}
		body = v.Encode()
	}
	r := httptest.NewRequest(method, "http://portal.test"+path, strings.NewReader(body))
	if api {
		r.Header.Set("Authorization", "Bearer "+p.token)
		r.Header.Set("Content-Type", "application/json")
	} else {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: p.cookie})
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return r
}

// TestRBAC is the access table: every admin route × every role × a
// principal of the whole account or of the group east × a target in or
// out of that group → allowed, or 403 with the refusal's sentence. The
// routes come from the route table itself, so a route without a rule
// fails here (and in TestRouteRules).
func TestRBAC(t *testing.T) {
	routes := sourceRoutes(t)
	targets := map[target][]rbacTarget{
		room:    {{"out of group", "west"}, {"in group", "east"}},
		meeting: {{"out of group", "west"}, {"in group", "east"}},
		policy:  {{"fleet", ""}, {"out of group", "west"}, {"in group", "east"}},
		group:   {{"out of group", "west"}, {"in group", "east"}},
	}
	n := 0
	for _, pattern := range routes {
		if !isAdminRoute(pattern) || slices.Contains(publicAdminRoutes, pattern) {
			continue
		}
		ru, ok := accessRules[pattern]
		if !ok {
			t.Errorf("%s: no access rule", pattern)
			continue
		}
		f := newRBACFixture(t)
		h := f.srv.Handler()
		tgs := targets[ru.on]
		if tgs == nil {
			tgs = []rbacTarget{{"account", ""}}
		}
		for _, p := range f.principals {
			for _, tg := range tgs {
				want := p.role.rank() >= ru.role.rank() &&
					(p.group == "" || ru.on == own || (ru.on != account && tg.group == p.group))
				r := f.request(t, pattern, p, tg)
				if _, got := f.srv.mux.Handler(r); got != pattern {
					t.Fatalf("%s: the request %s %s reaches %q", pattern, r.Method, r.URL.Path, got)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				n++
				refused := w.Code == http.StatusForbidden && strings.Contains(w.Body.String(), refusedMark)
				switch {
				case w.Code == http.StatusUnauthorized || w.Code >= 500:
					t.Errorf("%s as %s (%s): %d %.200s", pattern, p, tg.name, w.Code, w.Body)
				case want && refused:
					t.Errorf("%s as %s (%s): refused, want allowed: %.200s", pattern, p, tg.name, w.Body)
				case !want && !refused:
					t.Errorf("%s as %s (%s): %d, want 403 refused", pattern, p, tg.name, w.Code)
				}
			}
		}
	}
	t.Logf("%d requests", n)
}

// TestGroupScopedLists: a principal of a group sees only its rooms.
func TestGroupScopedLists(t *testing.T) {
	f := newRBACFixture(t)
	h := f.srv.Handler()
	for _, p := range f.principals {
		for _, pattern := range []string{"GET /api/v1/admin/rooms", "GET /admin/rooms"} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, f.request(t, pattern, p, rbacTarget{}))
			body := w.Body.String()
			east, west := strings.Contains(body, "room-east"), strings.Contains(body, "room-west")
			if w.Code != 200 || !east || west != (p.group == "") {
				t.Errorf("%s as %s: %d, east %v, west %v", pattern, p, w.Code, east, west)
			}
		}
	}
}
