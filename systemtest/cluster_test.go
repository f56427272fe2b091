package systemtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"google.golang.org/protobuf/proto"

	"roomkit/appliance"
	"roomkit/appliance/meeting/meetingtest"
	"roomkit/portal"
	"roomkit/portal/sfu"
)

// liveKitCluster is two livekit-server nodes on loopback sharing one
// Redis and one API key, with webhooks to the portal, as a production
// cluster runs (docs/livekit.md, "A cluster").
type liveKitCluster struct {
	redis *redisServer
	nodes []*sfu.Server
	gates []*gate // in front of each node's signalling port: the URLs the portal knows
	key   string
}

// startCluster starts Redis and n nodes posting webhooks to webhook.
func startCluster(t *testing.T, n int, webhook string) *liveKitCluster {
	t.Helper()
	c := &liveKitCluster{redis: startRedis(t, "")}
	secret := ""
	for i := range n {
		opts := sfu.Options{Redis: c.redis.Addr, WebhookURL: webhook, Logger: testLogger(t).With("node", string(rune('A'+i)))}
		if i > 0 {
			opts.APIKey, opts.APISecret = c.nodes[0].APIKey, secret
		}
		node := meetingtest.StartLiveKitWith(t, opts)
		if i == 0 {
			c.key, secret = node.APIKey, node.APISecret
		}
		c.nodes = append(c.nodes, node)
		c.gates = append(c.gates, startGate(t, strings.TrimPrefix(node.URL, "ws://")))
	}
	return c
}

func (c *liveKitCluster) config() portal.LiveKit {
	lk := portal.LiveKit{APIKey: c.nodes[0].APIKey, APISecret: c.nodes[0].APISecret}
	for _, g := range c.gates {
		lk.Nodes = append(lk.Nodes, g.URL)
	}
	return lk
}

// gate forwards TCP connections to a node's signalling and HTTP port.
// The test closes it to make the portal's health check of the node fail
// (503) and so decides which node the portal sends the kit to; open
// connections stay.
type gate struct {
	URL     string // ws://127.0.0.1:PORT
	addr    string
	target  string
	ln      net.Listener // nil while the gate is dead
	mu      sync.Mutex
	closed  bool
	refused chan struct{} // a health check answered 503 while closed
}

func startGate(t testing.TB, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{URL: "ws://" + ln.Addr().String(), addr: ln.Addr().String(), target: target, refused: make(chan struct{}, 1)}
	g.serve(ln)
	t.Cleanup(func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.ln != nil {
			g.ln.Close()
		}
	})
	return g
}

func (g *gate) serve(ln net.Listener) {
	g.mu.Lock()
	g.ln = ln
	g.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.mu.Lock()
			closed := g.closed
			g.mu.Unlock()
			if closed {
				go g.refuse(c)
				continue
			}
			go g.forward(c)
		}
	}()
}

// die stops listening, as the node's own port does when it is killed:
// new connections are refused.
func (g *gate) die() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ln.Close()
	g.ln = nil
}

// revive listens again on the same address, for the restarted node.
func (g *gate) revive(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		t.Fatalf("gate listens again on %s: %v", g.addr, err)
	}
	g.serve(ln)
}

// refuse answers one HTTP request 503, as an unhealthy LiveKit node does.
func (g *gate) refuse(c net.Conn) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	if req.Method == http.MethodGet && req.URL.Path == "/" {
		select {
		case g.refused <- struct{}{}:
		default:
		}
	}
}

