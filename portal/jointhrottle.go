package portal

import (
	"net/http"
)

// throttleJoin limits guest joins per client address and per meeting
// before anything else is done: every join mints a LiveKit token, and
// one address once collected 300 of them for one meeting in 18 s. An
// address over its limit does not count against the meeting, so one
// flooder cannot use up a meeting's joins alone.
func (s *Server) throttleJoin(addr, typedID string) *httpError {
	now := s.now()
	if wait := s.joinsPerAddr.allow(now, limitKey(addr)); wait > 0 {
		return &httpError{status: http.StatusTooManyRequests, retry: wait,
			msg: "Too many joins from your address. Wait " + roundWait(wait) + " and try again."}
	}
	id, err := parseMeetingID(typedID)
	if err != nil {
		return nil // findMeeting explains what is wrong with it
	}
	if wait := s.joinsPerMeeting.allow(now, id); wait > 0 {
		return &httpError{status: http.StatusTooManyRequests, retry: wait,
			msg: "Too many people are joining this meeting right now. Wait " + roundWait(wait) + " and try again."}
	}
	return nil
}
