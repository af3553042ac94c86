//! The embedded [`Store`]: one SQLite database in WAL mode with `synchronous=FULL`, so a
//! write that returned survives a crash of the process or the machine. One connection
//! behind a mutex writes (SQLite has one writer anyway). Every write is one transaction,
//! or one savepoint of a transaction shared with the writes that arrived while the
//! previous one committed (group commit, see [`group`]); it returns once that transaction
//! has committed. Reads have a connection of their own, so they do not wait for a commit's
//! disk sync: each runs in a read transaction, which sees every write that returned before
//! it began and nothing of one committed while it runs.
//! The SQL is synchronous and stays in this backend: each [`Store`] method runs its
//! transaction on tokio's blocking pool ([`SqliteStore::blocking`]) and awaits it.
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
mod group;
mod jobs;
mod migrations;
mod records;
mod sessions;
mod webhooks;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, Transaction};

pub use super::Clock;
use super::{
    AuditCount, AuditEntry, AuditKey, AuditRecord, ByHand, ChainSummary, ConsoleSession,
    CursorMove, Enqueued, IncomingWebhook, Intake, Job, JobEnd, JobState, Lease, Millis, NewJob,
    ParkedFilter, QueueDepth, Revision, ScheduleClaim, SessionsOf, SignedHead, Store, StoreError,
    system_clock,
};
pub use claim::Claim;

pub struct SqliteStore {
    inner: Arc<Inner>,
}

/// What the blocking pool works on: the connections and the clock.
struct Inner {
    /// The writer.
    connection: Mutex<Connection>,
    /// The reader (`query_only`).
    reader: Mutex<Connection>,
    /// Writes waiting for the next transaction ([`group`]).
    queue: group::Queue,
    clock: Clock,
    /// The key the audit chain is kept under, once given.
    audit_key: std::sync::OnceLock<AuditKey>,
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
        if is_busy(&error) {
            StoreError::Busy(Box::new(error))
        } else {
            StoreError::Database(Box::new(error))
        }
    }
}

/// Whether SQLite answered busy or locked: the operation had no effect and may be tried
/// again ([`StoreError::Busy`]).
fn is_busy(error: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    matches!(
        error.sqlite_error_code(),
        Some(DatabaseBusy | DatabaseLocked)
    )
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with_clock(path, Arc::new(system_clock))
    }

    pub fn open_with_clock(path: &Path, clock: Clock) -> Result<SqliteStore, StoreError> {
        let open = || {
            let connection = Connection::open(path).map_err(|e| StoreError::Open {
                store: path.display().to_string(),
                source: Box::new(e),
            })?;
            // Every statement a job's transactions run stays prepared (rusqlite keeps 16).
            connection.set_prepared_statement_cache_capacity(128);
            Ok::<_, StoreError>(connection)
        };
        let mut connection = open()?;
        // Temporary files (a statement's journal inside a transaction, a sort) are kept
        // in memory: nothing in them outlives the transaction, and on disk they were a
        // sixth of the bytes the store's process wrote.
        connection.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA temp_store = MEMORY;",
        )?;
        migrations::migrate(&mut connection, path)?;
        // Opened once the database is in WAL mode and migrated.
        let reader = open()?;
        reader.execute_batch(
            "PRAGMA query_only = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA temp_store = MEMORY;",
        )?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                connection: Mutex::new(connection),
                reader: Mutex::new(reader),
                queue: group::Queue::default(),
                clock,
                audit_key: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Claims the store at `path` for this process as the one that runs its schedules and
    /// polls (`role`: `run`, `sync`), until the claim is dropped. Refused, naming the
    /// holder, while another process holds it.
    pub fn claim(path: &Path, role: &str) -> Result<Claim, StoreError> {
        claim::claim(path, role)
    }

    /// Runs `f` on tokio's blocking pool and waits for it without holding up the caller's
    /// thread. A panic in `f` is [`StoreError::Task`].
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        let ran = tokio::task::spawn_blocking(move || f(&inner));
        crate::metrics::global()
            .timed(crate::metrics::Spent::Store, ran)
            .await
            .map_err(StoreError::Task)?
    }
}

impl Inner {
    fn now(&self) -> Millis {
        (self.clock)()
    }

