package tufclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fastConfig shortens the stall watch so a stalling server is caught in
// milliseconds rather than 30 s.
func fastConfig(base string) Config {
	return Config{BaseURL: base, stall: time.Second, minBytes: 256, metaTimeout: 10 * time.Second}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// blockUntilGone keeps a response open until the client goes away: the
// server "stops sending" without any timer in the test.
func blockUntilGone(w http.ResponseWriter, r *http.Request) {
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// drip sends b a byte every 20 ms, until it ends or the client goes
// away: a server far too slow to wait for.
func drip(w http.ResponseWriter, r *http.Request, b []byte) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range b {
		if _, err := w.Write(b[i : i+1]); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func TestFetch(t *testing.T) {
	image := randomBytes(t, 100_000)
	const file = "/targets/releases/1.0.0/abc.sim.root"
	serveFile := func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "x", time.Time{}, bytes.NewReader(image))
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		offset  int64
		want    []byte // bytes before the error
		wantErr string // "" : io.EOF after want
		is      error
	}{
		{name: "whole file", handler: serveFile, want: image},
		{name: "resumed", handler: serveFile, offset: 60_000, want: image[60_000:]},
		{name: "resumed at the end", handler: serveFile, offset: int64(len(image)), want: nil},
		{name: "range ignored", offset: 10, handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write(image)
		}, wantErr: "the download server cannot resume a download: it sent the whole file instead of the rest from byte 10", is: ErrRangeIgnored},
		{name: "resumed at the wrong byte", offset: 10, handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 20-99999/100000")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(image[20:])
		}, wantErr: "the download server resumed at byte 20 instead of 10"},
		{name: "not found", handler: http.NotFound, wantErr: "the download server answered 404 Not Found for "},
		{name: "longer than signed, with length", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100001")
			w.Write(append(image, 'x'))
		}, wantErr: "the download server sent more than the signed length (100001 bytes instead of 100000)"},
		{name: "endless data", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write(image)
			for r.Context().Err() == nil {
				if _, err := w.Write(image[:1000]); err != nil {
					return
				}
			}
		}, want: image, wantErr: "the download server sent more than the signed length"},
		{name: "truncated", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			w.Write(image[:30_000])
		}, want: image[:30_000], wantErr: "the download broke off after 30000 of 100000 bytes", is: io.ErrUnexpectedEOF},
		{name: "stall mid-way", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write(image[:50_000])
			blockUntilGone(w, r)
		}, want: image[:50_000], wantErr: "the download server stopped sending for 1 s"},
		{name: "stall before the headers", handler: func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, wantErr: "the download server stopped sending for 1 s"},
		{name: "slow drip", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			w.WriteHeader(http.StatusOK)
			drip(w, r, image)
		}, wantErr: "the download server sent only "},
		{name: "redirect loop", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		}, wantErr: "the download server redirected more than 3 times"},
		{name: "three redirects are fine", handler: func(w http.ResponseWriter, r *http.Request) {
			if n := strings.Count(r.URL.RawQuery, "x"); n < 3 {
				http.Redirect(w, r, r.URL.Path+"?"+r.URL.RawQuery+"x", http.StatusFound)
				return
			}
			serveFile(w, r)
		}, want: image},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			cfg := fastConfig(srv.URL)
			c := Candidate{Length: int64(len(image)), URL: srv.URL + file}
			rc, err := Fetch(context.Background(), cfg, c, tt.offset)
			var got []byte
			if err == nil {
				got, err = io.ReadAll(rc)
				rc.Close()
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
			} else {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("error %v does not wrap %v", err, tt.is)
				}
			}
			if tt.want != nil && !bytes.Equal(got, tt.want) {
				t.Errorf("got %d bytes, want %d", len(got), len(tt.want))
			}
			if int64(len(got)) > c.Length-tt.offset {
				t.Errorf("got %d bytes, more than the %d signed", len(got), c.Length-tt.offset)
			}
		})
	}
}

func TestFetchRefusesBadRequests(t *testing.T) {
	for _, tt := range []struct {
		c      Candidate
		offset int64
		want   string
	}{
		{Candidate{Length: 10}, 0, "the release has no download address or length"},
		{Candidate{Length: 10, URL: "http://x/y"}, 11, "cannot resume at byte 11 of a 10-byte release"},
		{Candidate{Length: 10, URL: "http://x/y"}, -1, "cannot resume at byte -1 of a 10-byte release"},
	} {
		_, err := Fetch(context.Background(), Config{}, tt.c, tt.offset)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Fetch(%+v, %d) = %v, want %q", tt.c, tt.offset, err, tt.want)
		}
	}
}

func TestFetchCancel(t *testing.T) {
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("abc"))
		close(started)
		blockUntilGone(w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{BaseURL: srv.URL} // default 30 s stall: the cancel must win
	rc, err := Fetch(ctx, cfg, Candidate{Length: 100, URL: srv.URL + "/t"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	<-started
	go cancel()
	_, err = io.ReadAll(rc)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestParseContentRange(t *testing.T) {
	for _, tt := range []struct {
		in    string
		start int64
		ok    bool
	}{
		{"bytes 10-99/100", 10, true},
		{"bytes 0-99/*", 0, true},
		{"bytes 10-98/100", 0, false},
		{"bytes 10-99/101", 0, false},
		{"bytes 10-9/100", 0, false},
		{"bytes -1-99/100", 0, false},
		{"items 10-99/100", 0, false},
		{"bytes 10-99", 0, false},
		{"", 0, false},
	} {
		start, err := parseContentRange(tt.in, 100)
		if (err == nil) != tt.ok || start != tt.start {
			t.Errorf("parseContentRange(%q) = %d, %v", tt.in, start, err)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	f.Add("bytes 10-99/100", int64(100))
	f.Add("bytes 0-0/*", int64(1))
	f.Add("bytes 9223372036854775807-9223372036854775806/1", int64(1))
	f.Fuzz(func(t *testing.T, s string, length int64) {
		start, err := parseContentRange(s, length)
		if err == nil && (start < 0 || start > length-1) {
			t.Fatalf("parseContentRange(%q, %d) = %d: outside the file", s, length, start)
		}
	})
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second:       "30 s",
		2 * time.Minute:        "2 min",
		90 * time.Second:       "90 s",
		300 * time.Millisecond: "300ms",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%v) = %q, want %q", d, got, want)
		}
	}
}
