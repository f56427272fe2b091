package control

// The meeting verbs: meet-now, join, leave, mute/unmute, camera, volume,
// end, lock/unlock.
// Each answers the kit's status afterwards, or an error in words.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"roomkit/appliance"
	"roomkit/portalapi"
)

// maxRequest caps a control request's body: they are a few bytes of JSON.
const maxRequest = 4 << 10

// JoinRequest is the body of POST /v1/meeting/join.
type JoinRequest struct {
	ID string `json:"id"` // "123456789" or "123-456-789"
}

// MicrophoneRequest is the body of POST /v1/microphone.
type MicrophoneRequest struct {
	Muted *bool `json:"muted"`
}

// CameraRequest is the body of POST /v1/meeting/camera.
type CameraRequest struct {
	Off *bool `json:"off"`
}

// VolumeRequest is the body of POST /v1/volume.
type VolumeRequest struct {
	Volume *int `json:"volume"`
}

// LockRequest is the body of POST /v1/meeting/lock.
type LockRequest struct {
	Locked *bool `json:"locked"`
}

// request is a verb's JSON body; missing says in words what the client
// left out, "" when nothing.
type request interface{ missing() string }

func (q *JoinRequest) missing() string {
	if q.ID == "" {
		return `join: say which meeting: {"id": "123-456-789"}`
	}
	return ""
}

func (q *MicrophoneRequest) missing() string { return missingBool(q.Muted, "muted") }

func (q *CameraRequest) missing() string { return missingBool(q.Off, "off") }

func (q *VolumeRequest) missing() string {
	if q.Volume == nil {
		return `say {"volume": 0…100}`
	}
	return ""
}

func (q *LockRequest) missing() string { return missingBool(q.Locked, "locked") }

func missingBool(v *bool, field string) string {
	if v == nil {
		return fmt.Sprintf(`say {%q: true} or {%q: false}`, field, field)
	}
	return ""
}

// meetingVerb is one meeting verb: its route, a new body for it (nil:
// it takes none) and what it does with the body once decoded and
// complete. One table, so that every verb reads, checks and answers its
// request alike and a new verb is a row.
type meetingVerb struct {
	route string
	body  func() request
	act   func(s *server, r *http.Request, req request) error
}

var meetingVerbs = []meetingVerb{
	{"POST /v1/meeting/meet-now", nil, func(s *server, r *http.Request, _ request) error {
		s.log.Info("meet now requested through the control API")
		return s.kit.MeetNow(r.Context())
	}},
	{"POST /v1/meeting/join", func() request { return new(JoinRequest) }, func(s *server, r *http.Request, req request) error {
		id := req.(*JoinRequest).ID
		s.log.Info("join requested through the control API", "meeting", id)
		return s.kit.JoinMeeting(r.Context(), id)
	}},
	{"POST /v1/meeting/leave", nil, func(s *server, _ *http.Request, _ request) error {
		return s.kit.Leave()
	}},
	{"POST /v1/microphone", func() request { return new(MicrophoneRequest) }, func(s *server, _ *http.Request, req request) error {
		s.kit.SetMuted(*req.(*MicrophoneRequest).Muted)
		return nil
	}},
	{"POST /v1/meeting/camera", func() request { return new(CameraRequest) }, func(s *server, _ *http.Request, req request) error {
		return s.kit.SetCameraOff(*req.(*CameraRequest).Off)
	}},
	{"POST /v1/volume", func() request { return new(VolumeRequest) }, func(s *server, _ *http.Request, req request) error {
		return s.kit.SetVolume(*req.(*VolumeRequest).Volume)
	}},
	{"POST /v1/meeting/end", nil, func(s *server, r *http.Request, _ request) error {
		s.log.Info("end meeting for everyone requested through the control API")
		return s.kit.EndMeeting(r.Context())
	}},
	{"POST /v1/meeting/lock", func() request { return new(LockRequest) }, func(s *server, r *http.Request, req request) error {
		locked := *req.(*LockRequest).Locked
		s.log.Info("meeting lock requested through the control API", "locked", locked)
		return s.kit.LockMeeting(r.Context(), locked)
	}},
}

// serveVerb answers v's requests: the body decoded strictly and
// complete, then the kit's status after the verb or its error.
func (s *server) serveVerb(v meetingVerb) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req request
		if v.body != nil {
			req = v.body()
			if !decode(w, r, req) {
				return
			}
			if msg := req.missing(); msg != "" {
				writeError(w, http.StatusBadRequest, msg)
				return
			}
		}
		s.answer(w, v.act(s, r, req))
	}
}

// answer writes the kit's status after a verb, or err with the status
// code that fits it.
func (s *server) answer(w http.ResponseWriter, err error) {
	if err != nil {
		writeError(w, errorStatus(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.kit.Status())
}

func errorStatus(err error) int {
	var me *portalapi.MeetingError
	switch {
	case errors.As(err, &me):
		return me.Status
	case errors.Is(err, appliance.ErrNotInMeeting), errors.Is(err, appliance.ErrInMeeting),
		errors.Is(err, appliance.ErrJoining), errors.Is(err, appliance.ErrNotReady),
		errors.Is(err, appliance.ErrUpdating):
		return http.StatusConflict
	case errors.Is(err, appliance.ErrNotOrganizer):
		return http.StatusForbidden
	case errors.Is(err, portalapi.ErrUnreachable):
		return http.StatusBadGateway
	}
	return http.StatusBadRequest
}

// decode reads a small JSON body into v, refusing unknown fields; on
// failure it has answered.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the request: "+err.Error())
		return false
	}
	if len(body) > maxRequest {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request larger than %d bytes", maxRequest))
		return false
	}
	if err := decodeStrict(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "bad request: "+err.Error())
		return false
	}
	return true
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}
