-- A heartbeat flush rewrites every reporting room's last_seen. While
-- last_seen is in an index, PostgreSQL cannot update the row in place
-- (a HOT update): each flush adds an entry for each room to every index
-- of rooms and leaves a dead row version behind, which is most of
-- PostgreSQL's work per heartbeat and bloated the table (56 MB for 1,000
-- rooms after a minute of heartbeats). Here the fleet's indexes leave
-- last_seen out: the fleet page sorts its candidates by online in memory
-- (a few ms for 10,000 rooms), and the columns a heartbeat writes every
-- time are in no index (TestPostgresHeartbeatUnindexed). fillfactor
-- leaves room in each page for the new version of its rows.
-- PostgreSQL only: SQLite keeps the indexes as they were, since it
-- rewrites a row and its index entries in place anyway, and its fleet
-- queries need them to cover the page (INDEXED BY).
DROP INDEX rooms_fleet; -- postgres only
CREATE INDEX rooms_fleet ON rooms(attention, name COLLATE nocase, id); -- postgres only
DROP INDEX rooms_filters; -- postgres only
CREATE INDEX rooms_filters ON rooms(health_status, update_state, version, grp, location COLLATE nocase, -- postgres only
	attention, name COLLATE nocase, id); -- postgres only
ALTER TABLE rooms SET (fillfactor = 70); -- postgres only
