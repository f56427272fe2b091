package v4l2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"roomkit/drivers"
	"roomkit/drivers/camera"
)

// DefaultDir is where the kernel creates video nodes.
const DefaultDir = "/dev"

// numBuffers is how many mmap buffers to ask for: one lent to the caller,
// one being filled, and slack for a late reader.
const numBuffers = 4

// maxSide bounds a negotiated width or height: no camera the kit meets
// streams more than 8K, and a driver that says so is broken.
const maxSide = 8192

// UnpluggedMessage is the Status error while the camera is gone.
const UnpluggedMessage = "The camera is unplugged. Check its USB cable."

// Options say which camera to open and how.
type Options struct {
	Dir         string // where to look for video nodes; DefaultDir if empty
	Path        string // a fixed node such as /dev/video2; empty picks the best camera in Dir
	Prefer1080p bool   // stream 1920×1080 when the chosen format offers it, else 1280×720
	// Name prefers the usable cameras whose name contains it (any case),
	// "Logitech" say, when more than one is plugged in; with none of
	// that name, the best of the others.
	Name string
}

func (o Options) dir() string {
	if o.Dir == "" {
		return DefaultDir
	}
	return o.Dir
}

// Stats count what a Camera did with the buffers it dequeued.
type Stats struct {
	Frames           uint64 // handed to the caller
	Dropped          uint64 // partial, corrupt or empty buffers, not passed on
	KeyframeRequests uint64
	KeyframeFailures uint64
}

// Camera is one open, streaming V4L2 camera. Next must not be called
// concurrently with itself; the other methods are safe for concurrent use.
type Camera struct {
	path string
	dev  device
	info camera.Info
	want int // bytes of a whole YUYV frame
	bpl  int // YUYV bytes per line as negotiated
	bufs [][]byte
	pack []byte // YUYV rows without their padding, for drivers that pad

	nextMu  sync.Mutex // held by Next; Close waits for it before unmapping
	held    int        // buffer lent out by the last Next, -1 if none
	t0      time.Duration
	started bool

	frames, dropped, keyReq, keyFail atomic.Uint64

	mu        sync.Mutex
	gone      bool
	closed    bool
	keyWarned bool
}

// Open opens the camera named by opts.Path, or else the best camera in
// opts.Dir (H.264 over MJPEG over YUYV), and starts streaming.
func Open(opts Options) (*Camera, error) { return openWith(openKernel, opts) }

type opener func(path string) (device, error)

func openWith(open opener, opts Options) (*Camera, error) {
	path, m, err := pick(open, opts)
	if err != nil {
		return nil, err
	}
	d, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("open camera %s: %w", path, err)
	}
	// Enumerate again: the chosen node may have been replaced since.
	o, err := describe(d)
	if err == nil {
		m, _, err = choose(o, opts.Prefer1080p)
	}
	if err != nil {
		d.close()
		return nil, fmt.Errorf("camera %s (%s): %w", path, o.cap.Card, err)
	}
	c, err := start(d, path, o.cap.Card, m)
	if err != nil {
		d.close()
		d.unmap()
		return nil, err
	}
	return c, nil
}

// pick finds the node and mode to open.
func pick(open opener, opts Options) (string, mode, error) {
	if opts.Path != "" {
		return opts.Path, mode{}, nil
	}
	devs, err := scanWith(open, opts.dir(), opts.Prefer1080p)
	if err != nil {
		return "", mode{}, err
	}
	var (
		best     *scanned
		unusable []error
	)
	for i := range devs {
		d := &devs[i]
		if d.err != nil {
			unusable = append(unusable, fmt.Errorf("%s (%s): %w", d.Path, d.Name, d.err))
			continue
		}
		if best == nil || nameLike(d.Name, opts.Name) && !nameLike(best.Name, opts.Name) ||
			nameLike(d.Name, opts.Name) == nameLike(best.Name, opts.Name) && d.score.less(best.score) {
			best = d
		}
	}
	if best == nil {
		if len(unusable) > 0 {
			return "", mode{}, fmt.Errorf("no usable camera in %s: %w", opts.dir(), errors.Join(unusable...))
		}
		return "", mode{}, fmt.Errorf("%w in %s", ErrNoCamera, opts.dir())
	}
	return best.Path, best.mode, nil
}

