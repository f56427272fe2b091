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
