package provisioning

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
)

// StateFile is the kit's state in its state directory.
const StateFile = "state.json"

// StateVersion is the state file's format version. A newer firmware may add
// fields; an older one ignores them, so an A/B rollback keeps the pairing.
const StateVersion = 1

// maxStateSize caps what LoadState reads: the file is a few hundred bytes,
// anything much larger is not ours.
const maxStateSize = 64 << 10

// ErrCorruptState is wrapped by LoadState when the state file cannot be
// understood. The kit then shows it and pairs again; the bad file is kept
// beside the new one for a technician.
var ErrCorruptState = errors.New("the kit's state file is damaged")

// Room is the room a kit is paired to, as the portal describes it
// (docs/protocol.md §4).
type Room struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Location string `json:"location"`
	TimeZone string `json:"time_zone"`
}

// State is what the kit remembers across reboots. Room is nil while unpaired.
type State struct {
	Version   int       `json:"version"`
	PortalURL string    `json:"portal_url,omitempty"`
	DeviceID  string    `json:"device_id,omitempty"`
	Room      *Room     `json:"room"`
	PairedAt  time.Time `json:"paired_at,omitzero"`
}

// Paired reports whether the state pairs the kit with identity deviceID to a
// room. A state written under another identity (the key was lost and
// replaced) pairs nothing: the portal would refuse the new key anyway.
func (s State) Paired(deviceID string) bool {
	return s.Room != nil && s.DeviceID != "" && s.DeviceID == deviceID
}

// LoadState reads the state in dir. A missing file is an empty, unpaired
// State. A damaged or unreadable file is moved aside and reported with
// ErrCorruptState: the kit's key is kept apart, so the kit can ask the
// portal for its room rather than stay stuck on a file it cannot read.
func LoadState(dir string) (State, error) {
	path := filepath.Join(dir, StateFile)
	s, err := readState(path)
	if err != nil {
		aside, merr := moveAside(path)
		if merr != nil {
			return State{}, fmt.Errorf("%w: %s: %v (and it could not be moved aside: %v)", ErrCorruptState, path, err, merr)
		}
		return State{Version: StateVersion}, fmt.Errorf("%w: %s: %v (kept as %s)", ErrCorruptState, path, err, aside)
	}
	return s, nil
}

// PeekState reads the state in dir like LoadState but changes nothing: a
// damaged file is reported (ErrCorruptState) and left where it is, for the
// kit to find. roomd's main peeks before the kit starts; had it moved the
// file aside, the kit would take itself for unpaired and never try to
// recover its room from the portal.
func PeekState(dir string) (State, error) {
	path := filepath.Join(dir, StateFile)
	s, err := readState(path)
	if err != nil {
		return State{}, fmt.Errorf("%w: %s: %v", ErrCorruptState, path, err)
	}
	return s, nil
}

// readState reads and checks the state file at path; a missing file is
// an unpaired state.
func readState(path string) (State, error) {
	data, err := readCapped(path, maxStateSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return State{Version: StateVersion}, nil
	case errors.Is(err, errTooLarge):
		return State{}, err
	case err != nil:
		return State{}, fmt.Errorf("cannot read it: %w", err)
	}
	return parseState(data)
}

var errTooLarge = errors.New("file too large")

func readCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, max)
	}
	return data, nil
}

// parseState decodes and checks a state file's bytes.
func parseState(data []byte) (State, error) {
	var s State
	if len(bytes.TrimSpace(data)) == 0 {
		return s, errors.New("the file is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return State{}, fmt.Errorf("not valid JSON: %v", err)
	}
	if dec.More() {
		return State{}, errors.New("unexpected data after the JSON object")
	}
	switch {
	case s.Version < 1:
		return State{}, fmt.Errorf("format version %d, want %d or later", s.Version, StateVersion)
	case s.Room != nil && s.Room.ID == "":
		return State{}, errors.New("the room has no id")
	case s.Room != nil && s.DeviceID == "":
		return State{}, errors.New("paired without a device id")
	}
	return s, nil
}

// SaveState writes s to dir atomically: after a crash or power cut the
// kit finds either the old state or the new one, never a mix.
func SaveState(dir string, s State) error {
	if s.Version == 0 {
		s.Version = StateVersion
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	data = append(data, '\n')
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return writeFile(filepath.Join(dir, StateFile), data)
}

// writeFile replaces path, one of the kit's pairing files, with data:
// renameio writes a temporary file, fsyncs it and renames it over path, so
// a crash leaves the old file or the new one, never a mix. Its temporary
// file stays beside path, where FactoryReset finds a crash's leftover
// (renameio would otherwise probe $TMPDIR on every write), and the
// directory is fsynced after, so that the rename itself survives a power
// cut: a kit that was just paired stays paired. The mode is 0600, or what
// the file already has.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := renameio.WriteFile(path, data, 0o600, renameio.WithTempDir(dir)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// moveAside renames a damaged file to <path>.corrupt-<unix time> so that
// nothing is lost, and returns the new name.
func moveAside(path string) (string, error) {
	aside := fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
	for i := 1; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s.corrupt-%d.%d", path, time.Now().Unix(), i)
	}
	if err := os.Rename(path, aside); err != nil {
		return "", err
	}
	return aside, nil
}

// FactoryReset removes everything that pairs the kit or identifies it:
// the key (and damaged copies of it), the state and any half-written
// temporary files. Other files, such as the local control API's
// credential, stay, so the kit's own tools keep working.
func FactoryReset(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("factory reset %s: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		if !pairingFile(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("factory reset %s: %w", dir, err)
	}
	return syncDir(dir)
}

// pairingFile reports whether name is one of the files a factory reset
// removes.
func pairingFile(name string) bool {
	for _, f := range []string{IdentityFile, StateFile} {
		if name == f || strings.HasPrefix(name, f+".corrupt-") ||
			strings.HasPrefix(name, "."+f) || // renameio's temporary file: "." + name + a random number
			strings.HasPrefix(name, oldTempPrefix+f+"-") {
			return true
		}
	}
	return false
}

// oldTempPrefix marked the temporary files of the kit's own atomic writes
// before renameio: a kit updated from such firmware may still hold a
// crash's leftover.
const oldTempPrefix = ".tmp-"
