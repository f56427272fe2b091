package meeting

import (
	"image"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"roomkit/appliance/meeting/codec"
	"roomkit/drivers/camera/cameratest"
)

// BenchmarkVideoPipeline720p is the kit's send path for one camera frame:
// a 1280x720 I420 test pattern through openh264 and into RTP packets (the
// packetizer the track uses). The budget is 5 ms of CPU per frame.
func BenchmarkVideoPipeline720p(b *testing.B) {
	const w, h = 1280, 720
	enc, err := codec.NewH264Encoder(codec.H264Options{Width: w, Height: h, FPS: 30, Bitrate: 1_500_000, KeyframeInterval: keyframeInterval})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	pz := rtp.NewPacketizer(1200, 96, 1, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	// Pre-draw a second of frames so the benchmark measures the encoder,
	// not the pattern, and the encoder sees motion as from a camera.
	frames := make([][]byte, 30)
	at := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	for i := range frames {
		frames[i] = make([]byte, w*h*3/2)
		cameratest.Draw(frames[i], w, h, i, at.Add(time.Duration(i)*time.Second/30))
	}
	var bytes, packets int
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		au, err := enc.Encode(frames[i%len(frames)])
		if err != nil {
			b.Fatal(err)
		}
		packets += len(pz.Packetize(au, 3000))
		bytes += len(au)
		i++
	}
	b.ReportMetric(float64(bytes)/float64(i), "bytes/frame")
	b.ReportMetric(float64(packets)/float64(i), "packets/frame")
}

// BenchmarkOpusEncode20ms is one 20 ms microphone frame through libopus.
func BenchmarkOpusEncode20ms(b *testing.B) {
	enc, err := codec.NewOpusEncoder(opusBitrate)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	pcm := make([]int16, frameSamples*50)
	for i := range pcm {
		pcm[i] = int16(8192 * math.Sin(2*math.Pi*440*float64(i)/48000))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		off := (i % 50) * frameSamples
		if _, err := enc.Encode(pcm[off : off+frameSamples]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkH264Decode720p is the receive path for one remote 720p frame.
func BenchmarkH264Decode720p(b *testing.B) {
	const w, h = 1280, 720
	enc, err := codec.NewH264Encoder(codec.H264Options{Width: w, Height: h, FPS: 30, Bitrate: 1_500_000, KeyframeInterval: 30})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, w*h*3/2)
	var aus [][]byte
	for i := range 30 {
		cameratest.Draw(buf, w, h, i, time.Now())
		au, err := enc.Encode(buf)
		if err != nil {
			b.Fatal(err)
		}
		aus = append(aus, append([]byte(nil), au...))
	}
	enc.Close()
	dec, err := codec.NewH264Decoder()
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	b.ReportAllocs()
	i := 0
	var pic *image.YCbCr
	for b.Loop() {
		// The 30 frames start with an IDR frame, so looping over them
		// decodes cleanly.
		p, err := dec.Decode(aus[i%len(aus)], pic)
		if err == nil {
			pic = p
		}
		i++
	}
}
