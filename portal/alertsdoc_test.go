package portal

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestPrometheusRulesDoc keeps docs/prometheus-rules.yml honest: it is a
// rule file, and every portal metric its expressions use is one the
// portal serves.
func TestPrometheusRulesDoc(t *testing.T) {
	b, err := os.ReadFile("../docs/prometheus-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr string
				Labels      map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/prometheus-rules.yml: %v", err)
	}
	e := newEnv(t)
	_, _, m := e.admin("GET", "/metrics", nil)
	served := string(m)
	var rules int
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			rules++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %+v lacks a name, an expression or a severity", r)
			}
			for _, name := range regexp.MustCompile(`portal_[a-z_]+`).FindAllString(r.Expr, -1) {
				if !strings.Contains(served, "# TYPE "+name+" ") {
					t.Errorf("rule %s uses %s, which /metrics does not serve", r.Alert, name)
				}
			}
		}
	}
	if rules < 4 {
		t.Errorf("%d rules", rules)
	}
}
