-- Failed attempts (sign-ins, pairing codes, meeting IDs) per key, so a
-- restart does not forget a lockout. Times are Unix nanoseconds.
CREATE TABLE throttle (
	key          TEXT PRIMARY KEY,
	failures     BIGINT NOT NULL,
	locked_until BIGINT NOT NULL,
	expires      BIGINT NOT NULL
);
CREATE INDEX throttle_expires ON throttle(expires);
