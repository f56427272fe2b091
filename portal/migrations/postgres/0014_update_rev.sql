CREATE TABLE update_rev (
	id           BIGINT PRIMARY KEY CHECK (id = 1),
	rev          BIGINT NOT NULL
);
INSERT INTO update_rev (id, rev) VALUES (1, 0);
