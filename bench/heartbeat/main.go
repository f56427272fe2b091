// Command heartbeat is a load test for a running portal: it pairs N fake
// kits through the real protocol (device authorization with fresh Ed25519
// keys, approval through the admin API, the kit's token poll), then sends
// heartbeats from GOMAXPROCS workers and prints throughput and latency.
//
//	go run ./bench/heartbeat -portal http://127.0.0.1:8080 -token rka_… -kits 50 -duration 10s
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"roomkit/provisioning"
)

type fakeKit struct {
	key    ed25519.PrivateKey
	roomID string
	token  string
}

type metadata struct {
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	TokenEndpoint               string `json:"token_endpoint"`
}

func main() {
	portal := flag.String("portal", "http://127.0.0.1:8080", "portal base URL")
	adminToken := flag.String("token", "", "admin API token (portal token create)")
	kits := flag.Int("kits", 50, "fake kits to pair")
	duration := flag.Duration("duration", 10*time.Second, "how long to send heartbeats")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "concurrent heartbeat senders")
	cleanup := flag.Bool("cleanup", true, "unpair the fake kits afterwards")
	flag.Parse()
	if *adminToken == "" {
		fmt.Fprintln(os.Stderr, "heartbeat: -token is required (an admin API token)")
		os.Exit(2)
	}
	if err := run(strings.TrimRight(*portal, "/"), *adminToken, *kits, *duration, *workers, *cleanup); err != nil {
		fmt.Fprintln(os.Stderr, "heartbeat:", err)
		os.Exit(1)
	}
}

func run(base, adminToken string, n int, duration time.Duration, workers int, cleanup bool) error {
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2, MaxIdleConns: workers * 2},
	}
	var md metadata
	if err := getJSON(client, base+"/.well-known/oauth-authorization-server", &md); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	fleet := make([]*fakeKit, n)
	for i := range fleet {
		k, err := pair(client, base, adminToken, md, i)
		if err != nil {
			return fmt.Errorf("pair kit %d: %w", i+1, err)
		}
		fleet[i] = k
	}
	fmt.Fprintf(os.Stderr, "paired %d kits; sending heartbeats for %v on %d workers\n", n, duration, workers)
	if cleanup {
		defer func() {
			for _, k := range fleet {
				req, _ := http.NewRequest("DELETE", base+"/api/v1/admin/rooms/"+k.roomID, nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}

	body := []byte(`{"state":"ready","version":"0.1.0","uptime_seconds":60,"devices":[{"kind":"camera","name":"Synthetic camera","present":true,"error":""}]}`)
	var (
		next     atomic.Int64
		failures atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
		lat      = make([][]time.Duration, workers)
	)
	start := time.Now()
	deadline := start.Add(duration)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				k := fleet[int(next.Add(1))%n]
				req, _ := http.NewRequest("POST", base+"/api/v1/device/heartbeat", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+k.token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %s", resp.Status)
					}
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(float64(len(all))*p))]
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kits\tworkers\tduration\theartbeats\tper second\tp50\tp99\tfailed\t")
	fmt.Fprintf(tw, "%d\t%d\t%v\t%d\t%.0f\t%v\t%v\t%d\t\n", n, workers, elapsed.Round(time.Millisecond), len(all),
		float64(len(all))/elapsed.Seconds(), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), failures.Load())
	tw.Flush()
	if err, ok := firstErr.Load().(error); ok {
		return fmt.Errorf("%d heartbeats failed, the first with: %w", failures.Load(), err)
	}
	return nil
}

// pair runs the kit side and the admin side of pairing for one fake kit.
func pair(client *http.Client, base, adminToken string, md metadata, i int) (*fakeKit, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k := &fakeKit{key: key}
	var da struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	for {
		err = postForm(client, md.DeviceAuthorizationEndpoint, url.Values{
			"client_id":         {provisioning.ClientID},
			"device_public_key": {provisioning.EncodePublicKey(pub)},
			"device_label":      {fmt.Sprintf("bench-%d", i+1)},
		}, &da)
		var rl *retryLater
		if errors.As(err, &rl) { // the portal rate-limits pairing per address
			time.Sleep(rl.wait)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("device authorization: %w", err)
		}
		break
	}
	pairBody, _ := json.Marshal(map[string]string{"user_code": da.UserCode, "name": fmt.Sprintf("Bench room %d", i+1), "time_zone": "UTC"})
	req, _ := http.NewRequest("POST", base+"/api/v1/admin/pairings", bytes.NewReader(pairBody))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	var paired struct {
		Room struct {
			ID string `json:"id"`
		} `json:"room"`
	}
	if err := doJSON(client, req, http.StatusCreated, &paired); err != nil {
		return nil, fmt.Errorf("admin approval: %w", err)
	}
	assertion, err := provisioning.SignAssertion(key, md.TokenEndpoint, time.Now())
	if err != nil {
		return nil, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := postForm(client, md.TokenEndpoint, url.Values{
		"grant_type":            {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code":           {da.DeviceCode},
		"client_id":             {provisioning.ClientID},
		"client_assertion_type": {provisioning.AssertionType},
		"client_assertion":      {assertion},
	}, &tok); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	k.roomID, k.token = paired.Room.ID, tok.AccessToken
	return k, nil
}

type retryLater struct{ wait time.Duration }

func (r *retryLater) Error() string { return fmt.Sprintf("retry in %v", r.wait) }

func postForm(client *http.Client, u string, v url.Values, out any) error {
	req, _ := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return doJSON(client, req, http.StatusOK, out)
}

func getJSON(client *http.Client, u string, out any) error {
	req, _ := http.NewRequest("GET", u, nil)
	return doJSON(client, req, http.StatusOK, out)
}

func doJSON(client *http.Client, req *http.Request, want int, out any) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusTooManyRequests {
		var secs int
		fmt.Sscan(resp.Header.Get("Retry-After"), &secs)
		return &retryLater{wait: time.Duration(max(secs, 1)) * time.Second}
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}
