-- Issue 12: the kit's health tree as its last heartbeat reported it
-- (health.Report as JSON; '' until a kit reports one).
ALTER TABLE rooms ADD COLUMN health TEXT NOT NULL DEFAULT '';