// nameLike says whether a camera called name is one that want names.
func nameLike(name, want string) bool {
	return want != "" && strings.Contains(strings.ToLower(name), strings.ToLower(want))
}

// start negotiates the mode and starts streaming.
func start(d device, path, name string, m mode) (*Camera, error) {
	pf, err := d.setFormat(m.fourcc, m.width, m.height)
	if errors.Is(err, syscall.EBUSY) {
		// Another program streams it: V4L2 lets anyone open a node, and
		// refuses the format (and buffers) to all but the streaming one.
		return nil, fmt.Errorf("camera %s (%s) is in use by another program: set format %v: %w", path, name, m, err)
	}
	if err != nil {
		return nil, fmt.Errorf("camera %s: set format %v: %w", path, m, err)
	}
	cf, ok := cameraFormat(pf.PixelFormat)
	if !ok || pf.Width <= 0 || pf.Height <= 0 || pf.Width > maxSide || pf.Height > maxSide {
		return nil, fmt.Errorf("camera %s: asked for %v, the driver chose %s %dx%d, which the kit cannot use", path, m, pf.PixelFormat, pf.Width, pf.Height)
	}
	iv, err := d.setInterval(m.interval)
	if err != nil || iv.fps() <= 0 {
		// Some drivers have a fixed rate and refuse S_PARM; stream anyway.
		slog.Debug("camera frame rate not set", "path", path, "err", err)
		iv = m.interval
	}
	c := &Camera{
		path: path, dev: d, held: -1,
		info: camera.Info{Name: name, Path: path, Format: cf, Width: pf.Width, Height: pf.Height, FPS: iv.fps()},
	}
	if cf == camera.YUYV {
		c.bpl = max(pf.BytesPerLine, pf.Width*2)
		c.want = c.bpl * pf.Height
		if c.bpl != pf.Width*2 {
			c.pack = make([]byte, pf.Width*2*pf.Height)
		}
	}
	if c.bufs, err = d.start(numBuffers); errors.Is(err, syscall.EBUSY) {
		return nil, fmt.Errorf("camera %s (%s) is in use by another program: start streaming: %w", path, name, err)
	} else if err != nil {
		return nil, fmt.Errorf("camera %s: start streaming %s %dx%d: %w", path, cf, pf.Width, pf.Height, err)
	}
	slog.Info("camera streaming", "path", path, "name", name, "format", cf, "width", pf.Width, "height", pf.Height, "fps", iv.fps())
	return c, nil
}

// Info says which camera this is and what was negotiated.
func (c *Camera) Info() camera.Info { return c.info }

// Next returns the next whole frame. Its Data is the driver's own mmap
// buffer (or, for padded YUYV only, a reused copy without the padding) and
// stays valid until the next call to Next or Close.
func (c *Camera) Next(ctx context.Context) (camera.Frame, error) {
	c.nextMu.Lock()
	defer c.nextMu.Unlock()
	if c.isClosed() {
		return camera.Frame{}, fmt.Errorf("read %s: %w", c.path, os.ErrClosed)
	}
	if c.held >= 0 {
		i := c.held
		c.held = -1
		if err := c.dev.queue(i); err != nil {
			return camera.Frame{}, c.readErr(err)
		}
	}
	for {
		b, err := c.dev.dequeue(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return camera.Frame{}, ctx.Err()
			}
			return camera.Frame{}, c.readErr(err)
		}
		if b.Index < 0 || b.Index >= len(c.bufs) {
			return camera.Frame{}, fmt.Errorf("read %s: driver returned buffer %d of %d", c.path, b.Index, len(c.bufs))
		}
		data, why := checkFrame(c.info.Format, b, c.bufs[b.Index], c.want)
		if why != "" {
			c.dropped.Add(1)
			slog.Debug("camera frame dropped", "path", c.path, "why", why, "bytes", b.BytesUsed, "sequence", b.Sequence)
			if err := c.dev.queue(b.Index); err != nil {
				return camera.Frame{}, c.readErr(err)
			}
			continue
		}
		if c.pack != nil {
			data = c.unpad(data)
		}
		if !c.started {
			c.t0, c.started = b.Timestamp, true
		}
		c.held = b.Index
		c.frames.Add(1)
		f := camera.Frame{Data: data, Timestamp: b.Timestamp - c.t0}
		if c.info.Format == camera.H264 {
			f.Keyframe = b.Flags&bufFlagKeyframe != 0 || isIDR(data)
		}
		return f, nil
	}
}

