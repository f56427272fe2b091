package portal

import (
	"encoding/json"
	"net/http"

	"roomkit/health"
)

// The kit's health tree (docs/health.md) as the portal keeps it: each
// heartbeat may carry the tree, summarised; parseHeartbeat refuses one
// that does not validate, so what is stored was checked once and is
// served as it came.

// healthColumn is the rooms.health value for h: nil (no report in this
// heartbeat) leaves the stored one as it is.
func healthColumn(h *health.Report) any {
	if h == nil {
		return nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil // a validated report always marshals
	}
	return string(b)
}

// storedHealth reads the rooms.health column; "" (never reported) and a
// value that no longer parses are both null for the API.
func storedHealth(s string) *health.Report {
	if s == "" {
		return nil
	}
	var h health.Report
	if err := json.Unmarshal([]byte(s), &h); err != nil {
		return nil
	}
	return &h
}

// apiGetRoom serves GET /api/v1/admin/rooms/{id}: one room with its
// health as last reported.
func (s *Server) apiGetRoom(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id := r.PathValue("id")
	rooms, err := s.queryRooms("WHERE id = ?", id)
	if err != nil {
		s.log.Error("get room", "room", id, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiErrorBody{"Could not read the room."})
		return
	}
	if len(rooms) == 0 {
		writeHTTPError(w, errorf(http.StatusNotFound, "There is no room with the ID %q.", id))
		return
	}
	writeJSON(w, http.StatusOK, rooms[0])
}
