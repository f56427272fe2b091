-- Issue 14: an administrator's time zone for the admin center's times
-- (timezone.go); '' for none.
ALTER TABLE admins ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
