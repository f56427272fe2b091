-- A Meet Now meeting its organiser ended for everyone.
ALTER TABLE meetings ADD COLUMN ended BIGINT NOT NULL DEFAULT 0;
