package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"roomkit/ota"
	"roomkit/ota/tufclient"
)

const (
	maxReconnects = 8 // within one download, before it counts as failed
	// busyRate caps the download while a meeting runs, so the meeting
	// keeps the kit's uplink and CPU; busyPoll is how often it asks.
	busyRate = 2 << 20 // bytes per second
	busyPoll = 256 << 10
)

// errMismatch: the bytes did not hash to the signed SHA-256.
var errMismatch = errors.New("The download did not match the signed release; nothing was installed")

// errReadBack: the partition did not hold the prefix a resumed download
// expected (a cut lost what gokrazy had not written yet).
var errReadBack = errors.New("the partial download is not all on the partition")

// permanentError is a download failure that retrying cannot fix.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// download streams the target into the inactive partition and verifies
// it; phase downloading.
func (a *Agent) download(ctx context.Context) (time.Duration, error) {
	t := a.s.Target
	if p, err := a.gk.Partitions(); err == nil && p.Moved() {
		// The last update was switched to but the kit has not restarted
		// since: gokrazy would write the running root. One plain reboot,
		// at a time an install could happen, sets that right.
		return a.rebootFirst(ctx)
	}
	a.showProgress(t, a.s.Written)
	offset, start := a.s.Written, time.Now()
	err := a.stream(ctx, t, offset)
	var perm *permanentError
	switch {
	case err == nil:
		a.downloadErrs = 0
		a.s.Phase, a.s.Written = phaseDownloaded, t.Length
		if err := a.save(); err != nil {
			return a.stateError(err)
		}
		a.log.Info("update downloaded and verified", "version", t.Version,
			"bytes", t.Length-offset, "took", time.Since(start).Round(time.Millisecond))
		return 0, nil
	case errors.Is(err, errPowerCut):
		return 0, err
	case ctx.Err() != nil:
		return 0, ctx.Err()
	case errors.Is(err, errMismatch) && offset > 0, errors.Is(err, errReadBack):
		// A cut can lose what gokrazy had not synced: the read-back
		// prefix was not all there. Not an attack; start over.
		a.log.Warn("the resumed download did not verify; downloading again from the start", "version", t.Version)
		return 0, a.restartDownload()
	case errors.Is(err, errMismatch), errors.As(err, &perm):
		return 0, a.fail(err.Error())
	case errors.Is(err, tufclient.ErrRangeIgnored):
		a.log.Warn("the download server cannot resume; downloading again from the start", "version", t.Version)
		return 0, a.restartDownload()
	}
	a.downloadErrs++
	a.log.Warn("update download failed", "version", t.Version, "err", err, "failures", a.downloadErrs)
	if a.downloadErrs >= maxDownloadErr {
		return 0, a.fail(fmt.Sprintf("downloading %s failed %d times: %v", t.Version, a.downloadErrs, err))
	}
	a.showError(fmt.Sprintf("downloading %s: %v; trying again", t.Version, err))
	return time.Duration(a.downloadErrs) * time.Minute, nil
}

func (a *Agent) restartDownload() error {
	a.s.Written = 0
	if err := a.save(); err != nil {
		_, err = a.stateError(err)
		return err
	}
	return nil
}

func (a *Agent) showProgress(t *target, written int64) {
	a.mu.Lock()
	a.status.State = ota.Downloading
	a.status.TargetVersion = t.Version
	a.status.Progress = float64(written) / float64(t.Length)
	a.status.Detail = fmt.Sprintf("downloading %s (%d %%)", t.Version, written*100/t.Length)
	a.mu.Unlock()
}

