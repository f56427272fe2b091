ALTER TABLE rooms ADD COLUMN health_status TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE rooms ADD COLUMN update_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE rooms ADD COLUMN attention BIGINT NOT NULL DEFAULT 0;
-- The portal stores a report as JSON or '' (never reported).
UPDATE rooms SET
	health_status = CASE WHEN health <> '' THEN
			CASE health::json->>'status' WHEN 'ok' THEN 'ok' WHEN 'degraded' THEN 'degraded' ELSE 'failed' END
		ELSE 'unknown' END,
	update_state = CASE WHEN ota <> '' THEN coalesce(ota::json->>'state', 'none') ELSE 'none' END;
UPDATE rooms SET attention = CASE WHEN health_status = 'failed' THEN 2
		WHEN health_status = 'degraded' OR update_state IN ('failed', 'rolled-back') THEN 1 ELSE 0 END;
CREATE INDEX rooms_fleet ON rooms(attention, last_seen, name COLLATE nocase, id);
CREATE INDEX rooms_name ON rooms(name COLLATE nocase, id);
CREATE INDEX rooms_filters ON rooms(health_status, update_state, version, grp, location COLLATE nocase,
	last_seen, attention, name COLLATE nocase, id);
CREATE INDEX rooms_version ON rooms(version);
CREATE INDEX rooms_grp ON rooms(grp);
CREATE INDEX rooms_location ON rooms(location COLLATE nocase);
