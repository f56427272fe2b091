package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"roomkit/ota/gokrazytest"
)

// TestProgressSavesBesideStream: a progress save that takes long (a slow
// sync of /perm) does not hold up the stream: the whole release is read
// while the first save is still being written, and the download ends
// only once that save has. With saves made inside the stream this test
// never sees the release read to its end (and times out).
func TestProgressSavesBesideStream(t *testing.T) {
	const size = 1 << 20
	img := image("2.0.0", size)
	a, tg, f := streamAgent(t, img)
	drained, release := make(chan struct{}), make(chan struct{})
	a.src = drainSource{&fakeRepo{releases: map[string][]byte{"2.0.0": img}}, drained}
	a.saveEvery = 64 << 10
	var (
		mu    sync.Mutex
		saves []int64
	)
	a.saved = func(s state) error {
		mu.Lock()
		first := len(saves) == 0
		saves = append(saves, s.Written)
		mu.Unlock()
		if first {
			<-release // a sync that lasts until the stream is done
		}
		return nil
	}
	a.s.Target = tg
	done := make(chan error, 1)
	go func() { done <- a.stream(context.Background(), tg, 0) }()

	<-drained // read to its end while the first save is held
	select {
	case err := <-done:
		t.Fatalf("the download ended (%v) before its progress save did", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Root(), img) {
		t.Error("the partition does not hold the release")
	}
	mu.Lock()
	defer mu.Unlock()
	// The save that was held, then at most the newest of those recorded
	// meanwhile (each replaced the one before): none between.
	if len(saves) == 0 || len(saves) > 2 || len(saves) == 2 && saves[1] <= saves[0] {
		t.Errorf("saves recorded %v bytes written; want the held one and at most one newer", saves)
	}
}

// drainSource closes drained once a fetched body has been read to its end.
type drainSource struct {
	source
	drained chan struct{}
}

func (s drainSource) Fetch(ctx context.Context, c candidate, offset int64) (io.ReadCloser, error) {
	rc, err := s.source.Fetch(ctx, c, offset)
	if err != nil {
		return nil, err
	}
	return &drainBody{ReadCloser: rc, drained: s.drained}, nil
}

type drainBody struct {
	io.ReadCloser
	drained chan struct{}
	once    sync.Once
}

func (b *drainBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(func() { close(b.drained) })
	}
	return n, err
}

// streamAgent is an agent on version 1.0.0 whose gokrazy is a Fake,
// quiet, the target of release 2.0.0 made of img (what the download
// tests and benchmark stream), and the Fake, to read its partition.
func streamAgent(tb testing.TB, img []byte) (*Agent, *target, *gokrazytest.Fake) {
	tb.Helper()
	f := gokrazytest.NewFake(tb)
	a, err := New(Config{Host: &fakeHost{}, Target: "amd64", Version: "1.0.0", Gokrazy: f.Client(),
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(img)
	return a, &target{Version: "2.0.0", URL: "mem://2.0.0", Length: int64(len(img)), SHA256: fmt.Sprintf("%x", sum)}, f
}