// stream sends the target to gokrazy's PUT /update/root. gokrazy writes
// from the partition's first byte, so a resumed download sends the prefix
// already written, read back from the partition, and fetches only the
// rest.
//
// The agent does not hash the bytes itself: gokrazy answers the SHA-256
// of what it wrote, which is what must match the signed one, and a
// second pass over the image halved the kit's update speed in QEMU
// (docs/benchmarks.md, "Updates").
func (a *Agent) stream(ctx context.Context, t *target, offset int64) error {
	u := &upload{a: a, ctx: ctx, t: t, st: a.s}
	u.st.Written = 0
	if offset > 0 {
		rc, err := a.gk.ReadInactive()
		if err != nil {
			a.log.Warn("cannot read back the partial download; starting over", "err", err)
		} else {
			defer rc.Close()
			u.prefix, u.resumeAt = io.LimitReader(rc, offset), offset
			u.st.Written, u.savedAt = offset, offset
			a.log.Info("resuming the download", "version", t.Version, "at", offset)
		}
	}
	sum, err := a.gk.PutRoot(ctx, u, t.Length)
	written, uerr := u.close()
	a.s.Written = written
	a.resumedFrom = u.resumeAt
	if uerr != nil {
		return uerr
	}
	if err != nil {
		if strings.Contains(err.Error(), "no space left") {
			return &permanentError{fmt.Sprintf("%s does not fit the kit's root partition (%d bytes): %v", t.Version, t.Length, err)}
		}
		return err
	}
	if u.pos != t.Length {
		return fmt.Errorf("the download stopped at byte %d of %d", u.pos, t.Length)
	}
	if sum != t.SHA256 {
		a.log.Error("update does not match its signature", "version", t.Version, "signed", t.SHA256, "written", sum)
		return errMismatch
	}
	return nil
}

// upload is the body of the PUT. The HTTP client reads it from its own
// goroutine, so it keeps its own copy of the state and a lock.
type upload struct {
	a   *Agent
	ctx context.Context
	t   *target

	mu         sync.Mutex
	st         state // the agent's, for progress saves
	prefix     io.Reader
	resumeAt   int64
	body       io.ReadCloser
	pos        int64
	savedAt    int64 // pos at the last progress save
	reconnects int
	err        error
	closed     bool
	busy       bool  // a meeting ran at the last poll
	polledAt   int64 // pos of the last poll
	saver      progressSaver
}

func (u *upload) Read(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return 0, errors.New("upload closed")
	}
	if u.err != nil {
		return 0, u.err
	}
	n, err := u.read(p)
	if n > 0 {
		u.pos += int64(n)
		if u.pos-u.savedAt >= u.a.saveEvery {
			if serr := u.saveProgress(); serr != nil {
				err = serr
			}
		}
	}
	if err != nil && err != io.EOF {
		u.err = err
	}
	return n, err
}

// saveProgress records how far the partition is surely written: what was
// handed to gokrazy one save ago (the newest bytes may still sit in
// socket buffers).
func (u *upload) saveProgress() error {
	u.st.Written = u.savedAt
	u.savedAt = u.pos
	u.a.showProgress(u.t, u.pos)
	return u.saver.record(u.a, u.st)
}

// progressSaver writes the download's progress beside the stream, not in
// it: each save syncs /perm, and on a kit (and in QEMU, where the guest's
// sync is the host's) that flushes the disk gokrazy is writing the root
// to. Done in Read, every sync stalled the upload. A state recorded while
// another is being written replaces any still waiting: the newest is
// written next, and the one before it never.
type progressSaver struct {
	mu      sync.Mutex
	next    *state
	running bool
	err     error // the first error of Agent.saved (a test's power cut)
	wg      sync.WaitGroup
}

// record queues s and returns the error of an earlier save, if any.
// Calls of record and wait must not overlap (upload's lock orders them).
func (p *progressSaver) record(a *Agent, s state) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.next = &s
	if !p.running {
		p.running = true
		p.wg.Add(1)
		go p.run(a)
	}
	return nil
}

