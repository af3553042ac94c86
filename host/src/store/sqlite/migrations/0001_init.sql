-- Version 1 of the SQLite store's schema: the job queue, verified webhooks, cursors,
-- posted revisions, id maps and the append-only audit log.
--
-- Every statement may run again on a store that has it (IF NOT EXISTS throughout): stores
-- written before the runnable-jobs index was keyed by connection carry version 1 too, so
-- this migration is applied again to every version-1 store and replaces that index.
-- The text of each CREATE is what the store file records: changing it changes the schema
-- (a new migration is needed instead).

CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    connection TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    document TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (connection, kind, key)
);
-- The runnable-jobs index of stores written before it was keyed by connection.
DROP INDEX IF EXISTS jobs_runnable;
CREATE INDEX IF NOT EXISTS jobs_runnable_by_connection
    ON jobs (connection, state, next_attempt_at, id);
CREATE INDEX IF NOT EXISTS jobs_document ON jobs (connection, document, id);
CREATE TABLE IF NOT EXISTS webhooks (
    connection TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    scope TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (connection, webhook_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS webhooks_body ON webhooks (connection, body_sha256);
CREATE TABLE IF NOT EXISTS cursors (
    connection TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (connection, name)
);
CREATE TABLE IF NOT EXISTS revisions (
    connection TEXT NOT NULL,
    document TEXT NOT NULL,
    number INTEGER NOT NULL,
    external_reference TEXT NOT NULL,
    entry TEXT NOT NULL,
    voucher TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (connection, document, number)
);
CREATE TABLE IF NOT EXISTS id_map (
    connection TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (connection, kind, key)
);
-- Append-only: each row's hash covers the previous row's (see the store's chain module),
-- and the triggers below refuse updates and deletes.
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    connection TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject, seq);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
