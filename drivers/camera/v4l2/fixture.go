package v4l2

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"roomkit/drivers/camera"
	"roomkit/internal/clock"
)

// fixtureFormat names version 1 of the fixture format (see doc.go).
const fixtureFormat = "roomkit-v4l2/1"

const (
	maxHeader      = 1 << 20   // the JSON line
	frameHeader    = 20        // sequence, flags, timestamp, bytesused
	maxFrameBytes  = 32 << 20  // 4096×2160 YUYV is 17 MB
	maxFixtureSize = 512 << 20 // after gunzip
)

// fixture is a recorded device: its ioctl answers and dequeued buffers.
type fixture struct {
	fixtureHeader
	frames []fixtureFrame
}

type fixtureHeader struct {
	Format     string         `json:"format"`
	Source     string         `json:"source"` // who made it: "roomctl record-camera …" or "synthetic: …"
	Path       string         `json:"path"`
	Capability capability     `json:"capability"`
	Formats    []fixtureFmt   `json:"formats"`
	Negotiated pixFormat      `json:"negotiated"` // what S_FMT answered for the recorded mode
	Interval   fract          `json:"interval"`   // what S_PARM answered
	Keyframe   *fixtureKeyReq `json:"keyframe,omitempty"`
	// Ends says what the camera did after the last buffer: "" it went away
	// (DQBUF failed, as after an unplug), endsStalled it kept streaming
	// and sent nothing more.
	Ends string `json:"ends,omitempty"`
}

// endsStalled marks a recording that ends because the camera fell silent.
const endsStalled = "stalled"

// fixtureFmt is one VIDIOC_ENUM_FMT answer with its sizes.
type fixtureFmt struct {
	formatDesc
	Sizes []fixtureSize `json:"sizes"`
}

// fixtureSize is one VIDIOC_ENUM_FRAMESIZES answer with the intervals
// VIDIOC_ENUM_FRAMEINTERVALS gave for it (for a range: at every size).
type fixtureSize struct {
	frameSize
	Intervals []fract `json:"intervals,omitempty"`
}

// fixtureKeyReq records a keyframe request made while recording: before
// which frame, and what the camera answered.
type fixtureKeyReq struct {
	BeforeFrame int    `json:"before_frame"`
	Method      string `json:"method,omitempty"` // "control" or "uvc-xu"
	Error       string `json:"error,omitempty"`
}

type fixtureFrame struct {
	Sequence  uint32
	Flags     uint32
	Timestamp time.Duration
	Data      []byte // bytesused bytes
}

