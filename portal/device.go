package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"roomkit/health"
	"roomkit/internal/textfield"
	"roomkit/ota"
	"roomkit/profile"
)

// heartbeat is the body of POST /api/v1/device/heartbeat (protocol.md §5).
type heartbeat struct {
	State         string   `json:"state"`
	Version       string   `json:"version"`
	UptimeSeconds int64    `json:"uptime_seconds"`
	Devices       []Device `json:"devices"`
	// Health is the kit's health tree, summarised; kits before issue 12
	// send none.
	Health *health.Report `json:"health,omitempty"`
	// Update is the kit's update agent's report; kits send it only after
	// an answer carried "update" (issue 13).
	Update *ota.Report `json:"update,omitempty"`
	// Remote actions (actions.go): kits send these once an answer
	// carried "actions".
	ActionsDone []actionDone `json:"actions_done,omitempty"`
	LatencyMS   int64        `json:"latency_ms,omitempty"`
	Meeting     *kitMeeting  `json:"meeting,omitempty"`
	// Config is the kit's answer to the configuration it was sent
	// (profiles.go); kits send it once an answer carried "config".
	Config *profile.Status `json:"config,omitempty"`
}

const (
	maxStateLen   = 32
	maxVersionLen = 64
	maxDevices    = 32
	maxDeviceText = 200
)

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields and trailing data, with an error a person can act on.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("the body is empty; it must be a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("the body is not valid JSON: it ends too early")
		case errors.As(err, &se):
			return fmt.Errorf("the body is not valid JSON (at byte %d): %v", se.Offset, err)
		case errors.As(err, &te):
			return fmt.Errorf("field %q must be a JSON %s, not %s", wireField(te.Field), te.Type.Kind(), te.Value)
		}
		return fmt.Errorf("the body does not fit: %v", err)
	}
	if dec.More() {
		return errors.New("the body has data after the JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body has data after the JSON object")
	}
	return nil
}

