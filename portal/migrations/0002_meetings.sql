-- Meetings (protocol.md §7). start_local is the room's wall-clock time,
-- so recurring meetings keep their hour across DST changes.
CREATE TABLE meetings (
	id          TEXT PRIMARY KEY,
	room_id     TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	title       TEXT NOT NULL,
	instant     BIGINT NOT NULL,
	start_local TEXT NOT NULL,
	minutes     BIGINT NOT NULL,
	recurrence  TEXT NOT NULL DEFAULT '',
	locked      BIGINT NOT NULL DEFAULT 0,
	created     BIGINT NOT NULL
);
CREATE INDEX meetings_room ON meetings(room_id);
