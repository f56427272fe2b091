package v4l2

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"roomkit/drivers"
)

// ErrNoCamera is wrapped by errors about a directory without any video
// capture node.
var ErrNoCamera = errors.New("no camera found")

// DeviceInfo describes one video capture node, as `roomctl record-camera
// -list` prints it.
type DeviceInfo struct {
	Path    string       `json:"path"`
	Name    string       `json:"name"`   // the card name, e.g. "HD Pro Webcam C920"
	Driver  string       `json:"driver"` // e.g. "uvcvideo"
	Bus     string       `json:"bus"`    // e.g. "usb-0000:00:14.0-2"
	Formats []FormatInfo `json:"formats"`
	// Mode is what the kit would stream ("H264 1280x720@30"); empty when
	// Unusable says why it cannot.
	Mode     string `json:"mode,omitempty"`
	Unusable string `json:"unusable,omitempty"`
}

// FormatInfo is one pixel format a node offers.
type FormatInfo struct {
	FourCC      string   `json:"fourcc"` // "MJPG", "YUYV", "H264", …
	Description string   `json:"description"`
	Sizes       []string `json:"sizes"` // "1280x720@30,15"
}

// scanned is a capture node and what the policy made of it.
type scanned struct {
	DeviceInfo
	mode  mode
	score score
	err   error
}

// Scan lists the video capture nodes in dir (DefaultDir if empty) with
// what they offer. Metadata and output nodes are left out.
func Scan(dir string) ([]DeviceInfo, error) {
	if dir == "" {
		dir = DefaultDir
	}
	s, err := scanWith(openKernel, dir, false)
	out := make([]DeviceInfo, len(s))
	for i := range s {
		out[i] = s[i].DeviceInfo
	}
	return out, err
}

func scanWith(open opener, dir string, prefer1080p bool) ([]scanned, error) {
	paths, err := drivers.Nodes(dir, "video")
	if err != nil {
		return nil, fmt.Errorf("scan cameras: %w", err)
	}
	var out []scanned
	for _, path := range paths {
		d, err := open(path)
		if err != nil {
			// Busy (another program streams it) or gone between ReadDir
			// and open: not a camera we can use now.
			slog.Debug("skip video node", "path", path, "err", err)
			continue
		}
		o, err := describe(d)
		d.close()
		if err != nil {
			slog.Debug("skip video node", "path", path, "err", err)
			continue
		}
		if !o.cap.capture() {
			continue // a UVC metadata node, an output or a codec node
		}
		s := scanned{DeviceInfo: DeviceInfo{Path: path, Name: o.cap.Card, Driver: o.cap.Driver, Bus: o.cap.BusInfo}}
		for _, f := range o.formats {
			fi := FormatInfo{FourCC: f.desc.PixelFormat.String(), Description: f.desc.Description}
			for _, sz := range f.sizes {
				var rates []string
				for _, iv := range sz.intervals {
					rates = append(rates, fpsString(iv.fps()))
				}
				e := fmt.Sprintf("%dx%d", sz.width, sz.height)
				if len(rates) > 0 {
					e += "@" + strings.Join(rates, ",")
				}
				fi.Sizes = append(fi.Sizes, e)
			}
			s.Formats = append(s.Formats, fi)
		}
		s.mode, s.score, s.err = choose(o, prefer1080p)
		if s.err != nil {
			s.Unusable = s.err.Error()
		} else {
			s.Mode = s.mode.String()
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoCamera, dir)
	}
	return out, nil
}