func (g *gate) forward(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", g.target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// close makes the portal see the node unhealthy: it returns once the
// portal's health check has been answered 503. The portal checks when a
// join needs a node, so poke (a join) runs until it has.
func (g *gate) close(t testing.TB, poke func()) {
	t.Helper()
	select {
	case <-g.refused: // an old one
	default:
	}
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	deadline := time.After(30 * time.Second)
	for {
		poke()
		select {
		case <-g.refused:
			return
		case <-deadline:
			t.Fatal("the portal did not check the node's health within 30 s")
		case <-time.After(1200 * time.Millisecond): // the portal checks a node at most once a second; guest joins are limited to 30 a minute
		}
	}
}

func (g *gate) open() {
	g.mu.Lock()
	g.closed = false
	g.mu.Unlock()
}

// nodeOf says which node LiveKit's Redis routes a room to: its index in
// c.nodes, or -1 (no such room, or a node no longer running).
func (c *liveKitCluster) nodeOf(t testing.TB, room string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := c.redis.command(ctx, "HGET", "room_node_map", room)
	if err != nil {
		t.Fatalf("where is room %s: %v", room, err)
	}
	for i, n := range c.nodes {
		if id != "" && n.NodeID() == id {
			return i
		}
	}
	return -1
}

// nodeState is what node i last told the cluster it is doing.
func (c *liveKitCluster) nodeState(t testing.TB, i int) livekit.NodeState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := c.redis.command(ctx, "HGET", "nodes", c.nodes[i].NodeID())
	if err != nil {
		t.Fatalf("node %d's state: %v", i, err)
	}
	var n livekit.Node
	if err := proto.Unmarshal([]byte(b), &n); err != nil {
		t.Fatalf("node %d's state: %v", i, err)
	}
	return n.State
}

// running returns a node whose process runs.
func (c *liveKitCluster) running(t testing.TB) *sfu.Server {
	t.Helper()
	for _, n := range c.nodes {
		select {
		case <-n.Exited():
		default:
			return n
		}
	}
	t.Fatal("no LiveKit node runs")
	return nil
}

// reservePort finds a free loopback address for a server that must be
// known before it starts (the portal, which LiveKit posts webhooks to).
func reservePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// scheduleMeeting schedules a meeting of room now through the admin API
// and returns its ID.
func scheduleMeeting(t testing.TB, p *runningPortal, roomID, title string) string {
	t.Helper()
	var created struct{ Meeting struct{ ID string } }
	if code := p.api(t, "POST", "/api/v1/admin/rooms/"+roomID+"/meetings", map[string]any{
		"title": title, "start": time.Now().UTC().Format("2006-01-02T15:04"), "minutes": 120}, &created); code != http.StatusCreated {
		t.Fatalf("schedule %s: HTTP %d", title, code)
	}
	return created.Meeting.ID
}

