// Package alsa is the kit's speakerphone driver: ALSA through miniaudio
// (github.com/gen2brain/malgo), full duplex, 48 kHz mono 16-bit, periods of
// at most 10 ms.
//
// Open enumerates the ALSA devices and picks the speakerphone (Choose: a
// USB audio class device first, then other analog devices, HDMI last;
// loopback and dummy cards only when asked for by name), and starts one
// duplex stream on it. A USB speaker without a microphone is used alone,
// playback only: the room hears the meeting, Read returns silence, and
// Status says the room cannot be heard. A Manager wraps that for a kit: it survives the
// speakerphone being unplugged (Read and Write return audio.ErrUnplugged,
// Status says to check the cable) and reopens it when it is back.
//
// # The real-time boundary
//
// miniaudio calls back on its own audio thread once per period with
// the captured microphone samples and a buffer to fill for the speaker.
// That callback must never block on the meeting code or allocate: it only
// copies one period into or out of two small rings under a mutex held for
// that copy (never while waiting), and signals waiters through channels
// with a non-blocking send. Read waits for the microphone ring to hold
// enough samples; Write waits for room in the speaker ring. When the
// speaker ring runs dry the speaker plays silence and an underrun is
// counted; when the microphone ring overflows (nobody read in time) the
// oldest samples are dropped and counted, so latency stays bounded after
// any stall. Software gain and mute are applied in the callback, so they
// take effect within one period.
//
// That thread runs at normal priority, not SCHED_FIFO: miniaudio 0.11's
// ALSA loop spins on a USB speaker pulled out mid-stream and never stops
// (backend.go). The Manager notices the card leaving /proc/asound/cards,
// drops the stream and reports Stuck; roomd then restarts itself once no
// meeting is on.
//
// # Static linking
//
// On gokrazy there is no libc to dlopen libasound from, so kit binaries are
// linked statically (scripts/build-static.sh): miniaudio is compiled with
// MA_NO_RUNTIME_LINKING and only the ALSA and null backends, against the
// static libasound.a that scripts/setup-cross.sh builds. The tests use
// miniaudio's null backend, which runs the same callback machinery with
// no sound card.
package alsa
