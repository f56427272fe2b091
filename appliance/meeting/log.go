package meeting

import (
	"context"
	"log/slog"
	"regexp"

	"github.com/go-logr/logr"
	protoLogger "github.com/livekit/protocol/logger"
)

// server-sdk-go logs its join attempts at info level with the whole
// connection plan, access token included. The kit never logs a secret, so
// the SDK's log passes through scrubHandler: warnings and errors only, with
// anything shaped like a JWT replaced.

// jwtPattern matches a JSON Web Token (three base64url parts, the first
// starting with `{"`, which is "eyJ").
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

const redacted = "[redacted]"

func sdkLogger(l *slog.Logger) protoLogger.Logger {
	return protoLogger.LogRLogger(logr.FromSlogHandler(scrubHandler{l.Handler()}))
}

type scrubHandler struct{ next slog.Handler }

func (h scrubHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn && h.next.Enabled(ctx, level)
}

func (h scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, jwtPattern.ReplaceAllString(r.Message, redacted), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(scrubAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h scrubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = scrubAttr(a)
	}
	return scrubHandler{h.next.WithAttrs(clean)}
}

func (h scrubHandler) WithGroup(name string) slog.Handler {
	return scrubHandler{h.next.WithGroup(name)}
}

// scrubAttr renders an attribute's value and removes tokens from it. Values
// are rendered to text first because the SDK logs whole structs.
func scrubAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = scrubAttr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindString, slog.KindAny:
		if s := v.String(); jwtPattern.MatchString(s) {
			return slog.String(a.Key, jwtPattern.ReplaceAllString(s, redacted))
		}
		if v.Kind() == slog.KindAny {
			// Render now, so a struct holding a token is checked as text
			// and not formatted again later by the next handler.
			return slog.String(a.Key, v.String())
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
