package meeting

import (
	"context"
	"log/slog"
	"regexp"

	protoLogger "github.com/livekit/protocol/logger"
	"github.com/livekit/protocol/logger/zaputil"
	"github.com/pion/webrtc/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// server-sdk-go logs its join attempts at info level with the whole
// connection plan, access token included. The kit never logs a secret, so
// the SDK's log keeps warnings and errors only, and passes them through
// scrubHandler, which replaces anything shaped like a JWT.

// jwtPattern matches a JSON Web Token (three base64url parts, the first
// starting with `{"`, which is "eyJ").
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

const redacted = "[redacted]"

// connected, if not nil, is called when the publishing peer connection
// is connected (ICE and DTLS done, see sdkLog).
func sdkLogger(l *slog.Logger, st *steps, connected func()) protoLogger.Logger {
	return sdkLog{l: slog.New(scrubHandler{l.Handler()}), steps: st, connected: connected}
}

// sdkLog is the SDK's logger: warnings and errors go to the kit's log,
// debug and info lines are dropped before anything is formatted.
//
// It is a protoLogger.ZapLogger only so that pion's log adapter can ask the
// level first. Given any other logger the adapter formats every debug
// line's arguments with %v, reading pion's structs while other goroutines
// write them: a data race the race detector reports in a meeting.
//
// Debug lines are also where the SDK shows how far a join got (see
// steps.observe); publisher says the logger is the publishing peer
// connection's. The one the kit acts on is that connection's state
// becoming connected: server-sdk-go has no callback for it (its
// transport.go logs it from pion's OnConnectionStateChange), and it is
// the moment pion starts sending what is written to a track instead of
// dropping it (the video loop then sends a keyframe at once, video.go).
// Should the SDK rename the line, the first keyframe simply goes out with
// the next camera frame, as before.
type sdkLog struct {
	l         *slog.Logger
	steps     *steps
	connected func()
	publisher bool
}

var _ protoLogger.ZapLogger = sdkLog{}

func (s sdkLog) Debugw(msg string, kv ...any) {
	s.steps.observe(s.publisher, msg, kv)
	if s.connected != nil && s.publisher && msg == "peer connection state changed" &&
		hasValue(kv, "state", webrtc.PeerConnectionStateConnected) {
		s.connected()
	}
}

func (sdkLog) Infow(string, ...any) {}
func (s sdkLog) Warnw(msg string, err error, kv ...any) {
	s.l.Warn(msg, withError(kv, err)...)
}
func (s sdkLog) Errorw(msg string, err error, kv ...any) {
	s.l.Error(msg, withError(kv, err)...)
}

func withError(kv []any, err error) []any {
	if err == nil {
		return kv
	}
	return append(kv, "err", err)
}

func (s sdkLog) WithValues(kv ...any) protoLogger.Logger {
	return sdkLog{l: s.l.With(kv...), steps: s.steps, connected: s.connected, publisher: s.publisher || isPublisher(kv)}
}
func (s sdkLog) WithUnlikelyValues(kv ...any) protoLogger.UnlikelyLogger {
	return protoLogger.NewUnlikelyLogger(s, kv...)
}
func (s sdkLog) WithName(n string) protoLogger.Logger {
	return sdkLog{l: s.l.With("logger", n), steps: s.steps, connected: s.connected, publisher: s.publisher}
}
func (s sdkLog) WithComponent(c string) protoLogger.Logger {
	return sdkLog{l: s.l.With("component", c), steps: s.steps, connected: s.connected, publisher: s.publisher}
}
func (s sdkLog) WithCallDepth(int) protoLogger.Logger { return s }
func (s sdkLog) WithItemSampler() protoLogger.Logger  { return s }
func (s sdkLog) WithoutSampler() protoLogger.Logger   { return s }
func (s sdkLog) WithDeferredValues() (protoLogger.Logger, protoLogger.DeferredFieldResolver) {
	return s, zaputil.NoOpDeferrer{}
}
func (s sdkLog) WithMinLevel(zapcore.LevelEnabler) protoLogger.Logger { return s }
func (sdkLog) ToZap() *zap.SugaredLogger                              { return zap.NewNop().Sugar() }
func (sdkLog) ComponentLeveler() protoLogger.ZapComponentLeveler      { return warnLevel{} }

type warnLevel struct{}

func (warnLevel) ComponentLevel(string) zapcore.LevelEnabler { return zapcore.WarnLevel }

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
