-- Version 2: who runs each schedule of a connection now, and when its last run started,
-- so that one run stands for every process sharing the store (see Store::claim_schedule).
CREATE TABLE schedule_runs (
    connection TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The owner running it now (NULL: no one), and until when its claim holds unless
    -- renewed.
    owner TEXT,
    held_until INTEGER NOT NULL DEFAULT 0,
    -- When the last run started (NULL: never).
    started_at INTEGER,
    PRIMARY KEY (connection, name)
);
