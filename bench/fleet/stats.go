package main

import (
	"context"
	"errors"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"roomkit/portalapi"
)

// histogram records latencies in buckets about 1% wide, from 1 µs to
// about a minute: a 24-hour replay of 10,000 kits makes tens of millions
// of samples, which a sorted slice would hold in hundreds of megabytes.
// Quantiles are the upper bound of their bucket (at most 1% high); the
// maximum is exact. It is safe for concurrent use.
type histogram struct {
	buckets [histBuckets]atomic.Int64
	count   atomic.Int64
	max     atomic.Int64 // nanoseconds
}

const (
	histGrowth  = 1.01
	histBuckets = 1800 // 1.01^1800 µs ≈ 1 min; slower samples share the last bucket
)

var logGrowth = math.Log(histGrowth)

// bucketOf is the bucket of a latency: 0 holds everything up to 1 µs.
func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	b := int(math.Ceil(math.Log(us) / logGrowth))
	return min(b, histBuckets-1)
}

// bucketUpper is the largest latency bucket b holds.
func bucketUpper(b int) time.Duration {
	return time.Duration(math.Pow(histGrowth, float64(b)) * float64(time.Microsecond))
}

func (h *histogram) record(d time.Duration) {
	h.buckets[bucketOf(d)].Add(1)
	h.count.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// quantile is the latency below which a fraction q (0 to 1) of the
// samples fall: the upper bound of the bucket holding the sample of rank
// ceil(q·n), never more than the maximum seen. 0 without samples.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(n))), 1)
	var seen int64
	for b := range h.buckets {
		seen += h.buckets[b].Load()
		if seen >= rank && b < histBuckets-1 { // the last bucket has no top
			return min(bucketUpper(b), time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// rate is events per second; 0 for an empty interval.
func rate(n int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(n) / elapsed.Seconds()
}

// errorKinds counts failures by kind (errorKind). Safe for concurrent use.
type errorKinds struct {
	mu     sync.Mutex
	counts map[string]int64
	first  map[string]string // the first error of each kind, for the reader
}

func (e *errorKinds) add(err error) {
	k := errorKind(err)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts, e.first = map[string]int64{}, map[string]string{}
	}
	if e.counts[k] == 0 {
		e.first[k] = err.Error()
	}
	e.counts[k]++
}

type kindCount struct {
	Kind  string
	Count int64
	First string
}

// sorted lists the kinds, most frequent first.
func (e *errorKinds) sorted() []kindCount {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]kindCount, 0, len(e.counts))
	for k, n := range e.counts {
		out = append(out, kindCount{k, n, e.first[k]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

func (e *errorKinds) total() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int64
	for _, c := range e.counts {
		n += c
	}
	return n
}

// errorKind names what went wrong in a few words, as the table groups
// failures: the OAuth code the portal answered, the HTTP status of a
// meeting refusal, a timeout, a connection the portal did not take.
func errorKind(err error) string {
	var oe *portalapi.OAuthError
	var me *portalapi.MeetingError
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &oe):
		return "refused: " + oe.Code
	case errors.As(err, &me):
		return "meeting refused: " + strconv.Itoa(me.Status)
	case errors.As(err, &ne) && ne.Timeout(),
		// portalapi quotes the transport's error in words: an
		// http.Client's timeout survives only as its text.
		strings.Contains(err.Error(), "Timeout exceeded"):
		return "timeout"
	case errors.Is(err, portalapi.ErrUnreachable):
		return "unreachable"
	case errors.Is(err, portalapi.ErrBadAnswer):
		return "bad answer"
	}
	return "other"
}
