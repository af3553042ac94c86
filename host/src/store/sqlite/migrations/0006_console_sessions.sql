-- Version 6: the operator console's sessions, in the store so that every process over it
-- knows them and removing an operator ends theirs at once. Kept by the SHA-256 of the
-- cookie's value, never the value.
CREATE TABLE console_sessions (
    digest TEXT PRIMARY KEY,
    operator TEXT NOT NULL,
    csrf TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_operator ON console_sessions (operator);
