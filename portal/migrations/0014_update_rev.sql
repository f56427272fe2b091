-- Issue 15: the revision of the update policies, rollouts and "update
-- now" requests, one row. Every change to those tables adds one in the
-- same transaction, so a replica that keeps them in memory learns from
-- one primary-key read whether its copy is current (updatesync.go).
CREATE TABLE update_rev (
	id           BIGINT PRIMARY KEY CHECK (id = 1),
	rev          BIGINT NOT NULL
);
INSERT INTO update_rev (id, rev) VALUES (1, 0);
