//! The [`Store`] on PostgreSQL, for several replicas of the service on one database.
//!
//! Chosen by a URL (`postgres://user@host/db`, `?sslmode=require` for TLS with the
//! server's certificate checked: [`tls`]); the schema is versioned SQL under
//! `migrations/`, applied at open under an advisory lock so that replicas starting together
//! migrate once. A pool of connections (deadpool); every operation is one transaction.
//!
//! What makes sharing safe:
//! - **Leases**: a replica leases a connection's jobs under a transaction-scoped advisory
//!   lock on that connection, with `FOR UPDATE SKIP LOCKED` on the rows it takes, so two
//!   replicas never lease the same job nor two jobs of one document; the fencing token and
//!   owner checks are the same as SQLite's ([`super::lease`]).
//! - **The audit chain**: each append locks the one-row chain head (`audit_head`), so
//!   appends from every replica form one chain.
//! - **One clock**: every time the store writes or compares is the database's
//!   (`clock_timestamp()`), not each replica's, unless a test gives its own [`Clock`].
//! - **Presence**: each process keeps one session holding an advisory lock on a random
//!   key while it lives; its leases and schedule claims carry the key, so another replica
//!   takes them as soon as that session is gone (a killed process) rather than when they
//!   run out.
//! - **Schedules and cursors**: a schedule's run is claimed in `schedule_runs`, a poll's
//!   cursors move by compare-and-set (`records`).
//!
//! This file opens the pool, draws the transaction boundaries and maps each [`Store`]
//! operation onto the SQL of its tables, as the SQLite backend does: `jobs`, `webhooks`,
//! `records` (cursors, schedule claims, id maps, revisions), `audit`, `migrations`.

mod audit;
mod jobs;
mod migrations;
mod records;
mod sessions;
pub mod tls;
mod webhooks;

#[cfg(test)]
pub(crate) mod tests;

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use tls::Tls;

use super::{
    AuditCount, AuditEntry, AuditKey, AuditRecord, BackendError, ByHand, ChainSummary, Clock,
    ConsoleSession, CursorMove, Enqueued, IncomingWebhook, Intake, Job, JobEnd, JobState, Lease,
    Millis, NewJob, ParkedFilter, QueueDepth, Revision, ScheduleClaim, SessionsOf, SignedHead,
    Store, StoreError,
};

/// Connections a store keeps open at most.
const POOL_SIZE: usize = 8;

pub struct PostgresStore {
    pool: Pool,
    /// How to connect, for the presence session.
    config: tokio_postgres::Config,
    tls: Tls,
    /// This process's presence: a session that holds an advisory lock on a random key
    /// while the process lives. Leases and schedule claims carry the key, so that another
    /// replica takes them at once when the session is gone (the process was killed)
    /// rather than when they run out.
    presence: tokio::sync::Mutex<Option<Presence>>,
    /// Set once the schema is known to be current (checked on first use).
    migrated: tokio::sync::OnceCell<()>,
    /// A test's clock; `None`: the database's.
    clock: Option<Clock>,
    /// The key the audit chain is kept under, once given.
    audit_key: std::sync::OnceLock<AuditKey>,
    /// The URL without its password, for messages.
    shown: String,
}

/// The session that keeps this process's presence lock, and the lock's key.
struct Presence {
    key: i64,
    session: tokio_postgres::Client,
}

/// A session of its own on `config` over `tls`, its connection driven on the runtime
/// until it ends (the presence session).
async fn session<T>(
    config: &tokio_postgres::Config,
    tls: T,
) -> Result<tokio_postgres::Client, tokio_postgres::Error>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "the store's presence session ended");
        }
    });
    Ok(client)
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// Serialization failures, deadlocks and lock timeouts are [`StoreError::Busy`] (the
/// transaction had no effect; trying again may succeed); every other error is
/// [`StoreError::Database`].
impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        let busy = [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::LOCK_NOT_AVAILABLE,
        ];
        match error.code() {
            Some(code) if busy.contains(code) => StoreError::Busy(Box::new(error)),
            _ => StoreError::Database(Box::new(error)),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(error) => error.into(),
            other => StoreError::Database(Box::new(other)),
        }
    }
}

/// `url` with its password replaced, fit to print.
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(a PostgreSQL URL that does not parse)".into(),
    }
}

/// Whether `text` names a PostgreSQL store rather than a SQLite file.
pub fn is_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// Runs `$body` (an expression that may use `$tx`, the transaction, and `$now`, the
/// store's time) in one transaction, committed when it succeeds and rolled back (before
/// the connection goes back to the pool) when it fails.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident, $now:ident| $body:expr) => {{
        let mut client = $store.client().await?;
        let $tx = client.transaction().await?;
        let out: Result<_, StoreError> = async {
            let $now = $store.now(&$tx).await?;
            $body
        }
        .await;
        match out {
            Ok(value) => {
                $tx.commit().await?;
                Ok(value)
            }
            Err(error) => {
                let _ = $tx.rollback().await;
                Err(error)
            }
        }
    }};
}

