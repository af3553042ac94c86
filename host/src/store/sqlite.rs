//! The embedded [`Store`]: one SQLite database in WAL mode with `synchronous=FULL`, so a
//! write that returned survives a crash of the process or the machine. One connection
//! behind a mutex (SQLite has one writer anyway); every operation is one transaction.
//!
//! One process at a time runs a SQLite store's schedules and polls (`run`, `sync`): it
//! claims the store with an exclusive lock on `<store>.lock` ([`SqliteStore::claim`]), and a
//! second such process is refused with who holds it. Other commands (`replay`, `status`,
//! `reconcile`) may work beside it: leases are per owner and fenced (see [`super::lease`]).
//!
//! The audit table refuses updates and deletes (triggers), and each row's hash covers the
//! previous row's hash, so an edited or removed entry breaks the chain where it happened.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::{
    AuditEntry, AuditRecord, Enqueued, IncomingWebhook, Intake, Job, JobState, Lease, Millis,
    NewJob, QueueDepth, Revision, Store, StoreError,
};

/// The schema version this code reads and writes.
const SCHEMA_VERSION: i32 = 1;

const SCHEMA: &str = "
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
";

/// Where time comes from (tests move it by hand).
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

fn system_clock() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

pub struct SqliteStore {
    connection: Mutex<Connection>,
    clock: Clock,
}

/// A process's claim on a SQLite store ([`SqliteStore::claim`]); released when dropped.
#[derive(Debug)]
pub struct Claim {
    _file: std::fs::File,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn db(error: rusqlite::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with_clock(path, Arc::new(system_clock))
    }

    pub fn open_with_clock(path: &Path, clock: Clock) -> Result<SqliteStore, StoreError> {
        let connection = Connection::open(path)
            .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", path.display())))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )
            .map_err(db)?;
        let version: i32 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(db)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Database(format!(
                "{} was written by a newer ml-connector (schema {version}; this one reads {SCHEMA_VERSION})",
                path.display()
            )));
        }
        connection.execute_batch(SCHEMA).map_err(db)?;
        connection
            .execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
            .map_err(db)?;
        Ok(SqliteStore {
            connection: Mutex::new(connection),
            clock,
        })
    }

    fn now(&self) -> Millis {
        (self.clock)()
    }

    /// Claims the store at `path` for this process as the one that runs its schedules and
    /// polls (`role`: `run`, `sync`), until the claim is dropped. Refused, naming the
    /// holder, while another process holds it.
    pub fn claim(path: &Path, role: &str) -> Result<Claim, StoreError> {
        use std::io::{Read, Seek, Write};
        let lock_path = path.with_file_name(format!(
            "{}.lock",
            path.file_name()
                .map_or("store".into(), |n| n.to_string_lossy())
        ));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| {
                StoreError::Database(format!("cannot open {}: {e}", lock_path.display()))
            })?;
        if file.try_lock().is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(StoreError::InUse(format!(
                "{} is in use by another ml-connector process ({}); a SQLite store serves one                  process that runs schedules and polls: stop that one first, or keep the store                  in PostgreSQL to run several",
                path.display(),
                holder.trim()
            )));
        }
        let since = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let written = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "`{role}`, pid {}, since {since}", std::process::id()));
        if let Err(error) = written {
            tracing::warn!(%error, "the store's lock file cannot name its holder");
        }
        Ok(Claim { _file: file })
    }

    /// Frees the leases whose owner matches `condition` on `?2` (`value`).
    fn free_leases(&self, condition: &str, value: &str) -> Result<u64, StoreError> {
        let now = self.now();
        self.write(|tx| {
            let freed = tx
                .execute(
                    &format!(
                        "UPDATE jobs SET state = 'ready', lease_owner = NULL, lease_until = NULL,
                             updated_at = ?1
                         WHERE state = 'leased' AND {condition}"
                    ),
                    params![now, value],
                )
                .map_err(db)?;
            Ok(freed as u64)
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one immediate transaction.
    fn write<R>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut connection = self.lock();
        let tx = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let result = f(&tx)?;
        tx.commit().map_err(db)?;
        Ok(result)
    }
}

/// Adds a job in `state` (ready, or parked with `error`) unless one with its connection,
/// kind and key exists.
fn insert_job(
    tx: &Transaction<'_>,
    job: &NewJob,
    state: JobState,
    error: Option<&str>,
    now: Millis,
) -> Result<Enqueued, StoreError> {
    let existing: Option<i64> = tx
        .prepare_cached("SELECT id FROM jobs WHERE connection = ?1 AND kind = ?2 AND key = ?3")
        .map_err(db)?
        .query_row(params![job.connection, job.kind, job.key], |row| row.get(0))
        .optional()
        .map_err(db)?;
    if let Some(id) = existing {
        return Ok(Enqueued::Duplicate(id));
    }
    tx.prepare_cached(
        "INSERT INTO jobs (connection, kind, key, document, payload, state, attempts,
             next_attempt_at, last_error, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?9)",
    )
    .map_err(db)?
    .execute(params![
        job.connection,
        job.kind,
        job.key,
        job.document,
        job.payload,
        state.as_str(),
        job.not_before.unwrap_or(now),
        error,
        now
    ])
    .map_err(db)?;
    Ok(Enqueued::New(tx.last_insert_rowid()))
}

