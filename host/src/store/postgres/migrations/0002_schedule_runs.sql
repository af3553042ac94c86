-- Version 2: who runs each schedule of a connection now, and when its last run started,
-- so that one replica's run stands for all (see Store::claim_schedule); and the presence
-- key of the process that holds each lease or claim: a session advisory lock that
-- process keeps while it lives, so that a killed replica's leases are taken again at once
-- rather than when they run out.
CREATE TABLE schedule_runs (
    connection TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The owner running it now (NULL: no one), its presence key, and until when its
    -- claim holds unless renewed.
    owner TEXT,
    presence BIGINT,
    held_until BIGINT NOT NULL DEFAULT 0,
    -- When the last run started (NULL: never).
    started_at BIGINT,
    PRIMARY KEY (connection, name)
);

ALTER TABLE jobs ADD COLUMN lease_presence BIGINT;
