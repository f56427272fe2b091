// Package gokrazytest is a fake of gokrazy's local update API and of the
// disk behind it, for tests and for sim kits (roomd -devices sim), which
// have no gokrazy: Fake serves PUT /update/root, POST /update/testboot,
// /update/switch and /reboot on a unix socket like gokrazy's init does,
// keeps the two root partitions as files (root2.img, root3.img) and the
// boot partition's cmdline.txt (edited byte for byte as gokrazy edits it,
// markers and all, see EnableTestboot) as JSON in its directory, and applies
// gokrazy's boot rules on each reboot: a trial boot runs the other root
// once, the next boot returns to the command line's root unless it was
// switched.
//
// It is a fake at the hardware boundary, named so; the agent it serves is
// the real one.
package gokrazytest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/google/renameio/v2"

	"roomkit/ota/gokrazy"
)

// Boot is the fake disk's boot state, kept in Dir/boot.json.
type Boot struct {
	// File is the boot partition's cmdline.txt, byte for byte, which
	// gokrazy edits in place keeping its length (see EnableTestboot).
	File []byte `json:"file"`
	// Root and Try are read from File: root= names partition Root; Try
	// is gokrazy.try_boot_inactive=1.
	Root int  `json:"root"`
	Try  bool `json:"try"`
	// Running is the partition the current boot runs from; Cmdline the
	// one its /proc/cmdline names (they differ in a trial boot).
	Running int `json:"running"`
	Cmdline int `json:"cmdline"`
	// Written is how many bytes the last PUT /update/root wrote, to
	// partition WrittenTo.
	Written   int64 `json:"written"`
	WrittenTo int   `json:"written_to"`
}

// Fake is the fake gokrazy. Set the exported fields before the first
// request; the methods are safe for concurrent use.
type Fake struct {
	// Dir holds the slots, boot.json and (when the path is short
	// enough) the socket.
	Dir string
	// SlotSize limits a root partition: a PUT that writes more fails
	// like gokrazy's on a full partition, after writing what fit.
	SlotSize int64
	// OnReboot is called (in its own goroutine) after /reboot applied
	// the boot rules. The update agent has its own (agent.Config.OnReboot)
	// for the reboots it asks for; this one is for the others.
	OnReboot func()

	socket string
	ln     net.Listener
	srv    *http.Server
	active sync.WaitGroup // handlers running

	mu        sync.Mutex
	boot      Boot
	calls     []string
	fail      map[string]string // path → the error the next request answers
	dropAfter int64             // next PUT: cut the connection after this many bytes (-1: no)
}

// New serves a fake gokrazy for the disk in dir, creating it (booted from
// partition 2) if it is new. A new Fake on an existing dir is a new boot:
// a power cut during a trial boot returns to the command line's root.
func New(dir string) (*Fake, error) {
	f := &Fake{Dir: dir, dropAfter: -1, fail: map[string]string{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fake gokrazy: %w", err)
	}
	b, err := os.ReadFile(f.bootFile())
	switch {
	case errors.Is(err, os.ErrNotExist):
		f.boot = Boot{File: NewCmdlineFile(2), Running: 2, Cmdline: 2}
		f.boot.read()
	case err != nil:
		return nil, fmt.Errorf("fake gokrazy: %w", err)
	default:
		if err := json.Unmarshal(b, &f.boot); err != nil {
			return nil, fmt.Errorf("fake gokrazy: %s: %w", f.bootFile(), err)
		}
		if len(f.boot.File) == 0 { // a disk of a fake before it kept the file
			f.boot.File = NewCmdlineFile(f.boot.Root)
			if f.boot.Try {
				f.boot.File = EnableTestboot(f.boot.File)
			}
		}
		f.applyBootRules()
	}
	if err := f.save(); err != nil {
		return nil, err
	}
	f.socket = filepath.Join(dir, "gokrazy.sock")
	if len(f.socket) > 100 { // sun_path holds 108 bytes
		short, err := os.MkdirTemp("", "gokrazy")
		if err != nil {
			return nil, fmt.Errorf("fake gokrazy: %w", err)
		}
		f.socket = filepath.Join(short, "gokrazy.sock")
	}
	os.Remove(f.socket) // a previous process's
	ln, err := net.Listen("unix", f.socket)
	if err != nil {
		return nil, fmt.Errorf("fake gokrazy: %w", err)
	}
	// Close removes the socket itself. A listener that unlinked its path
	// when closed could remove the next Fake's socket: http.Server.Close
	// before Serve's goroutine ran leaves that goroutine to close the
	// listener, later, after a new Fake listens on the same path.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	f.ln = ln
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /update/root", f.putRoot)
	mux.HandleFunc("POST /update/testboot", f.testboot)
	mux.HandleFunc("POST /update/switch", f.switchRoot)
	mux.HandleFunc("POST /reboot", f.reboot)
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.active.Add(1)
		defer f.active.Done()
		mux.ServeHTTP(w, r)
	})}
	go f.srv.Serve(ln)
	return f, nil
}

