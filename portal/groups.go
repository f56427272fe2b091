package portal

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// A room's group (rooms.grp) scopes group admins and picks the group's
// update policy.

// roomsFor lists the rooms p may see: all, or those of p's groups.
func (s *Server) roomsFor(p principal) ([]Room, error) {
	if !p.scoped() {
		return s.listRooms()
	}
	where := "WHERE grp IN (?" + strings.Repeat(", ?", len(p.groups)-1) + ")"
	args := make([]any, len(p.groups))
	for i, g := range p.groups {
		args[i] = g
	}
	return s.queryRooms(where, args...)
}

// setRoomGroup moves room id into group ("" for none). A group admin may
// move a room only between their own groups.
func (s *Server) setRoomGroup(p principal, addr, id, group string) (Room, *httpError) {
	gs, err := parseGroups(group)
	if err != nil || len(gs) > 1 {
		return Room{}, errorf(http.StatusBadRequest, "A room's group must be one line of 1 to %d characters without commas, or empty for none.", maxGroup)
	}
	group = strings.Join(gs, "")
	if p.scoped() && !p.inGroup(group) {
		return Room{}, errorf(http.StatusForbidden, refusedMark+"you may move rooms only into the groups %s.", strings.Join(p.groups, ", "))
	}
	var name, old string
	// The group's profile changes with the group (profiles.go).
	err = s.changeConfig(func(tx *sqlTx) error {
		if err := tx.QueryRow("SELECT name, grp FROM rooms WHERE id = ?", id).Scan(&name, &old); err != nil {
			return err
		}
		_, err := tx.Exec("UPDATE rooms SET grp = ? WHERE id = ?", group, id)
		return err
	}, "WHERE r.id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, errorf(http.StatusNotFound, "There is no room with the ID %q.", id)
	}
	if err != nil {
		return Room{}, s.storeFailure("set the room's group", err)
	}
	s.upd.forgetGroup(id)
	if old != group {
		s.auditRoom(p.actor, "set group", fmt.Sprintf("%q (%s) from %q to %q", name, id, old, group), addr, id)
	}
	rooms, err := s.queryRooms("WHERE id = ?", id)
	if err != nil || len(rooms) == 0 {
		return Room{}, s.storeFailure("read the room", fmt.Errorf("read room %s: %v", id, err))
	}
	return rooms[0], nil
}

// forgetGroup drops the room's cached policy inputs (its group), so its
// next heartbeat resolves the policy of its new group. Unlike forgetRoom
// it keeps the room's own policy and a pending "update now": the room
// still exists.
func (u *updates) forgetGroup(id string) {
	u.mu.Lock()
	delete(u.rooms, id)
	u.mu.Unlock()
}