func (p *progressSaver) run(a *Agent) {
	defer p.wg.Done()
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.next != nil && p.err == nil {
		s := *p.next
		p.next = nil
		p.mu.Unlock()
		var err error
		if serr := a.st.save(s); serr != nil {
			// The download goes on; a cut restarts it from an older point.
			a.log.Warn("cannot record the download's progress", "err", serr)
		} else {
			err = a.saved(s)
		}
		p.mu.Lock()
		p.err = err
	}
	p.running = false
}

// wait returns once every recorded state is written, with the error that
// stopped them.
func (p *progressSaver) wait() error {
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (u *upload) read(p []byte) (int, error) {
	if u.pos < u.resumeAt {
		if rest := u.resumeAt - u.pos; int64(len(p)) > rest {
			p = p[:rest]
		}
		n, err := u.prefix.Read(p)
		if err == io.EOF && n == 0 {
			return 0, fmt.Errorf("%w: the partition ended at byte %d", errReadBack, u.pos)
		}
		if err != nil && err != io.EOF {
			return n, fmt.Errorf("%w: %w", errReadBack, err)
		}
		return n, nil
	}
	if u.pos >= u.t.Length {
		if u.body != nil {
			// Anything past the signed length (tufclient's probe says so
			// as an error) means the server does not serve the signed
			// file.
			var one [1]byte
			if n, err := u.body.Read(one[:]); n > 0 || (err != nil && err != io.EOF) {
				msg := fmt.Sprintf("the download server sent more than the signed %d bytes of %s", u.t.Length, u.t.Version)
				if err != nil && err != io.EOF {
					msg += " (" + err.Error() + ")"
				}
				return 0, &permanentError{msg}
			}
		}
		return 0, io.EOF
	}
	if u.body == nil {
		c := candidate{Path: u.t.Path, URL: u.t.URL, Length: u.t.Length}
		c.Release.Version, c.Release.Target = u.t.Version, u.t.Target
		body, err := u.a.src.Fetch(u.ctx, c, u.pos)
		if err != nil {
			return 0, u.retry(err)
		}
		u.body = body
	}
	if rest := u.t.Length - u.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := u.body.Read(p)
	u.throttle(n)
	if err == io.EOF && u.pos+int64(n) < u.t.Length {
		err = fmt.Errorf("the download server closed the connection at byte %d of %d", u.pos+int64(n), u.t.Length)
	}
	if err != nil && err != io.EOF {
		u.body.Close()
		u.body = nil
		return n, u.retry(err)
	}
	return n, nil
}

// throttle holds the download to busyRate while the kit is busy: each
// chunk waits as long as it would take at that rate (network time not
// counted, so the rate is an upper bound).
func (u *upload) throttle(n int) {
	if u.a.busyRate <= 0 || n <= 0 {
		return
	}
	if u.pos == 0 || u.pos-u.polledAt >= busyPoll {
		u.busy, u.polledAt = u.a.cfg.Host.Busy() != "", u.pos
	}
	if u.busy {
		u.a.sleep(time.Duration(int64(n) * int64(time.Second) / u.a.busyRate))
	}
}

// retry decides whether a failed fetch is tried again from where it
// stopped (nil: the next Read reconnects) or ends the download.
func (u *upload) retry(err error) error {
	if u.ctx.Err() != nil || errors.Is(err, tufclient.ErrRangeIgnored) {
		return err
	}
	u.reconnects++
	if u.reconnects > maxReconnects {
		return err
	}
	u.a.log.Info("download interrupted; resuming", "at", u.pos, "err", err, "try", u.reconnects)
	if d := u.a.reconnect * time.Duration(u.reconnects); d > 0 {
		select {
		case <-time.After(d):
		case <-u.ctx.Done():
			return u.ctx.Err()
		}
	}
	return nil
}

// close ends the upload once its progress is written; it returns the
// progress last recorded and the error that stopped it.
func (u *upload) close() (int64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closed = true
	if u.body != nil {
		u.body.Close()
	}
	if err := u.saver.wait(); err != nil && u.err == nil {
		u.err = err
	}
	return u.st.Written, u.err
}