    /// The writer, for tests that change the database behind the store's back.
    #[cfg(test)]
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in a read transaction on the reader: it sees the database as the first
    /// of its statements finds it, whatever is committed while it runs.
    fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let tx = reader.transaction()?;
        let read = f(&tx)?;
        tx.commit()?;
        Ok(read)
    }

    /// Runs `f` in an immediate transaction (its own savepoint in one shared with the
    /// writes that arrived with it, see [`group`]), with the time the transaction began;
    /// returns once that transaction has committed.
    fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>, Millis) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.queue.write(&self.connection, || self.now(), f)
    }

    /// The audit key, for a write that appends to the chain.
    fn audit_key(&self) -> Option<AuditKey> {
        self.audit_key.get().cloned()
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn enqueue_all(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, StoreError> {
        let all = jobs.to_vec();
        self.blocking(move |db| {
            db.write(move |tx, now| {
                all.iter()
                    .map(|job| jobs::insert(tx, job, JobState::Ready, None, now))
                    .collect()
            })
        })
        .await
    }

    async fn enqueue_parked(&self, job: &NewJob, reason: &str) -> Result<Enqueued, StoreError> {
        let (job, reason) = (job.clone(), reason.to_owned());
        self.blocking(move |db| {
            db.write(move |tx, now| jobs::insert(tx, &job, JobState::Parked, Some(&reason), now))
        })
        .await
    }

    async fn accept_webhooks(&self, events: &[IncomingWebhook]) -> Result<Vec<Intake>, StoreError> {
        let events = events.to_vec();
        self.blocking(move |db| {
            let key = db.audit_key();
            db.write(move |tx, now| webhooks::accept(tx, key.as_ref(), &events, now))
        })
        .await
    }

    async fn lease(
        &self,
        connection: &str,
        owner: &str,
        max: usize,
        lease_for: Millis,
    ) -> Result<Vec<Job>, StoreError> {
        let (connection, owner) = (connection.to_owned(), owner.to_owned());
        self.blocking(move |db| {
            db.write(move |tx, now| jobs::lease(tx, &connection, &owner, max, lease_for, now))
        })
        .await
    }

    async fn hold(&self, lease: &Lease, lease_for: Millis) -> Result<(), StoreError> {
        let lease = lease.clone();
        self.blocking(move |db| db.write(move |tx, now| jobs::hold(tx, &lease, lease_for, now)))
            .await
    }

    async fn holds(&self, lease: &Lease, for_at_least: Millis) -> Result<bool, StoreError> {
        let lease = lease.clone();
        self.blocking(move |db| db.read(|c| jobs::holds(c, &lease, for_at_least, db.now())))
            .await
    }

    async fn release(&self, owner: &str) -> Result<u64, StoreError> {
        let owner = owner.to_owned();
        self.blocking(move |db| db.write(move |tx, now| jobs::release(tx, &owner, now)))
            .await
    }

    async fn release_role(&self, role: &str) -> Result<u64, StoreError> {
        let role = role.to_owned();
        self.blocking(move |db| db.write(move |tx, now| jobs::release_role(tx, &role, now)))
            .await
    }

    async fn end_job(
        &self,
        lease: &Lease,
        end: &JobEnd,
        audit: &[AuditEntry],
    ) -> Result<u64, StoreError> {
        let (lease, end, audit) = (lease.clone(), end.clone(), audit.to_vec());
        self.blocking(move |db| {
            let key = db.audit_key();
            let audit = audit::Ready::all(audit);
            db.write(move |tx, now| {
                audit::append_all(tx, key.as_ref(), &audit, now)?;
                let ended = |state, why: Option<&str>, at| {
                    jobs::end_lease(tx, &lease, state, why, at, now).map(|()| 0)
                };
                if let JobEnd::Done {
                    posted: Some(posted),
                    ..
                } = &end
                {
                    records::confirm_revision(
                        tx,
                        &posted.connection,
                        &posted.document,
                        posted.number,
                        &posted.voucher,
                    )?;
                }
                match &end {
                    JobEnd::Done {
                        covering: Some(read_at),
                        ..
                    } => jobs::complete_covering(tx, &lease, *read_at, now),
                    JobEnd::Done { covering: None, .. } => ended(JobState::Done, None, None),
                    JobEnd::Retry { error, at } => ended(JobState::Ready, Some(error), Some(*at)),
                    JobEnd::Park { reason } => ended(JobState::Parked, Some(reason), None),
                }
            })
        })
        .await
    }

    async fn prune_done_jobs(&self, before: Millis, limit: usize) -> Result<u64, StoreError> {
        self.blocking(move |db| db.write(move |tx, _| jobs::prune_done(tx, before, limit)))
            .await
    }

    async fn settle_parked(
        &self,
        id: i64,
        action: &ByHand,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (action, audit) = (action.clone(), audit.clone());
        self.blocking(move |db| {
            let key = db.audit_key();
            let audit = audit::Ready::of(audit);
            db.write(move |tx, now| {
                jobs::settle_parked(tx, id, &action, now)?;
                audit::append(tx, key.as_ref(), &audit, now).map(|_| ())
            })
        })
        .await
    }

    async fn parked_jobs(&self, filter: &ParkedFilter) -> Result<Vec<Job>, StoreError> {
        let filter = filter.clone();
        self.blocking(move |db| db.read(|c| jobs::parked_jobs(c, &filter)))
            .await
    }

    async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        self.blocking(move |db| db.read(|c| jobs::job(c, id))).await
    }

    async fn jobs_in(&self, state: JobState, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.blocking(move |db| db.read(|c| jobs::jobs_in(c, state, limit)))
            .await
    }

    async fn queue_depth(&self, connection: Option<&str>) -> Result<QueueDepth, StoreError> {
        let connection = connection.map(str::to_owned);
        self.blocking(move |db| db.read(|c| jobs::queue_depth(c, connection.as_deref())))
            .await
    }

    async fn open_jobs(&self) -> Result<QueueDepth, StoreError> {
        self.blocking(|db| db.read(jobs::open_jobs)).await
    }

    async fn next_retry_at(&self, connection: &str) -> Result<Option<Millis>, StoreError> {
        let connection = connection.to_owned();
        self.blocking(move |db| {
            let now = db.now();
            db.read(|c| jobs::next_retry_at(c, &connection, now))
        })
        .await
    }

    async fn cursor(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError> {
        let (connection, name) = (connection.to_owned(), name.to_owned());
        self.blocking(move |db| db.read(|c| records::cursor(c, &connection, &name)))
            .await
    }

    async fn set_cursor(
        &self,
        connection: &str,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let (connection, name, value) = (connection.to_owned(), name.to_owned(), value.to_owned());
        self.blocking(move |db| {
            db.write(move |tx, now| records::set_cursor(tx, &connection, &name, &value, now))
        })
        .await
    }

    async fn move_cursors(&self, connection: &str, moves: &[CursorMove]) -> Result<(), StoreError> {
        let (connection, moves) = (connection.to_owned(), moves.to_vec());
        self.blocking(move |db| {
            db.write(move |tx, now| records::move_cursors(tx, &connection, &moves, now))
        })
        .await
    }

    async fn claim_schedule(
        &self,
        connection: &str,
        name: &str,
        owner: &str,
        covers: Millis,
        hold_for: Millis,
    ) -> Result<ScheduleClaim, StoreError> {
        let (connection, name, owner) = (connection.to_owned(), name.to_owned(), owner.to_owned());
        self.blocking(move |db| {
            db.write(move |tx, now| {
                records::claim_schedule(tx, &connection, &name, &owner, covers, hold_for, now)
            })
        })
        .await
    }

    async fn hold_schedule(
        &self,
        connection: &str,
        name: &str,
        owner: &str,
        hold_for: Millis,
    ) -> Result<(), StoreError> {
        let (connection, name, owner) = (connection.to_owned(), name.to_owned(), owner.to_owned());
        self.blocking(move |db| {
            db.write(move |tx, now| {
                records::hold_schedule(tx, &connection, &name, &owner, hold_for, now)
            })
        })
        .await
    }

    async fn end_schedule(
        &self,
        connection: &str,
        name: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        let (connection, name, owner) = (connection.to_owned(), name.to_owned(), owner.to_owned());
        self.blocking(move |db| {
            db.write(move |tx, _now| records::end_schedule(tx, &connection, &name, &owner))
        })
        .await
    }

    async fn cursors(&self, connection: &str) -> Result<Vec<(String, String, Millis)>, StoreError> {
        let connection = connection.to_owned();
        self.blocking(move |db| db.read(|c| records::cursors(c, &connection)))
            .await
    }

    async fn revisions(
        &self,
        connection: &str,
        document: &str,
    ) -> Result<Vec<Revision>, StoreError> {
        let (connection, document) = (connection.to_owned(), document.to_owned());
        self.blocking(move |db| db.read(|c| records::revisions(c, &connection, &document)))
            .await
    }

    async fn begin_revision(
        &self,
        revision: &Revision,
        under: Option<(&Lease, Millis)>,
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let (revision, audit) = (revision.clone(), audit.to_vec());
        let under = under.map(|(lease, lease_for)| (lease.clone(), lease_for));
        self.blocking(move |db| {
            let key = db.audit_key();
            let audit = audit::Ready::all(audit);
            db.write(move |tx, now| {
                if let Some((lease, lease_for)) = &under {
                    jobs::hold(tx, lease, *lease_for, now)?;
                }
                audit::append_all(tx, key.as_ref(), &audit, now)?;
                records::begin_revision(tx, &revision)
            })
        })
        .await
    }

    async fn confirm_revision(
        &self,
        connection: &str,
        document: &str,
        number: u32,
        voucher: &str,
    ) -> Result<(), StoreError> {
        let (connection, document, voucher) = (
            connection.to_owned(),
            document.to_owned(),
            voucher.to_owned(),
        );
        self.blocking(move |db| {
            db.write(move |tx, _| {
                records::confirm_revision(tx, &connection, &document, number, &voucher)
            })
        })
        .await
    }

    async fn abandon_revision(
        &self,
        connection: &str,
        document: &str,
        number: u32,
    ) -> Result<(), StoreError> {
        let (connection, document) = (connection.to_owned(), document.to_owned());
        self.blocking(move |db| {
            db.write(move |tx, _| records::abandon_revision(tx, &connection, &document, number))
        })
        .await
    }

    async fn mapped(
        &self,
        connection: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let (connection, kind, key) = (connection.to_owned(), kind.to_owned(), key.to_owned());
        self.blocking(move |db| db.read(|c| records::mapped(c, &connection, &kind, &key)))
            .await
    }

    async fn map(
        &self,
        connection: &str,
        kind: &str,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let (connection, kind, key, value) = (
            connection.to_owned(),
            kind.to_owned(),
            key.to_owned(),
            value.to_owned(),
        );
        self.blocking(move |db| {
            db.write(move |tx, now| records::map(tx, &connection, &kind, &key, &value, now))
        })
        .await
    }

    async fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let entry = entry.clone();
        self.blocking(move |db| {
            let key = db.audit_key();
            let entry = audit::Ready::of(entry);
            db.write(move |tx, now| audit::append(tx, key.as_ref(), &entry, now))
        })
        .await
    }

    async fn audit_batch(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries = entries.to_vec();
        self.blocking(move |db| {
            let key = db.audit_key();
            let entries = audit::Ready::all(entries);
            db.write(move |tx, now| audit::append_all(tx, key.as_ref(), &entries, now))
        })
        .await
    }

    async fn audit_for(&self, subject: &str) -> Result<Vec<AuditRecord>, StoreError> {
        let subject = subject.to_owned();
        self.blocking(move |db| db.read(|c| audit::records_about(c, &subject)))
            .await
    }

    async fn audit_of_kind(
        &self,
        kind: &str,
        since: Millis,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let kind = kind.to_owned();
        self.blocking(move |db| db.read(|c| audit::records_of_kind(c, &kind, since, limit)))
            .await
    }

    async fn start_session(
        &self,
        digest: &str,
        operator: &str,
        csrf: &str,
    ) -> Result<(), StoreError> {
        let (digest, operator, csrf) = (digest.to_owned(), operator.to_owned(), csrf.to_owned());
        self.blocking(move |db| {
            db.write(move |tx, now| sessions::start(tx, &digest, &operator, &csrf, now))
        })
        .await
    }

    async fn find_session(
        &self,
        digest: &str,
        idle: Millis,
        longest: Millis,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let digest = digest.to_owned();
        self.blocking(move |db| {
            db.write(move |tx, now| sessions::find(tx, &digest, idle, longest, now))
        })
        .await
    }

    async fn end_sessions(&self, which: &SessionsOf) -> Result<u64, StoreError> {
        let which = which.clone();
        self.blocking(move |db| db.write(move |tx, _| sessions::end(tx, &which)))
            .await
    }

    async fn audit_counts(
        &self,
        kind: &str,
        since: Millis,
        bucket: Millis,
    ) -> Result<Vec<AuditCount>, StoreError> {
        let kind = kind.to_owned();
        self.blocking(move |db| db.read(|c| audit::counts(c, &kind, since, bucket)))
            .await
    }

    fn key_audit(&self, key: AuditKey) {
        let _ = self.inner.audit_key.set(key);
    }

    async fn audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.blocking(|db| db.read(audit::head)).await
    }

    async fn audit_hash(&self, seq: i64) -> Result<Option<String>, StoreError> {
        self.blocking(move |db| db.read(|c| audit::hash_of(c, seq)))
            .await
    }

    async fn verify_audit(&self, head: Option<&SignedHead>) -> Result<ChainSummary, StoreError> {
        let head = head.cloned();
        self.blocking(move |db| {
            let key = db.audit_key.get();
            db.read(|c| audit::verify(c, key, head.as_ref()))
        })
        .await
    }
}
