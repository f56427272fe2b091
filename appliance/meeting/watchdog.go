package meeting

import (
	"context"
	"errors"
	"net"
	"net/url"
	"syscall"
	"time"

	"github.com/pion/rtcp"
)

// A LiveKit node that dies without a goodbye is noticed late by the SDK:
// it waits for its ICE connection to fail (10 s without traffic, then 5 s
// more) or for the signalling ping to time out (15 s). In a cluster the
// kit often signals through one node while its room lives on another,
// so the signalling connection even stays up. The SFU answers every
// stream it receives with RTCP (receiver reports, congestion feedback)
// several times a second; a kit that goes on sending and hears nothing
// back for FeedbackLimit takes the connection for lost and joins again,
// through the portal, which hands out a healthy node.

// defaultFeedbackLimit is Config.FeedbackLimit's default.
const defaultFeedbackLimit = 3 * time.Second

// feedbackTick is how often the watchdog looks.
const feedbackTick = 250 * time.Millisecond

// feedbackHandler records that the SFU sent RTCP about one of our tracks;
// next, if set, handles the packet too.
func (s *Session) feedbackHandler(next func(rtcp.Packet)) func(rtcp.Packet) {
	return func(p rtcp.Packet) {
		s.feedback.Store(time.Now().UnixNano())
		if next != nil {
			next(p)
		}
	}
}

func (s *Session) feedbackLimit() time.Duration {
	if s.cfg.FeedbackLimit != 0 {
		return s.cfg.FeedbackLimit
	}
	return defaultFeedbackLimit
}

// watchFeedback runs for one connection until it is no longer current
// (current false) or the session ends, and calls lost once if the kit
// has been sending media for longer than FeedbackLimit without any RTCP
// from the SFU. While nothing is sent (muted with the camera off) or the
// SDK is reconnecting by itself, it does not count.
func (s *Session) watchFeedback(current func() bool, lost func(silence time.Duration)) {
	limit := s.feedbackLimit()
	if limit < 0 {
		return
	}
	tick := time.NewTicker(feedbackTick)
	defer tick.Stop()
	prev := int64(-1)
	var since time.Time // when the current stretch of sending began
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		if !current() {
			return
		}
		sent := s.stats.videoSent.Load() + s.stats.audioSent.Load()
		sending := prev >= 0 && sent != prev
		prev = sent
		if !sending || s.Connection() != Connected {
			since = time.Time{}
			continue
		}
		now := time.Now()
		if since.IsZero() {
			since = now
		}
		last := time.Unix(0, s.feedback.Load())
		if last.Before(since) {
			last = since
		}
		if silence := now.Sub(last); silence > limit {
			lost(silence)
			return
		}
	}
}

// serverRefuses reports whether the LiveKit server at rawURL refuses TCP
// connections: the node is gone (a load balancer in front would still
// accept them), so waiting for the SDK to resume there is pointless.
func serverRefuses(ctx context.Context, rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return false
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "wss" || u.Scheme == "https" {
			port = "443"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
