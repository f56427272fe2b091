package codec

/*
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

// openh264 2.1.1 (the archive mediadevices v0.9.4 links) copies every access
// unit into a 3 MB ring (MIN_ACCESS_UNIT_CAPACITY * MAX_BUFFERED_NUM) that it
// zeroes when the decoder is made, so all of it is resident, and that it
// writes round and round. Decoding is done when DecodeFrameNoDelay returns
// (it flushes the access unit), so what the ring holds behind the write
// position is dead. The API has no way to size it; these are the offsets of
// the ring's descriptor, computed by the target's compiler from 2.1.1's
// headers (offsetof, x86_64-linux-gnu-g++ and aarch64-linux-gnu-g++; the
// first two are also what CWelsDecoder::DecodeFrame2 loads in both
// archives' disassembly), and checked against the decoder's memory before
// they are used (bsring_check): with another build, nothing is trimmed.
#define OFF_DEC_THREADS 28 // CWelsDecoder::m_iThreadCount
#define OFF_DEC_THRCTX 56  // CWelsDecoder::m_pDecThrCtx
#if defined(__x86_64__)
#define OFF_THR_CTX 168 // SWelsDecoderThreadCTX::pCtx
#elif defined(__aarch64__)
#define OFF_THR_CTX 184
#else
#define OFF_THR_CTX -1
#endif
#define OFF_CTX_RAW 32 // SWelsDecoderContext::sRawData
#define CTX_SIZE 568928 // sizeof(SWelsDecoderContext)
#define RING_SIZE (3 << 20)

// The ring is trimmed each time the write position moved this far, and the
// pages this near the write position are kept.
#define RING_TRIM_EVERY (256 << 10)
#define RING_KEEP (64 << 10)

typedef struct { uint8_t *head, *end, *start, *cur; } bsring; // SDataBuffer

// peek reads n bytes at addr without faulting on a bad address.
static int peek(const void *addr, void *dst, size_t n) {
	struct iovec l = {dst, n}, r = {(void *)addr, n};
	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -1;
}

// bsring_check reports whether the offsets above lead to a fresh decoder's
// context and ring: a context of CTX_SIZE and a descriptor {head, head +
// 3 MB, head, head}, each tagged with its size by openh264's WelsMalloc
// (the 4 bytes before the pointer before the memory). Any other library or
// layout fails it.
static int bsring_check(void *dec) {
	int32_t threads, size;
	uint8_t *thr, *ctx;
	bsring r;
	if (OFF_THR_CTX < 0) return 0;
	if (peek((uint8_t *)dec + OFF_DEC_THREADS, &threads, sizeof threads) || threads != 0) return 0;
	if (peek((uint8_t *)dec + OFF_DEC_THRCTX, &thr, sizeof thr) || thr == NULL) return 0;
	if (peek(thr + OFF_THR_CTX, &ctx, sizeof ctx) || ctx == NULL) return 0;
	if (peek(ctx - 12, &size, sizeof size) || size != CTX_SIZE) return 0;
	if (peek(ctx + OFF_CTX_RAW, &r, sizeof r)) return 0;
	if (r.head == NULL || r.end - r.head != RING_SIZE || r.start != r.head || r.cur != r.head) return 0;
	if (peek(r.head - 12, &size, sizeof size) || size != RING_SIZE) return 0;
	return 1;
}

// bsring_of returns the decoder's ring descriptor (re-read each time:
// openh264 makes a new context when it resets), once bsring_check passed.
static bsring *bsring_of(void *dec) {
	if (*(int32_t *)((uint8_t *)dec + OFF_DEC_THREADS) != 0) return NULL;
	uint8_t *thr = *(uint8_t **)((uint8_t *)dec + OFF_DEC_THRCTX);
	if (thr == NULL) return NULL;
	uint8_t *ctx = *(uint8_t **)(thr + OFF_THR_CTX);
	if (ctx == NULL) return NULL;
	bsring *r = (bsring *)(ctx + OFF_CTX_RAW);
	if (r->head == NULL || r->cur < r->head || r->cur > r->end) return NULL;
	return r;
}

// drop hands the whole pages inside [from, to) back; they read as zeros,
// as the ring did when it was made.
static void drop(uint8_t *from, uint8_t *to) {
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)from + pg - 1) & ~(pg - 1), b = (uintptr_t)to & ~(pg - 1);
	if (a < b) madvise((void *)a, b - a, MADV_DONTNEED);
}

// ctx_drop_zero_pages hands back the pages of the decoder's context (570 kB,
// zeroed when made, mostly tables a baseline stream never fills) that are
// still all zeros: they read as zeros again. Only once bsring_check passed,
// and only from the goroutine that decodes (openh264 runs no threads of
// its own here), so nothing writes a page between the check and the drop.
static void ctx_drop_zero_pages(void *dec) {
	uint8_t *thr = *(uint8_t **)((uint8_t *)dec + OFF_DEC_THRCTX);
	uint8_t *ctx = thr == NULL ? NULL : *(uint8_t **)(thr + OFF_THR_CTX);
	if (ctx == NULL) return;
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)ctx + pg - 1) & ~(pg - 1), b = ((uintptr_t)ctx + CTX_SIZE) & ~(pg - 1);
	for (; a < b; a += pg) {
		const uint64_t *w = (const uint64_t *)a;
		size_t i = 0, n = pg / sizeof *w;
		while (i < n && w[i] == 0) i++;
		if (i == n) madvise((void *)a, pg, MADV_DONTNEED);
	}
}

// bsring_trim drops the ring's pages away from the write position once it
// moved RING_TRIM_EVERY past *mark (or wrapped). Call it only between
// decodes, from the goroutine that decodes.
static void bsring_trim(void *dec, uintptr_t *mark) {
	bsring *r = bsring_of(dec);
	if (r == NULL) return;
	uintptr_t cur = (uintptr_t)r->cur;
	if (*mark != 0 && cur >= *mark && cur - *mark < RING_TRIM_EVERY) return;
	*mark = cur;
	uint8_t *lo = r->cur - r->head > RING_KEEP ? r->cur - RING_KEEP : r->head;
	uint8_t *hi = r->end - r->cur > RING_KEEP ? r->cur + RING_KEEP : r->end;
	drop(r->head, lo);
	drop(hi, r->end);
}

// bsring_resident returns how many bytes of the ring are resident (mincore),
// or -1 if the ring is not known. For tests.
static long bsring_resident(void *dec) {
	bsring *r = bsring_of(dec);
	if (r == NULL) return -1;
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)r->head & ~(pg - 1), b = ((uintptr_t)r->end + pg - 1) & ~(pg - 1);
	size_t n = (b - a) / pg;
	unsigned char *v = malloc(n);
	if (v == NULL) return -1;
	long res = -1;
	if (mincore((void *)a, b - a, v) == 0) {
		res = 0;
		for (size_t i = 0; i < n; i++) res += (v[i] & 1) ? (long)pg : 0;
	}
	free(v);
	return res;
}
*/
import "C"

