package tufclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// ErrRangeIgnored is wrapped by Fetch's error when the server answered a
// resumed download (offset > 0) with the whole file: the caller starts
// again from offset 0.
var ErrRangeIgnored = errors.New("the download server cannot resume a download")

var errTooLong = errors.New("the download server sent more than the signed length")

// Fetch opens the target's bytes from offset (HTTP Range when offset > 0), never more than c.Length-offset bytes
// (longer: error "the download server sent more than the signed length"), with stall detection. The caller hashes.
//
// A server that answers a Range request with 200 (the whole file) gets an
// error wrapping ErrRangeIgnored. A body that ends early reads as an
// error naming how far it got. Close ends the request.
func Fetch(ctx context.Context, cfg Config, c Candidate, offset int64) (io.ReadCloser, error) {
	if c.URL == "" || c.Length <= 0 {
		return nil, errors.New("the release has no download address or length")
	}
	if offset < 0 || offset > c.Length {
		return nil, fmt.Errorf("cannot resume at byte %d of a %d-byte release", offset, c.Length)
	}
	remaining := c.Length - offset
	if remaining == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	ctx, cancel := context.WithCancel(ctx)
	w := newWatch(&cfg, cancel)
	fail := func(err error) (io.ReadCloser, error) {
		w.stop()
		cancel()
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return fail(fmt.Errorf("the release's download address %q is not usable: %w", c.URL, err))
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	w.begin()
	resp, err := httpClient(&cfg).Do(req)
	if werr := w.end(0); werr != nil && err == nil {
		resp.Body.Close()
		err = werr
	}
	if err != nil {
		if ctx.Err() != nil && w.reason() == nil {
			return fail(fmt.Errorf("downloading %s: %w", c.Release.Version, ctx.Err()))
		}
		return fail(requestError(err, w, "release "+c.Release.Version))
	}
	ok := false
	defer func() {
		if !ok {
			resp.Body.Close()
		}
	}()
	switch {
	case offset == 0 && resp.StatusCode == http.StatusOK:
	case offset > 0 && resp.StatusCode == http.StatusPartialContent:
		start, err := parseContentRange(resp.Header.Get("Content-Range"), c.Length)
		if err != nil {
			return fail(sentencef(err, "the download server answered the resumed download badly: %v", err))
		}
		if start != offset {
			return fail(fmt.Errorf("the download server resumed at byte %d instead of %d", start, offset))
		}
	case offset > 0 && resp.StatusCode == http.StatusOK:
		return fail(sentencef(ErrRangeIgnored, "%s: it sent the whole file instead of the rest from byte %d", ErrRangeIgnored, offset))
	default:
		return fail(sentencef(&metadata.ErrDownloadHTTP{StatusCode: resp.StatusCode, URL: c.URL},
			"the download server answered %s for %s", resp.Status, c.URL))
	}
	if resp.ContentLength > remaining {
		return fail(sentencef(errTooLong, "%s (%d bytes instead of %d)", errTooLong, resp.ContentLength, remaining))
	}
	ok = true
	return &body{resp: resp, w: w, cancel: cancel, remaining: remaining, total: c.Length, offset: offset}, nil
}

// body hands out at most remaining bytes and then checks that the server
// had nothing more to send.
type body struct {
	resp      *http.Response
	w         *watch
	cancel    context.CancelFunc
	remaining int64
	total     int64
	offset    int64
	read      int64
	err       error
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.remaining == 0 {
		b.err = b.probe()
		return 0, b.err
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	b.w.begin()
	n, err := b.resp.Body.Read(p)
	werr := b.w.end(n)
	b.remaining -= int64(n)
	b.read += int64(n)
	switch {
	case werr != nil:
		b.err = werr
	case (err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)) && b.remaining > 0:
		b.err = sentencef(io.ErrUnexpectedEOF, "the download broke off after %d of %d bytes", b.offset+b.read, b.total)
	case err == io.EOF:
		b.err = io.EOF
	case err != nil:
		b.err = requestError(err, b.w, "the release")
	}
	// io.Reader lets the good bytes and the error come together; the
	// error sticks for every later read.
	return n, b.err
}

// probe reads past the signed length: anything there means the server
// is not serving the signed file. A server that merely fails to end the
// body cleanly has sent everything the caller needs.
func (b *body) probe() error {
	var one [1]byte
	b.w.begin()
	n, _ := b.resp.Body.Read(one[:])
	b.w.end(n)
	if n > 0 {
		return errTooLong
	}
	return io.EOF
}

func (b *body) Close() error {
	b.w.stop()
	b.cancel()
	return b.resp.Body.Close()
}

// parseContentRange reads "bytes START-END/TOTAL" and returns START; END
// must be the last byte of the signed length and TOTAL the signed length
// (or "*").
func parseContentRange(s string, length int64) (int64, error) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, fmt.Errorf("Content-Range %q is not a byte range", s)
	}
	span, total, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, fmt.Errorf("Content-Range %q has no total length", s)
	}
	a, z, ok := strings.Cut(span, "-")
	if !ok {
		return 0, fmt.Errorf("Content-Range %q has no range", s)
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(z, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, fmt.Errorf("Content-Range %q has no valid range", s)
	}
	if total != "*" {
		n, err := strconv.ParseInt(total, 10, 64)
		if err != nil || n != length {
			return 0, fmt.Errorf("Content-Range %q does not end at the signed length %d", s, length)
		}
	}
	if end != length-1 {
		return 0, fmt.Errorf("Content-Range %q does not end at the signed length %d", s, length)
	}
	return start, nil
}
