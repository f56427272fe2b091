// Command codecmem breaks roomd's C memory in a meeting down by codec: it
// makes the kit's camera encoder (1280×720, 30 fps, 1.5 Mbit/s, as
// appliance/meeting does) and N decoders of a 320×240 stream (what
// bench/meetingrss's guests send), and prints this process's anonymous RSS,
// glibc's view of the C heap (mallinfo2: in use, of which mmap'd) and the
// thread count after each step, plus the encoder's CPU time.
//
//	go run ./bench/codecmem [-threads 1] [-decoders 6] [-frames 90]
//
// The frames are synthetic gradients, so the encoder's CPU time compares
// thread counts on this machine; it says little about a kit's.
package main

/*
#include <malloc.h>
static size_t c_inuse(void) { struct mallinfo2 m = mallinfo2(); return m.uordblks + m.hblkhd; }
static size_t c_mmapped(void) { struct mallinfo2 m = mallinfo2(); return m.hblkhd; }
*/
import "C"

import (
	"flag"
	"fmt"
	"image"
	"os"
	"strings"
	"time"

	"roomkit/appliance/meeting/codec"
)

func main() {
	threads := flag.Int("threads", 1, "the camera encoder's threads (0: openh264 picks)")
	decoders := flag.Int("decoders", 6, "320x240 decoders")
	frames := flag.Int("frames", 90, "1280x720 frames to encode")
	flag.Parse()
	if err := run(*threads, *decoders, *frames); err != nil {
		fmt.Fprintln(os.Stderr, "codecmem:", err)
		os.Exit(1)
	}
}

func run(threads, decoders, frames int) error {
	report("start")
	enc, err := codec.NewH264Encoder(codec.H264Options{Width: 1280, Height: 720, FPS: 30, Bitrate: 1_500_000, KeyframeInterval: 60, Threads: threads})
	if err != nil {
		return err
	}
	report("camera encoder made")
	i420 := make([]byte, 1280*720*3/2)
	t0, cpu0 := time.Now(), cpuTime()
	for i := range frames {
		gradient(i420, 1280, 720, i)
		if _, err := enc.Encode(i420); err != nil {
			return err
		}
	}
	report(fmt.Sprintf("%d frames encoded (%v wall, %v CPU)", frames, time.Since(t0).Round(time.Millisecond), cpuTime()-cpu0))

	aus, err := stream(320, 240, 60)
	if err != nil {
		return err
	}
	var decs []*codec.H264Decoder
	for range decoders {
		d, err := codec.NewH264Decoder()
		if err != nil {
			return err
		}
		decs = append(decs, d)
	}
	report(fmt.Sprintf("%d decoders made", decoders))
	for _, d := range decs {
		var pic *image.YCbCr
		for _, au := range aus {
			if p, err := d.Decode(au, pic); err == nil {
				pic = p
			}
		}
	}
	report(fmt.Sprintf("%d decoders decoded %d frames each", decoders, len(aus)))
	for _, d := range decs {
		d.Close()
	}
	report("decoders closed")
	enc.Close()
	report("camera encoder closed")
	return nil
}

// stream encodes n frames of a w×h gradient, a keyframe a second at 15 fps.
func stream(w, h, n int) ([][]byte, error) {
	enc, err := codec.NewH264Encoder(codec.H264Options{Width: w, Height: h, FPS: 15, Bitrate: w * h * 4, KeyframeInterval: 15, Threads: 1})
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	i420 := make([]byte, w*h*3/2)
	var aus [][]byte
	for i := range n {
		gradient(i420, w, h, i)
		au, err := enc.Encode(i420)
		if err != nil {
			return nil, err
		}
		aus = append(aus, append([]byte(nil), au...))
	}
	return aus, nil
}

// gradient writes frame i of a moving luma gradient.
func gradient(i420 []byte, w, h, i int) {
	for y := range h {
		for x := range w {
			i420[y*w+x] = byte(x + y*(i%7) + i*3)
		}
	}
}

func report(step string) {
	status, _ := os.ReadFile("/proc/self/status")
	var fields []string
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "RssAnon:") || strings.HasPrefix(l, "Threads:") {
			fields = append(fields, strings.Join(strings.Fields(l), " "))
		}
	}
	fmt.Printf("%-45s %s; C heap %.1f MB in use, %.1f MB of it mmap'd\n", step, strings.Join(fields, ", "),
		float64(C.c_inuse())/1e6, float64(C.c_mmapped())/1e6)
}

// cpuTime is this process's user and system time so far.
func cpuTime() time.Duration {
	stat, _ := os.ReadFile("/proc/self/stat")
	f := strings.Fields(string(stat)[strings.LastIndexByte(string(stat), ')')+2:])
	var user, sys int64
	fmt.Sscan(f[11], &user)
	fmt.Sscan(f[12], &sys)
	return time.Duration(user+sys) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}
