package portal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// A LiveKit cluster (several livekit-server nodes sharing a Redis) routes
// each room to one node and accepts signalling and RoomService calls for
// any room on any node. In production a load balancer in front of the
// nodes is the one URL the portal knows (LiveKit.URL). Without one, the
// portal is given every node (LiveKit.Nodes) and does the balancer's one
// job itself: it sends clients and its own RoomService calls to a node
// that answers LiveKit's health check, so when a node is drained out of
// the list or dies, joins go to the others (docs/livekit.md, "A cluster").

// nodeCheckEvery is how old a health check may be before a join checks
// again; nodeCheckTimeout bounds one check.
const (
	nodeCheckEvery   = time.Second
	nodeCheckTimeout = time.Second
)

// errNoNode says no node of the cluster answers its health check.
var errNoNode = errors.New("no LiveKit node is healthy")

// nodePool is the nodes of a LiveKit cluster and what their last health
// check said.
type nodePool struct {
	urls   []string // ws:// or wss://, as clients reach them
	client *http.Client

	mu      sync.Mutex
	healthy []bool
	why     []string // the last check's failure, per node
	checked time.Time
}

func newNodePool(urls []string) *nodePool {
	// A fresh connection for every check: a node must still accept them.
	client := &http.Client{Timeout: nodeCheckTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	p := &nodePool{urls: urls, client: client, healthy: make([]bool, len(urls)), why: make([]string, len(urls))}
	for i := range p.healthy {
		p.healthy[i] = true // until a check says otherwise
	}
	return p
}

// healthURL is LiveKit's health check of a node: GET / answers 200 "OK"
// while the node reports its stats to the cluster, 406 when they are
// stale.
func healthURL(node string) string {
	u, err := url.Parse(node)
	if err != nil {
		return node
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path, u.RawQuery = "/", ""
	return u.String()
}

// check asks every node at once whether it is healthy.
func (p *nodePool) check(ctx context.Context) {
	healthy := make([]bool, len(p.urls))
	why := make([]string, len(p.urls))
	var wg sync.WaitGroup
	for i, node := range p.urls {
		wg.Go(func() {
			err := p.probe(ctx, node)
			healthy[i] = err == nil
			if err != nil {
				why[i] = err.Error()
			}
		})
	}
	wg.Wait()
	p.healthy, p.why, p.checked = healthy, why, time.Now()
}

func (p *nodePool) probe(ctx context.Context, node string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, healthURL(node), nil)
	if err != nil {
		return fmt.Errorf("health check of %s: %w", node, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("health check of %s: %w", node, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check of %s: HTTP %d", node, resp.StatusCode)
	}
	return nil
}

// pick returns a healthy node at random (a join picks twice, for its
// RoomService call and for the client, so taking turns would send every
// client to the same node), after checking them all again if the last
// check is older than nodeCheckEvery, or if by the last one no node is
// healthy: a join is not refused on an old answer.
func (p *nodePool) pick(ctx context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fresh := false
	if time.Since(p.checked) > nodeCheckEvery {
		p.check(ctx)
		fresh = true
	}
	up := p.up()
	if len(up) == 0 && !fresh {
		p.check(ctx)
		up = p.up()
	}
	if len(up) == 0 {
		return "", fmt.Errorf("%w: %s", errNoNode, strings.Join(p.why, "; "))
	}
	return up[rand.IntN(len(up))], nil
}

// up lists the nodes the last check found healthy and no call found
// unreachable since.
func (p *nodePool) up() []string {
	var up []string
	for i, u := range p.urls {
		if p.healthy[i] {
			up = append(up, u)
		}
	}
	return up
}

// down marks a node unhealthy until the next check, after a call to it
// found it unreachable.
func (p *nodePool) down(node string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, u := range p.urls {
		if u == node {
			p.healthy[i] = false
			p.why[i] = err.Error()
		}
	}
}
