//go:build !linux

package offheap

// alloc falls back to the heap where there is no mmap to rely on: the
// simulator on a laptop does not need the saving.
func alloc[T any](owner *T, n int) []byte { return make([]byte, n) }

func discard(b []byte) { clear(b) }