/// Appends one entry to the hash chain.
fn append_audit(tx: &Transaction<'_>, entry: &AuditEntry, now: Millis) -> Result<i64, StoreError> {
    let last: Option<(i64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        .map_err(db)?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .map_err(db)?;
    let (seq, previous) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, String::new()),
    };
    let hash = chain_hash(&previous, seq, now, entry);
    tx.prepare_cached(
        "INSERT INTO audit (seq, at, connection, subject, kind, data, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(db)?
    .execute(params![
        seq,
        now,
        entry.connection,
        entry.subject,
        entry.kind,
        entry.data,
        hash
    ])
    .map_err(db)?;
    Ok(seq)
}

const JOB_COLUMNS: &str = "id, connection, kind, key, document, payload, state, attempts, \
                           next_attempt_at, last_error, created_at";

fn job_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let state: String = row.get(6)?;
    Ok(Job {
        id: row.get(0)?,
        connection: row.get(1)?,
        kind: row.get(2)?,
        key: row.get(3)?,
        document: row.get(4)?,
        payload: row.get(5)?,
        state: JobState::parse(&state).unwrap_or(JobState::Parked),
        attempts: row.get(7)?,
        next_attempt_at: row.get(8)?,
        last_error: row.get(9)?,
        created_at: row.get(10)?,
    })
}

/// Ends `lease`; fails if it was lost (its owner or fencing token no longer match).
fn end_lease(
    tx: &Transaction<'_>,
    lease: &Lease,
    state: JobState,
    error: Option<&str>,
    next_attempt_at: Option<Millis>,
    now: Millis,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE jobs SET state = ?1, lease_owner = NULL, lease_until = NULL,
                 last_error = COALESCE(?2, last_error),
                 next_attempt_at = COALESCE(?3, next_attempt_at), updated_at = ?4
             WHERE id = ?5 AND state = 'leased' AND lease_owner = ?6 AND attempts = ?7",
        )
        .map_err(db)?
        .execute(params![
            state.as_str(),
            error,
            next_attempt_at,
            now,
            lease.job,
            lease.owner,
            lease.token
        ])
        .map_err(db)?;
    if changed == 0 {
        return Err(StoreError::LeaseLost(lease.job));
    }
    Ok(())
}

/// The chain hash of one record: the previous hash and every field, each length-prefixed
/// so no two different records hash the same.
fn chain_hash(previous: &str, seq: i64, at: Millis, entry: &AuditEntry) -> String {
    let mut hash = Sha256::new();
    for field in [
        previous,
        &seq.to_string(),
        &at.to_string(),
        &entry.connection,
        &entry.subject,
        &entry.kind,
        &entry.data,
    ] {
        hash.update((field.len() as u64).to_be_bytes());
        hash.update(field.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn audit_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.get(0)?,
        at: row.get(1)?,
        entry: AuditEntry {
            connection: row.get(2)?,
            subject: row.get(3)?,
            kind: row.get(4)?,
            data: row.get(5)?,
        },
        hash: row.get(6)?,
    })
}

impl Store for SqliteStore {
    fn enqueue(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        let now = self.now();
        self.write(|tx| insert_job(tx, job, JobState::Ready, None, now))
    }

    fn enqueue_parked(&self, job: &NewJob, reason: &str) -> Result<Enqueued, StoreError> {
        let now = self.now();
        self.write(|tx| insert_job(tx, job, JobState::Parked, Some(reason), now))
    }

