package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"roomkit/drivers/camera/v4l2"
)

// recordCamera is `roomctl record-camera`: it records what a camera's
// driver answers and the frames it sends, as a fixture for the V4L2
// driver's tests (drivers/camera/v4l2/doc.go says how to use one). It runs
// on the machine the camera is plugged into and does not need roomd;
// stop roomd first if it streams from the same camera (the node is busy).
//
//	roomctl record-camera -list
//	roomctl record-camera [-dir /dev] [-device /dev/video2] [-1080p] [-frames 30] [-keyframe-at 10] -o c920-h264.v4l2.gz
func recordCamera(args []string) error {
	fs := flag.NewFlagSet("record-camera", flag.ContinueOnError)
	dir := fs.String("dir", v4l2.DefaultDir, "where to look for video nodes")
	device := fs.String("device", "", "record this node (default: the camera the kit would pick)")
	hd := fs.Bool("1080p", false, "negotiate 1920x1080 where the camera offers it, as a kit configured for 1080p does")
	frames := fs.Int("frames", 30, "buffers to record; keep recordings short (a 720p YUYV frame is 1.8 MB)")
	keyAt := fs.Int("keyframe-at", 10, "ask an H.264 camera for a keyframe before this frame (0: never)")
	out := fs.String("o", "", "the fixture file to write; a name ending in .gz is gzip-compressed")
	list := fs.Bool("list", false, "list the capture nodes and what they offer, as JSON, and record nothing")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: record-camera: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: record-camera takes only flags, got %q", errUsage, fs.Args())
	}
	if *list {
		devs, err := v4l2.Scan(*dir)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(devs)
	}
	if *out == "" {
		return fmt.Errorf("%w: record-camera needs -o FILE", errUsage)
	}
	if *frames <= 0 || *frames > 600 {
		return fmt.Errorf("%w: record-camera -frames %d: want 1 to 600", errUsage, *frames)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(*frames)*time.Second+30*time.Second)
	defer cancel()

	host, _ := os.Hostname()
	var info v4l2.DeviceInfo
	err := recordTo(*out, func(w io.Writer) (err error) {
		info, err = v4l2.Record(ctx, v4l2.RecordOptions{
			Options:    v4l2.Options{Dir: *dir, Path: *device, Prefer1080p: *hd},
			Frames:     *frames,
			KeyframeAt: *keyAt,
			Source:     fmt.Sprintf("roomctl record-camera on %s, %s", host, time.Now().UTC().Format(time.DateOnly)),
		}, w)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("recorded %s (%s, %s) streaming %s to %s\n", info.Name, info.Path, info.Driver, info.Mode, *out)
	return nil
}

// recordTo writes what record writes to path, gzipped when path ends in
// .gz, and replaces path only once record and the compression are done:
// an interrupted or failed recording leaves the old file (or none) and no
// half fixture. The temporary file is beside path, so a crash's leftover
// is where the user looks.
func recordTo(path string, record func(io.Writer) error) error {
	f, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)))
	if err != nil {
		return fmt.Errorf("record camera: %w", err)
	}
	defer f.Cleanup() // removes the temporary file unless it replaced path
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		zw, _ = gzip.NewWriterLevel(f, gzip.BestCompression)
		w = zw
	}
	if err := record(w); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("record camera: %w", err)
		}
	}
	if err := f.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("record camera: %w", err)
	}
	return nil
}