impl PostgresStore {
    /// The store in the database at `url`. Nothing is sent yet: the first operation
    /// connects and brings the schema up to date (so a command can name its store before
    /// its runtime starts); a server that cannot be reached fails that operation.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect(url, None, None, Tls::roots_from_env().as_deref())
    }

    /// As [`PostgresStore::open`], connected and migrated now, in `schema` (created by
    /// the caller) when given, and on `clock` instead of the database's when given.
    pub async fn open_with(
        url: &str,
        schema: Option<&str>,
        clock: Option<Clock>,
    ) -> Result<PostgresStore, StoreError> {
        let store = PostgresStore::connect(url, schema, clock, Tls::roots_from_env().as_deref())?;
        let _ = store.client().await?;
        Ok(store)
    }

    /// The store at `url` (in `schema`, on `clock`), with TLS as the URL's `sslmode` asks
    /// and the extra CA certificates in `roots` ([`tls`]).
    fn connect(
        url: &str,
        schema: Option<&str>,
        clock: Option<Clock>,
        roots: Option<&std::path::Path>,
    ) -> Result<PostgresStore, StoreError> {
        let shown = shown_url(url);
        let open_error = {
            let shown = shown.clone();
            move |source: BackendError| StoreError::Open {
                store: shown.clone(),
                source,
            }
        };
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| open_error(Box::new(e)))?;
        if let Some(schema) = schema {
            config.options(format!("-c search_path={schema}"));
        }
        if config.get_application_name().is_none() {
            config.application_name("ml-connector");
        }
        let tls = Tls::for_config(&config, roots).map_err(|e| open_error(Box::new(e)))?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &tls {
            Tls::Plain => Manager::from_config(config.clone(), NoTls, manager_config),
            Tls::Verified(tls) => Manager::from_config(config.clone(), tls.clone(), manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| open_error(Box::new(e)))?;
        Ok(PostgresStore {
            pool,
            config,
            tls,
            presence: tokio::sync::Mutex::new(None),
            migrated: tokio::sync::OnceCell::new(),
            clock,
            audit_key: std::sync::OnceLock::new(),
            shown,
        })
    }

    /// A connection from the pool, the schema brought up to date first if this is the
    /// store's first use.
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        let mut client = self.pool.get().await.map_err(|error| StoreError::Open {
            store: self.shown.clone(),
            source: match error {
                deadpool_postgres::PoolError::Backend(error) => Box::new(error),
                other => Box::new(other),
            },
        })?;
        self.migrated
            .get_or_try_init(|| migrations::migrate(&mut client, &self.shown))
            .await?;
        Ok(client)
    }

    /// This process's presence key, the session that holds its lock opened first if there
    /// is none or it was lost (then with a new key: what was held under the old one may
    /// already have been taken again).
    async fn presence(&self) -> Result<i64, StoreError> {
        let mut presence = self.presence.lock().await;
        if let Some(held) = presence.as_ref().filter(|p| !p.session.is_closed()) {
            return Ok(held.key);
        }
        let open_error = |error: tokio_postgres::Error| StoreError::Open {
            store: self.shown.clone(),
            source: Box::new(error),
        };
        let session = match &self.tls {
            Tls::Plain => session(&self.config, NoTls).await,
            Tls::Verified(tls) => session(&self.config, tls.clone()).await,
        }
        .map_err(open_error)?;
        // Positive and below 2^62, so that `pg_locks` gives it back unchanged.
        let key = (OsRng.next_u64() >> 2) as i64;
        session
            .execute("SELECT pg_advisory_lock($1)", &[&key])
            .await?;
        *presence = Some(Presence { key, session });
        Ok(key)
    }

    /// The store's time: the test clock's, else the database's.
    async fn now(&self, db: &impl GenericClient) -> Result<Millis, StoreError> {
        if let Some(clock) = &self.clock {
            return Ok(clock());
        }
        let row = db
            .query_one(
                "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn enqueue_all(&self, all: &[NewJob]) -> Result<Vec<Enqueued>, StoreError> {
        in_transaction!(self, |tx, now| {
            let mut enqueued = Vec::with_capacity(all.len());
            for job in all {
                enqueued.push(jobs::insert(&tx, job, JobState::Ready, None, now).await?);
            }
            Ok(enqueued)
        })
    }

    async fn enqueue_parked(&self, job: &NewJob, reason: &str) -> Result<Enqueued, StoreError> {
        in_transaction!(self, |tx, now| {
            jobs::insert(&tx, job, JobState::Parked, Some(reason), now).await
        })
    }

    async fn accept_webhooks(&self, events: &[IncomingWebhook]) -> Result<Vec<Intake>, StoreError> {
        let key = self.audit_key.get();
        in_transaction!(self, |tx, now| webhooks::accept(&tx, key, events, now)
            .await)
    }

    async fn lease(
        &self,
        connection: &str,
        owner: &str,
        max: usize,
        lease_for: Millis,
    ) -> Result<Vec<Job>, StoreError> {
        let presence = self.presence().await?;
        in_transaction!(self, |tx, now| {
            jobs::lease(&tx, connection, (owner, presence), max, lease_for, now).await
        })
    }

    async fn hold(&self, lease: &Lease, lease_for: Millis) -> Result<(), StoreError> {
        in_transaction!(self, |tx, now| jobs::hold(&tx, lease, lease_for, now).await)
    }

    async fn holds(&self, lease: &Lease, for_at_least: Millis) -> Result<bool, StoreError> {
        in_transaction!(self, |tx, now| jobs::holds(&tx, lease, for_at_least, now)
            .await)
    }

    async fn release(&self, owner: &str) -> Result<u64, StoreError> {
        in_transaction!(self, |tx, now| jobs::release(&tx, owner, now).await)
    }

    async fn release_role(&self, role: &str) -> Result<u64, StoreError> {
        in_transaction!(self, |tx, now| jobs::release_role(&tx, role, now).await)
    }

    async fn end_job(
        &self,
        lease: &Lease,
        end: &JobEnd,
        audit: &[AuditEntry],
    ) -> Result<u64, StoreError> {
        let key = self.audit_key.get();
        in_transaction!(self, |tx, now| {
            for entry in audit {
                audit::append(&tx, key, entry, now).await?;
            }
            if let JobEnd::Done {
                posted: Some(posted),
                ..
            } = end
            {
                records::confirm_revision(
                    &tx,
                    &posted.connection,
                    &posted.document,
                    posted.number,
                    &posted.voucher,
                )
                .await?;
            }
            match end {
                JobEnd::Done {
                    covering: Some(read_at),
                    ..
                } => jobs::complete_covering(&tx, lease, *read_at, now).await,
                JobEnd::Done { covering: None, .. } => {
                    jobs::end_lease(&tx, lease, JobState::Done, None, None, now)
                        .await
                        .map(|()| 0)
                }
                JobEnd::Retry { error, at } => {
                    jobs::end_lease(&tx, lease, JobState::Ready, Some(error), Some(*at), now)
                        .await
                        .map(|()| 0)
                }
                JobEnd::Park { reason } => {
                    jobs::end_lease(&tx, lease, JobState::Parked, Some(reason), None, now)
                        .await
                        .map(|()| 0)
                }
            }
        })
    }

    async fn prune_done_jobs(&self, before: Millis, limit: usize) -> Result<u64, StoreError> {
        in_transaction!(self, |tx, _now| jobs::prune_done(&tx, before, limit).await)
    }

    async fn settle_parked(
        &self,
        id: i64,
        action: &ByHand,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let key = self.audit_key.get();
        in_transaction!(self, |tx, now| {
            jobs::settle_parked(&tx, id, action, now).await?;
            audit::append(&tx, key, audit, now).await.map(|_| ())
        })
    }

    async fn parked_jobs(&self, filter: &ParkedFilter) -> Result<Vec<Job>, StoreError> {
        jobs::parked_jobs(&self.client().await?, filter).await
    }

    async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        jobs::job(&self.client().await?, id).await
    }

    async fn jobs_in(&self, state: JobState, limit: usize) -> Result<Vec<Job>, StoreError> {
        jobs::jobs_in(&self.client().await?, state, limit).await
    }

    async fn queue_depth(&self, connection: Option<&str>) -> Result<QueueDepth, StoreError> {
        jobs::queue_depth(&self.client().await?, connection).await
    }

    async fn open_jobs(&self) -> Result<QueueDepth, StoreError> {
        jobs::open_jobs(&self.client().await?).await
    }

    async fn next_retry_at(&self, connection: &str) -> Result<Option<Millis>, StoreError> {
        let client = self.client().await?;
        let now = self.now(&client).await?;
        jobs::next_retry_at(&client, connection, now).await
    }

    async fn cursor(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError> {
        records::cursor(&self.client().await?, connection, name).await
    }

    async fn set_cursor(
        &self,
        connection: &str,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx, now| {
            records::set_cursor(&tx, connection, name, value, now).await
        })
    }

    async fn move_cursors(&self, connection: &str, moves: &[CursorMove]) -> Result<(), StoreError> {
        in_transaction!(self, |tx, now| {
            records::move_cursors(&tx, connection, moves, now).await
        })
    }

    async fn claim_schedule(
        &self,
        connection: &str,
        name: &str,
        owner: &str,
        covers: Millis,
        hold_for: Millis,
    ) -> Result<ScheduleClaim, StoreError> {
        let presence = self.presence().await?;
        in_transaction!(self, |tx, now| {
            records::claim_schedule(
                &tx, connection, name, owner, presence, covers, hold_for, now,
            )
            .await
        })
    }

    async fn hold_schedule(
        &self,
        connection: &str,
        name: &str,
        owner: &str,
        hold_for: Millis,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx, now| {
            records::hold_schedule(&tx, connection, name, owner, hold_for, now).await
        })
    }

    async fn end_schedule(
        &self,
        connection: &str,
        name: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx, _now| {
            records::end_schedule(&tx, connection, name, owner).await
        })
    }

    async fn cursors(&self, connection: &str) -> Result<Vec<(String, String, Millis)>, StoreError> {
        records::cursors(&self.client().await?, connection).await
    }

    async fn revisions(
        &self,
        connection: &str,
        document: &str,
    ) -> Result<Vec<Revision>, StoreError> {
        records::revisions(&self.client().await?, connection, document).await
    }

    async fn begin_revision(
        &self,
        revision: &Revision,
        under: Option<(&Lease, Millis)>,
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let key = self.audit_key.get();
        in_transaction!(self, |tx, now| {
            if let Some((lease, lease_for)) = under {
                jobs::hold(&tx, lease, lease_for, now).await?;
            }
            for entry in audit {
                audit::append(&tx, key, entry, now).await?;
            }
            records::begin_revision(&tx, revision).await
        })
    }

    async fn confirm_revision(
        &self,
        connection: &str,
        document: &str,
        number: u32,
        voucher: &str,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx, _now| {
            records::confirm_revision(&tx, connection, document, number, voucher).await
        })
    }

    async fn abandon_revision(
        &self,
        connection: &str,
        document: &str,
        number: u32,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx, _now| {
            records::abandon_revision(&tx, connection, document, number).await
        })
    }

    async fn mapped(
        &self,
        connection: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        records::mapped(&self.client().await?, connection, kind, key).await
    }

    async fn map(
        &self,
        connection: &str,
        kind: &str,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx, now| {
            records::map(&tx, connection, kind, key, value, now).await
        })
    }

    async fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let key = self.audit_key.get();
        in_transaction!(self, |tx, now| audit::append(&tx, key, entry, now).await)
    }

    async fn audit_batch(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let key = self.audit_key.get();
        in_transaction!(self, |tx, now| {
            for entry in entries {
                audit::append(&tx, key, entry, now).await?;
            }
            Ok(())
        })
    }

    async fn audit_for(&self, subject: &str) -> Result<Vec<AuditRecord>, StoreError> {
        audit::records_about(&self.client().await?, subject).await
    }

    async fn audit_of_kind(
        &self,
        kind: &str,
        since: Millis,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        audit::records_of_kind(&self.client().await?, kind, since, limit).await
    }

    async fn start_session(
        &self,
        digest: &str,
        operator: &str,
        csrf: &str,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx, now| sessions::start(
            &tx, digest, operator, csrf, now
        )
        .await)
    }

    async fn find_session(
        &self,
        digest: &str,
        idle: Millis,
        longest: Millis,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        in_transaction!(self, |tx, now| sessions::find(
            &tx, digest, idle, longest, now
        )
        .await)
    }

    async fn end_sessions(&self, which: &SessionsOf) -> Result<u64, StoreError> {
        in_transaction!(self, |tx, _now| sessions::end(&tx, which).await)
    }

    async fn audit_counts(
        &self,
        kind: &str,
        since: Millis,
        bucket: Millis,
    ) -> Result<Vec<AuditCount>, StoreError> {
        audit::counts(&self.client().await?, kind, since, bucket).await
    }

    fn key_audit(&self, key: AuditKey) {
        let _ = self.audit_key.set(key);
    }

    async fn audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        audit::head(&self.client().await?).await
    }

    async fn audit_hash(&self, seq: i64) -> Result<Option<String>, StoreError> {
        audit::hash_of(&self.client().await?, seq).await
    }

    async fn verify_audit(&self, head: Option<&SignedHead>) -> Result<ChainSummary, StoreError> {
        audit::verify(&self.client().await?, self.audit_key.get(), head).await
    }
}
