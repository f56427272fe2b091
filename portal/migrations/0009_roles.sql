-- Issue 14 §6: roles and group scopes for admins and API tokens (groups:
-- names one per line, '' for the whole account). Admins made before roles
-- become owners; tokens made before roles keep their full power (admin of
-- the whole account). admin_invites are the one-time links of invitations
-- and password resets, kept as hashes. The audit log names the room an
-- entry is about, for filtering.
ALTER TABLE admins ADD COLUMN role TEXT NOT NULL DEFAULT 'owner';
ALTER TABLE admins ADD COLUMN groups TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_tokens ADD COLUMN groups TEXT NOT NULL DEFAULT '';
CREATE TABLE admin_invites (
	hash       BYTEA PRIMARY KEY,
	kind       TEXT NOT NULL,
	email      TEXT COLLATE nocase NOT NULL,
	role       TEXT NOT NULL,
	groups     TEXT NOT NULL,
	admin_id   BIGINT REFERENCES admins(id) ON DELETE CASCADE,
	created    BIGINT NOT NULL,
	expires    BIGINT NOT NULL,
	actor      TEXT NOT NULL
);
ALTER TABLE audit ADD COLUMN room TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_at ON audit(at);
