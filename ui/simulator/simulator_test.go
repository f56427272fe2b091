package simulator

import (
	"bufio"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"roomkit/drivers/display"
	"roomkit/drivers/input"
	"roomkit/ui"
	"roomkit/ui/uitest"
)

var (
	_ display.Display = (*Simulator)(nil)
	_ input.Source    = (*Simulator)(nil)
)

var size = image.Pt(320, 200)

func newServer(t *testing.T) (*Simulator, *httptest.Server) {
	t.Helper()
	s := New(size)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		srv.Close()
	})
	return s, srv
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url+"/tap", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestTapBecomesDownAndUp(t *testing.T) {
	s, srv := newServer(t)
	taps := []image.Point{{0, 0}, {160, 100}, {319, 199}}
	for _, p := range taps {
		body := `{"x": ` + strconv.Itoa(p.X) + `, "y": ` + strconv.Itoa(p.Y) + `}`
		if code, msg := post(t, srv.URL, body); code != http.StatusNoContent {
			t.Fatalf("tap %s: %d %s", body, code, msg)
		}
	}
	for _, p := range taps {
		for _, k := range []input.Kind{input.Down, input.Up} {
			got := <-s.Events()
			if want := (input.Event{Kind: k, X: p.X, Y: p.Y}); got != want {
				t.Errorf("event = %+v, want %+v", got, want)
			}
		}
	}
}

func TestBadTaps(t *testing.T) {
	s, srv := newServer(t)
	tests := []struct {
		name, body string
		code       int
		msg        string // part of the message the browser shows
	}{
		{"not json", `x=1&y=2`, 400, "must be JSON"},
		{"empty", ``, 400, "must be JSON"},
		{"missing y", `{"x": 1}`, 400, `both "x" and "y"`},
		{"null x", `{"x": null, "y": 1}`, 400, `both "x" and "y"`},
		{"negative", `{"x": -1, "y": 1}`, 400, "off the screen"},
		{"x too big", `{"x": 320, "y": 1}`, 400, "off the screen (0 to 319)"},
		{"y too big", `{"x": 1, "y": 200}`, 400, "off the screen (0 to 199)"},
		{"huge", `{"x": 1e300, "y": 1}`, 400, "whole number"},
		{"fraction", `{"x": 1.5, "y": 1}`, 400, "whole number"},
		{"unknown field", `{"x": 1, "y": 1, "z": 3}`, 400, "unknown field"},
		{"trailing", `{"x": 1, "y": 1} {"x": 2, "y": 2}`, 400, "after the JSON"},
		{"too long", `{"x": 1, "y": 1, "pad": "` + strings.Repeat("a", 1000) + `"}`, 413, "over 256 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := post(t, srv.URL, tt.body)
			if code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Errorf("POST /tap %q = %d %q, want %d with %q", tt.body, code, msg, tt.code, tt.msg)
			}
		})
	}
	select {
	case e := <-s.Events():
		t.Errorf("a bad tap produced event %+v", e)
	default:
	}
}

// TestTapFromAnotherSite: a page on another site the user has open must
// not drive the room's screen; the simulator's own page still can.
func TestTapFromAnotherSite(t *testing.T) {
	s, srv := newServer(t)
	own := srv.URL // http://127.0.0.1:port, as the page's Origin
	tests := []struct {
		name        string
		header      map[string]string
		contentType string
		code        int
		msg         string
	}{
		{"other site", map[string]string{"Origin": "http://evil.example"}, "application/json", 403, "not from another site"},
		{"other port", map[string]string{"Origin": "http://127.0.0.1:1"}, "application/json", 403, "not from another site"},
		{"opaque origin", map[string]string{"Origin": "null"}, "application/json", 403, "not from another site"},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, "application/json", 403, "not from another site"},
		{"form post", nil, "text/plain", 415, "application/json"},
		{"own page", map[string]string{"Origin": own, "Sec-Fetch-Site": "same-origin"}, "application/json", 204, ""},
		{"no browser", nil, "application/json; charset=utf-8", 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/tap", strings.NewReader(`{"x": 5, "y": 6}`))
			req.Header.Set("Content-Type", tt.contentType)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.code || !strings.Contains(string(b), tt.msg) {
				t.Errorf("POST /tap = %d %q, want %d with %q", res.StatusCode, b, tt.code, tt.msg)
			}
		})
	}
	// Exactly the two accepted taps reached the UI.
	for range 2 {
		for _, k := range []input.Kind{input.Down, input.Up} {
			if got, want := <-s.Events(), (input.Event{Kind: k, X: 5, Y: 6}); got != want {
				t.Errorf("event = %+v, want %+v", got, want)
			}
		}
	}
	select {
	case e := <-s.Events():
		t.Errorf("a refused tap produced event %+v", e)
	default:
	}
}

