package codec

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <opus/opus.h>

// opus_encoder_ctl is variadic, which cgo cannot call: wrap the requests.
static int opusenc_setup(OpusEncoder *e, opus_int32 bitrate) {
	int rv = opus_encoder_ctl(e, OPUS_SET_BITRATE(bitrate));
	if (rv != OPUS_OK) return rv;
	rv = opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	if (rv != OPUS_OK) return rv;
	// In-band FEC lets the far end rebuild a lost frame from the next one.
	rv = opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(1));
	if (rv != OPUS_OK) return rv;
	return opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(5));
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// OpusSampleRate is the rate the kit's Opus runs at (Opus's native rate).
const OpusSampleRate = 48000

// OpusFrameSamples is one 20 ms frame of mono audio at 48 kHz.
const OpusFrameSamples = OpusSampleRate / 50

// maxOpusPacket is the largest Opus packet (RFC 6716 §3.4: 1275 bytes per
// frame; one frame per packet here).
const maxOpusPacket = 1275

// OpusEncoder encodes 48 kHz mono speech. It is not safe for concurrent use.
type OpusEncoder struct {
	e   *C.OpusEncoder
	out [maxOpusPacket]byte
}

// NewOpusEncoder returns a mono 48 kHz VoIP encoder at the given bitrate.
func NewOpusEncoder(bitrate int) (*OpusEncoder, error) {
	var rv C.int
	e := C.opus_encoder_create(OpusSampleRate, 1, C.OPUS_APPLICATION_VOIP, &rv)
	if rv != C.OPUS_OK || e == nil {
		return nil, fmt.Errorf("opus encoder: %s", C.GoString(C.opus_strerror(rv)))
	}
	if rv := C.opusenc_setup(e, C.opus_int32(bitrate)); rv != C.OPUS_OK {
		C.opus_encoder_destroy(e)
		return nil, fmt.Errorf("opus encoder bitrate %d: %s", bitrate, C.GoString(C.opus_strerror(rv)))
	}
	return &OpusEncoder{e: e}, nil
}

// Encode encodes one frame (2.5 to 60 ms of samples; the kit uses 20 ms).
// The returned packet is only valid until the next call.
func (o *OpusEncoder) Encode(pcm []int16) ([]byte, error) {
	if o.e == nil {
		return nil, fmt.Errorf("opus encode: encoder is closed")
	}
	if len(pcm) == 0 {
		return nil, fmt.Errorf("opus encode: empty frame")
	}
	n := C.opus_encode(o.e, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)),
		(*C.uchar)(unsafe.Pointer(&o.out[0])), C.opus_int32(len(o.out)))
	if n < 0 {
		return nil, fmt.Errorf("opus encode %d samples: %s", len(pcm), C.GoString(C.opus_strerror(C.int(n))))
	}
	return o.out[:n], nil
}

// Close frees the encoder.
func (o *OpusEncoder) Close() error {
	if o.e != nil {
		C.opus_encoder_destroy(o.e)
		o.e = nil
	}
	return nil
}

// OpusDecoder decodes Opus into 48 kHz mono. It is not safe for concurrent
// use.
type OpusDecoder struct {
	d *C.OpusDecoder
}

// NewOpusDecoder returns a mono 48 kHz decoder (stereo streams are downmixed
// by libopus).
func NewOpusDecoder() (*OpusDecoder, error) {
	var rv C.int
	d := C.opus_decoder_create(OpusSampleRate, 1, &rv)
	if rv != C.OPUS_OK || d == nil {
		return nil, fmt.Errorf("opus decoder: %s", C.GoString(C.opus_strerror(rv)))
	}
	return &OpusDecoder{d: d}, nil
}

// Decode decodes one packet into pcm (which must hold 120 ms, 5760 samples,
// to take any packet) and returns the number of samples. A nil packet asks
// libopus to conceal one lost frame of len(pcm) samples.
func (o *OpusDecoder) Decode(packet []byte, pcm []int16) (int, error) {
	if o.d == nil {
		return 0, fmt.Errorf("opus decode: decoder is closed")
	}
	if len(pcm) == 0 {
		return 0, fmt.Errorf("opus decode: no room for samples")
	}
	var in *C.uchar
	if len(packet) > 0 {
		in = (*C.uchar)(unsafe.Pointer(&packet[0]))
	}
	n := C.opus_decode(o.d, in, C.opus_int32(len(packet)), (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)), 0)
	if n < 0 {
		return 0, fmt.Errorf("opus decode %d bytes: %s", len(packet), C.GoString(C.opus_strerror(C.int(n))))
	}
	return int(n), nil
}

// Close frees the decoder.
func (o *OpusDecoder) Close() error {
	if o.d != nil {
		C.opus_decoder_destroy(o.d)
		o.d = nil
	}
	return nil
}