// wireField drops the names of embedded Go structs from a decoder's field
// path ("update.Status.state" is "update.state" on the wire): JSON names
// here are lower case, Go's embedded type names are not.
func wireField(path string) string {
	parts := strings.Split(path, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && unicode.IsUpper(rune(p[0])) {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}

// decodeHeartbeat decodes a heartbeat body as decodeStrict does: a
// kit's usual heartbeat without reflection (decodeHeartbeatPlain); else
// with the health tree, most of the body and most of encoding/json's
// work, decoded by health.DecodeReport. What that does not take (and any
// error) is decoded again by decodeStrict alone, which words the error.
func decodeHeartbeat(body []byte) (heartbeat, error) {
	if hb, ok := decodeHeartbeatPlain(body); ok {
		return hb, nil
	}
	// The outer "health" hides the embedded heartbeat's own.
	var fast struct {
		heartbeat
		Health fastHealth `json:"health,omitempty"`
	}
	if decodeStrict(body, &fast) == nil && fast.Health.n <= 1 && !fast.Health.slow {
		hb := fast.heartbeat
		hb.Health = fast.Health.report
		return hb, nil
	}
	var hb heartbeat
	err := decodeStrict(body, &hb)
	return hb, err
}

// fastHealth decodes the health tree where encoding/json finds it (its
// bytes are only valid during the call); n counts the "health" keys (two
// merge, which decodeStrict does), slow says DecodeReport did not take it.
type fastHealth struct {
	report *health.Report
	n      int
	slow   bool
}

func (f *fastHealth) UnmarshalJSON(b []byte) error {
	f.n++
	if string(b) == "null" {
		f.report = nil
		return nil
	}
	r, ok := health.DecodeReport(b)
	f.report, f.slow = &r, f.slow || !ok
	return nil
}

// parseHeartbeat decodes and checks a heartbeat body.
func parseHeartbeat(body []byte) (heartbeat, error) {
	hb, err := decodeHeartbeat(body)
	if err != nil {
		return hb, err
	}
	// Everything a kit reports is shown in the admin center and by roomctl:
	// one line of text each (the kit cleans what its drivers say).
	if err := textfield.Check(hb.State, maxStateLen); err != nil {
		return hb, fmt.Errorf("state %v", err)
	}
	if err := textfield.Check(hb.Version, maxVersionLen); err != nil {
		return hb, fmt.Errorf("version %v", err)
	}
	switch {
	case hb.State == "" || len(hb.State) > maxStateLen:
		return hb, fmt.Errorf("state must be 1 to %d characters", maxStateLen)
	case len(hb.Version) > maxVersionLen:
		return hb, fmt.Errorf("version must be at most %d characters", maxVersionLen)
	case hb.UptimeSeconds < 0:
		return hb, errors.New("uptime_seconds must not be negative")
	case len(hb.Devices) > maxDevices:
		return hb, fmt.Errorf("at most %d devices, this has %d", maxDevices, len(hb.Devices))
	}
	for i, d := range hb.Devices {
		if len(d.Kind) > maxDeviceText || len(d.Name) > maxDeviceText || len(d.Error) > maxDeviceText ||
			!utf8.ValidString(d.Kind+d.Name+d.Error) {
			return hb, fmt.Errorf("devices[%d]: kind, name and error must be at most %d bytes of UTF-8", i, maxDeviceText)
		}
		for _, f := range [...]struct{ field, v string }{{"kind", d.Kind}, {"name", d.Name}, {"error", d.Error}} {
			if err := textfield.Check(f.v, maxDeviceText); err != nil {
				return hb, fmt.Errorf("devices[%d].%s %v", i, f.field, err)
			}
		}
	}
	if hb.Devices == nil {
		hb.Devices = []Device{}
	}
	if hb.Health != nil {
		if err := hb.Health.Validate(); err != nil {
			return hb, fmt.Errorf("health: %v", err)
		}
	}
	if err := checkHeartbeatActions(&hb); err != nil {
		return hb, err
	}
	if c := hb.Config; c != nil {
		if err := c.Check(); err != nil {
			return hb, err
		}
		// Shown in the admin center: one line of text each.
		for _, r := range c.Rejected {
			if err := textfield.Check(r.Reason, 200); err != nil {
				return hb, fmt.Errorf("config.rejected %s: the reason %v", r.Field, err)
			}
		}
	}
	if hb.Update != nil {
		if err := hb.Update.Validate(); err != nil {
			return hb, err
		}
		// Shown in the admin center like the other fields: one line of text.
		for _, f := range [...]struct{ field, v string }{{"target_version", hb.Update.TargetVersion}, {"error", hb.Update.Error},
			{"detail", hb.Update.Detail}, {"channel", hb.Update.Channel}, {"available", hb.Update.Available}} {
			if err := textfield.Check(f.v, ota.MaxErrorLen); err != nil {
				return hb, fmt.Errorf("update.%s %v", f.field, err)
			}
		}
		if l := hb.Update.Last; l != nil {
			for _, f := range [...]struct{ field, v string }{{"version", l.Version}, {"reason", l.Reason}} {
				if err := textfield.Check(f.v, ota.MaxErrorLen); err != nil {
					return hb, fmt.Errorf("update.last.%s %v", f.field, err)
				}
			}
		}
	}
	return hb, nil
}

// readBody reads at most maxBody bytes, answering 413 itself if there are more.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	// Sized from Content-Length (within the limit): ReadAll would grow
	// its buffer from 512 bytes, copying a heartbeat's body three times.
	n := int64(512)
	if r.ContentLength > 0 {
		n = min(r.ContentLength, maxBody) + 1 // +1: room for the EOF read
	}
	body, err := readAllInto(make([]byte, 0, n), http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiErrorBody{fmt.Sprintf("The body is larger than %d KiB.", maxBody>>10)})
			return nil, false
		}
		writeJSON(w, http.StatusBadRequest, apiErrorBody{"Could not read the body: " + err.Error()})
		return nil, false
	}
	return body, true
}

