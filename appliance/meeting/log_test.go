package meeting

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	protoLogger "github.com/livekit/protocol/logger"
	"github.com/livekit/protocol/logger/pionlogger"
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

// formatted counts how often pion's log adapter turned it into text.
type formatted struct{ n *int }

func (f formatted) String() string { *f.n++; return "track" }

// pion formats its debug lines' arguments (whole tracks and transceivers)
// while other goroutines change them; the kit's SDK logger must stop debug
// lines before they are formatted, through every logger the SDK derives.
func TestPionDebugLinesAreNotFormatted(t *testing.T) {
	var buf bytes.Buffer
	base := sdkLogger(slog.New(slog.NewTextHandler(&buf, nil)), nil, nil)
	derived := base.WithValues("participant", "kit").WithComponent("engine")
	for _, l := range []protoLogger.Logger{base, derived} {
		n := 0
		pion := pionlogger.NewLoggerFactory(l).NewLogger("pc")
		pion.Debugf("got new track: %+v", formatted{&n})
		pion.Tracef("%v", formatted{&n})
		if n != 0 {
			t.Errorf("pion's debug arguments were formatted %d times", n)
		}
		pion.Warnf("lost %v", formatted{&n})
		if n != 1 || !strings.Contains(buf.String(), "lost track") {
			t.Errorf("a pion warning was not logged (formatted %d times): %q", n, buf.String())
		}
		buf.Reset()
	}
}
