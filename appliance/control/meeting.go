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

func (s *server) meetNow(w http.ResponseWriter, r *http.Request) {
	s.log.Info("meet now requested through the control API")
	s.answer(w, s.kit.MeetNow(r.Context()))
}

func (s *server) join(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if !decode(w, r, &req) {
		return
	}
	if req.ID == "" {
		writeError(w, http.StatusBadRequest, `join: say which meeting: {"id": "123-456-789"}`)
		return
	}
	s.log.Info("join requested through the control API", "meeting", req.ID)
	s.answer(w, s.kit.JoinMeeting(r.Context(), req.ID))
}

func (s *server) leave(w http.ResponseWriter, r *http.Request) {
	s.answer(w, s.kit.Leave())
}

func (s *server) microphone(w http.ResponseWriter, r *http.Request) {
	var req MicrophoneRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Muted == nil {
		writeError(w, http.StatusBadRequest, `say {"muted": true} or {"muted": false}`)
		return
	}
	s.kit.SetMuted(*req.Muted)
	s.answer(w, nil)
}

func (s *server) camera(w http.ResponseWriter, r *http.Request) {
	var req CameraRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Off == nil {
		writeError(w, http.StatusBadRequest, `say {"off": true} or {"off": false}`)
		return
	}
	s.answer(w, s.kit.SetCameraOff(*req.Off))
}

func (s *server) volume(w http.ResponseWriter, r *http.Request) {
	var req VolumeRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Volume == nil {
		writeError(w, http.StatusBadRequest, `say {"volume": 0…100}`)
		return
	}
	s.answer(w, s.kit.SetVolume(*req.Volume))
}

// LockRequest is the body of POST /v1/meeting/lock.
type LockRequest struct {
	Locked *bool `json:"locked"`
}

func (s *server) end(w http.ResponseWriter, r *http.Request) {
	s.log.Info("end meeting for everyone requested through the control API")
	s.answer(w, s.kit.EndMeeting(r.Context()))
}

func (s *server) lock(w http.ResponseWriter, r *http.Request) {
	var req LockRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Locked == nil {
		writeError(w, http.StatusBadRequest, `say {"locked": true} or {"locked": false}`)
		return
	}
	s.log.Info("meeting lock requested through the control API", "locked", *req.Locked)
	s.answer(w, s.kit.LockMeeting(r.Context(), *req.Locked))
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
		errors.Is(err, appliance.ErrJoining), errors.Is(err, appliance.ErrNotReady):
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
