package portal

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	lksdk "github.com/livekit/server-sdk-go/v2"
)

func TestHealthURL(t *testing.T) {
	for _, c := range []struct{ node, want string }{
		{"ws://127.0.0.1:7880", "http://127.0.0.1:7880/"},
		{"wss://lk1.example.com", "https://lk1.example.com/"},
		{"wss://lk1.example.com/base?x=1", "https://lk1.example.com/"},
		{"https://lk1.example.com", "https://lk1.example.com/"},
	} {
		if got := healthURL(c.node); got != c.want {
			t.Errorf("healthURL(%q) = %q, want %q", c.node, got, c.want)
		}
	}
}

// node is a stand-in for a LiveKit node's health check answering status,
// as a ws:// URL.
func node(t *testing.T, status int) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	t.Cleanup(ts.Close)
	return "ws" + strings.TrimPrefix(ts.URL, "http")
}

// deadNode is the URL of a loopback port nothing listens on.
func deadNode(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "ws://" + addr
}

// TestNodePoolPicksHealthy: the pool hands out only nodes whose health
// check answers 200, and says so when none does.
func TestNodePoolPicksHealthy(t *testing.T) {
	ok1, ok2 := node(t, http.StatusOK), node(t, http.StatusOK)
	stale, dead := node(t, http.StatusNotAcceptable), deadNode(t)
	for _, c := range []struct {
		name  string
		nodes []string
		want  []string // "": errNoNode
	}{
		{"all healthy", []string{ok1, ok2}, []string{ok1, ok2}},
		{"one dead", []string{dead, ok1}, []string{ok1}},
		{"one with stale stats", []string{ok2, stale}, []string{ok2}},
		{"none healthy", []string{dead, stale}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newNodePool(c.nodes)
			seen := map[string]bool{}
			for range 40 {
				u, err := p.pick(t.Context())
				if c.want == nil {
					if !errors.Is(err, errNoNode) || !strings.Contains(err.Error(), "health check of") {
						t.Fatalf("pick: %q, %v; want errNoNode with the checks' failures", u, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				seen[u] = true
			}
			for _, w := range c.want {
				if !seen[w] {
					t.Errorf("never picked healthy %s (picked %v)", w, seen)
				}
			}
			if len(seen) != len(c.want) {
				t.Errorf("picked %v, want only %v", seen, c.want)
			}
		})
	}
}

// TestNodePoolLooksAgainBeforeRefusing: when by the last check no node
// is healthy, a join makes the pool check again rather than refuse on an
// old answer.
func TestNodePoolLooksAgainBeforeRefusing(t *testing.T) {
	ok := node(t, http.StatusOK)
	p := newNodePool([]string{ok, deadNode(t)})
	p.check(t.Context())
	p.down(ok, errors.New("refused a moment ago"))
	if u, err := p.pick(t.Context()); err != nil || u != ok {
		t.Errorf("pick = %q, %v; want %s after a fresh check", u, err, ok)
	}
}

// TestRoomServiceFailsOver: a node that died since the last health check
// costs a refused connection, and the call goes to another node.
func TestRoomServiceFailsOver(t *testing.T) {
	dead := deadNode(t)
	var calls []string
	live := node(t, http.StatusOK)
	r := newRoomService(LiveKit{Nodes: []string{dead, live}, APIKey: "APIkey", APISecret: strings.Repeat("s", 32), pool: newNodePool([]string{dead, live})})
	r.pool.check(t.Context())
	r.pool.healthy[0] = true // as if it died after the check
	for range 10 {
		calls = calls[:0]
		err := r.call(t.Context(), func(ctx context.Context, c *lksdk.RoomServiceClient) error {
			for u, cl := range r.clients {
				if cl == c {
					calls = append(calls, u)
					if u == dead {
						_, err := net.Dial("tcp", strings.TrimPrefix(dead, "ws://"))
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("call: %v (to %v)", err, calls)
		}
		if calls[len(calls)-1] != live {
			t.Fatalf("the call ended at %v, want the live node", calls)
		}
	}
	if r.pool.healthy[0] {
		t.Error("the refusing node is still taken for healthy")
	}
}

// TestCheckLiveKitNodes: bad cluster settings are refused with words.
func TestCheckLiveKitNodes(t *testing.T) {
	secret := strings.Repeat("s", 32)
	for _, c := range []struct {
		name string
		lk   LiveKit
		want string // "": accepted
	}{
		{"two nodes", LiveKit{Nodes: []string{"ws://127.0.0.1:7880", "ws://127.0.0.1:7890"}, APIKey: "k", APISecret: secret}, ""},
		{"one node is one URL", LiveKit{Nodes: []string{"wss://lk.example.com"}, APIKey: "k", APISecret: secret}, ""},
		{"URL is the first node", LiveKit{URL: "ws://a:1", Nodes: []string{"ws://a:1", "ws://b:1"}, APIKey: "k", APISecret: secret}, ""},
		{"URL and other nodes", LiveKit{URL: "ws://c:1", Nodes: []string{"ws://a:1", "ws://b:1"}, APIKey: "k", APISecret: secret}, "either one URL or the nodes"},
		{"a bad node", LiveKit{Nodes: []string{"ws://a:1", "lk.example.com"}, APIKey: "k", APISecret: secret}, "must look like"},
		{"a node twice", LiveKit{Nodes: []string{"ws://a:1", "ws://a:1"}, APIKey: "k", APISecret: secret}, "named twice"},
		{"nodes without a key", LiveKit{Nodes: []string{"ws://a:1", "ws://b:1"}}, "API key and secret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Server{lk: c.lk}
			err := s.checkLiveKit()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("checkLiveKit: %v, want an error saying %q", err, c.want)
			case c.want == "":
				if s.lk.URL != c.lk.Nodes[0] || s.conf == nil {
					t.Errorf("accepted as URL %q, conf %v", s.lk.URL, s.conf)
				}
				if (s.lk.pool != nil) != (len(c.lk.Nodes) > 1) {
					t.Errorf("pool %v for %d nodes", s.lk.pool, len(c.lk.Nodes))
				}
			}
		})
	}
}

// TestLiveKitOriginsListEveryNode: the join page may connect to any node
// the portal may send it to.
func TestLiveKitOriginsListEveryNode(t *testing.T) {
	s := &Server{lk: LiveKit{Nodes: []string{"wss://lk1.example.com", "wss://lk2.example.com"}, APIKey: "k", APISecret: strings.Repeat("s", 32)}}
	if err := s.checkLiveKit(); err != nil {
		t.Fatal(err)
	}
	got := s.liveKitOrigins()
	for _, want := range []string{"wss://lk1.example.com", "https://lk1.example.com", "wss://lk2.example.com", "https://lk2.example.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("connect-src %q lacks %s", got, want)
		}
	}
}
