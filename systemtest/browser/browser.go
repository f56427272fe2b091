// Package browser drives Debian's headless Chromium for the tests that
// must see what a person sees: the admin center, the kit's screen
// simulator, the join page. Failures say what the browser showed, and
// screenshots land in $ROOMKIT_ARTIFACTS (a temporary folder by default).
package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path is where Debian's chromium package installs the browser
// (scripts/setup-test.sh installs it).
const Path = "/usr/bin/chromium"

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	t         testing.TB
	ctx       context.Context
	Artifacts string
}

// Option adjusts how Chromium is started.
type Option func(*[]chromedp.ExecAllocatorOption)

// Flag adds a Chromium command-line flag, e.g.
// Flag("use-fake-device-for-media-stream", true) for a test that needs a
// camera and microphone.
func Flag(name string, value any) Option {
	return func(opts *[]chromedp.ExecAllocatorOption) {
		*opts = append(*opts, chromedp.Flag(name, value))
	}
}

// FakeMedia gives pages a synthetic camera and microphone (and screen)
// and grants them without asking, for tests of meetings in the browser.
func FakeMedia() Option {
	return func(opts *[]chromedp.ExecAllocatorOption) {
		*opts = append(*opts,
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	}
}

// New starts Chromium, or skips the test with the reason when it is not
// installed. The browser ends with the test.
func New(t testing.TB, options ...Option) *Browser {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		t.Skipf("no Chromium at %s (scripts/setup-test.sh installs Debian's chromium): %v", Path, err)
	}
	artifacts := os.Getenv("ROOMKIT_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	// The flags keep Chromium from reaching out to the internet, which
	// this machine's network refuses anyway (slowly).
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	for _, o := range options {
		o(&opts)
	}
	ctx, err := start(t, opts, artifacts)
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &Browser{t: t, ctx: ctx, Artifacts: artifacts}
}

// startAttempts is how often New starts Chromium. Only a start in which
// the process exits before it answers is tried again: under the stress
// check (busy loops on every core) Chromium's zygote has been seen to exit
// at start-up with no output. Any other failure is reported at once.
const startAttempts = 3

// start starts the browser, bound to the returned context, which the
// test's cleanup cancels. Each attempt's output (Chromium's stdout and
// stderr) is kept in artifacts, so a failure can be read in full.
func start(t testing.TB, opts []chromedp.ExecAllocatorOption, artifacts string) (context.Context, error) {
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		name := fmt.Sprintf("chromium-%s-%d.log", strings.Map(fileSafe, t.Name()), attempt)
		logFile, ferr := os.Create(filepath.Join(artifacts, name))
		if ferr != nil {
			return nil, ferr
		}
		t.Cleanup(func() { logFile.Close() })
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			append(opts, chromedp.CombinedOutput(logFile))...)
		ctx, cancelCtx := chromedp.NewContext(actx)
		t.Cleanup(func() { cancelCtx(); cancelAlloc() })
		// The first run on a context owns the browser, and a step's
		// timeout must not close it: start it now, bound to ctx.
		if err = chromedp.Do(ctx); err == nil {
			return ctx, nil
		}
		cancelCtx()
		cancelAlloc()
		if !strings.Contains(err.Error(), "chrome failed to start") {
			break
		}
		t.Logf("Chromium exited while starting (attempt %d of %d, output in %s): %v",
			attempt, startAttempts, logFile.Name(), err)
	}
	return nil, err
}

// stepTimeout bounds one Do: a hang guard, not a performance assertion.
// It is generous because CI runs the browser beside QEMU and LiveKit on
// two cores.
const stepTimeout = 2 * time.Minute

// Do runs steps; on failure it fails the test with the page's URL, the
// HTML of its <body> and a screenshot, so the failure explains itself.
func (b *Browser) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		sctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		html, _ := chromedp.Run(sctx, chromedp.OuterHTML(chromedp.CSS("body")))
		url, _ := chromedp.Run(sctx, chromedp.Location())
		if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil {
			os.WriteFile(filepath.Join(b.Artifacts, "failed-"+strings.Map(fileSafe, what)+".png"), png, 0o644)
		}
		b.t.Fatalf("%s: %v\nbrowser at %s shows:\n%s", what, err, url, html)
	}
}

// fileSafe keeps letters and digits of a step's name for a file name.
func fileSafe(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
		return r
	}
	return '-'
}

// Loaded waits until the page has finished loading: an element a step
// waits for can be there while the parser has not yet reached what
// follows it (a table read then is cut short).
func Loaded() chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`document.readyState === "complete"`)
}

// SignIn opens page of the portal's admin center, which shows its sign-in
// form first, and signs in as email with password. What the page shows
// then is the caller's to wait for.
func SignIn(page, email, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`#signin`)))
}

// Text returns the visible text of the first element matching sel.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := read(b.ctx, func() chromedp.Action[string] { return chromedp.Text(chromedp.CSS(sel)) })
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// Value returns the value of the form field matching sel.
func (b *Browser) Value(sel string) string {
	b.t.Helper()
	s, err := read(b.ctx, func() chromedp.Action[string] { return chromedp.Value(chromedp.CSS(sel)) })
	if err != nil {
		b.t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

// read runs a query that reads the page. Right after a navigation
// chromedp can still hold a node of the document before, which Chromium
// answers with "No node with given id found" (the stress check met it on
// a loaded machine): the query then runs again, anew, on the new
// document.
func read(ctx context.Context, query func() chromedp.Action[string]) (string, error) {
	for try := 1; ; try++ {
		s, err := chromedp.Run(ctx, query())
		if err == nil || try == 5 || !strings.Contains(err.Error(), "No node with given id") {
			return s, err
		}
	}
}

// Screenshot saves the whole page as name (a .png) in Artifacts.
func (b *Browser) Screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.Artifacts, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// Eval evaluates a JavaScript expression and returns its result.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}
