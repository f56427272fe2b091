package tufclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// transport is shared by every check and download so connections to the
// update server are reused. Response-header and body timeouts are left to
// the stall watch, which knows the difference between a slow link and a
// dead one.
var transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSHandshakeTimeout = 15 * time.Second
	t.MaxIdleConnsPerHost = 2
	return t
}()

var (
	errTooManyRedirects = errors.New("the download server redirected more than 3 times")
	errInsecureRedirect = errors.New("the download server redirected from https to plain http")
)

// httpClient is the one client every request goes through.
func httpClient(cfg *Config) *http.Client {
	c := http.Client{Transport: transport}
	if cfg.Client != nil {
		c = *cfg.Client
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return errTooManyRedirects
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return errInsecureRedirect
		}
		return nil
	}
	return &c
}

// requestError turns what http.Client.Do or a body read returned into a
// sentence, preferring what the watch saw (a stall cancels the request,
// which surfaces as "context canceled").
func requestError(err error, w *watch, what string) error {
	if err == nil {
		return nil
	}
	if isSentence(err) {
		return err
	}
	if s := w.reason(); s != nil {
		return s
	}
	switch {
	case errors.Is(err, errTooManyRedirects):
		return sentencef(err, "%s", errTooManyRedirects)
	case errors.Is(err, errInsecureRedirect):
		return sentencef(err, "%s", errInsecureRedirect)
	case errors.Is(err, context.Canceled):
		return err
	}
	return sentencef(err, "cannot get %s from the update server: %v", what, err)
}

// watch aborts a request whose server stops sending, or sends so slowly
// that it would never finish. Only time spent waiting inside a read
// counts: a caller that pauses between reads (writing to a slow disk,
// throttled during a meeting) is not the server's fault.
type watch struct {
	window   time.Duration
	minBytes int64
	timer    *time.Timer

	mu     sync.Mutex
	why    error
	fired  atomic.Bool
	start  time.Time
	waited time.Duration
	got    int64
}

func newWatch(cfg *Config, cancel context.CancelFunc) *watch {
	w := &watch{window: cfg.stallWindow(), minBytes: cfg.minBytesPerWindow()}
	w.timer = time.AfterFunc(time.Hour, func() {
		w.fired.Store(true)
		w.fail(fmt.Errorf("the download server stopped sending for %s", human(w.window)))
		cancel()
	})
	w.timer.Stop()
	return w
}

// begin is called before waiting on the server.
func (w *watch) begin() {
	w.start = time.Now()
	w.timer.Reset(w.window)
}

// end is called after the wait returned n bytes; it reports a drip.
func (w *watch) end(n int) error {
	w.timer.Stop()
	if w.fired.Load() {
		return w.reason()
	}
	w.waited += time.Since(w.start)
	w.got += int64(n)
	if w.waited >= w.window {
		if w.got < w.minBytes {
			w.fail(fmt.Errorf("the download server sent only %d bytes in %s: too slow to finish", w.got, human(w.window)))
			return w.reason()
		}
		w.waited, w.got = 0, 0
	}
	return nil
}

func (w *watch) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.why == nil {
		w.why = &sentence{msg: err.Error(), err: err}
	}
}

func (w *watch) reason() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.why
}

func (w *watch) stop() { w.timer.Stop() }

// human writes a duration the way the sentences do: "30 s", "2 min".
func human(d time.Duration) string {
	switch {
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	case d >= time.Second && d%time.Second == 0:
		return fmt.Sprintf("%d s", d/time.Second)
	}
	return d.String()
}

// fetcher is go-tuf's metadata fetcher: the shared client, the length
// limit go-tuf asks for, the stall watch and a time limit per file. It
// remembers the last file it fetched, so errors can name the file and
// the versions involved.
type fetcher struct {
	ctx    context.Context
	cfg    *Config
	client *http.Client

	lastURL  string
	lastData []byte
}

func newFetcher(ctx context.Context, cfg *Config) *fetcher {
	return &fetcher{ctx: ctx, cfg: cfg, client: httpClient(cfg)}
}

// DownloadFile implements fetcher.Fetcher.
func (f *fetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	f.lastURL, f.lastData = u, nil
	name := path.Base(u)
	ctx, cancel := context.WithTimeout(f.ctx, f.cfg.metadataTimeout())
	defer cancel()
	w := newWatch(f.cfg, cancel)
	defer w.stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("the update server address %q is not usable: %w", u, err)
	}
	w.begin()
	resp, err := f.client.Do(req)
	if werr := w.end(0); werr != nil && err == nil {
		resp.Body.Close()
		err = werr
	}
	if err != nil {
		return nil, f.netError(ctx, err, w, name)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: resp.StatusCode, URL: u}
	}
	tooLong := &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s from the update server is larger than %d bytes", name, maxLength)}
	if resp.ContentLength > maxLength {
		return nil, tooLong
	}
	data, err := io.ReadAll(&watchedReader{r: io.LimitReader(resp.Body, maxLength+1), w: w})
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, sentencef(err, "the download of %s broke off after %d bytes", name, len(data))
		}
		return nil, f.netError(ctx, err, w, name)
	}
	if int64(len(data)) > maxLength {
		return nil, tooLong
	}
	f.lastData = data
	return data, nil
}

func (f *fetcher) netError(ctx context.Context, err error, w *watch, name string) error {
	if s := w.reason(); s != nil {
		return s
	}
	if f.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return sentencef(err, "the update server took longer than %s to send %s", human(f.cfg.metadataTimeout()), name)
	}
	return requestError(err, w, name)
}

// watchedReader runs every read of r under the watch.
type watchedReader struct {
	r io.Reader
	w *watch
}

func (wr *watchedReader) Read(p []byte) (int, error) {
	wr.w.begin()
	n, err := wr.r.Read(p)
	if werr := wr.w.end(n); werr != nil {
		return n, werr
	}
	return n, err
}
