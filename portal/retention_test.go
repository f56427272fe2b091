package portal

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// historyRow puts one row, age old, into a history table.
func historyRow(t *testing.T, e *env, table, roomID string, age time.Duration, open bool) {
	t.Helper()
	at := e.clock.Now().Add(-age).UnixMilli()
	var err error
	switch table {
	case "room_events":
		_, err = e.srv.db.Exec("INSERT INTO room_events (room_id, at, kind, detail) VALUES (?, ?, 'device', 'camera unplugged')", roomID, at)
	case "update_events":
		_, err = e.srv.db.Exec("INSERT INTO update_events (room_id, at, version, state, error) VALUES (?, ?, '1.0.0', 'idle', '')", roomID, at)
	case "alerts":
		state, resolved := alertResolved, at
		if open {
			state, resolved = alertOpen, 0
		}
		_, err = e.srv.db.Exec(`INSERT INTO alerts (room_id, kind, subject, state, detail, since, opened, reopened, resolved)
			VALUES (?, 'offline', '', ?, 'offline', ?, ?, ?, ?)`, roomID, state, at, at, at, resolved)
	case "room_actions":
		_, err = e.srv.db.Exec("INSERT INTO room_actions (id, room_id, kind, at, actor) VALUES (?, ?, 'identify', ?, 'tests')",
			randomToken(8), roomID, at)
	case "audit":
		_, err = e.srv.db.Exec("INSERT INTO audit (at, actor, action, detail, addr) VALUES (?, 'tests', 'test', '', '')", at)
	default:
		t.Fatalf("no table %s", table)
	}
	if err != nil {
		t.Fatalf("insert into %s: %v", table, err)
	}
}