// unpad copies YUYV rows out of a padded buffer.
func (c *Camera) unpad(data []byte) []byte {
	row := c.info.Width * 2
	for y := 0; y < c.info.Height; y++ {
		copy(c.pack[y*row:(y+1)*row], data[y*c.bpl:])
	}
	return c.pack
}

// readErr words an error of the stream; an unplugged camera is remembered.
func (c *Camera) readErr(err error) error {
	if errors.Is(err, camera.ErrUnplugged) {
		c.mu.Lock()
		first := !c.gone
		c.gone = true
		c.mu.Unlock()
		if first {
			slog.Warn("camera unplugged", "path", c.path, "name", c.info.Name, "err", err)
		}
	}
	if c.isClosed() {
		return fmt.Errorf("read %s: %w", c.path, os.ErrClosed)
	}
	return fmt.Errorf("read %s: %w", c.path, err)
}

func (c *Camera) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// RequestKeyframe asks an H.264 camera for an IDR frame soon (a viewer
// joined, or the meeting saw loss). Cameras that cannot be asked send one
// at their own interval; the failure is logged once and counted. For MJPEG
// and YUYV cameras it does nothing: the kit's encoder makes keyframes.
func (c *Camera) RequestKeyframe() {
	if c.info.Format != camera.H264 || c.isClosed() {
		return
	}
	c.keyReq.Add(1)
	method, err := c.dev.forceKeyframe()
	if err != nil {
		c.keyFail.Add(1)
		c.mu.Lock()
		warn := !c.keyWarned
		c.keyWarned = true
		c.mu.Unlock()
		if warn {
			slog.Warn("camera cannot be asked for a keyframe; new viewers wait for its next one", "path", c.path, "name", c.info.Name, "err", err)
		}
		return
	}
	slog.Debug("camera keyframe requested", "path", c.path, "method", method)
}

// Stats returns the frame counters.
func (c *Camera) Stats() Stats {
	return Stats{Frames: c.frames.Load(), Dropped: c.dropped.Load(), KeyframeRequests: c.keyReq.Load(), KeyframeFailures: c.keyFail.Load()}
}

// Status names the camera and its mode, or says it is unplugged.
func (c *Camera) Status() drivers.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := drivers.Status{Kind: "camera", Name: describeInfo(c.info), Present: !c.gone && !c.closed}
	if c.gone {
		st.Error = UnpluggedMessage
	}
	return st
}

func describeInfo(i camera.Info) string {
	return fmt.Sprintf("%s (%s): %s %dx%d at %s fps", i.Name, i.Path, i.Format, i.Width, i.Height, fpsString(i.FPS))
}

// Close stops streaming and releases the buffers; a blocked Next returns.
func (c *Camera) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	err := c.dev.close()
	c.nextMu.Lock() // Next has returned: nobody reads the buffers now
	defer c.nextMu.Unlock()
	if uerr := c.dev.unmap(); err == nil {
		err = uerr
	}
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("close camera %s: %w", c.path, err)
	}
	return nil
}

var _ camera.Camera = (*Camera)(nil)