    fn accept_webhooks(&self, events: &[IncomingWebhook]) -> Result<Vec<Intake>, StoreError> {
        let now = self.now();
        self.write(|tx| {
            let mut outcomes = Vec::with_capacity(events.len());
            for event in events {
                let inserted = tx
                    .prepare_cached(
                        "INSERT INTO webhooks (connection, webhook_id, body_sha256, scope, received_at)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    )
                    .map_err(db)?
                    .execute(params![
                        event.connection,
                        event.webhook_id,
                        event.body_sha256,
                        event.scope,
                        now
                    ])
                    .map_err(db)?;
                if inserted == 0 {
                    outcomes.push(Intake::Duplicate);
                    continue;
                }
                let mut jobs = Vec::with_capacity(event.jobs.len());
                for job in &event.jobs {
                    jobs.push(match insert_job(tx, job, JobState::Ready, None, now)? {
                        Enqueued::New(id) | Enqueued::Duplicate(id) => id,
                    });
                }
                append_audit(
                    tx,
                    &AuditEntry {
                        connection: event.connection.clone(),
                        subject: "webhook".into(),
                        kind: "received".into(),
                        data: serde_json::json!({
                            "webhook_id": event.webhook_id,
                            "scope": event.scope,
                            "body": event.body,
                            "jobs": jobs,
                        })
                        .to_string(),
                    },
                    now,
                )?;
                outcomes.push(Intake::Accepted { jobs });
            }
            Ok(outcomes)
        })
    }

    fn lease(
        &self,
        connection: &str,
        owner: &str,
        max: usize,
        lease_for: Millis,
    ) -> Result<Vec<Job>, StoreError> {
        let now = self.now();
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET state = 'ready', lease_owner = NULL, lease_until = NULL,
                     updated_at = ?1
                 WHERE state = 'leased' AND lease_until <= ?1",
                params![now],
            )
            .map_err(db)?;
            let ids: Vec<i64> = {
                let mut select = tx
                    .prepare_cached(
                        "SELECT j.id FROM jobs j
                         WHERE j.connection = ?3 AND j.state = 'ready' AND j.next_attempt_at <= ?1
                           AND NOT EXISTS (
                               SELECT 1 FROM jobs k
                               WHERE k.connection = j.connection AND k.document = j.document
                                 AND ((k.id < j.id AND k.state IN ('ready', 'leased', 'parked'))
                                      OR k.state = 'leased'))
                         ORDER BY j.next_attempt_at, j.id
                         LIMIT ?2",
                    )
                    .map_err(db)?;
                select
                    .query_map(params![now, max as i64, connection], |row| row.get(0))
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)?
            };
            // Two ready jobs of one document can both pass the check above only if both
            // are first in line, which cannot happen; still, take one per document.
            let mut documents = std::collections::HashSet::new();
            let mut leased = Vec::new();
            for id in ids {
                let job: Job = tx
                    .query_row(
                        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                        params![id],
                        job_from,
                    )
                    .map_err(db)?;
                if !documents.insert((job.connection.clone(), job.document.clone())) {
                    continue;
                }
                tx.execute(
                    "UPDATE jobs SET state = 'leased', lease_owner = ?1, lease_until = ?2,
                         attempts = attempts + 1, updated_at = ?3
                     WHERE id = ?4",
                    params![owner, now + lease_for, now, id],
                )
                .map_err(db)?;
                leased.push(Job {
                    state: JobState::Leased,
                    attempts: job.attempts + 1,
                    ..job
                });
            }
            Ok(leased)
        })
    }

    fn hold(&self, lease: &Lease, lease_for: Millis) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE jobs SET lease_until = ?1, updated_at = ?2
                     WHERE id = ?3 AND state = 'leased' AND lease_owner = ?4 AND attempts = ?5
                       AND lease_until > ?2",
                )
                .map_err(db)?
                .execute(params![
                    now + lease_for,
                    now,
                    lease.job,
                    lease.owner,
                    lease.token
                ])
                .map_err(db)?;
            if changed == 0 {
                return Err(StoreError::LeaseLost(lease.job));
            }
            Ok(())
        })
    }

    fn release(&self, owner: &str) -> Result<u64, StoreError> {
        self.free_leases("lease_owner = ?2", owner)
    }

    fn release_role(&self, role: &str) -> Result<u64, StoreError> {
        self.free_leases("substr(lease_owner, 1, length(?2) + 1) = ?2 || '-'", role)
    }

    fn complete(&self, lease: &Lease) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| end_lease(tx, lease, JobState::Done, None, None, now))
    }

    fn complete_covering(&self, lease: &Lease, read_at: Millis) -> Result<u64, StoreError> {
        let now = self.now();
        let id = lease.job;
        self.write(|tx| {
            end_lease(tx, lease, JobState::Done, None, None, now)?;
            let covered = tx
                .prepare_cached(
                    "UPDATE jobs SET state = 'done', last_error = ?1, updated_at = ?2
                     WHERE state = 'ready' AND created_at < ?3 AND id != ?4
                       AND (connection, document, kind) =
                           (SELECT connection, document, kind FROM jobs WHERE id = ?4)",
                )
                .map_err(db)?
                .execute(params![format!("covered by job {id}"), now, read_at, id])
                .map_err(db)?;
            Ok(covered as u64)
        })
    }

    fn retry(&self, lease: &Lease, error: &str, next_attempt_at: Millis) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| {
            end_lease(
                tx,
                lease,
                JobState::Ready,
                Some(error),
                Some(next_attempt_at),
                now,
            )
        })
    }

    fn park(&self, lease: &Lease, reason: &str) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| end_lease(tx, lease, JobState::Parked, Some(reason), None, now))
    }

    fn requeue(&self, id: i64) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| {
            let changed = tx
                .execute(
                    "UPDATE jobs SET state = 'ready', next_attempt_at = ?1, updated_at = ?1
                     WHERE id = ?2 AND state IN ('parked', 'done')",
                    params![now, id],
                )
                .map_err(db)?;
            if changed == 0 {
                return Err(StoreError::NoJob(id));
            }
            Ok(())
        })
    }

    fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        self.lock()
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                params![id],
                job_from,
            )
            .optional()
            .map_err(db)
    }

    fn jobs_in(&self, state: JobState, limit: usize) -> Result<Vec<Job>, StoreError> {
        let connection = self.lock();
        let mut select = connection
            .prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE state = ?1 ORDER BY id LIMIT ?2"
            ))
            .map_err(db)?;
        select
            .query_map(params![state.as_str(), limit as i64], job_from)
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn queue_depth(&self, connection: Option<&str>) -> Result<QueueDepth, StoreError> {
        let database = self.lock();
        let mut select = database
            .prepare_cached(
                "SELECT state, COUNT(*) FROM jobs WHERE ?1 IS NULL OR connection = ?1
                 GROUP BY state",
            )
            .map_err(db)?;
        let mut depth = QueueDepth::default();
        let rows = select
            .query_map(params![connection], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
            })
            .map_err(db)?;
        for row in rows {
            let (state, count) = row.map_err(db)?;
            match JobState::parse(&state) {
                Some(JobState::Ready) => depth.ready = count,
                Some(JobState::Leased) => depth.leased = count,
                Some(JobState::Done) => depth.done = count,
                Some(JobState::Parked) | None => depth.parked += count,
            }
        }
        Ok(depth)
    }

    fn next_retry_at(&self, connection: &str) -> Result<Option<Millis>, StoreError> {
        let now = self.now();
        self.lock()
            .query_row(
                "SELECT MIN(next_attempt_at) FROM jobs
                 WHERE connection = ?2 AND state = 'ready' AND next_attempt_at > ?1",
                params![now, connection],
                |row| row.get(0),
            )
            .map_err(db)
    }

    fn cursor(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError> {
        self.lock()
            .query_row(
                "SELECT value FROM cursors WHERE connection = ?1 AND name = ?2",
                params![connection, name],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)
    }

    fn cursors(&self, connection: &str) -> Result<Vec<(String, String, Millis)>, StoreError> {
        let database = self.lock();
        let mut select = database
            .prepare_cached(
                "SELECT name, value, updated_at FROM cursors WHERE connection = ?1 ORDER BY name",
            )
            .map_err(db)?;
        select
            .query_map(params![connection], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn set_cursor(&self, connection: &str, name: &str, value: &str) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO cursors (connection, name, value, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (connection, name) DO UPDATE SET value = ?3, updated_at = ?4",
                params![connection, name, value, now],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn revisions(&self, connection: &str, document: &str) -> Result<Vec<Revision>, StoreError> {
        let connection_guard = self.lock();
        let mut select = connection_guard
            .prepare_cached(
                "SELECT connection, document, number, external_reference, entry, voucher, at
                 FROM revisions WHERE connection = ?1 AND document = ?2 ORDER BY number",
            )
            .map_err(db)?;
        select
            .query_map(params![connection, document], |row| {
                Ok(Revision {
                    connection: row.get(0)?,
                    document: row.get(1)?,
                    number: row.get(2)?,
                    external_reference: row.get(3)?,
                    entry: row.get(4)?,
                    voucher: row.get(5)?,
                    at: row.get(6)?,
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn begin_revision(&self, revision: &Revision) -> Result<(), StoreError> {
        self.write(|tx| {
            let confirmed: Option<Option<String>> = tx
                .query_row(
                    "SELECT voucher FROM revisions
                     WHERE connection = ?1 AND document = ?2 AND number = ?3",
                    params![revision.connection, revision.document, revision.number],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            if let Some(Some(voucher)) = confirmed {
                return Err(StoreError::Database(format!(
                    "revision {} of {} is already posted as {voucher}",
                    revision.number, revision.document
                )));
            }
            tx.execute(
                "INSERT OR REPLACE INTO revisions
                     (connection, document, number, external_reference, entry, voucher, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
                params![
                    revision.connection,
                    revision.document,
                    revision.number,
                    revision.external_reference,
                    revision.entry,
                    revision.at
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn confirm_revision(
        &self,
        connection: &str,
        document: &str,
        number: u32,
        voucher: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let changed = tx
                .execute(
                    "UPDATE revisions SET voucher = ?1
                     WHERE connection = ?2 AND document = ?3 AND number = ?4",
                    params![voucher, connection, document, number],
                )
                .map_err(db)?;
            if changed == 0 {
                return Err(StoreError::Database(format!(
                    "no revision {number} of {document} to confirm"
                )));
            }
            Ok(())
        })
    }

    fn abandon_revision(
        &self,
        connection: &str,
        document: &str,
        number: u32,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM revisions
                 WHERE connection = ?1 AND document = ?2 AND number = ?3 AND voucher IS NULL",
                params![connection, document, number],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn mapped(
        &self,
        connection: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.lock()
            .query_row(
                "SELECT value FROM id_map WHERE connection = ?1 AND kind = ?2 AND key = ?3",
                params![connection, kind, key],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)
    }

    fn map(&self, connection: &str, kind: &str, key: &str, value: &str) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO id_map (connection, kind, key, value, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (connection, kind, key) DO UPDATE SET value = ?4, updated_at = ?5",
                params![connection, kind, key, value, now],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let now = self.now();
        self.write(|tx| append_audit(tx, entry, now))
    }

    fn audit_for(&self, subject: &str) -> Result<Vec<AuditRecord>, StoreError> {
        let connection = self.lock();
        let mut select = connection
            .prepare_cached(
                "SELECT seq, at, connection, subject, kind, data, hash FROM audit
                 WHERE subject = ?1 ORDER BY seq",
            )
            .map_err(db)?;
        select
            .query_map(params![subject], audit_from)
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn verify_audit(&self) -> Result<u64, StoreError> {
        let connection = self.lock();
        let mut select = connection
            .prepare(
                "SELECT seq, at, connection, subject, kind, data, hash FROM audit ORDER BY seq",
            )
            .map_err(db)?;
        let rows = select.query_map([], audit_from).map_err(db)?;
        let (mut previous, mut expected_seq, mut count) = (String::new(), 1, 0);
        for row in rows {
            let record = row.map_err(db)?;
            if record.seq != expected_seq {
                return Err(StoreError::AuditBroken {
                    seq: expected_seq,
                    reason: format!("entry {expected_seq} is missing"),
                });
            }
            if chain_hash(&previous, record.seq, record.at, &record.entry) != record.hash {
                return Err(StoreError::AuditBroken {
                    seq: record.seq,
                    reason: "its content does not match its hash".into(),
                });
            }
            previous = record.hash;
            expected_seq += 1;
            count += 1;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    struct Fixture {
        store: SqliteStore,
        now: Arc<AtomicI64>,
        _dir: tempfile::TempDir,
    }

    fn store() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let now = Arc::new(AtomicI64::new(1_000_000));
        let clock = now.clone();
        let store = SqliteStore::open_with_clock(
            &dir.path().join("store.db"),
            Arc::new(move || clock.load(Ordering::SeqCst)),
        )
        .unwrap();
        Fixture {
            store,
            now,
            _dir: dir,
        }
    }

    fn lease_of(job: i64, owner: &str, token: u32) -> Lease {
        Lease {
            job,
            owner: owner.into(),
            token,
        }
    }

    fn job(key: &str, document: &str) -> NewJob {
        NewJob {
            connection: "main".into(),
            kind: "order".into(),
            key: key.into(),
            document: document.into(),
            payload: format!("{{\"key\":\"{key}\"}}"),
            not_before: None,
        }
    }

    #[test]
    fn a_key_is_enqueued_once() {
        let f = store();
        let first = f.store.enqueue(&job("wh:1", "order:1")).unwrap();
        let second = f.store.enqueue(&job("wh:1", "order:1")).unwrap();
        assert!(matches!(first, Enqueued::New(_)));
        assert_eq!(second, Enqueued::Duplicate(first.id()));
        assert_eq!(f.store.queue_depth(None).unwrap().ready, 1);
    }

    #[test]
    fn one_document_runs_one_job_at_a_time_in_order() {
        let f = store();
        let a1 = f.store.enqueue(&job("a1", "order:1")).unwrap().id();
        let a2 = f.store.enqueue(&job("a2", "order:1")).unwrap().id();
        let b1 = f.store.enqueue(&job("b1", "order:2")).unwrap().id();
        let leased: Vec<i64> = f
            .store
            .lease("main", "w1", 10, 60_000)
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(leased, [a1, b1], "a2 waits for a1");
        assert!(f.store.lease("main", "w2", 10, 60_000).unwrap().is_empty());
        f.store.complete(&lease_of(a1, "w1", 1)).unwrap();
        let next: Vec<i64> = f
            .store
            .lease("main", "w2", 10, 60_000)
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(next, [a2]);
    }

    #[test]
    fn a_job_covers_the_same_documents_jobs_queued_before_its_read() {
        let f = store();
        let first = f.store.enqueue(&job("wh:1", "order:1")).unwrap().id();
        let before = f.store.enqueue(&job("wh:2", "order:1")).unwrap().id();
        let mut refund = job("refund:9", "order:1");
        refund.kind = "refund".into();
        let refund = f.store.enqueue(&refund).unwrap().id();
        let other = f.store.enqueue(&job("wh:3", "order:2")).unwrap().id();
        let leased = f.store.lease("main", "w", 1, 60_000).unwrap();
        assert_eq!(leased[0].id, first);
        // Read at 1_000_500; a change queued after the read is not covered.
        f.now.store(1_001_000, Ordering::SeqCst);
        let after = f.store.enqueue(&job("wh:4", "order:1")).unwrap().id();
        let covered = f
            .store
            .complete_covering(&lease_of(first, "w", 1), 1_000_500)
            .unwrap();
        assert_eq!(covered, 1);
        let state = |id| f.store.job(id).unwrap().unwrap().state;
        assert_eq!(state(before), JobState::Done);
        for id in [refund, other, after] {
            assert_eq!(state(id), JobState::Ready, "job {id}");
        }
    }

    #[test]
    fn retries_wait_and_keep_the_document_in_order() {
        let f = store();
        let a1 = f.store.enqueue(&job("a1", "order:1")).unwrap().id();
        f.store.enqueue(&job("a2", "order:1")).unwrap();
        f.store.lease("main", "w", 10, 60_000).unwrap();
        f.store
            .retry(&lease_of(a1, "w", 1), "QAD is unavailable", 1_005_000)
            .unwrap();
        assert!(
            f.store.lease("main", "w", 10, 60_000).unwrap().is_empty(),
            "not due, and a2 waits"
        );
        f.now.store(1_005_000, Ordering::SeqCst);
        let again = f.store.lease("main", "w", 10, 60_000).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].id, again[0].attempts), (a1, 2));
        assert_eq!(again[0].last_error.as_deref(), Some("QAD is unavailable"));
    }

    #[test]
    fn an_expired_lease_is_taken_again_and_the_old_worker_is_told() {
        let f = store();
        let id = f.store.enqueue(&job("a", "order:1")).unwrap().id();
        f.store.lease("main", "crashed", 1, 30_000).unwrap();
        f.now.fetch_add(30_000, Ordering::SeqCst);
        let taken = f.store.lease("main", "w2", 1, 30_000).unwrap();
        assert_eq!(taken[0].id, id);
        assert!(matches!(
            f.store.complete(&lease_of(id, "crashed", 1)),
            Err(StoreError::LeaseLost(_))
        ));
        f.store.complete(&Lease::of(&taken[0], "w2")).unwrap();
    }

    #[test]
    fn a_worker_whose_lease_was_taken_over_cannot_renew_or_end_it() {
        let f = store();
        let id = f.store.enqueue(&job("a", "order:1")).unwrap().id();
        // A slow worker, then another taking the job when the lease ran out: even under
        // the same owner name, the older attempt's token is refused.
        let slow = f.store.lease("main", "w", 1, 30_000).unwrap();
        let stale = Lease::of(&slow[0], "w");
        f.store.hold(&stale, 30_000).unwrap();
        f.now.fetch_add(30_000, Ordering::SeqCst);
        assert!(matches!(
            f.store.hold(&stale, 30_000),
            Err(StoreError::LeaseLost(_))
        ));
        let taken = f.store.lease("main", "w", 1, 30_000).unwrap();
        let fresh = Lease::of(&taken[0], "w");
        assert_eq!(fresh.token, stale.token + 1);
        for refused in [
            f.store.hold(&stale, 30_000),
            f.store.retry(&stale, "late", 0),
            f.store.park(&stale, "late"),
            f.store.complete(&stale),
        ] {
            assert!(matches!(refused, Err(StoreError::LeaseLost(i)) if i == id));
        }
        f.store.hold(&fresh, 30_000).unwrap();
        f.store.complete(&fresh).unwrap();
    }

    #[test]
    fn a_worker_leases_only_its_connections_jobs_and_releases_only_its_own() {
        let f = store();
        let a = f.store.enqueue(&job("a", "order:1")).unwrap().id();
        let b = f
            .store
            .enqueue(&NewJob {
                connection: "other".into(),
                ..job("a", "order:1")
            })
            .unwrap()
            .id();
        let mine = f.store.lease("main", "run-1", 10, 30_000).unwrap();
        assert_eq!(mine.iter().map(|j| j.id).collect::<Vec<_>>(), [a]);
        assert_eq!(f.store.next_retry_at("other").unwrap(), None);
        let theirs = f.store.lease("other", "replay-2", 10, 30_000).unwrap();
        assert_eq!(theirs.iter().map(|j| j.id).collect::<Vec<_>>(), [b]);
        // A second process releasing its own leases leaves the first's alone.
        assert_eq!(f.store.release("replay-2").unwrap(), 1);
        assert_eq!(f.store.job(a).unwrap().unwrap().state, JobState::Leased);
        assert_eq!(f.store.job(b).unwrap().unwrap().state, JobState::Ready);
        // A process holding the store's claim frees a killed `run`'s leases at once.
        assert_eq!(f.store.release_role("sync").unwrap(), 0);
        assert_eq!(f.store.release_role("run").unwrap(), 1);
        assert_eq!(f.store.job(a).unwrap().unwrap().state, JobState::Ready);
    }

    #[test]
    fn a_second_process_cannot_claim_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let claim = SqliteStore::claim(&path, "run").unwrap();
        let refused = SqliteStore::claim(&path, "sync").unwrap_err().to_string();
        assert!(
            refused.contains("is in use by another ml-connector process (`run`, pid"),
            "{refused}"
        );
        drop(claim);
        SqliteStore::claim(&path, "sync").unwrap();
    }

    #[test]
    fn parked_jobs_wait_for_a_requeue_and_block_their_document() {
        let f = store();
        let a1 = f.store.enqueue(&job("a1", "order:1")).unwrap().id();
        f.store.enqueue(&job("a2", "order:1")).unwrap();
        f.store.lease("main", "w", 10, 60_000).unwrap();
        f.store
            .park(&lease_of(a1, "w", 1), "closed period")
            .unwrap();
        assert!(f.store.lease("main", "w", 10, 60_000).unwrap().is_empty());
        assert_eq!(
            f.store.jobs_in(JobState::Parked, 10).unwrap()[0]
                .last_error
                .as_deref(),
            Some("closed period")
        );
        f.store.requeue(a1).unwrap();
        assert_eq!(f.store.lease("main", "w", 10, 60_000).unwrap()[0].id, a1);
    }

    #[test]
    fn a_failure_found_outside_a_job_is_parked_once_and_can_be_requeued() {
        let f = store();
        let failing = NewJob {
            kind: "catalog".into(),
            ..job("item:A:1", "item:A")
        };
        let parked = f
            .store
            .enqueue_parked(&failing, "SKU A is not in the store")
            .unwrap();
        assert!(matches!(parked, Enqueued::New(_)));
        assert_eq!(
            f.store.enqueue_parked(&failing, "again").unwrap(),
            Enqueued::Duplicate(parked.id())
        );
        let stored = f.store.job(parked.id()).unwrap().unwrap();
        assert_eq!(stored.state, JobState::Parked);
        assert_eq!(stored.attempts, 0);
        assert_eq!(
            stored.last_error.as_deref(),
            Some("SKU A is not in the store")
        );
        assert!(f.store.lease("main", "w", 10, 1_000).unwrap().is_empty());
        f.store.requeue(parked.id()).unwrap();
        let leased = f.store.lease("main", "w", 10, 1_000).unwrap();
        assert_eq!(leased.len(), 1);
        assert_eq!(leased[0].kind, "catalog");
    }

    #[test]
    fn revisions_are_begun_confirmed_or_abandoned() {
        let f = store();
        let revision = Revision {
            connection: "main".into(),
            document: "order:1".into(),
            number: 1,
            external_reference: "main:order:1:r1".into(),
            entry: "{}".into(),
            voucher: None,
            at: 1,
        };
        f.store.begin_revision(&revision).unwrap();
        assert_eq!(
            f.store.revisions("main", "order:1").unwrap()[0].voucher,
            None
        );
        f.store
            .confirm_revision("main", "order:1", 1, "2026/SO/000001")
            .unwrap();
        assert!(
            f.store.begin_revision(&revision).is_err(),
            "a posted revision is final"
        );
        let second = Revision {
            number: 2,
            ..revision
        };
        f.store.begin_revision(&second).unwrap();
        f.store.abandon_revision("main", "order:1", 2).unwrap();
        assert_eq!(f.store.revisions("main", "order:1").unwrap().len(), 1);
    }

    #[test]
    fn cursors_and_id_maps_are_upserted() {
        let f = store();
        assert_eq!(f.store.cursor("main", "orders").unwrap(), None);
        f.store.set_cursor("main", "orders", "a").unwrap();
        f.store.set_cursor("main", "orders", "b").unwrap();
        assert_eq!(
            f.store.cursor("main", "orders").unwrap().as_deref(),
            Some("b")
        );
        f.store
            .map("main", "email", "ada@example.com", "W1")
            .unwrap();
        assert_eq!(
            f.store
                .mapped("main", "email", "ada@example.com")
                .unwrap()
                .as_deref(),
            Some("W1")
        );
    }

    #[test]
    fn the_audit_chain_verifies_and_refuses_edits() {
        let f = store();
        for n in 0..5 {
            f.store
                .audit(&AuditEntry {
                    connection: "main".into(),
                    subject: format!("order:{}", n % 2),
                    kind: "received".into(),
                    data: format!("{{\"n\":{n}}}"),
                })
                .unwrap();
        }
        assert_eq!(f.store.verify_audit().unwrap(), 5);
        assert_eq!(f.store.audit_for("order:1").unwrap().len(), 2);
        let connection = f.store.lock();
        let refused = connection.execute("UPDATE audit SET data = '{}' WHERE seq = 2", []);
        assert!(refused.unwrap_err().to_string().contains("append-only"));
        // Someone who drops the trigger to edit a row is caught by the chain.
        connection
            .execute_batch(
                "DROP TRIGGER audit_no_update; UPDATE audit SET data = '{}' WHERE seq = 2;",
            )
            .unwrap();
        drop(connection);
        assert!(matches!(
            f.store.verify_audit(),
            Err(StoreError::AuditBroken { seq: 2, .. })
        ));
    }

    #[test]
    fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = SqliteStore::open(&path).unwrap();
        store.enqueue(&job("a", "order:1")).unwrap();
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.queue_depth(None).unwrap().ready, 1);
    }
}
