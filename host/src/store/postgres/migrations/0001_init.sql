-- Version 1 of the PostgreSQL store's schema: the job queue, verified webhooks, cursors,
-- posted revisions, id maps and the append-only audit log, as in the SQLite store, plus
-- the audit chain's head (the row every append locks, so that replicas append one at a
-- time and the chain stays one line).
--
-- Times are milliseconds since the Unix epoch (BIGINT), as the store's interface has
-- them; the database's clock sets them (see the backend's `now`).

CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    document TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ready', 'leased', 'done', 'parked')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (connection, kind, key)
);
CREATE INDEX jobs_runnable_by_connection ON jobs (connection, state, next_attempt_at, id);
CREATE INDEX jobs_document ON jobs (connection, document, id);

CREATE TABLE webhooks (
    connection TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    scope TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (connection, webhook_id)
);
CREATE UNIQUE INDEX webhooks_body ON webhooks (connection, body_sha256);

CREATE TABLE cursors (
    connection TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connection, name)
);

CREATE TABLE revisions (
    connection TEXT NOT NULL,
    document TEXT NOT NULL,
    number INTEGER NOT NULL,
    external_reference TEXT NOT NULL,
    entry TEXT NOT NULL,
    voucher TEXT,
    at BIGINT NOT NULL,
    PRIMARY KEY (connection, document, number)
);

CREATE TABLE id_map (
    connection TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connection, kind, key)
);

-- Append-only: each row's hash covers the previous row's (see the store's chain module),
-- and the triggers below refuse updates, deletes and truncation.
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    connection TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit (subject, seq);

-- The chain's last sequence number and hash, in one row.
CREATE TABLE audit_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (only_row, seq, hash) VALUES (TRUE, 0, '');

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