import "unsafe"

// ringTrimmer keeps an openh264 decoder's bitstream ring from being resident
// whole: 3 MB a decoder of which a 320×240 stream needs a few kB at a time.
// Six decoders held 18 MB of it in a meeting, and 3.3 MB of zeros in their
// contexts.
type ringTrimmer struct {
	ok   bool        // the decoder's layout is the one known (bsring_check)
	mark C.uintptr_t // write position at the last trim
}

// newRingTrimmer checks dec, a decoder just initialized, and trims its ring.
func newRingTrimmer(dec unsafe.Pointer) ringTrimmer {
	t := ringTrimmer{ok: C.bsring_check(dec) == 1}
	t.trim(dec)
	if t.ok {
		C.ctx_drop_zero_pages(dec)
	}
	return t
}

// trim drops the ring's dead pages if the write position moved enough.
func (t *ringTrimmer) trim(dec unsafe.Pointer) {
	if t.ok {
		C.bsring_trim(dec, &t.mark)
	}
}

// ringResident is how many bytes of the decoder's ring are resident, or -1
// if the ring is not known (for tests).
func (d *H264Decoder) ringResident() int {
	if !d.ring.ok || d.d == nil {
		return -1
	}
	return int(C.bsring_resident(unsafe.Pointer(d.d)))
}