// readAllInto is io.ReadAll appending to buf (io.ReadAll starts at 512
// bytes; bytes.Buffer.ReadFrom grows whenever less than 512 are free).
func readAllInto(buf []byte, rd io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

type apiErrorBody struct {
	Error string `json:"error"`
}

type roomAnswer struct {
	Room roomConfig `json:"room"`
	// Update is the room's update policy; kits send their update report
	// once they saw it (older kits ignore it).
	Update *ota.Policy `json:"update,omitempty"`
}

// heartbeatAnswer is roomAnswer with the remote actions the kit has yet
// to do: never null, so the kit learns the portal takes actions_done.
type heartbeatAnswer struct {
	roomAnswer
	Actions []kitAction `json:"actions"`
	// Config is the room's configuration from its profiles and
	// overrides (profiles.go); absent for a room nobody configured.
	Config *profile.Config `json:"config,omitempty"`
}

// deviceRoom authenticates the kit's access token and returns its room.
func (s *Server) deviceRoom(w http.ResponseWriter, r *http.Request) (roomConfig, bool) {
	cfg, _, ok := s.authKit(w, r, false)
	return cfg, ok
}

// authKit authenticates the kit's access token and returns its room.
// With forHeartbeat on replicas it also returns, read in the same round
// trip, what the heartbeat compares and answers (heartbeatRoom); else
// stored is nil and each reads its own.
func (s *Server) authKit(w http.ResponseWriter, r *http.Request, forHeartbeat bool) (cfg roomConfig, stored *storedRoom, ok bool) {
	tok, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, apiErrorBody{"invalid_token"})
		return roomConfig{}, nil, false
	}
	var err error
	if forHeartbeat && s.shared() {
		if stored, err = s.heartbeatRoom(tok); err == nil {
			cfg = stored.cfg
		}
	} else {
		var roomID string
		roomID, err = s.roomForAccessToken(tok)
		if err == nil {
			cfg, err = s.roomConfigFor(roomID)
		}
	}
	if errors.Is(err, errNotFound) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, apiErrorBody{"invalid_token"})
		return roomConfig{}, nil, false
	}
	if err != nil {
		if isStoreDown(err) { // the kit backs off by Retry-After
			writeHTTPError(w, s.storeFailure("check the kit's access token", err))
			return roomConfig{}, nil, false
		}
		s.log.Error("device auth", "err", err)
		writeJSON(w, http.StatusInternalServerError, apiErrorBody{"internal error"})
		return roomConfig{}, nil, false
	}
	return cfg, stored, true
}

func (s *Server) serveHeartbeat(w http.ResponseWriter, r *http.Request) {
	cfg, stored, ok := s.authKit(w, r, true)
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	hb, err := parseHeartbeat(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{"Bad heartbeat: " + err.Error()})
		return
	}
	link := s.noteKit(cfg, hb, clientAddr(r), stored)
	st := heartbeatStatus{state: hb.State, version: hb.Version, devices: hb.Devices, health: hb.Health,
		update: hb.Update, lastSeen: s.now()}
	if s.shared() {
		st.link, st.uptime = link.column(), link.Uptime
	}
	s.live.record(cfg.ID, st, !s.shared())
	s.met.heartbeats.Add(1)
	ans := heartbeatAnswer{roomAnswer: roomAnswer{Room: cfg}, Actions: s.answerActions(cfg.ID, stored)}
	// Replicas: the policies, rollouts and requests another replica
	// changed (updatesync.go), at the revision read with the room. Without
	// them the kit gets no policy rather than a stale one: it then does
	// not update.
	var synced error
	if stored != nil {
		synced = s.syncUpdatesTo(stored.updateRev)
	} else {
		synced = s.syncUpdates()
	}
	if synced != nil {
		s.logStoreError("read the update state", synced)
	}
	if hb.Update != nil {
		if err := s.noteUpdateReport(cfg.ID, hb.Update, stored); err != nil {
			// The report is kept in memory and flushed with the
			// heartbeat; only its event or rollout waits for the next one.
			s.logStoreError("note update report", err)
		}
	}
	if hb.Config != nil {
		if err := s.noteConfigStatus(cfg.ID, *hb.Config); err != nil {
			// The kit repeats its status with every heartbeat.
			s.logStoreError("note config status", err)
		}
	}
	// Without a policy the kit does not update; a store failure must not
	// fail the heartbeat, which keeps the room online.
	var meta roomUpdateMeta
	var metaErr error
	if stored != nil {
		meta = stored.meta
	} else {
		meta, metaErr = s.roomMeta(cfg.ID)
	}
	if metaErr != nil {
		s.logStoreError("room configuration and update policy", metaErr)
	} else {
		ans.Config = meta.cfg.config
		if synced == nil {
			ans.Update = s.updateAnswer(cfg.ID, meta)
		}
	}
	if s.shared() {
		// Replicas: a heartbeat answered is a heartbeat stored, and every
		// replica reads it from the database (docs/replicas.md). Stored
		// last, so the update report above is compared with the one
		// before it.
		if err := s.commitHeartbeat(heartbeatRow{cfg.ID, st}); err != nil {
			writeHTTPError(w, s.storeFailure("store the heartbeat", err))
			return
		}
	}
	writeJSON(w, http.StatusOK, ans)
}

func (s *Server) serveDeviceConfig(w http.ResponseWriter, r *http.Request) {
	cfg, ok := s.deviceRoom(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, roomAnswer{Room: cfg})
}
