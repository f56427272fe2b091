// Package v4l2 is the kit's real camera: USB (UVC) cameras through
// Video4Linux2, by way of go4vl.
//
// Open scans /dev/video* for capture nodes (UVC metadata nodes, output and
// codec nodes are skipped), picks the camera with the best mode and streams
// it with mmap buffers. The policy (negotiate.go): H.264 over MJPEG over
// YUYV; 1280×720 at 30 fps, or 1920×1080 when Options.Prefer1080p is set
// and the chosen format offers it; a mode under 15 fps or narrower than 640
// pixels only when nothing better exists (a USB 2 YUYV camera therefore
// streams 640×480 at 30 rather than 720p at 10). A camera offering none of
// the three formats gets an error naming what it does offer.
//
// Frames are handed out in the driver's own mmap buffer, without a copy
// (except YUYV from a driver that pads its rows). H.264 passes through to
// the meeting; MJPEG and YUYV go to the H.264 encoder as I420 via
// camera.Converter. A YUYV buffer shorter than a whole frame (a USB hiccup),
// a buffer the driver flags as corrupt, and an MJPEG buffer that is not a
// JPEG are dropped and counted (Stats), never passed on.
//
// # Keyframes
//
// RequestKeyframe asks an H.264 camera for an IDR frame: first through
// V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME (UVC 1.5 cameras where the kernel
// maps it, and M2M encoders), then through the UVC H.264 extension unit
// (GUID A29E7641-DE04-47E3-8B2B-F4341AFF003B, UVCX_PICTURE_TYPE_CONTROL
// set to "IDR with SPS and PPS" via UVCIOC_CTRL_QUERY), whose unit ID is
// read from the camera's USB descriptors in sysfs. Cameras with neither
// send keyframes at their own interval (often every few seconds); the
// failure is logged once and counted. Frame.Keyframe is set from
// V4L2_BUF_FLAG_KEYFRAME or, as not every driver sets it, from an IDR NAL
// unit in the access unit.
//
// # Unplug and replug
//
// An unplugged camera shows up as a failing dequeue (uvcvideo answers EIO
// or ENODEV and poll reports an error); Next then returns an error
// wrapping camera.ErrUnplugged. A Manager (registered as the "v4l2" camera
// driver) keeps a camera.Camera across that: while none streams its Next
// returns ErrUnplugged at once, its Status says "The camera is unplugged.
// Check its USB cable.", and every RescanInterval (2 s) it tries to open
// one again, picking up the same or another camera.
//
// # Building
//
// go4vl uses cgo and the kernel's V4L2 headers. v0.3.0 is used: v0.5.0
// refers to two pixel formats (V4L2_PIX_FMT_AV1_FRAME, V4L2_PIX_FMT_P012)
// that Debian 12's linux-libc-dev 6.1 lacks, so it builds only with extra
// CGO_CFLAGS, which a plain `go build` does not have. A build needs gcc and
// linux-libc-dev (Debian: build-essential brings both). Without cgo the
// package still builds, and Open says that this build has no V4L2 support.
//
// # Fixtures
//
// Tests replay fixtures at the ioctl boundary: what a camera answered and
// the buffers it filled. `roomctl record-camera` records them from a real
// camera (a developer with hardware: plug the camera in, stop roomd if it
// runs, then
//
//	roomctl record-camera -list
//	roomctl record-camera -device /dev/video2 -frames 30 -o c920-h264-720p.v4l2.gz
//
// and copy the file to testdata; -1080p records the 1080p mode, and
// -keyframe-at N asks an H.264 camera for a keyframe before frame N so the
// recording shows whether it obeys). OpenFixture plays a fixture back as a
// Camera for tests elsewhere. A fixture, optionally gzip-compressed, is
//
//   - one line of JSON ending in a newline, at most 1 MiB:
//     {"format":"roomkit-v4l2/1","source":…,"path":"/dev/video2",
//     "capability":{"driver","card","bus_info","device_caps"},
//     "formats":[{"pixelformat":"MJPG","description":…,"flags":1,
//     "sizes":[{"width":1280,"height":720,"intervals":[{"num":1,"den":30}]}]}],
//     "negotiated":{"pixelformat","width","height","bytesperline","sizeimage"},
//     "interval":{"num":1,"den":30},"keyframe":{"before_frame":10,"method":"uvc-xu"},
//     "ends":"stalled"}
//     where sizes with max_width/max_height/step_* are stepwise ranges, and
//     ends, if set, says the camera fell silent after the last buffer
//     (Record ends a recording so when no buffer comes for
//     RecordOptions.StallAfter); without it the camera went away;
//   - then each dequeued buffer, as recorded (partial and flagged ones
//     too): sequence (uint32), flags (uint32), timestamp in microseconds
//     since the first buffer (uint64), bytesused (uint32), all
//     little-endian, then bytesused bytes of data.
//
// The uvc-* and ir-* fixtures in testdata are synthetic, made by `go test
// -run TestWriteFixtures -update` from cameratest's pattern after real
// cameras' answers (C920, C270, a USB 3 YUYV camera, an infrared camera);
// recorded ones belong beside them. vivid-yuyv-720p.v4l2.gz is recorded:
// TestKernelVividRecord makes it from the kernel's vivid driver inside the
// QEMU test kernel (RECORD=dir images/kernel/testdevices/smoke.sh).
//
// # Kernel tests
//
// The TestKernel… tests (kernel_linux_test.go) run the driver against vivid
// in the QEMU test kernel (drivers/kerneltest): scan, negotiation, frames
// with vivid's colour bars, a camera in use, and an unplug by unbinding
// vivid's platform device.
package v4l2
