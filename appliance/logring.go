package appliance

// The kit's recent log lines, kept in memory for an admin who asks for
// them from the admin center (the "logs" remote action, remote.go). A
// ring: the newest MaxLogLines lines, nothing on disk, secrets taken out
// as each line is written (internal/redact), so what an upload carries
// was never stored with a secret in it.

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"

	"roomkit/internal/redact"
)

// MaxLogLines is how many lines the ring keeps; MaxLogLineBytes bounds
// each (the rest is cut), so an upload is at most about 256 KiB.
const (
	MaxLogLines     = 500
	MaxLogLineBytes = 500
)

// LogRing keeps a kit's recent log lines. Its zero value is not usable;
// call NewLogRing. It is safe for concurrent use.
type LogRing struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

// NewLogRing returns an empty ring of MaxLogLines lines.
func NewLogRing() *LogRing {
	return &LogRing{lines: make([]string, MaxLogLines)}
}

// Handler returns a slog.Handler that writes to next and keeps a copy of
// each record in the ring, in slog's text format, with secret attributes
// (redact.Key) and secret-looking text (redact.Text) replaced.
func (r *LogRing) Handler(next slog.Handler) slog.Handler {
	return &ringHandler{ring: r, next: next}
}

// Lines returns the kept lines, oldest first.
func (r *LogRing) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string{}, r.lines[:r.next]...)
	}
	return append(append([]string{}, r.lines[r.next:]...), r.lines[:r.next]...)
}

func (r *LogRing) add(line string) {
	if len(line) > MaxLogLineBytes {
		line = strings.ToValidUTF8(line[:MaxLogLineBytes], "") + "…"
	}
	r.mu.Lock()
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
	r.mu.Unlock()
}

type ringHandler struct {
	ring   *LogRing
	next   slog.Handler
	attrs  []slog.Attr
	groups []string
}

// Enabled: the ring keeps Info and above whatever next keeps.
func (h *ringHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *ringHandler) Handle(ctx context.Context, rec slog.Record) error {
	var b bytes.Buffer
	th := slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: hideSecret})
	var hh slog.Handler = th
	if len(h.attrs) > 0 {
		hh = hh.WithAttrs(h.attrs)
	}
	for _, g := range h.groups {
		hh = hh.WithGroup(g)
	}
	if err := hh.Handle(ctx, rec.Clone()); err == nil {
		h.ring.add(redact.Text(strings.TrimRight(b.String(), "\n")))
	}
	if !h.next.Enabled(ctx, rec.Level) {
		return nil
	}
	return h.next.Handle(ctx, rec)
}

func (h *ringHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &ringHandler{ring: h.ring, next: h.next.WithAttrs(as), attrs: append(append([]slog.Attr{}, h.attrs...), as...), groups: h.groups}
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	return &ringHandler{ring: h.ring, next: h.next.WithGroup(name), attrs: h.attrs, groups: append(append([]string{}, h.groups...), name)}
}

// hideSecret is the ring's ReplaceAttr: a secret's value never reaches
// the text.
func hideSecret(groups []string, a slog.Attr) slog.Attr {
	if redact.Key(a.Key) {
		return slog.String(a.Key, redact.Mark)
	}
	return a
}
