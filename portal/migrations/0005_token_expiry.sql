-- Security audit, issue 11: admin API tokens expire (0: a token made
-- before expiry existed, shown as such so it gets replaced); a pairing
-- keeps the address it was requested from, for the admin to check before
-- approving.
ALTER TABLE api_tokens ADD COLUMN expires BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pairings ADD COLUMN addr TEXT NOT NULL DEFAULT '';
