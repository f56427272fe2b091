package offheap

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// alloc maps n bytes of anonymous memory: zero pages that become resident
// only when written.
func alloc[T any](owner *T, n int) []byte {
	if n <= 0 {
		return nil
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		// Out of address space or memory: the heap would fail too.
		panic("offheap: mmap " + err.Error())
	}
	runtime.AddCleanup(owner, func(b []byte) { unix.Munmap(b) }, b)
	return b
}

func discard(b []byte) {
	if len(b) > 0 {
		// MADV_DONTNEED on a private anonymous mapping: the pages are
		// freed now and read as zero later.
		unix.Madvise(b, unix.MADV_DONTNEED)
	}
}
