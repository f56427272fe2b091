package repo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"roomkit/ota"
)

// SimImage is what a sim kit's "root" says about itself: sim kits
// (roomd -devices sim) install releases like real kits, but their root is
// opaque bytes, a JSON header line followed by zero padding:
//
//	{"roomkit_sim_image":1,"version":"0.2.0","unhealthy":false}
type SimImage struct {
	Format    int    `json:"roomkit_sim_image"` // 1
	Version   string `json:"version"`
	Unhealthy bool   `json:"unhealthy"` // the sim kit fails its trial boot (rollback demo)
}

// MaxSimHeader bounds the header line a reader looks at.
const MaxSimHeader = 4096

// WriteSimImage writes a sim image of size bytes (at least its header).
// The same arguments always give the same bytes, so a sim release can be
// promoted like a real one.
func WriteSimImage(w io.Writer, s SimImage, size int64) error {
	if err := ota.CheckVersion(s.Version); err != nil {
		return err
	}
	s.Format = 1
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if size < int64(len(b)) {
		size = int64(len(b))
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write sim image: %w", err)
	}
	if _, err := io.CopyN(w, zeros{}, size-int64(len(b))); err != nil {
		return fmt.Errorf("write sim image: %w", err)
	}
	return nil
}

// ParseSimImage reads the header from the first bytes of a sim image;
// ok is false when head is not one.
func ParseSimImage(head []byte) (s SimImage, ok bool) {
	line, _, _ := bytes.Cut(head[:min(len(head), MaxSimHeader)], []byte("\n"))
	if json.Unmarshal(line, &s) != nil || s.Format != 1 || ota.CheckVersion(s.Version) != nil {
		return SimImage{}, false
	}
	return s, true
}
