package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// definedFlags are the flag names cmd/portal defines, over all its
// commands (serve, migrate, db, admin, token), read from its source.
func definedFlags(t *testing.T) map[string]bool {
	t.Helper()
	def := regexp.MustCompile(`fs\.(?:String|Bool|Int|Duration|Func|Var)\((?:&\w+, )?"([a-z][a-z0-9-]*)"`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range def.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
	}
	if len(names) < 20 {
		t.Fatalf("found only %d flag definitions in cmd/portal: the pattern is out of date", len(names))
	}
	return names
}

// portalFlagsIn lists the flags a document gives the portal: each
// command line in its code blocks (continuations joined) and each code
// span in its prose that runs a portal binary or starts with a
// single-dash flag (docs/deployment.md gives no other program's flags
// that way).
func portalFlagsIn(doc string) []string {
	flagTok := regexp.MustCompile(`^-[a-z][a-z0-9-]*$`)
	var cmds []string
	inBlock := false
	var cur strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock {
			for _, span := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(line, -1) {
				if s := span[1]; strings.HasPrefix(s, "portal ") || flagTok.MatchString(strings.Fields(s)[0]) {
					cmds = append(cmds, s)
				}
			}
			continue
		}
		cur.WriteString(strings.TrimSuffix(strings.TrimSpace(line), `\`) + " ")
		if strings.HasSuffix(strings.TrimSpace(line), `\`) {
			continue
		}
		cmds = append(cmds, cur.String())
		cur.Reset()
	}
	var out []string
	for _, c := range cmds {
		words := strings.Fields(strings.TrimPrefix(strings.TrimSpace(c), "ExecStart="))
		if len(words) == 0 {
			continue
		}
		at := -1
		if flagTok.MatchString(words[0]) { // the portal's flags alone
			words = append([]string{"portal"}, words...)
		}
		for i, w := range words {
			if w == "portal" || strings.HasSuffix(w, "/portal") {
				at = i
				break
			}
		}
		if at < 0 {
			continue
		}
		for _, w := range words[at+1:] {
			if w == "|" || w == "&&" || w == ";" || strings.HasPrefix(w, "#") {
				break
			}
			if flagTok.MatchString(w) {
				out = append(out, w[1:])
			}
		}
	}
	return out
}

// TestDeploymentDocFlags: every portal flag docs/deployment.md names
// exists in cmd/portal.
func TestDeploymentDocFlags(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "deployment.md"))
	if err != nil {
		t.Fatal(err)
	}
	have := definedFlags(t)
	used := portalFlagsIn(string(doc))
	if len(used) < 15 {
		t.Fatalf("found only %d portal flags in docs/deployment.md: %q", len(used), used)
	}
	var missing []string
	for _, f := range used {
		if !have[f] {
			missing = append(missing, "-"+f)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/deployment.md names portal flags that do not exist: %s", strings.Join(missing, " "))
	}
}

func TestPortalFlagsIn(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"unit file", "```\nExecStart=/usr/local/bin/portal \\\n  -listen 10.0.1.11:8080 \\\n  -url https://x\n```\n", []string{"listen", "url"}},
		{"other programs", "```\nsudo -u postgres pg_restore --no-owner -d x\nlivekit-server --config f\n```\n", nil},
		{"prose", "run `portal migrate -db URL`, name `-trusted-proxy`; `roomd -ota-url` is the kit's\n", []string{"db", "trusted-proxy"}},
		{"flags alone", "```\n-db 'postgres://x'\n```\nand `-livekit-url a,b -livekit-key K`\n", []string{"db", "livekit-url", "livekit-key"}},
		{"comment ends it", "```\nbin/portal -listen :1 # -nope\n```\n", []string{"listen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := portalFlagsIn(tc.doc)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("portalFlagsIn = %q, want %q", got, tc.want)
			}
		})
	}
}
