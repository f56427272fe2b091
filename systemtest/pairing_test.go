// Package systemtest runs the real portal and the real roomd together on
// loopback, the way the demo does, and checks what an IT admin and the
// room's staff would see.
package systemtest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"roomkit/appliance"
)

// TestPairRestartUnpair is the foundation's story: a new kit shows a code,
// IT pairs it through the admin API, both restart without losing anything,
// and unpairing sends the kit back to pairing.
func TestPairRestartUnpair(t *testing.T) {
	portalDir, kitDir := t.TempDir(), t.TempDir()
	p := startPortal(t, portalDir, "127.0.0.1:0")
	k := startKit(t, kitDir, p.URL)

	st := k.waitState(t, 10*time.Second, appliance.Pairing, hasCode)
	firstDevice := st.DeviceID

	// A wrong code is refused and changes nothing.
	if code := p.api(t, "POST", "/api/v1/admin/pairings", map[string]string{
		"user_code": "BBBB-BBBB", "name": "Wrong", "location": "nowhere"}, nil); code != http.StatusNotFound {
		t.Errorf("pairing with a wrong code: HTTP %d, want 404", code)
	}
	var paired struct{ Room roomJSON }
	if code := p.api(t, "POST", "/api/v1/admin/pairings", map[string]string{
		"user_code": st.UserCode, "name": "Boardroom", "location": "3rd floor"}, &paired); code != http.StatusCreated {
		t.Fatalf("pairing with the kit's code %s: HTTP %d, want 201", st.UserCode, code)
	}
	st = k.waitState(t, 10*time.Second, appliance.Ready, func(s appliance.Status) bool { return s.RoomName == "Boardroom" })
	if st.Location != "3rd floor" {
		t.Errorf("kit shows location %q, want 3rd floor", st.Location)
	}
	waitFor(t, 10*time.Second, "the admin center to list the room online", func() (bool, string) {
		rooms := p.rooms(t)
		if len(rooms) != 1 {
			return false, fmt.Sprintf("%d rooms", len(rooms))
		}
		r := rooms[0]
		return r.Online && r.Version == testVersion && !r.LastSeen.IsZero() && r.State == "ready", fmt.Sprintf("%+v", r)
	})

	// Restart both, the portal on the same address (a reboot): still paired.
	k.stop()
	p.stop()
	p = startPortal(t, portalDir, p.addr)
	k = startKit(t, kitDir, p.URL)
	st = k.waitState(t, 10*time.Second, appliance.Ready, func(s appliance.Status) bool { return s.PortalConnected })
	if st.RoomName != "Boardroom" || st.DeviceID != firstDevice {
		t.Errorf("after restarts the kit is %q with device %s, want Boardroom with %s", st.RoomName, st.DeviceID, firstDevice)
	}
	if rooms := p.rooms(t); len(rooms) != 1 || rooms[0].Name != "Boardroom" || rooms[0].ID != paired.Room.ID {
		t.Errorf("after restarts the portal lists %+v, want the one Boardroom %s", rooms, paired.Room.ID)
	}

	// Unpair: back to pairing with a fresh code, the room gone from the list.
	if code := p.api(t, "DELETE", "/api/v1/admin/rooms/"+paired.Room.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("unpair: HTTP %d, want 204", code)
	}
	st = k.waitState(t, 10*time.Second, appliance.Pairing, hasCode)
	if st.RoomName != "" {
		t.Errorf("an unpaired kit still shows the room name %q", st.RoomName)
	}
	if rooms := p.rooms(t); len(rooms) != 0 {
		t.Errorf("after unpairing the portal lists %d rooms", len(rooms))
	}
}
