package portal

import "testing"

func TestRebindPostgres(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"},
		{"UPDATE t SET a = ?2 WHERE b = ?1", "UPDATE t SET a = $2 WHERE b = $1"},
		{"SELECT ?3, ?", "SELECT $3, $4"}, // a bare ? follows the largest, as in SQLite
		{"SELECT '?' || ?", "SELECT '?' || $1"},
		{"SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
		{`SELECT "a?b" FROM t WHERE x = ?`, `SELECT "a?b" FROM t WHERE x = $1`},
		{"SELECT 1 -- why?\nWHERE a = ?", "SELECT 1 -- why?\nWHERE a = $1"},
		{"INSERT INTO t VALUES (x'00ff', ?)", `INSERT INTO t VALUES ('\x00ff'::bytea, $1)`},
		{"SELECT max, x FROM t WHERE hex = 'x'", "SELECT max, x FROM t WHERE hex = 'x'"},
		{"SELECT count(*) FROM rooms INDEXED BY rooms_fleet WHERE a = ?", "SELECT count(*) FROM rooms  WHERE a = $1"},
		{"SELECT indexed FROM t", "SELECT indexed FROM t"},
		{"WHERE instr(lower(actor), lower(?)) > 0", "WHERE strpos(lower(actor), lower($1)) > 0"},
		{"SELECT id, json_object('time_zone', time_zone) FROM rooms", "SELECT id, json_build_object('time_zone', time_zone) FROM rooms"},
		{"SELECT instr FROM t WHERE d = 'instr(x)'", "SELECT instr FROM t WHERE d = 'instr(x)'"},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
	} {
		if got := rebindPostgres(tc.in); got != tc.want {
			t.Errorf("rebindPostgres(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestArgsPostgres(t *testing.T) {
	db := newSQLDB(nil, postgres)
	in := []any{true, "x", false, 3}
	got := db.args(in)
	want := []any{int64(1), "x", int64(0), 3}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("arg %d: %v (%T), want %v (%T)", i, got[i], got[i], want[i], want[i])
		}
	}
	if in[0] != true {
		t.Errorf("the caller's arguments changed: %v", in)
	}
	if lite := newSQLDB(nil, sqlite).args(in); lite[0] != true {
		t.Errorf("SQLite's arguments changed: %v", lite)
	}
}
