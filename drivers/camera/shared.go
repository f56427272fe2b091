package camera

import (
	"context"
	"sync"
)

// Shared lets several users of one camera take turns, keeping the
// driver's contract that Next is never called concurrently and that a
// frame is only valid until the next call.
//
// There are two kinds of users. A holder (a meeting) reads the camera
// alone for as long as it holds it: Hold stops the other reads first.
// Occasional readers (the kit's camera watch and the Settings preview)
// call Read, which reads one frame unless the camera is held; a Read in
// progress when Hold is called is cancelled, so a meeting never waits a
// frame time for the home screen's probe.
type Shared struct {
	cam Camera

	readMu sync.Mutex // held by Read while it reads and uses a frame

	mu     sync.Mutex
	holds  int                // holders now
	cancel context.CancelFunc // ends the Read in progress
}

// NewShared shares cam.
func NewShared(cam Camera) *Shared {
	return &Shared{cam: cam}
}

// Camera is the shared camera, for a holder to read (and for Info and
// Status, which any user may call).
func (s *Shared) Camera() Camera { return s.cam }

// Hold stops Read until release is called, so the caller reads the camera
// alone. It returns once no Read is in progress. Calling release more
// than once is harmless.
func (s *Shared) Hold() (release func()) {
	s.mu.Lock()
	s.holds++
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	// Wait for the Read in progress to let go of its frame.
	s.readMu.Lock()
	s.readMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.holds--
			s.mu.Unlock()
		})
	}
}

// Read reads one frame and hands it to use, which must be done with the
// frame when it returns. It reports false, with no error, when the
// camera is held (before or during the read) or ctx ended.
func (s *Shared) Read(ctx context.Context, use func(Frame)) (read bool, err error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	held := s.holds > 0
	if !held {
		s.cancel = cancel
	}
	s.mu.Unlock()
	if held {
		return false, nil
	}
	defer func() {
		s.mu.Lock()
		s.cancel = nil
		s.mu.Unlock()
	}()
	f, err := s.cam.Next(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return false, nil // held meanwhile, or stopping
		}
		return true, err
	}
	use(f)
	return true, nil
}
