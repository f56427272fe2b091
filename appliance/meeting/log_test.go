package meeting

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestSDKLogNeverShowsTokens(t *testing.T) {
	const tok = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJraXQifQ.c2lnbmF0dXJl"
	type plan struct {
		URL   string
		token string
	}
	for _, tc := range []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"in a struct", func(l *slog.Logger) { l.Warn("attempting join plan", "attempt", plan{"ws://x", tok}) }},
		{"as a string", func(l *slog.Logger) { l.Error("join failed", "token", tok) }},
		{"in the message", func(l *slog.Logger) { l.Warn("join " + tok + " failed") }},
		{"in a group", func(l *slog.Logger) { l.Warn("x", slog.Group("g", "t", "Bearer "+tok)) }},
		{"in With", func(l *slog.Logger) { l.With("t", tok).Warn("x") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(scrubHandler{slog.NewTextHandler(&buf, nil)})
			tc.log(l)
			out := buf.String()
			if strings.Contains(out, "eyJ") || !strings.Contains(out, redacted) {
				t.Errorf("log line %q shows the token or does not say it was redacted", out)
			}
		})
	}
	var buf bytes.Buffer
	slog.New(scrubHandler{slog.NewTextHandler(&buf, nil)}).Info("attempting join plan", "token", tok)
	if buf.Len() != 0 {
		t.Errorf("the SDK's info chatter was logged: %q", buf.String())
	}
}
