package portal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// apiDocPath is the OpenAPI document of the admin API.
const apiDocPath = "../docs/api.yaml"

// apiDoc is the part of an OpenAPI 3 document the checks read.
type apiDoc struct {
	OpenAPI    string                    `yaml:"openapi"`
	Paths      map[string]map[string]any `yaml:"paths"`
	Components struct {
		Schemas       map[string]any `yaml:"schemas"`
		Parameters    map[string]any `yaml:"parameters"`
		Responses     map[string]any `yaml:"responses"`
		RequestBodies map[string]any `yaml:"requestBodies"`
	} `yaml:"components"`
}

var docMethods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

func loadAPIDoc(t *testing.T) *apiDoc {
	t.Helper()
	b, err := os.ReadFile(apiDocPath)
	if err != nil {
		t.Fatalf("read the API's document: %v", err)
	}
	var d apiDoc
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s is not YAML: %v", apiDocPath, err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		t.Fatalf("%s: openapi is %q, want 3.x", apiDocPath, d.OpenAPI)
	}
	return &d
}

// operations are the document's operations by route pattern, "METHOD
// /path" as the mux registers it.
func (d *apiDoc) operations() map[string]map[string]any {
	out := map[string]map[string]any{}
	for path, item := range d.Paths {
		for _, m := range docMethods {
			if op, ok := item[m].(map[string]any); ok {
				out[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return out
}

// resolve follows a $ref within the document ("#/components/KIND/NAME").
func (d *apiDoc) resolve(t *testing.T, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	for i := 0; m != nil && i < 10; i++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
		if len(parts) != 2 {
			t.Errorf("%s: the reference %q is not #/components/KIND/NAME", apiDocPath, ref)
			return nil
		}
		var set map[string]any
		switch parts[0] {
		case "schemas":
			set = d.Components.Schemas
		case "parameters":
			set = d.Components.Parameters
		case "responses":
			set = d.Components.Responses
		case "requestBodies":
			set = d.Components.RequestBodies
		}
		next, ok := set[parts[1]].(map[string]any)
		if !ok {
			t.Errorf("%s: the reference %q leads nowhere", apiDocPath, ref)
			return nil
		}
		m = next
	}
	return m
}

// properties are a schema's properties, through references and allOf,
// and the names it requires.
func (d *apiDoc) properties(t *testing.T, schema any) (props map[string]any, required []string) {
	t.Helper()
	props = map[string]any{}
	s := d.resolve(t, schema)
	if s == nil {
		return props, nil
	}
	for _, part := range asList(s["allOf"]) {
		p, r := d.properties(t, part)
		for k, v := range p {
			props[k] = v
		}
		required = append(required, r...)
	}
	if p, ok := s["properties"].(map[string]any); ok {
		for k, v := range p {
			props[k] = v
		}
	}
	for _, r := range asList(s["required"]) {
		required = append(required, fmt.Sprint(r))
	}
	return props, required
}

func asList(v any) []any { l, _ := v.([]any); return l }

// jsonSchema is the application/json schema of a response or request
// body; nil if it has none.
func (d *apiDoc) jsonSchema(t *testing.T, body any) any {
	t.Helper()
	b := d.resolve(t, body)
	c, _ := b["content"].(map[string]any)
	j, _ := c["application/json"].(map[string]any)
	return j["schema"]
}

// response is the operation's response for status ("200"); nil if none.
func (d *apiDoc) response(t *testing.T, op map[string]any, status string) map[string]any {
	t.Helper()
	rs, _ := op["responses"].(map[string]any)
	return d.resolve(t, rs[status])
}

// apiRoutes are the routes the portal registers under prefix, read from
// its route table (sourceRoutes, the same walk TestRouteRules makes).
func apiRoutes(t *testing.T, prefix string) []string {
	var out []string
	for _, p := range sourceRoutes(t) {
		if _, path, _ := strings.Cut(p, " "); strings.HasPrefix(path, prefix) {
			out = append(out, p)
		}
	}
	return out
}

const (
	adminPrefix  = "/api/v1/admin/"
	devicePrefix = "/api/v1/device/"
)

var targetNames = map[target]string{account: "account", own: "own", room: "room", meeting: "meeting", policy: "policy", group: "group"}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestAPIDoc: docs/api.yaml documents exactly the admin API routes the
// portal serves, each with the role and scope its access rule has, its
// path parameters, the refusals every route can answer, and JSON errors;
// and exactly the kit's API routes, each with the kit's token.
func TestAPIDoc(t *testing.T) {
	d := loadAPIDoc(t)
	ops := d.operations()
	admin := apiRoutes(t, adminPrefix)
	if len(admin) < 20 {
		t.Fatalf("found only %d admin API routes: the walk of the route table is broken", len(admin))
	}
	routes := append(admin, apiRoutes(t, devicePrefix)...)
	for _, p := range routes {
		if _, ok := ops[p]; !ok {
			t.Errorf("docs/api.yaml lacks the route %q, which the portal serves: document it (method, parameters, body, responses, x-roomkit-role)", p)
		}
	}
	var documented []string
	for p := range ops {
		documented = append(documented, p)
	}
	sort.Strings(documented)
	for _, p := range documented {
		op := ops[p]
		method, path, _ := strings.Cut(p, " ")
		if !strings.HasPrefix(path, adminPrefix) && !strings.HasPrefix(path, devicePrefix) {
			t.Errorf("docs/api.yaml documents %q, which is neither under %s nor under %s", p, adminPrefix, devicePrefix)
			continue
		}
		if !slices.Contains(routes, p) {
			t.Errorf("docs/api.yaml documents the route %q, which the portal does not serve: remove it or register it", p)
			continue
		}
		sec, hasSec := op["security"]
		if strings.HasPrefix(path, devicePrefix) {
			// The kit's API: the kit's token, no admin role.
			if s := fmt.Sprint(sec); !strings.Contains(s, "kitToken") {
				t.Errorf("%s: the kit's API needs the kit's token (security: kitToken), documented as %s", p, s)
			}
			if op["x-roomkit-role"] != nil {
				t.Errorf("%s: the kit's API has no admin role", p)
			}
		} else {
			ru := accessRules[p]
			role, _ := op["x-roomkit-role"].(string)
			if r, err := ParseRole(role); err != nil || r != ru.role {
				t.Errorf("%s: x-roomkit-role is %q; the access rule says %s", p, role, ru.role)
			}
			if scope, _ := op["x-roomkit-scope"].(string); scope != targetNames[ru.on] {
				t.Errorf("%s: x-roomkit-scope is %q; the access rule holds it to %s", p, scope, targetNames[ru.on])
			}
			if hasSec && !strings.Contains(fmt.Sprint(sec), "bearerToken") {
				t.Errorf("%s: documented without the admin API token; every admin API route needs one", p)
			}
		}
		// Path parameters, on the path or the operation.
		declared := map[string]bool{}
		for _, list := range []any{d.Paths[path]["parameters"], op["parameters"]} {
			for _, prm := range asList(list) {
				if pm := d.resolve(t, prm); pm != nil && pm["in"] == "path" {
					declared[fmt.Sprint(pm["name"])] = true
				}
			}
		}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: the path parameter {%s} is not described", p, m[1])
			}
		}
		// Every route can refuse; every error is {"error": "…"}.
		rs, _ := op["responses"].(map[string]any)
		refusals := []string{"401", "403"}
		if strings.HasPrefix(path, devicePrefix) {
			refusals = []string{"401"}
		}
		for _, code := range refusals {
			if rs[code] == nil {
				t.Errorf("%s: no %s response documented", p, code)
			}
		}
		var ok2xx bool
		for code := range rs {
			if strings.HasPrefix(code, "2") {
				ok2xx = true
			}
			if strings.HasPrefix(code, "4") || strings.HasPrefix(code, "5") {
				if props, _ := d.properties(t, d.jsonSchema(t, rs[code])); props["error"] == nil {
					t.Errorf("%s: the %s response is not the JSON error {\"error\": \"…\"}", p, code)
				}
			}
		}
		if !ok2xx {
			t.Errorf("%s: no success response documented", p)
		}
		if (method == http.MethodPut || p == "POST /api/v1/admin/pairings") && op["requestBody"] == nil {
			t.Errorf("%s: no request body documented", p)
		}
	}
}

// TestAPIDocPinned: the fields and statuses DESIGN.md pins ("Interfaces
// others rely on") are in the document.
func TestAPIDocPinned(t *testing.T) {
	d := loadAPIDoc(t)
	ops := d.operations()
	// has checks that schema has every field; nested ones as "a.b".
	var has func(where string, schema any, fields ...string)
	has = func(where string, schema any, fields ...string) {
		t.Helper()
		props, _ := d.properties(t, schema)
		for _, f := range fields {
			name, rest, nested := strings.Cut(f, ".")
			sub, ok := props[name]
			if !ok {
				t.Errorf("%s: the pinned field %q is not documented", where, name)
				continue
			}
			if nested {
				if it := d.resolve(t, sub); it != nil && it["type"] == "array" {
					sub = it["items"]
				}
				has(where+" ."+name, sub, rest)
			}
		}
	}
	op := func(p string) map[string]any {
		t.Helper()
		o, ok := ops[p]
		if !ok {
			t.Errorf("docs/api.yaml lacks the pinned route %q", p)
		}
		return o
	}
	status := func(p, code string) map[string]any {
		t.Helper()
		o := op(p)
		if o == nil {
			return nil
		}
		r := d.response(t, o, code)
		if r == nil {
			t.Errorf("%s: the pinned answer %s is not documented", p, code)
		}
		return r
	}

	if r := status("GET /api/v1/admin/rooms", "200"); r != nil {
		list := d.resolve(t, d.jsonSchema(t, r))
		if list["type"] != "array" {
			t.Errorf("GET /api/v1/admin/rooms: the answer is pinned as a JSON array, documented as %v", list["type"])
		}
		has("GET /api/v1/admin/rooms", list["items"], "id", "name", "location", "state", "online", "last_seen", "version")
		hdr, _ := r["headers"].(map[string]any)
		for _, h := range []string{"X-Total-Count", "Link"} {
			if hdr[h] == nil {
				t.Errorf("GET /api/v1/admin/rooms: the header %s is not documented", h)
			}
		}
	}
	if o := op("GET /api/v1/admin/rooms"); o != nil {
		var names []string
		for _, prm := range asList(o["parameters"]) {
			names = append(names, fmt.Sprint(d.resolve(t, prm)["name"]))
		}
		for _, f := range fleetParams {
			if !slices.Contains(names, f) {
				t.Errorf("GET /api/v1/admin/rooms: the query parameter %q is not documented", f)
			}
		}
	}
	if r := status("GET /api/v1/admin/rooms/{id}", "200"); r != nil {
		has("GET /api/v1/admin/rooms/{id}", d.jsonSchema(t, r),
			"health.status", "health.checks.name", "health.checks.status", "health.checks.detail", "health.checks.since", "health.checks.checks",
			"devices", "version", "update.state", "update.target_version", "update.error")
	}
	if o := op("POST /api/v1/admin/pairings"); o != nil {
		has("POST /api/v1/admin/pairings body", d.jsonSchema(t, o["requestBody"]), "user_code", "name", "location")
		if r := status("POST /api/v1/admin/pairings", "201"); r != nil {
			has("POST /api/v1/admin/pairings 201", d.jsonSchema(t, r), "room")
		}
	}
	status("DELETE /api/v1/admin/rooms/{id}", "204")
	for _, a := range []string{"restart", "reboot", "identify"} {
		status("POST /api/v1/admin/rooms/{id}/"+a, "202")
	}
	if r := status("GET /api/v1/admin/rooms/{id}/logs", "200"); r != nil {
		has("GET /api/v1/admin/rooms/{id}/logs", d.jsonSchema(t, r), "lines")
	}
	status("GET /api/v1/admin/rooms/{id}/logs", "202")
	status("POST /api/v1/admin/rooms/{id}/update", "202")
	if props, _ := d.properties(t, d.Components.Schemas["Error"]); props["error"] == nil {
		t.Errorf(`the pinned error shape {"error": "…"} is not the Error schema`)
	}
}

// TestAPIDocAnswers: what the portal answers has the fields the document
// says, and no field it does not, for a room whose kit reported its
// health, devices, update and meeting, did an action and uploaded logs.
func TestAPIDocAnswers(t *testing.T) {
	d := loadAPIDoc(t)
	ops := d.operations()
	e := newEnv(t)
	roomID, tok := e.pairKit(e.newKit(), "Boardroom")
	beat := `{"state":"in-meeting","version":"1.5.0","uptime_seconds":60,"latency_ms":38,` +
		`"devices":[{"kind":"camera","name":"Logitech MeetUp","present":true,"error":""}],"health":` + cameraStalled +
		`,"update":{"state":"healthy","target_version":"1.5.0","error":"","channel":"stable","available":"1.5.0",` +
		`"last":{"version":"1.5.0","outcome":"healthy","at":"2026-11-02T09:00:00Z"}},"meeting":{"id":"123456789","participants":4}`
	beatActions(t, e, tok, beat+"}")
	identify := request(t, e, roomID, "identify", "")
	logs := request(t, e, roomID, "logs", "")
	beatActions(t, e, tok, beat+"}")
	beatActions(t, e, tok, beat+`,"actions_done":[{"id":"`+identify.ID+`"}]}`)
	if code, _, out := e.do("POST", "/api/v1/device/logs", "application/json",
		[]byte(`{"action":"`+logs.ID+`","lines":["level=INFO msg=\"roomd starting\""]}`),
		map[string]string{"Authorization": "Bearer " + tok}); code != 204 {
		t.Fatalf("logs upload: %d %s", code, out)
	}
	// The kit's side: what it sends and what it is answered.
	var sent any
	if err := json.Unmarshal([]byte(beat+`,"actions_done":[{"id":"a-1","error":"a meeting is running"}]}`), &sent); err != nil {
		t.Fatal(err)
	}
	if op := ops["POST /api/v1/device/heartbeat"]; op != nil {
		d.checkValue(t, "POST /api/v1/device/heartbeat body", d.jsonSchema(t, op["requestBody"]), sent)
	}
	for _, c := range []struct{ pattern, method, path, body string }{
		{"POST /api/v1/device/heartbeat", "POST", "/api/v1/device/heartbeat", beat + "}"},
		{"GET /api/v1/device/config", "GET", "/api/v1/device/config", ""},
	} {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		code, _, b := e.do(c.method, c.path, "application/json", body, map[string]string{"Authorization": "Bearer " + tok})
		op := ops[c.pattern]
		if op == nil {
			t.Errorf("%s: not documented", c.pattern)
			continue
		}
		resp := d.response(t, op, fmt.Sprint(code))
		if resp == nil {
			t.Errorf("%s: answered %d, which is not documented: %.200s", c.pattern, code, b)
			continue
		}
		var got any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%s: not JSON: %v", c.pattern, err)
			continue
		}
		d.checkValue(t, c.pattern, d.jsonSchema(t, resp), got)
	}

	for _, c := range []struct{ pattern, path string }{
		{"GET /api/v1/admin/rooms", "/api/v1/admin/rooms?per_page=10"},
		{"GET /api/v1/admin/rooms/{id}", "/api/v1/admin/rooms/" + roomID},
		{"GET /api/v1/admin/rooms/{id}/logs", "/api/v1/admin/rooms/" + roomID + "/logs"},
		{"GET /api/v1/admin/rooms/{id}/meetings", "/api/v1/admin/rooms/" + roomID + "/meetings"},
		{"GET /api/v1/admin/update-policy/{scope}", "/api/v1/admin/update-policy/fleet"},
		{"GET /api/v1/admin/admins", "/api/v1/admin/admins"},
		{"GET /api/v1/admin/audit", "/api/v1/admin/audit"},
		{"GET /api/v1/admin/alerts", "/api/v1/admin/alerts"},
		{"GET /api/v1/admin/webhooks", "/api/v1/admin/webhooks"},
		{"GET /api/v1/admin/rollouts", "/api/v1/admin/rollouts"},
		{"POST /api/v1/admin/rooms/{id}/restart", "/api/v1/admin/rooms/" + roomID + "/restart"},
		{"DELETE /api/v1/admin/pairings/{user_code}", "/api/v1/admin/pairings/BCDF-GHJK"},
	} {
		method, _, _ := strings.Cut(c.pattern, " ")
		code, hdr, b := e.admin(method, c.path, nil)
		op := ops[c.pattern]
		if op == nil {
			t.Errorf("%s: not documented", c.pattern)
			continue
		}
		resp := d.response(t, op, fmt.Sprint(code))
		if resp == nil {
			t.Errorf("%s: answered %d, which is not documented: %.200s", c.pattern, code, b)
			continue
		}
		if hs, _ := resp["headers"].(map[string]any); hs != nil {
			for h := range hs {
				if hdr.Get(h) == "" && h != "Link" {
					t.Errorf("%s: the documented header %s is missing", c.pattern, h)
				}
			}
		}
		var body any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("%s: not JSON: %v", c.pattern, err)
			continue
		}
		d.checkValue(t, c.pattern, d.jsonSchema(t, resp), body)
	}
}

// checkValue checks a JSON value (an answer, or a body the kit sends)
// against its schema: objects have their required fields and no
// undocumented one, recursively.
func (d *apiDoc) checkValue(t *testing.T, where string, schema, v any) {
	t.Helper()
	s := d.resolve(t, schema)
	if s == nil {
		t.Errorf("%s: no schema", where)
		return
	}
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			d.checkValue(t, fmt.Sprintf("%s[%d]", where, i), s["items"], e)
		}
	case map[string]any:
		props, required := d.properties(t, s)
		if len(props) == 0 {
			return // a map (additionalProperties), not a record
		}
		for _, r := range required {
			if _, ok := v[r]; !ok {
				t.Errorf("%s: lacks the required field %q", where, r)
			}
		}
		for k, e := range v {
			sub, ok := props[k]
			if !ok {
				t.Errorf("%s: has the field %q, which is not documented", where, k)
				continue
			}
			if e != nil {
				d.checkValue(t, where+"."+k, sub, e)
			}
		}
	}
}
