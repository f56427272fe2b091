-- Issue 15: what a replica's last heartbeat said of the kit's link
-- (kitLink as JSON: address, latency, meeting; '' for none) and its
-- uptime, so the room page on any replica shows them and the next
-- heartbeat, wherever it lands, tells a restart by the uptime. Written on
-- PostgreSQL only: a single SQLite portal keeps them in memory
-- (actionState.links).
ALTER TABLE rooms ADD COLUMN link TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN uptime BIGINT NOT NULL DEFAULT 0;
