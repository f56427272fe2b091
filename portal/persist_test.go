package portal

import (
	"testing"
	"time"
)

// TestRestart: closing and reopening the portal on the same DataDir keeps
// admins, tokens, rooms, their last heartbeat, pending pairings, and slow_down state.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	e := newEnvIn(t, dir, c)
	e.srv.CreateAdmin("it@example.com", "correct4horse")
	k := e.newKit()
	roomID, tok := e.pairKit(k, "Boardroom")
	if code, _ := e.heartbeat(tok, goodHeartbeat); code != 200 {
		t.Fatal("heartbeat")
	}
	pending := e.newKit()
	da := pending.authorize()
	pending.poll(da.DeviceCode)
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}

	c.Advance(500 * time.Millisecond) // less than the poll interval
	e2 := newEnvIn(t, dir, c)
	e2.token = e.token // the old admin API token still works
	rooms := listRoomsAPI(t, e2)
	if len(rooms) != 1 || rooms[0].ID != roomID || rooms[0].State != "ready" || rooms[0].Version != "0.1.0" || !rooms[0].Online {
		t.Fatalf("rooms after restart: %+v", rooms)
	}
	k.e, pending.e = e2, e2
	if code, _ := e2.heartbeat(tok, goodHeartbeat); code != 200 {
		t.Errorf("access token lost in restart: %d", code)
	}
	if code, m := pending.poll(da.DeviceCode); code != 400 || m["error"] != "slow_down" {
		t.Errorf("pending pairing after restart: %d %v, want slow_down (last poll remembered)", code, m)
	}
	if code, _, b := e2.admin("POST", "/api/v1/admin/pairings", pairRequest{UserCode: da.UserCode, Name: "Huddle"}); code != 201 {
		t.Errorf("pairing a code from before the restart: %d %s", code, b)
	}
	if code, _ := e2.browser().login("it@example.com", "correct4horse"); code != 200 {
		t.Errorf("admin lost in restart")
	}
}