// NewFake returns a Fake in a test's temporary directory, closed when the
// test ends.
func NewFake(t testing.TB) *Fake {
	t.Helper()
	f, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Close stops serving and waits for the requests under way to end, so a
// new Fake on the same Dir (the next boot) owns the disk alone.
func (f *Fake) Close() error {
	err := f.srv.Close()
	f.active.Wait()
	os.Remove(f.socket)
	return err
}

// Socket is the unix socket the fake serves on.
func (f *Fake) Socket() string { return f.socket }

// Client is a gokrazy client of the fake, judging the fake's disk (so its
// write guard sees the fake's trial boots).
func (f *Fake) Client() *gokrazy.Client { return gokrazy.New(f.socket).WithDisk(f) }

// Calls lists the requests served, "PUT /update/root" and the like, in
// order; refused and failed ones too.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Booted is the boot state.
func (f *Fake) Booted() Boot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.boot
}

// Root is what the last PUT /update/root wrote.
func (f *Fake) Root() []byte {
	f.mu.Lock()
	slot, n := f.slot(f.boot.WrittenTo), f.boot.Written
	f.mu.Unlock()
	b, _ := os.ReadFile(slot)
	if int64(len(b)) > n {
		b = b[:n]
	}
	return b
}

// Slot returns the contents of root partition n (2 or 3).
func (f *Fake) Slot(n int) ([]byte, error) { return os.ReadFile(f.slot(n)) }

// SetSlot writes root partition n, as a build would (the sim's first root).
func (f *Fake) SetSlot(n int, b []byte) error { return renameio.WriteFile(f.slot(n), b, 0o644) }

// FailNext makes the next request to path ("/update/root", …) answer 500
// with msg, as gokrazy does when a write fails.
func (f *Fake) FailNext(path, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[path] = msg
}

// DropAfter makes the next PUT /update/root cut its connection after
// writing n bytes, without an answer (a crash or a lost socket).
func (f *Fake) DropAfter(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropAfter = n
}

// Partitions implements gokrazy.Disk for the fake disk.
func (f *Fake) Partitions() (gokrazy.Partitions, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return gokrazy.Partitions{
		Running: f.boot.Running, RunningName: "vda" + strconv.Itoa(f.boot.Running),
		Cmdline: f.boot.Cmdline, CmdlineName: "/dev/vda" + strconv.Itoa(f.boot.Cmdline),
		Disk: "vda",
	}, nil
}

// CleanBoot implements gokrazy.Disk: gokrazy.CleanBootFile on cmdline.txt.
func (f *Fake) CleanBoot(root string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	clean, err := gokrazy.CleanBootFile(f.boot.File, root)
	if err != nil {
		return fmt.Errorf("fake boot partition: /cmdline.txt: %w", err)
	}
	f.boot.File = clean
	f.boot.read()
	return f.save()
}

// OpenInactive implements gokrazy.Disk: the slot a PUT writes.
func (f *Fake) OpenInactive() (io.ReadCloser, error) {
	f.mu.Lock()
	slot := f.slot(5 - f.boot.Cmdline)
	f.mu.Unlock()
	r, err := os.Open(slot)
	if errors.Is(err, os.ErrNotExist) {
		return io.NopCloser(eofReader{}), nil // a blank partition
	}
	return r, err
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func (f *Fake) slot(n int) string { return filepath.Join(f.Dir, "root"+strconv.Itoa(n)+".img") }
func (f *Fake) bootFile() string  { return filepath.Join(f.Dir, "boot.json") }
func (f *Fake) save() error {
	b, _ := json.Marshal(f.boot)
	if err := renameio.WriteFile(f.bootFile(), b, 0o644); err != nil {
		return fmt.Errorf("fake gokrazy: %w", err)
	}
	return nil
}

// applyBootRules is gokrazy's boot: with the try flag, init clears it and
// runs the other root once while the kernel's command line names the
// first; else the command line's root.
func (f *Fake) applyBootRules() {
	f.boot.read()
	f.boot.Cmdline = f.boot.Root
	f.boot.Running = f.boot.Root
	if f.boot.Try {
		f.boot.File = TrialBoot(f.boot.File)
		f.boot.read()
		f.boot.Running = 5 - f.boot.Root
	}
}

// read sets Root and Try from File; a File without a root leaves Root.
func (b *Boot) read() {
	if _, n, err := gokrazy.ParseCmdlineRoot(string(b.File)); err == nil {
		b.Root = n
	}
	b.Try = bytes.Contains(b.File, []byte(gokrazy.TryMarker))
}

// begin records a call and returns the failure planned for it.
func (f *Fake) begin(r *http.Request) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	msg := f.fail[r.URL.Path]
	delete(f.fail, r.URL.Path)
	return msg
}