func writeFixtureHeader(w io.Writer, h fixtureHeader) error {
	h.Format = fixtureFormat
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func writeFixtureFrame(w io.Writer, f fixtureFrame) error {
	var h [frameHeader]byte
	binary.LittleEndian.PutUint32(h[0:], f.Sequence)
	binary.LittleEndian.PutUint32(h[4:], f.Flags)
	binary.LittleEndian.PutUint64(h[8:], uint64(f.Timestamp/time.Microsecond))
	binary.LittleEndian.PutUint32(h[16:], uint32(len(f.Data)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(f.Data)
	return err
}

// parseFixture reads a fixture, gzip-compressed or not.
func parseFixture(b []byte) (*fixture, error) {
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("camera fixture: %w", err)
		}
		if b, err = io.ReadAll(io.LimitReader(zr, maxFixtureSize+1)); err != nil {
			return nil, fmt.Errorf("camera fixture: gunzip: %w", err)
		}
		if len(b) > maxFixtureSize {
			return nil, fmt.Errorf("camera fixture: more than %d MB uncompressed", maxFixtureSize>>20)
		}
	}
	nl := bytes.IndexByte(b[:min(len(b), maxHeader)], '\n')
	if nl < 0 {
		return nil, errors.New("camera fixture: no header line (want a JSON object and a newline first)")
	}
	fx := &fixture{}
	if err := json.Unmarshal(b[:nl], &fx.fixtureHeader); err != nil {
		return nil, fmt.Errorf("camera fixture header: %w", err)
	}
	if fx.Format != fixtureFormat {
		return nil, fmt.Errorf("camera fixture: format %q, want %q", fx.Format, fixtureFormat)
	}
	if fx.Ends != "" && fx.Ends != endsStalled {
		return nil, fmt.Errorf("camera fixture: ends %q, want %q or nothing", fx.Ends, endsStalled)
	}
	if n := fx.Negotiated; n.Width < 0 || n.Height < 0 || n.BytesPerLine < 0 || n.SizeImage < 0 || n.SizeImage > maxFrameBytes {
		return nil, fmt.Errorf("camera fixture: negotiated format %+v is out of range", n)
	}
	rest := b[nl+1:]
	for i := 0; len(rest) > 0; i++ {
		if len(rest) < frameHeader {
			return nil, fmt.Errorf("camera fixture: frame %d: %d stray bytes, a frame header is %d", i, len(rest), frameHeader)
		}
		n := binary.LittleEndian.Uint32(rest[16:])
		if n > maxFrameBytes || int(n) > len(rest)-frameHeader {
			return nil, fmt.Errorf("camera fixture: frame %d: says %d bytes, %d left in the file", i, n, len(rest)-frameHeader)
		}
		fx.frames = append(fx.frames, fixtureFrame{
			Sequence:  binary.LittleEndian.Uint32(rest[0:]),
			Flags:     binary.LittleEndian.Uint32(rest[4:]),
			Timestamp: time.Duration(binary.LittleEndian.Uint64(rest[8:])) * time.Microsecond,
			Data:      rest[frameHeader : frameHeader+int(n)],
		})
		rest = rest[frameHeader+int(n):]
	}
	return fx, nil
}

// loadFixture reads a fixture file.
func loadFixture(file string) (*fixture, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	fx, err := parseFixture(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return fx, nil
}

// OpenFixture opens a recorded camera (see doc.go) as if it were plugged
// in: the camera is chosen and negotiated against the recorded answers,
// then the recorded buffers play back at their recorded pace. After the
// last one the camera behaves as unplugged, or, for a recording of a camera
// that fell silent ("ends":"stalled"), Next waits for a frame that never
// comes until its context ends or the camera is closed. For tests of code that
// consumes cameras, and for checking a recording.
func OpenFixture(file string, opts Options) (*Camera, error) {
	fx, err := loadFixture(file)
	if err != nil {
		return nil, fmt.Errorf("open camera fixture: %w", err)
	}
	path := fx.Path
	if path == "" {
		path = "/dev/video0"
	}
	return openWith(func(p string) (device, error) {
		if p != path {
			return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrNotExist}
		}
		return newReplay(fx, true), nil
	}, Options{Path: path, Prefer1080p: opts.Prefer1080p})
}

// replay is a device that answers from a fixture. It behaves as drivers
// do where the fixture is silent: S_FMT snaps to the nearest offered size.
type replay struct {
	fx      *fixture
	paced   bool  // sleep between frames as recorded
	end     error // after the last frame: this error, or block if nil
	chosen  pixFormat
	bufs    [][]byte
	next    int           // next fixture frame to deliver
	free    chan int      // queued buffer indices
	closed  chan struct{} // closed by close
	once    sync.Once
	lastTS  time.Duration
	keyMu   sync.Mutex
	keyReqs int
	sleep   func(ctx context.Context, d time.Duration) error
}

func newReplay(fx *fixture, paced bool) *replay {
	r := &replay{
		fx: fx, paced: paced, end: fmt.Errorf("replay %s: recording ended: %w", fx.Path, camera.ErrUnplugged),
		closed: make(chan struct{}), sleep: clock.Sleep,
	}
	if fx.Ends == endsStalled {
		r.end = nil
	}
	return r
}

func (r *replay) capability() (capability, error) { return r.fx.Capability, nil }

func (r *replay) formats() ([]formatDesc, error) {
	out := make([]formatDesc, len(r.fx.Formats))
	for i, f := range r.fx.Formats {
		out[i] = f.formatDesc
	}
	return out, nil
}

func (r *replay) format(f fourcc) *fixtureFmt {
	for i := range r.fx.Formats {
		if r.fx.Formats[i].PixelFormat == f {
			return &r.fx.Formats[i]
		}
	}
	return nil
}

func (r *replay) frameSizes(f fourcc) ([]frameSize, error) {
	ff := r.format(f)
	if ff == nil {
		return nil, errEINVAL
	}
	out := make([]frameSize, len(ff.Sizes))
	for i, s := range ff.Sizes {
		out[i] = s.frameSize
	}
	return out, nil
}

// errEINVAL stands for the kernel's answer to a question about something
// the device does not have.
var errEINVAL = errors.New("invalid argument")

func (r *replay) frameIntervals(f fourcc, w, h int) ([]fract, error) {
	ff := r.format(f)
	if ff == nil {
		return nil, errEINVAL
	}
	for _, s := range ff.Sizes {
		if s.stepwise() && w >= s.Width && w <= s.MaxWidth && h >= s.Height && h <= s.MaxHeight ||
			!s.stepwise() && w == s.Width && h == s.Height {
			return s.Intervals, nil
		}
	}
	return nil, errEINVAL
}

// setFormat answers like a driver: the recorded answer for the recorded
// request, otherwise the nearest offered size of the format (or of the
// first format, for a format it does not have).
func (r *replay) setFormat(f fourcc, w, h int) (pixFormat, error) {
	if n := r.fx.Negotiated; n.PixelFormat == f && n.Width == w && n.Height == h {
		r.chosen = n
		return n, nil
	}
	ff := r.format(f)
	if ff == nil {
		if len(r.fx.Formats) == 0 {
			return pixFormat{}, errEINVAL
		}
		ff = &r.fx.Formats[0]
	}
	bw, bh, bestD := 0, 0, -1
	for _, s := range ff.Sizes {
		cw, ch := s.Width, s.Height
		if s.stepwise() {
			cw, ch = align(w, s.Width, s.MaxWidth, s.StepWidth), align(h, s.Height, s.MaxHeight, s.StepHeight)
		}
		d := (cw-w)*(cw-w) + (ch-h)*(ch-h)
		if bestD < 0 || d < bestD {
			bw, bh, bestD = cw, ch, d
		}
	}
	if bestD < 0 {
		bw, bh = w, h
	}
	p := pixFormat{PixelFormat: ff.PixelFormat, Width: bw, Height: bh, SizeImage: bw * bh * 2}
	if ff.PixelFormat == fmtYUYV {
		p.BytesPerLine = bw * 2
	}
	r.chosen = p
	return p, nil
}

func (r *replay) setInterval(iv fract) (fract, error) {
	if r.fx.Interval.Num != 0 && r.fx.Negotiated == r.chosen {
		return r.fx.Interval, nil
	}
	return iv, nil
}

func (r *replay) start(n int) ([][]byte, error) {
	r.bufs = make([][]byte, n)
	r.free = make(chan int, n)
	for i := range r.bufs {
		r.free <- i
	}
	return r.bufs, nil
}

func (r *replay) dequeue(ctx context.Context) (buffer, error) {
	select {
	case <-r.closed:
		return buffer{}, os.ErrClosed
	default:
	}
	if r.next >= len(r.fx.frames) {
		if r.end != nil {
			return buffer{}, r.end
		}
		select {
		case <-r.closed:
			return buffer{}, os.ErrClosed
		case <-ctx.Done():
			return buffer{}, ctx.Err()
		}
	}
	f := r.fx.frames[r.next]
	if r.paced && r.next > 0 && f.Timestamp > r.lastTS {
		if err := r.sleep(ctx, f.Timestamp-r.lastTS); err != nil {
			return buffer{}, err
		}
	}
	var i int
	select {
	case i = <-r.free:
	default:
		// Every buffer is out: a real driver would wait; this one is stuck.
		return buffer{}, errors.New("replay: no buffer queued")
	}
	r.next++
	r.lastTS = f.Timestamp
	// Like DMA, the frame appears in the buffer without a copy by the CPU:
	// the Camera shares this slice of buffers.
	r.bufs[i] = f.Data
	return buffer{Index: i, BytesUsed: len(f.Data), Flags: f.Flags, Sequence: f.Sequence, Timestamp: f.Timestamp}, nil
}

func (r *replay) queue(i int) error {
	select {
	case <-r.closed:
		return os.ErrClosed
	default:
	}
	select {
	case r.free <- i:
		return nil
	default:
		return fmt.Errorf("queue buffer %d: already queued", i)
	}
}

func (r *replay) forceKeyframe() (string, error) {
	r.keyMu.Lock()
	defer r.keyMu.Unlock()
	r.keyReqs++
	if k := r.fx.Keyframe; k != nil && k.Error == "" && k.Method != "" {
		return k.Method, nil
	}
	return "", errors.New("the recorded camera could not be asked for a keyframe")
}

func (r *replay) close() error {
	r.once.Do(func() { close(r.closed) })
	return nil
}

func (r *replay) unmap() error { r.bufs = nil; return nil }
