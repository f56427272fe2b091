-- Issue 14, the fleet view: what the rooms page filters, counts and sorts
-- by, derived from the kits' reports: writeHeartbeats sets them with the
-- reports (a trigger parsing the JSON again doubled the cost of a
-- heartbeat's write); this migration derives them for the rooms that
-- reported before. Plain columns, not virtual ones, so indexes can cover
-- them: rooms_fleet covers the counts and the default order,
-- rooms_filters every filter, so a page of 10,000 rooms never reads rows
-- it does not show; the small indexes serve the filters' suggestions.
-- health_status: ok, degraded, failed (also a status this portal does not
-- know, as health.Status ranks it), unknown (never reported);
-- update_state: the ota.State, none (never reported); attention: 2 failed
-- health, 1 degraded health or a failed or rolled-back update, 0
-- otherwise.
ALTER TABLE rooms ADD COLUMN health_status TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE rooms ADD COLUMN update_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE rooms ADD COLUMN attention BIGINT NOT NULL DEFAULT 0;
-- The portal stores a report as JSON or '' (never reported); each engine
-- reads it with its own JSON functions.
UPDATE rooms SET -- sqlite only
	health_status = CASE WHEN json_valid(health) THEN -- sqlite only
			CASE json_extract(health, '$.status') WHEN 'ok' THEN 'ok' WHEN 'degraded' THEN 'degraded' ELSE 'failed' END -- sqlite only
		ELSE 'unknown' END, -- sqlite only
	update_state = CASE WHEN json_valid(ota) THEN ifnull(json_extract(ota, '$.state'), 'none') ELSE 'none' END; -- sqlite only
UPDATE rooms SET -- postgres only
	health_status = CASE WHEN health <> '' THEN -- postgres only
			CASE health::json->>'status' WHEN 'ok' THEN 'ok' WHEN 'degraded' THEN 'degraded' ELSE 'failed' END -- postgres only
		ELSE 'unknown' END, -- postgres only
	update_state = CASE WHEN ota <> '' THEN coalesce(ota::json->>'state', 'none') ELSE 'none' END; -- postgres only
UPDATE rooms SET attention = CASE WHEN health_status = 'failed' THEN 2
		WHEN health_status = 'degraded' OR update_state IN ('failed', 'rolled-back') THEN 1 ELSE 0 END;
CREATE INDEX rooms_fleet ON rooms(attention, last_seen, name COLLATE nocase, id);
CREATE INDEX rooms_name ON rooms(name COLLATE nocase, id);
CREATE INDEX rooms_filters ON rooms(health_status, update_state, version, grp, location COLLATE nocase,
	last_seen, attention, name COLLATE nocase, id);
CREATE INDEX rooms_version ON rooms(version);
CREATE INDEX rooms_grp ON rooms(grp);
CREATE INDEX rooms_location ON rooms(location COLLATE nocase);
