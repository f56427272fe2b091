// Command loginflood sends a burst of simultaneous wrong sign-ins for one
// account to a real portal process and prints what came back and what it
// cost the portal: answers by status, passwords checked (each 401 is one
// argon2 check), and the portal's resident memory before and at its peak
// (VmRSS and VmHWM from /proc/<pid>/status).
//
// It builds nothing: it runs a portal binary (`make build` puts one in
// bin/), with meetings off, on loopback in a temporary directory. With
// -addresses N > 1 the portal trusts loopback as a proxy and the burst
// comes from N client addresses in X-Forwarded-For.
//
//	make build
//	go run ./bench/loginflood [-portal bin/portal] [-n 200] [-addresses 1]
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"roomkit/internal/procmem"
)

const (
	email    = "it@example.com"
	password = "correct4horse" // of a throwaway portal in a temporary directory
)

func main() {
	bin := flag.String("portal", "bin/portal", "the portal binary")
	n := flag.Int("n", 200, "simultaneous wrong sign-ins")
	addresses := flag.Int("addresses", 1, "client addresses they come from (more than 1: through a trusted loopback proxy)")
	timeout := flag.Duration("timeout", 60*time.Second, "how long one request may take before it counts as unanswered")
	flag.Parse()
	if err := run(*bin, *n, *addresses, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "loginflood:", err)
		os.Exit(1)
	}
}

func run(bin string, n, addresses int, timeout time.Duration) error {
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("no portal binary: run `make build` or pass -portal (%w)", err)
	}
	dir, err := os.MkdirTemp("", "loginflood-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(bin, "admin", "create", "-data", data, "-email", email, "-password", password).CombinedOutput(); err != nil {
		return fmt.Errorf("portal admin create: %w: %s", err, out)
	}
	args := []string{"-listen", "127.0.0.1:0", "-data", data, "-livekit", "off"}
	if addresses > 1 {
		args = append(args, "-trusted-proxy", "127.0.0.0/8")
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start portal: %w", err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	base, err := portalURL(stdout)
	if err != nil {
		return err
	}
	go io.Copy(io.Discard, stdout)

	csrf, cookie, err := loginForm(base)
	if err != nil {
		return err
	}
	// One warm-up sign-in from an address of its own, so the figures
	// below are the flood's and not the first argon2 check's.
	if status, err := signIn(noRedirects(0), base, "192.0.2.1", addresses > 1, csrf, cookie, password); err != nil || status != http.StatusSeeOther && status != http.StatusOK {
		return fmt.Errorf("warm-up sign-in: %d %v", status, err)
	}
	before, err := procmem.Read(cmd.Process.Pid, "the portal")
	if err != nil {
		return err
	}
	rssBefore := before.RSS

	client := noRedirects(timeout)
	client.Transport = &http.Transport{DisableKeepAlives: true, MaxIdleConnsPerHost: n}
	start := make(chan struct{})
	statuses := make([]int, n)
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := i % addresses
			from := fmt.Sprintf("10.%d.%d.%d", a>>16&255, a>>8&255, a&255)
			<-start
			status, err := signIn(client, base, from, addresses > 1, csrf, cookie, "wrong-password-1")
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				status = 0
			}
			statuses[i] = status
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	after, err := procmem.Read(cmd.Process.Pid, "the portal")
	if err != nil {
		return err
	}
	hwm := after.HWM

	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "requests\taddresses\tanswered\t401 (password checked)\t429\t503\tother\tunanswered\tRSS before\tpeak RSS\tgrowth\tall answered after\t")
	other := n - count[0] - count[401] - count[429] - count[503]
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f MB\t%.0f MB\t%.0f MB\t%v\t\n", n, addresses, n-count[0],
		count[401], count[429], count[503], other, count[0],
		float64(rssBefore)/1e6, float64(hwm)/1e6, float64(hwm-rssBefore)/1e6, elapsed.Round(time.Millisecond))
	tw.Flush()
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "loginflood: %d requests unanswered, the first: %v\n", count[0], firstErr)
	}
	return nil
}

// portalURL reads the portal's base URL from its first line of output.
func portalURL(stdout io.Reader) (string, error) {
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("portal did not start: %w", err)
	}
	u, ok := strings.CutPrefix(strings.TrimSpace(line), "portal listening on ")
	if !ok {
		return "", fmt.Errorf("portal said %q, not where it listens", line)
	}
	return u, nil
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// loginForm opens the sign-in page: its CSRF token and cookie may be
// sent with any number of attempts.
func loginForm(base string) (csrf, cookie string, err error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/admin/login")
	if err != nil {
		return "", "", fmt.Errorf("sign-in page: %w", err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	m := csrfField.FindSubmatch(page)
	if m == nil {
		return "", "", errors.New("sign-in page has no CSRF field")
	}
	u, _ := url.Parse(base)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "roomkit_login" {
			cookie = ck.Value
		}
	}
	return string(m[1]), cookie, nil
}

// noRedirects is a client that returns a redirect as it is: 303 is the
// answer to a right password.
func noRedirects(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn posts the sign-in form, from the client address from if
// forwarded, and returns the status.
func signIn(c *http.Client, base, from string, forwarded bool, csrf, cookie, pw string) (int, error) {
	v := url.Values{"csrf": {csrf}, "email": {email}, "password": {pw}, "next": {"/admin/rooms"}}
	req, _ := http.NewRequest("POST", base+"/admin/login", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.AddCookie(&http.Cookie{Name: "roomkit_login", Value: cookie})
	if forwarded {
		req.Header.Set("X-Forwarded-For", from)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