func countRows(t *testing.T, e *env, table string) int {
	t.Helper()
	var n int
	if err := e.srv.db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRetentionSweepsHistory(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name      string
		retention Retention
		table     string
		old, new  int // rows older than the table's retention, and younger
		open      bool
		wantLeft  int
	}{
		{"room events past the default go", Retention{}, "room_events", 3, 2, false, 2},
		{"more old room events than one batch", Retention{}, "room_events", 2*retentionBatch + 7, 1, false, 1},
		{"update events", Retention{}, "update_events", 4, 1, false, 1},
		{"resolved alerts", Retention{}, "alerts", 2, 2, false, 2},
		{"open alerts stay, however old", Retention{}, "alerts", 2, 1, true, 3},
		{"remote actions", Retention{}, "room_actions", 3, 1, false, 1},
		{"the audit log keeps its own time", Retention{Events: 2 * day}, "audit", 2, 3, false, 3},
		{"events kept for ever", Retention{Events: -1}, "room_events", 5, 1, false, 6},
		{"audit kept for ever", Retention{Audit: -1}, "audit", 5, 1, false, 6},
		{"a short event retention", Retention{Events: 2 * day}, "room_events", 4, 2, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.retention = tc.retention
			roomID, _ := e.pairKit(e.newKit(), "Retention room")
			r := tc.retention.withDefaults()
			keep := r.Events
			if tc.table == "audit" {
				keep = r.Audit
			}
			if keep < 0 {
				keep = 10 * 365 * day // "old" rows for a table kept for ever
			}
			before := countRows(t, e, tc.table) // pairing writes audit entries
			for i := range tc.old {
				historyRow(t, e, tc.table, roomID, keep+time.Duration(i+1)*time.Minute, tc.open)
			}
			for i := range tc.new {
				historyRow(t, e, tc.table, roomID, keep-time.Duration(i+1)*time.Minute, false)
			}
			if err := e.srv.sweep(); err != nil {
				t.Fatal(err)
			}
			// The pairing's own audit entries are young: they stay.
			if got := countRows(t, e, tc.table) - before; got != tc.wantLeft {
				t.Errorf("%s: %d rows left after the sweep, want %d", tc.table, got, tc.wantLeft)
			}
		})
	}
}

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"90d", 90 * 24 * time.Hour, ""},
		{" 1d ", 24 * time.Hour, ""},
		{"2160h", 2160 * time.Hour, ""},
		{"forever", -1, ""},
		{"", 0, "want days"},
		{"0d", 0, "whole days"},
		{"-3d", 0, "whole days"},
		{"1.5d", 0, "whole days"},
		{"99999d", 0, "whole days"},
		{"10m", 0, "at least an hour"},
		{"-5h", 0, "at least an hour"},
		{"ninety days", 0, "want days"},
	} {
		got, err := ParseRetention(tc.in)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("ParseRetention(%q): %v", tc.in, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseRetention(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
		case tc.wantErr == "" && got != tc.want:
			t.Errorf("ParseRetention(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestMetricsReportStoreSize(t *testing.T) {
	e := newEnv(t)
	code, _, b := e.admin("GET", "/metrics", nil)
	if code != 200 {
		t.Fatalf("metrics: %d %s", code, b)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "portal_store_bytes "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				t.Fatalf("portal_store_bytes %q: want a positive size", v)
			}
			return
		}
	}
	t.Fatalf("no portal_store_bytes in /metrics:\n%s", b)
}

// The batch limit applies per statement, not per sweep: prove a single
// statement deletes no more than a batch (so it never holds the writer
// long).
func TestRetentionBatchIsBounded(t *testing.T) {
	e := newEnv(t)
	for range retentionBatch + 10 {
		historyRow(t, e, "audit", "", 2*DefaultAuditRetention, false)
	}
	rule := retentionRules[len(retentionRules)-1]
	if rule.table != "audit" {
		t.Fatalf("the last rule is %s, want audit", rule.table)
	}
	res, err := e.srv.db.Exec(rule.query, e.clock.Now().Add(-DefaultAuditRetention).UnixMilli(), retentionBatch)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != retentionBatch {
		t.Errorf("one statement deleted %d rows, want %d", n, retentionBatch)
	}
	var left int
	if err := e.srv.db.QueryRow("SELECT COUNT(*) FROM audit WHERE at < ?", e.clock.Now().Add(-DefaultAuditRetention).UnixMilli()).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 10 {
		t.Errorf("%d old audit rows left after one statement, want 10", left)
	}
}

// BenchmarkHistoryBytes measures what one row of history costs on disk
// (SQLite, indexes included), from which docs/benchmarks.md states what
// a fleet's retained history weighs:
//
//	go test -run '^$' -bench HistoryBytes -benchtime 20000x ./portal
func BenchmarkHistoryBytes(b *testing.B) {
	for _, table := range []string{"room_events", "update_events", "audit"} {
		b.Run(table, func(b *testing.B) {
			srv, err := New(Config{DataDir: b.TempDir(), URL: "http://127.0.0.1:1"})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			rooms := make([]string, 100)
			for i := range rooms {
				rooms[i] = "r" + randomToken(15) // a room ID's length
				if _, err := srv.db.Exec(`INSERT INTO rooms (id, name, location, time_zone, device_id, public_key, label, state, created)
					VALUES (?, ?, '', 'UTC', ?, x'00', '', 'ready', 0)`, rooms[i], "Room "+rooms[i], rooms[i]); err != nil {
					b.Fatal(err)
				}
			}
			before, _ := srv.storeBytes()
			b.ResetTimer()
			for i := range b.N {
				room := rooms[i%len(rooms)]
				switch table {
				case "room_events":
					srv.roomEvent(room, "device", "speakerphone unplugged (Jabra Speak 510 USB): unplugged")
				case "update_events":
					if _, err := srv.db.Exec("INSERT INTO update_events (room_id, at, version, state, error) VALUES (?, ?, '1.4.2', 'downloading', '')",
						room, time.Now().UnixMilli()); err != nil {
						b.Fatal(err)
					}
				case "audit":
					srv.auditRoom("admin@example.com", "restart room", "Board Room ("+room+")", "192.0.2.10", room)
				}
			}
			b.StopTimer()
			after, _ := srv.storeBytes()
			b.ReportMetric(float64(after-before)/float64(b.N), "bytes/row")
		})
	}
}
