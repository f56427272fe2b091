package portal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"roomkit/internal/textfield"
)

// Webhooks: each alert that opens, reopens or resolves is POSTed as JSON
// to every configured URL, signed with the webhook's secret
// (docs/alerts.md § Webhooks has the scheme a receiver checks):
//
//	X-RoomKit-Timestamp: <Unix seconds when this attempt was signed>
//	X-RoomKit-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// Every webhook has its own bounded queue and goroutine, so an endpoint
// that is down delays only its own deliveries, never a heartbeat, a page
// or another endpoint; a failed attempt is retried with exponential
// back-off, and what happened last is stored for the admin center. The
// secret goes into the MAC and the database, never into a log line, the
// audit log or an API answer after the one that created it.

// Webhook is a receiver of alert events as the admin API and the admin
// center show it: everything but its secret.
type Webhook struct {
	ID        int64     `json:"id"`
	URL       string    `json:"url"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	// LastAt is the last delivery attempt, null before the first.
	LastAt *time.Time `json:"last_attempt"`
	// LastError is why the last attempt failed, "" if it went through.
	LastError string `json:"last_error"`
	Delivered int64  `json:"delivered"`       // events that went through
	Failed    int64  `json:"failed_attempts"` // attempts that did not
}

// Status says in words how the webhook is doing, as the admin center shows it.
func (w Webhook) Status() string {
	switch {
	case w.LastAt == nil:
		return "nothing sent yet"
	case w.LastError != "":
		return "last delivery failed: " + w.LastError
	}
	return "last delivery went through at " + w.LastAt.UTC().Format("2006-01-02 15:04:05 UTC")
}

// Delivery limits and back-off.
const (
	maxWebhooks       = 10
	webhookQueue      = 100             // events waiting per webhook; more are dropped (and counted)
	webhookAttempts   = 8               // tries per event
	webhookFirstRetry = 5 * time.Second // then 10 s, 20 s … up to webhookMaxRetry: about 11 minutes in all
	webhookMaxRetry   = 5 * time.Minute
	webhookTimeout    = 10 * time.Second // per attempt
	minSecretLen      = 16
	maxSecretLen      = 200
	maxWebhookURL     = 2000
)

// webhookEvent is the body POSTed for each alert change.
type webhookEvent struct {
	Event  string `json:"event"` // "alert.opened" or "alert.resolved"
	Portal string `json:"portal"`
	Alert  Alert  `json:"alert"`
}

type hookJob struct {
	event, delivery string
	body            []byte
}

type hookQueue struct {
	url, secret string
	ch          chan hookJob
	cancel      context.CancelFunc
}

// hookSender delivers webhook events in the background.
type hookSender struct {
	s      *Server
	client *http.Client
	// sleep waits between attempts; tests replace it with a fake clock's.
	sleep func(ctx context.Context, d time.Duration) error

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	queues map[int64]*hookQueue

	delivered, gaveUp, dropped, failedAttempts atomic.Int64

	// recorded, when not nil, hears of each attempt once its outcome is
	// stored: tests wait for it instead of guessing a time.
	recorded func(id int64)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func newHookSender(s *Server, sleep func(context.Context, time.Duration) error) *hookSender {
	if sleep == nil {
		sleep = sleepCtx
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &hookSender{s: s, sleep: sleep, ctx: ctx, cancel: cancel, queues: map[int64]*hookQueue{},
		client: &http.Client{
			Timeout: webhookTimeout,
			// A receiver answers; a redirect is not an answer (and would
			// send the signed body somewhere nobody configured).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
}

// load starts a queue for each stored webhook.
func (h *hookSender) load() error {
	rows, err := h.s.db.Query("SELECT id, url, secret FROM webhooks")
	if err != nil {
		return fmt.Errorf("load webhooks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var u, secret string
		if err := rows.Scan(&id, &u, &secret); err != nil {
			return fmt.Errorf("load webhooks: %w", err)
		}
		h.start(id, u, secret)
	}
	return rows.Err()
}

func (h *hookSender) start(id int64, u, secret string) {
	ctx, cancel := context.WithCancel(h.ctx)
	q := &hookQueue{url: u, secret: secret, ch: make(chan hookJob, webhookQueue), cancel: cancel}
	h.mu.Lock()
	h.queues[id] = q
	h.mu.Unlock()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case j := <-q.ch:
				h.deliver(ctx, id, q, j)
			}
		}
	}()
}

func (h *hookSender) stopOne(id int64) {
	h.mu.Lock()
	q := h.queues[id]
	delete(h.queues, id)
	h.mu.Unlock()
	if q != nil {
		q.cancel()
	}
}

// close stops every delivery and waits for the goroutines.
func (h *hookSender) close() {
	h.cancel()
	h.wg.Wait()
}

// send queues the changes for every webhook without waiting. A full
// queue drops what does not fit and says so once per round, in the log
// and where the admin looks: a whole fleet going offline at once must not
// turn into a line per room.
func (h *hookSender) send(changes []alertChange) {
	if len(changes) == 0 {
		return
	}
	jobs := make([]hookJob, 0, len(changes))
	for _, ch := range changes {
		body, err := json.Marshal(webhookEvent{Event: ch.event, Portal: h.s.url, Alert: ch.alert})
		if err != nil {
			continue // an Alert always marshals
		}
		jobs = append(jobs, hookJob{event: ch.event, delivery: randomToken(12), body: body})
	}
	dropped := map[int64]int{}
	h.mu.Lock()
	for id, q := range h.queues {
		for _, j := range jobs {
			select {
			case q.ch <- j:
			default:
				dropped[id]++
			}
		}
	}
	h.mu.Unlock()
	for id, n := range dropped {
		h.dropped.Add(int64(n))
		h.s.log.Warn("webhook queue full: events dropped", "webhook", id, "dropped", n)
		h.record(id, fmt.Errorf("%d events were waiting to be sent, so %d more were dropped", webhookQueue, n), false)
	}
}

// deliver tries j until it goes through, the attempts run out or the
// webhook is removed.
func (h *hookSender) deliver(ctx context.Context, id int64, q *hookQueue, j hookJob) {
	wait := webhookFirstRetry
	for attempt := 1; ; attempt++ {
		err := h.post(ctx, q, j)
		if err == nil {
			h.delivered.Add(1)
			h.record(id, nil, true)
			return
		}
		if ctx.Err() != nil {
			return
		}
		h.failedAttempts.Add(1)
		if attempt == webhookAttempts {
			h.gaveUp.Add(1)
			err = fmt.Errorf("%w; gave up after %d attempts", err, attempt)
			h.record(id, err, false)
			h.s.log.Warn("webhook delivery failed", "webhook", id, "event", j.event, "err", err)
			return
		}
		h.record(id, fmt.Errorf("%w (attempt %d of %d; next in %v)", err, attempt, webhookAttempts, wait), false)
		if h.sleep(ctx, wait) != nil {
			return
		}
		wait = min(wait*2, webhookMaxRetry)
	}
}

// Sign returns the X-RoomKit-Signature value for body sent at timestamp
// (Unix seconds, as in X-RoomKit-Timestamp) with secret.
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (h *hookSender) post(ctx context.Context, q *hookQueue, j hookJob) error {
	ts := h.s.now().Unix() // signed anew on each attempt, so a late retry is not refused as a replay
	req, err := http.NewRequestWithContext(ctx, "POST", q.url, bytes.NewReader(j.body))
	if err != nil {
		return fmt.Errorf("cannot make the request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "RoomKit-Portal")
	req.Header.Set("X-RoomKit-Event", j.event)
	req.Header.Set("X-RoomKit-Delivery", j.delivery)
	req.Header.Set("X-RoomKit-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-RoomKit-Signature", Sign(q.secret, ts, j.body))
	resp, err := h.client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may hold a receiver's token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("could not reach it: %v", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("it answered %s", resp.Status)
	}
	return nil
}

// record stores the outcome of an attempt for the admin center.
func (h *hookSender) record(id int64, err error, ok bool) {
	now := h.s.now().UnixMilli()
	var q string
	var args []any
	if ok {
		q, args = "UPDATE webhooks SET last_at = ?, last_error = '', delivered = delivered + 1 WHERE id = ?", []any{now, id}
	} else {
		msg := textfield.Clean(err.Error(), 300)
		q, args = "UPDATE webhooks SET last_at = ?, last_error = ?, failed = failed + 1 WHERE id = ?", []any{now, msg, id}
	}
	if _, err := h.s.db.Exec(q, args...); err != nil {
		h.s.logStoreError("record a webhook delivery", err)
	}
	if h.recorded != nil {
		h.recorded(id)
	}
}

// checkWebhook validates what an admin typed, in words they can act on.
func checkWebhook(rawURL, secret string) (string, error) {
	rawURL = strings.TrimSpace(rawURL)
	if rawURL == "" {
		return "", errors.New("Give the webhook's URL, e.g. https://alerts.example.com/roomkit.")
	}
	if len(rawURL) > maxWebhookURL {
		return "", fmt.Errorf("The URL is longer than %d characters.", maxWebhookURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http:// or https:// URL.", textfield.Clean(rawURL, 100))
	}
	if u.User != nil {
		return "", errors.New("Put no user name or password in the URL: the signature tells the receiver the event is from this portal.")
	}
	if secret != "" {
		if len(secret) < minSecretLen || len(secret) > maxSecretLen {
			return "", fmt.Errorf("The secret must be %d to %d characters (or leave it empty and the portal makes one).", minSecretLen, maxSecretLen)
		}
		if textfield.Check(secret, maxSecretLen) != nil || strings.ContainsAny(secret, " \t") {
			return "", errors.New("The secret must be printable characters without spaces.")
		}
	}
	return u.String(), nil
}

// shownURL is a webhook's URL for the audit log: without its query, which
// may carry a receiver's token.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// addWebhook stores a webhook and starts its queue. An empty secret is
// made here; the returned secret is shown once and never again.
func (s *Server) addWebhook(rawURL, secret, actor, addr string) (Webhook, string, *httpError) {
	u, err := checkWebhook(rawURL, secret)
	if err != nil {
		return Webhook{}, "", errorf(http.StatusBadRequest, "%s", err.Error())
	}
	made := ""
	if secret == "" {
		secret = randomToken(32)
		made = secret
	}
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM webhooks").Scan(&n); err != nil {
		return Webhook{}, "", s.storeFailure("add the webhook", err)
	}
	if n >= maxWebhooks {
		return Webhook{}, "", errorf(http.StatusConflict, "There are %d webhooks already, the most the portal sends to. Remove one first.", n)
	}
	now := s.now()
	var id int64
	err = s.db.QueryRow("INSERT INTO webhooks (url, secret, created, actor) VALUES (?, ?, ?, ?) RETURNING id", u, secret, now.UnixMilli(), actor).Scan(&id)
	if err != nil {
		return Webhook{}, "", s.storeFailure("add the webhook", err)
	}
	s.hooks.start(id, u, secret)
	s.audit(actor, "add webhook", shownURL(u), addr)
	w, err := s.webhookByID(id)
	if err != nil {
		return Webhook{}, "", s.storeFailure("read the webhook", err)
	}
	return w, made, nil
}

func (s *Server) deleteWebhook(id int64, actor, addr string) *httpError {
	w, err := s.webhookByID(id)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(http.StatusNotFound, "There is no webhook %d.", id)
	}
	if err != nil {
		return s.storeFailure("read the webhook", err)
	}
	if _, err := s.db.Exec("DELETE FROM webhooks WHERE id = ?", id); err != nil {
		return s.storeFailure("remove the webhook", err)
	}
	s.hooks.stopOne(id)
	s.audit(actor, "remove webhook", shownURL(w.URL), addr)
	return nil
}

const webhookColumns = "id, url, created, actor, last_at, last_error, delivered, failed"

func scanWebhook(sc interface{ Scan(...any) error }) (Webhook, error) {
	var w Webhook
	var created, last int64
	if err := sc.Scan(&w.ID, &w.URL, &created, &w.CreatedBy, &last, &w.LastError, &w.Delivered, &w.Failed); err != nil {
		return w, err
	}
	w.Created = time.UnixMilli(created).UTC()
	if last != 0 {
		t := time.UnixMilli(last).UTC()
		w.LastAt = &t
	}
	return w, nil
}

func (s *Server) webhookByID(id int64) (Webhook, error) {
	return scanWebhook(s.db.QueryRow("SELECT "+webhookColumns+" FROM webhooks WHERE id = ?", id))
}

func (s *Server) listWebhooks() ([]Webhook, error) {
	rows, err := s.db.Query("SELECT " + webhookColumns + " FROM webhooks ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	out := []Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}
