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
//!
//! This file opens the database, draws the transaction boundaries and maps each [`Store`]
//! operation onto the SQL of its tables: `migrations` (the schema, versioned), `jobs`
//! (queue and leases), `webhooks` (intake), `records` (cursors, id maps, revisions),
//! `audit` (the chain's rows) and `claim` (the process lock file).

mod audit;
mod claim;
mod jobs;
mod migrations;
mod records;
mod webhooks;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, Transaction};

pub use super::Clock;
use super::{
    AuditEntry, AuditRecord, Enqueued, IncomingWebhook, Intake, Job, JobState, Lease, Millis,
    NewJob, QueueDepth, Revision, Store, StoreError, system_clock,
};
pub use claim::Claim;

pub struct SqliteStore {
    connection: Mutex<Connection>,
    clock: Clock,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

/// SQLite's busy and locked answers (another connection holds the lock past the busy
/// timeout) are [`StoreError::Busy`]; every other error is [`StoreError::Database`].
impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        match error.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked) => StoreError::Busy(Box::new(error)),
            _ => StoreError::Database(Box::new(error)),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with_clock(path, Arc::new(system_clock))
    }

    pub fn open_with_clock(path: &Path, clock: Clock) -> Result<SqliteStore, StoreError> {
        let mut connection = Connection::open(path).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        connection.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )?;
        migrations::migrate(&mut connection, path)?;
        Ok(SqliteStore {
            connection: Mutex::new(connection),
            clock,
        })
    }

    /// Claims the store at `path` for this process as the one that runs its schedules and
    /// polls (`role`: `run`, `sync`), until the claim is dropped. Refused, naming the
    /// holder, while another process holds it.
    pub fn claim(path: &Path, role: &str) -> Result<Claim, StoreError> {
        claim::claim(path, role)
    }

    fn now(&self) -> Millis {
        (self.clock)()
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the connection, outside an explicit transaction (reads).
    fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        f(&self.lock())
    }

    /// Runs `f` in one immediate transaction.
    fn write<R>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut connection = self.lock();
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let result = f(&tx)?;
        tx.commit()?;
        Ok(result)
    }
}

impl Store for SqliteStore {
    fn enqueue(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        let now = self.now();
        self.write(|tx| jobs::insert(tx, job, JobState::Ready, None, now))
    }

    fn enqueue_parked(&self, job: &NewJob, reason: &str) -> Result<Enqueued, StoreError> {
        let now = self.now();
        self.write(|tx| jobs::insert(tx, job, JobState::Parked, Some(reason), now))
    }

    fn accept_webhooks(&self, events: &[IncomingWebhook]) -> Result<Vec<Intake>, StoreError> {
        let now = self.now();
        self.write(|tx| webhooks::accept(tx, events, now))
    }

    fn lease(
        &self,
        connection: &str,
        owner: &str,
        max: usize,
        lease_for: Millis,
    ) -> Result<Vec<Job>, StoreError> {
        let now = self.now();
        self.write(|tx| jobs::lease(tx, connection, owner, max, lease_for, now))
    }

    fn hold(&self, lease: &Lease, lease_for: Millis) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| jobs::hold(tx, lease, lease_for, now))
    }

    fn release(&self, owner: &str) -> Result<u64, StoreError> {
        let now = self.now();
        self.write(|tx| jobs::release(tx, owner, now))
    }

    fn release_role(&self, role: &str) -> Result<u64, StoreError> {
        let now = self.now();
        self.write(|tx| jobs::release_role(tx, role, now))
    }

    fn complete(&self, lease: &Lease) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| jobs::end_lease(tx, lease, JobState::Done, None, None, now))
    }

    fn complete_covering(&self, lease: &Lease, read_at: Millis) -> Result<u64, StoreError> {
        let now = self.now();
        self.write(|tx| jobs::complete_covering(tx, lease, read_at, now))
    }

    fn retry(&self, lease: &Lease, error: &str, next_attempt_at: Millis) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| {
            jobs::end_lease(
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
        self.write(|tx| jobs::end_lease(tx, lease, JobState::Parked, Some(reason), None, now))
    }

    fn requeue(&self, id: i64) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| jobs::requeue(tx, id, now))
    }

    fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        self.read(|db| jobs::job(db, id))
    }

    fn jobs_in(&self, state: JobState, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.read(|db| jobs::jobs_in(db, state, limit))
    }

    fn queue_depth(&self, connection: Option<&str>) -> Result<QueueDepth, StoreError> {
        self.read(|db| jobs::queue_depth(db, connection))
    }

    fn next_retry_at(&self, connection: &str) -> Result<Option<Millis>, StoreError> {
        let now = self.now();
        self.read(|db| jobs::next_retry_at(db, connection, now))
    }

    fn cursor(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError> {
        self.read(|db| records::cursor(db, connection, name))
    }

    fn set_cursor(&self, connection: &str, name: &str, value: &str) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| records::set_cursor(tx, connection, name, value, now))
    }

    fn cursors(&self, connection: &str) -> Result<Vec<(String, String, Millis)>, StoreError> {
        self.read(|db| records::cursors(db, connection))
    }

    fn revisions(&self, connection: &str, document: &str) -> Result<Vec<Revision>, StoreError> {
        self.read(|db| records::revisions(db, connection, document))
    }

    fn begin_revision(&self, revision: &Revision) -> Result<(), StoreError> {
        self.write(|tx| records::begin_revision(tx, revision))
    }

    fn confirm_revision(
        &self,
        connection: &str,
        document: &str,
        number: u32,
        voucher: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx| records::confirm_revision(tx, connection, document, number, voucher))
    }

    fn abandon_revision(
        &self,
        connection: &str,
        document: &str,
        number: u32,
    ) -> Result<(), StoreError> {
        self.write(|tx| records::abandon_revision(tx, connection, document, number))
    }

    fn mapped(
        &self,
        connection: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.read(|db| records::mapped(db, connection, kind, key))
    }

    fn map(&self, connection: &str, kind: &str, key: &str, value: &str) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| records::map(tx, connection, kind, key, value, now))
    }

    fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let now = self.now();
        self.write(|tx| audit::append(tx, entry, now))
    }

    fn audit_for(&self, subject: &str) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(|db| audit::records_about(db, subject))
    }

    fn verify_audit(&self) -> Result<u64, StoreError> {
        self.read(audit::verify)
    }
}