// rejoined waits until the kit is connected again in meeting id after a
// node went away at since (its reconnect counter past before), checks that
// LiveKit lists it in the meeting's room, and returns how long it took and
// whether its status said "reconnecting" meanwhile (in the meeting).
func rejoined(t *testing.T, c *liveKitCluster, k *runningKit, id, identity string, before int64, since time.Time) (time.Duration, bool) {
	t.Helper()
	var took time.Duration
	var reconnecting bool
	waitFor(t, 90*time.Second, "the kit back in its meeting", func() (bool, string) {
		st := k.status(t)
		if st.State == appliance.InMeeting && st.Meeting != nil && st.Meeting.ID == id && st.Meeting.Connection == "reconnecting" {
			reconnecting = true
		}
		if st.State == appliance.InMeeting && st.Meeting != nil && st.Meeting.ID == id &&
			st.Meeting.Connection == "connected" && st.Meeting.Reconnects > before {
			took = time.Since(since)
			return true, ""
		}
		return false, fmt.Sprintf("%s %+v", st.State, st.Meeting)
	})
	if st := k.status(t); st.Meeting == nil || st.Meeting.ID != id {
		t.Errorf("after the rejoin the kit is in %+v, want meeting %s", st.Meeting, id)
	}
	live := c.running(t)
	rs := lksdk.NewRoomServiceClient(live.URL, live.APIKey, live.APISecret)
	waitFor(t, 20*time.Second, "LiveKit to list the kit in the meeting", func() (bool, string) {
		res, err := rs.ListParticipants(context.Background(), &livekit.ListParticipantsRequest{Room: id})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range res.Participants {
			if p.Identity == identity && p.State == livekit.ParticipantInfo_ACTIVE {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d participants", len(res.Participants))
	})
	return took, reconnecting
}

// healthy asks a node's LiveKit health check (GET / → 200).
func healthy(wsURL string) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get("http" + strings.TrimPrefix(wsURL, "ws") + "/")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// TestLiveKitCluster: two livekit-server nodes sharing a Redis, the portal
// handing out a healthy one. Meetings land on both; a node killed
// (SIGKILL) → the kit in a meeting on it rejoins the same meeting through
// the other and new meetings go there; the same for a node drained
// (SIGTERM, then the second signal that ends the drain). Rejoin times are
// logged, not asserted.
func TestLiveKitCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis, two livekit-servers, a portal and a kit")
	}
	addr := reservePort(t)
	c := startCluster(t, 2, "http://"+addr+portal.WebhookPath)
	p := startPortalWith(t, t.TempDir(), addr, c.config())
	k := startKit(t, t.TempDir(), p.URL)
	pairKit(t, p, k, "Boardroom")
	roomID := p.rooms(t)[0].ID
	ctx := t.Context()

	// Each meeting's room is placed when the portal first opens it (a
	// join): LiveKit picks a node at random, so meetings are opened until
	// both nodes have one.
	t.Run("meetings land on both nodes", func(t *testing.T) {
		seen := map[int]int{}
		for i := 0; len(seen) < 2 && i < 40; i++ {
			id := scheduleMeeting(t, p, roomID, fmt.Sprintf("Standup %d", i))
			if code, _, _, msg := guestJoin(t, p.URL, id, "Ada"); code != http.StatusOK {
				t.Fatalf("join meeting %d: HTTP %d %s", i, code, msg)
			}
			seen[c.nodeOf(t, id)]++
		}
		if seen[0] == 0 || seen[1] == 0 || seen[-1] != 0 {
			t.Fatalf("meetings per node: %v, want some on each of nodes 0 and 1", seen)
		}
		t.Logf("meetings per node: %v", seen)
	})

	st, err := k.control.MeetNow(ctx)
	if err != nil || st.Meeting == nil {
		t.Fatalf("meet-now: %v", err)
	}
	id := st.Meeting.ID
	waitFor(t, 30*time.Second, "the kit connected", func() (bool, string) {
		st := k.status(t)
		return st.Meeting != nil && st.Meeting.Connection == "connected", fmt.Sprintf("%+v", st.Meeting)
	})

	// The kit's room lives on one node; the kit signals through the node
	// the portal gave it, the same or the other. Both ways the room's node
	// is killed: through the same node the kit sees its connection close
	// at once; through the other only its media stops.
	for _, through := range []string{"the same node", "the other node"} {
		t.Run("a node killed, the kit signalling through "+through, func(t *testing.T) {
			host := c.nodeOf(t, id)
			if host < 0 {
				t.Fatalf("meeting %s is on no running node", id)
			}
			other := 1 - host
			// The kit joins again with the gate of the node it must not
			// signal through closed, so the portal hands out the other.
			avoid := other
			if through == "the other node" {
				avoid = host
			}
			if _, err := k.control.Leave(ctx); err != nil {
				t.Fatal(err)
			}
			c.gates[avoid].close(t, func() { guestJoin(t, p.URL, id, "Probe") })
			if _, err := k.control.Join(ctx, id); err != nil {
				t.Fatal(err)
			}
			c.gates[avoid].open()
			waitFor(t, 30*time.Second, "the kit connected", func() (bool, string) {
				st := k.status(t)
				return st.Meeting != nil && st.Meeting.Connection == "connected", fmt.Sprintf("%+v", st.Meeting)
			})
			if got := c.nodeOf(t, id); got != host {
				t.Fatalf("the meeting moved from node %d to %d on a rejoin", host, got)
			}

			before := k.status(t).Meeting.Reconnects
			killed := time.Now()
			if err := c.nodes[host].Kill(); err != nil {
				t.Fatal(err)
			}
			c.gates[host].die()
			took, reconnecting := rejoined(t, c, k, id, roomID, before, killed)
			t.Logf("rejoin after SIGKILL of the meeting's node, the kit signalling through %s: %v", through, took.Round(time.Millisecond))
			if !reconnecting {
				t.Error("the kit's status never said it was reconnecting to its meeting")
			}
			if got := c.nodeOf(t, id); got != other {
				t.Errorf("after the rejoin meeting %s is on node %d, want the survivor %d", id, got, other)
			}
			for i := range 2 {
				nid := scheduleMeeting(t, p, roomID, fmt.Sprintf("After the crash %d", i))
				code, url, _, msg := guestJoin(t, p.URL, nid, "Ada")
				if code != http.StatusOK {
					t.Fatalf("join a new meeting with a node down: HTTP %d %s", code, msg)
				}
				if url != c.gates[other].URL {
					t.Errorf("the portal sent a guest to %s, want the surviving node %s", url, c.gates[other].URL)
				}
				if got := c.nodeOf(t, nid); got != other {
					t.Errorf("new meeting %s is on node %d, want the survivor %d", nid, got, other)
				}
			}
			// The node comes back (same address, a new node ID).
			if err := c.nodes[host].Restart(ctx); err != nil {
				t.Fatal(err)
			}
			c.gates[host].revive(t)
		})
	}

	t.Run("a node drained", func(t *testing.T) {
		host := c.nodeOf(t, id)
		if host < 0 {
			t.Fatalf("meeting %s is on no running node", id)
		}
		other := 1 - host
		before := k.status(t).Meeting.Reconnects
		if err := c.nodes[host].Drain(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "the node to tell the cluster it drains", func() (bool, string) {
			st := c.nodeState(t, host)
			return st == livekit.NodeState_SHUTTING_DOWN, st.String()
		})
		// Draining, the node takes no new rooms but keeps its meetings.
		for i := range 2 {
			nid := scheduleMeeting(t, p, roomID, fmt.Sprintf("During the drain %d", i))
			if code, _, _, msg := guestJoin(t, p.URL, nid, "Ada"); code != http.StatusOK {
				t.Fatalf("join a new meeting during a drain: HTTP %d %s", code, msg)
			}
			if got := c.nodeOf(t, nid); got != other {
				t.Errorf("new meeting %s is on node %d during the drain of node %d, want %d", nid, got, host, other)
			}
		}
		if st := k.status(t); st.Meeting == nil || st.Meeting.Connection != "connected" || st.Meeting.Reconnects != before {
			t.Errorf("the drain disturbed the kit's meeting: %+v", st.Meeting)
		}
		// The drain ends: the second signal stops the node with the kit
		// still in it, which then rejoins through the other node.
		stopped := time.Now()
		c.nodes[host].Stop()
		took, _ := rejoined(t, c, k, id, roomID, before, stopped)
		t.Logf("rejoin after the drained node stopped: %v", took.Round(time.Millisecond))
		if got := c.nodeOf(t, id); got != other {
			t.Errorf("after the rejoin meeting %s is on node %d, want %d", id, got, other)
		}
	})

	t.Run("Redis down", func(t *testing.T) {
		live := c.running(t)
		c.redis.stop()
		// A new meeting cannot be placed: the portal answers with words,
		// not a hang or a crash.
		nid := scheduleMeeting(t, p, roomID, "Without Redis")
		code, _, _, msg := guestJoin(t, p.URL, nid, "Ada")
		t.Logf("a join with Redis down: HTTP %d %q", code, msg)
		if code != http.StatusBadGateway || !strings.Contains(msg, "meeting service is not working") {
			t.Errorf("join with Redis down: HTTP %d %q, want 502 with the portal's explanation", code, msg)
		}
		if resp, err := http.Get(p.URL + "/healthz"); err != nil {
			t.Errorf("the portal with Redis down: %v", err)
		} else {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("the portal's /healthz with Redis down: HTTP %d", resp.StatusCode)
			}
		}
		select {
		case <-live.Exited():
			t.Error("the running LiveKit node exited when Redis went away")
		default:
			t.Logf("the LiveKit node runs; its health check answers OK: %v", healthy(live.URL))
		}
		// The meeting in progress goes on: its media never touches Redis.
		st := k.status(t)
		t.Logf("the kit with Redis down: %s, meeting connection %q", st.State, st.Meeting.Connection)
		if st.State != appliance.InMeeting || st.Meeting.ID != id {
			t.Errorf("with Redis down the kit is %s, meeting %+v", st.State, st.Meeting)
		}

		// Redis returns (empty: it keeps nothing on disk): the nodes
		// register again and meetings open again.
		c.redis = startRedis(t, c.redis.Addr)
		// Polled at LiveKit itself: the portal limits guest joins.
		back := time.Now()
		rs := lksdk.NewRoomServiceClient(live.URL, live.APIKey, live.APISecret)
		waitFor(t, 120*time.Second, "LiveKit to open rooms again", func() (bool, string) {
			_, err := rs.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: "probe-" + nid})
			return err == nil, fmt.Sprint(err)
		})
		t.Logf("LiveKit opens rooms again %v after Redis returned", time.Since(back).Round(time.Millisecond))
		if code, _, _, msg := guestJoin(t, p.URL, nid, "Ada"); code != http.StatusOK {
			t.Errorf("join after Redis returned: HTTP %d %s", code, msg)
		}
	})
}