func TestTapWhenUIIsStuck(t *testing.T) {
	_, srv := newServer(t)
	// Nobody reads Events: the queue fills, then taps are refused, not blocked.
	for i := 0; i < queueLen/2; i++ {
		if code, msg := post(t, srv.URL, `{"x":1,"y":1}`); code != http.StatusNoContent {
			t.Fatalf("tap %d: %d %s", i, code, msg)
		}
	}
	if code, msg := post(t, srv.URL, `{"x":1,"y":1}`); code != http.StatusServiceUnavailable || !strings.Contains(msg, "not reading input") {
		t.Errorf("tap on a full queue = %d %q, want 503 saying the UI is not reading", code, msg)
	}
}

func TestFramePNG(t *testing.T) {
	s, srv := newServer(t)
	r := ui.NewRenderer(size)
	frame := r.Render(ui.View{Screen: ui.Splash, Version: "test"})
	if err := s.Show(frame); err != nil {
		t.Fatal(err)
	}
	// The simulator must have copied the frame: scribbling on the
	// renderer's buffer afterwards must not change what browsers see.
	want := image.NewRGBA(frame.Rect)
	copy(want.Pix, frame.Pix)
	frame.Set(10, 10, color.RGBA{255, 0, 255, 255})

	for i := 0; i < 2; i++ { // the second request is served from the cache
		res, err := http.Get(srv.URL + "/frame.png")
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("decode /frame.png: %v", err)
		}
		if d, _ := uitest.Diff(got, want, 0); d != 0 {
			t.Errorf("/frame.png differs from the shown frame in %d pixels", d)
		}
		if got := res.Header.Get("X-Frame"); got != "1" {
			t.Errorf("X-Frame = %q, want 1", got)
		}
	}
}

func TestShowWrongSize(t *testing.T) {
	s := New(size)
	if err := s.Show(image.NewRGBA(image.Rect(0, 0, 10, 10))); err == nil || !strings.Contains(err.Error(), "(10,10)") {
		t.Errorf("Show of a 10×10 frame = %v, want an error naming the size", err)
	}
	s.Close()
	if err := s.Show(image.NewRGBA(image.Rectangle{Max: size})); err == nil {
		t.Error("Show after Close succeeded")
	}
	if _, ok := <-s.Events(); ok {
		t.Error("Events still open after Close")
	}
}

func TestEventsAnnounceFrames(t *testing.T) {
	s, srv := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	lines := bufio.NewScanner(res.Body)
	next := func() string {
		t.Helper()
		for lines.Scan() {
			if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				return d
			}
		}
		t.Fatalf("event stream ended: %v", lines.Err())
		return ""
	}
	if got := next(); got != "0" {
		t.Errorf("first event announces frame %s, want the current frame 0", got)
	}
	img := image.NewRGBA(image.Rectangle{Max: size})
	for i, want := range []string{"1", "2"} {
		img.Pix[0] = byte(i + 1)
		if err := s.Show(img); err != nil {
			t.Fatal(err)
		}
		if got := next(); got != want {
			t.Errorf("event announces frame %s, want %s", got, want)
		}
	}
	// The same frame again is no news.
	if err := s.Show(img); err != nil {
		t.Fatal(err)
	}
	img.Pix[0] = 99
	if err := s.Show(img); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "3" {
		t.Errorf("event announces frame %s after a repeated frame, want 3", got)
	}
	// Close ends the stream.
	s.Close()
	for lines.Scan() {
	}
}

func TestPage(t *testing.T) {
	_, srv := newServer(t)
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	page := string(b)
	for _, want := range []string{"const W = 320, H = 200", `EventSource("events")`, `fetch("tap"`, `src="frame.png"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "{{"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: it must be self-contained", bad)
		}
	}
	if res, err := http.Get(srv.URL + "/nothing"); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET /nothing = %d, want 404", res.StatusCode)
		}
	}
}

func TestInputStatus(t *testing.T) {
	s := New(size)
	defer s.Close()
	if k := s.Status().Kind; k != "display" {
		t.Errorf("Status().Kind = %q", k)
	}
	if k := s.Input().Status().Kind; k != "input" {
		t.Errorf("Input().Status().Kind = %q", k)
	}
}