func (f *Fake) putRoot(w http.ResponseWriter, r *http.Request) {
	if msg := f.begin(r); msg != "" {
		http.Error(w, msg, http.StatusInternalServerError)
		return
	}
	f.mu.Lock()
	// Like gokrazy: the partition the command line does not name,
	// whatever runs (the client's guard is what protects a trial).
	part := 5 - f.boot.Cmdline
	slot := f.slot(part)
	drop := f.dropAfter
	f.dropAfter = -1
	f.mu.Unlock()

	out, err := os.OpenFile(slot, os.O_WRONLY|os.O_CREATE, 0o644) // a partition is not truncated
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer out.Close()
	h := sha256.New()
	var src io.Reader = r.Body
	if drop >= 0 {
		src = io.LimitReader(src, drop)
	}
	limit := f.SlotSize
	var dst io.Writer = out
	if limit > 0 {
		dst = &fullWriter{w: out, left: limit}
	}
	n, err := io.Copy(io.MultiWriter(dst, h), src)
	out.Sync()
	f.mu.Lock()
	f.boot.Written, f.boot.WrittenTo = n, part
	f.save()
	f.mu.Unlock()
	if drop >= 0 {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("write /dev/vda%d: %v", part, err), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "%x", h.Sum(nil))
}

// fullWriter fails like a block device at its end.
type fullWriter struct {
	w    io.Writer
	left int64
}

var errNoSpace = errors.New("no space left on device")

func (fw *fullWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > fw.left {
		n, _ := fw.w.Write(p[:fw.left])
		fw.left -= int64(n)
		return n, errNoSpace
	}
	n, err := fw.w.Write(p)
	fw.left -= int64(n)
	return n, err
}

func (f *Fake) testboot(w http.ResponseWriter, r *http.Request) {
	f.editBoot(w, r, func() { f.boot.File = EnableTestboot(f.boot.File); f.boot.read() })
}

func (f *Fake) switchRoot(w http.ResponseWriter, r *http.Request) {
	// gokrazy rewrites root= to the partition the command line does not
	// name (its "inactive" one).
	f.editBoot(w, r, func() {
		f.boot.File = SwitchRoot(f.boot.File, "/dev/vda"+strconv.Itoa(5-f.boot.Cmdline))
		f.boot.read()
	})
}

func (f *Fake) reboot(w http.ResponseWriter, r *http.Request) {
	if !f.editBoot(w, r, f.applyBootRules) {
		return
	}
	io.WriteString(w, "Rebooting...\n")
	if f.OnReboot != nil {
		go f.OnReboot()
	}
}

// editBoot serves a request that changes the boot state: the failure
// planned for it, else edit (under f.mu) saved to boot.json. false: it
// answered with an error.
func (f *Fake) editBoot(w http.ResponseWriter, r *http.Request, edit func()) bool {
	if msg := f.begin(r); msg != "" {
		http.Error(w, msg, http.StatusInternalServerError)
		return false
	}
	f.mu.Lock()
	edit()
	err := f.save()
	f.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return false
	}
	return true
}

// SimImage is the header line of a sim "root" (roomkit-release
// sim-image): {"roomkit_sim_image":1,"version":"0.2.0","unhealthy":false}.
type SimImage struct {
	Sim       int    `json:"roomkit_sim_image"`
	Version   string `json:"version"`
	Unhealthy bool   `json:"unhealthy"`
}

// BootedImage reads the sim header of the root the fake booted; ok false
// for a blank partition (the kit's first root, whose version is roomd's
// own) or one without a header.
func (f *Fake) BootedImage() (img SimImage, ok bool) {
	r, err := os.Open(f.slot(f.Booted().Running))
	if err != nil {
		return img, false
	}
	defer r.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(r, head)
	line, _, _ := bytes.Cut(head[:n], []byte("\n"))
	if json.Unmarshal(line, &img) != nil || img.Sim == 0 || img.Version == "" {
		return SimImage{}, false
	}
	return img, true
}
