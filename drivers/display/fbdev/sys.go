package fbdev

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// device is the framebuffer as the driver sees it: three ioctls and a
// mapping. Tests substitute a byte slice with recorded screeninfo structs.
type device interface {
	varInfo() (varScreeninfo, error)
	fixInfo() (fixScreeninfo, error)
	mmap(size int) ([]byte, error)
	pan(v *varScreeninfo) error
	close() error
}

// console is the text console whose cursor must not blink through the UI.
type console interface {
	setMode(mode int) error
	close() error
}

// system opens devices; the real one talks to the kernel.
type system interface {
	openFB(path string) (device, error)
	openConsole(path string) (console, error)
}

type kernel struct{}

func (kernel) openFB(path string) (device, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &fbFile{f: f}, nil
}

func (kernel) openConsole(path string) (console, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &ttyFile{f: f}, nil
}

type fbFile struct {
	f   *os.File
	mem []byte
}

// ioctl passes a pointer to the kernel. The structs are plain data, so the
// pointer stays valid for the duration of the call.
func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

func (d *fbFile) varInfo() (varScreeninfo, error) {
	var v varScreeninfo
	err := ioctl(d.f, ioctlGetVScreenInfo, unsafe.Pointer(&v))
	return v, err
}

func (d *fbFile) fixInfo() (fixScreeninfo, error) {
	var v fixScreeninfo
	err := ioctl(d.f, ioctlGetFScreenInfo, unsafe.Pointer(&v))
	return v, err
}

func (d *fbFile) mmap(size int) ([]byte, error) {
	rc, err := d.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var mem []byte
	var merr error
	if err := rc.Control(func(fd uintptr) {
		mem, merr = unix.Mmap(int(fd), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}); err != nil {
		return nil, err
	}
	if merr != nil {
		return nil, merr
	}
	d.mem = mem
	return mem, nil
}

func (d *fbFile) pan(v *varScreeninfo) error {
	return ioctl(d.f, ioctlPanDisplay, unsafe.Pointer(v))
}

func (d *fbFile) close() error {
	var err error
	if d.mem != nil {
		if e := unix.Munmap(d.mem); e != nil {
			err = fmt.Errorf("munmap: %w", e)
		}
		d.mem = nil
	}
	if e := d.f.Close(); e != nil && err == nil {
		err = e
	}
	return err
}

type ttyFile struct{ f *os.File }

// setMode passes the mode by value, as KDSETMODE expects.
func (t *ttyFile) setMode(mode int) error {
	rc, err := t.f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetInt(int(fd), ioctlKDSetMode, mode)
	}); err != nil {
		return err
	}
	return ierr
}

func (t *ttyFile) close() error { return t.f.Close() }
