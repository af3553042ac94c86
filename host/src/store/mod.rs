//! The durable store: the job queue (deduplicated by key, leased per connection with a
//! fencing token, retried, parked, one job at a time per document), cursors, what has been posted for every source document, id
//! maps (email to QAD customer, SKU to BigCommerce product), and the append-only,
//! hash-chained audit log.
//!
//! [`Store`] is the interface the flows use; [`sqlite::SqliteStore`] is the embedded
//! implementation (WAL, one writer). The interface is small, and async so that a backend
//! that talks to a database server (PostgreSQL: several host replicas on one queue,
//! `SKIP LOCKED`) awaits its answers without holding a runtime thread; SQLite keeps its
//! blocking calls inside its backend, on tokio's blocking pool. [`chain`] is the audit
//! hash every backend writes, [`StoreError`] the errors every backend returns, and the
//! `contract` checks (tests only) the promises every backend keeps.

pub mod chain;
#[cfg(test)]
pub(crate) mod contract;
mod error;
pub mod lease;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use chain::{AuditKey, ChainSummary, SignedHead};
pub use error::{AuditBreak, BackendError, StoreError};
pub use lease::{Lease, owner_id};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// A store time as RFC 3339 in UTC (the milliseconds as a number when out of range).
pub fn millis_text(at: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

/// Where a store's time comes from (tests move it by hand).
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// The system's time, as a store's [`Clock`].
pub fn system_clock() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// The member of a job's payload that only its first attempt reads (see
/// [`NewJob::payload`]).
pub const FIRST_ATTEMPT_ONLY: &str = "listed";

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub connection: String,
    /// What to do (`order`, `refund`, `customer`, `catalog`...).
    pub kind: String,
    /// Deduplication key: a second job with the same connection, kind and key is not
    /// added (a webhook delivered twice, a poll that sees the same change again).
    pub key: String,
    /// The source document the job works on (`order:123`): jobs for one document run one
    /// at a time, oldest first. A refund uses its order's document so it runs after it.
    pub document: String,
    /// The job's input as JSON (a webhook's ids, a poll's listing), kept for audit and
    /// replay. Its top-level member [`FIRST_ATTEMPT_ONLY`], when there is one, is what only
    /// the first attempt reads: the store drops it when that attempt ends, however it
    /// ends, and when the job is covered by another, so that done and waiting jobs stay
    /// small.
    pub payload: String,
    /// Not before this time (`None`: now).
    pub not_before: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting to run (possibly not before `next_attempt_at`).
    Ready,
    /// Taken by a worker until its lease ends.
    Leased,
    Done,
    /// Failed permanently; waits for an operator (replay).
    Parked,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Ready => "ready",
            JobState::Leased => "leased",
            JobState::Done => "done",
            JobState::Parked => "parked",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        Some(match text {
            "ready" => JobState::Ready,
            "leased" => JobState::Leased,
            "done" => JobState::Done,
            "parked" => JobState::Parked,
            _ => return None,
        })
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub connection: String,
    pub kind: String,
    pub key: String,
    pub document: String,
    pub payload: String,
    pub state: JobState,
    /// Attempts made so far (a leased job's current attempt included).
    pub attempts: u32,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
    pub created_at: Millis,
    /// When its state last changed (for a parked job: when it was parked).
    pub updated_at: Millis,
}

/// What `enqueue` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New(i64),
    /// A job with this key was already there (in any state).
    Duplicate(i64),
}

impl Enqueued {
    pub fn id(self) -> i64 {
        match self {
            Enqueued::New(id) | Enqueued::Duplicate(id) => id,
        }
    }
}

/// One revision posted (or being posted) for a source document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub connection: String,
    pub document: String,
    /// 1, 2, ... in posting order.
    pub number: u32,
    /// The deterministic reference QAD holds it under (`store:order:ID:rN`).
    pub external_reference: String,
    /// The entry as posted (JSON), so the next revision can post only the difference.
    pub entry: String,
    /// `None` while the post's outcome is unknown (written before posting, so a crash
    /// in between is resolved by looking the reference up).
    pub voucher: Option<String>,
    pub at: Millis,
}

/// A revision QAD took, to be marked posted under its voucher: by
/// [`Store::confirm_revision`], or with the end of the job that posted it
/// ([`JobEnd::Done`]), which saves a transaction per post. Until it is on disk the
/// revision stays open, and a crash in between is resolved as a lost answer is (looked up
/// by reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedRevision {
    pub connection: String,
    pub document: String,
    pub number: u32,
    pub voucher: String,
}

impl PostedRevision {
    /// Marks it posted in `store` on its own (not with its job's end).
    pub async fn confirm_in(&self, store: &dyn Store) -> Result<(), StoreError> {
        store
            .confirm_revision(&self.connection, &self.document, self.number, &self.voucher)
            .await
    }
}

/// One audit entry, as appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub connection: String,
    /// What the entry is about (`order:123`, `job:45`, `webhook`).
    pub subject: String,
    /// What happened (`received`, `plugin`, `request`, `posted`, `parked`...).
    pub kind: String,
    /// Details as JSON; credentials must already be redacted.
    pub data: String,
}

/// An audit entry as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: Millis,
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// Over the previous record's hash and this record's content: an HMAC under the
    /// audit key (`k1:<key id>:<hex>`), or a SHA-256 (hex) in a log kept without one.
    pub hash: String,
}

/// How many audit entries of one kind a connection appended in one bucket of time
/// ([`Store::audit_counts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCount {
    pub connection: String,
    /// The bucket's number: 0 starts at the `since` asked for.
    pub bucket: i64,
    pub count: u64,
}

/// How long a delivery's id is remembered: a redelivery within it adds nothing. Well past
/// BigCommerce's retries (the last comes 48 hours after the first failure) and the
/// signature's five-minute tolerance; older deliveries are pruned as new ones arrive.
pub const WEBHOOK_RETENTION: Millis = 7 * 24 * 3600 * 1000;

/// A verified webhook delivery, with the jobs it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingWebhook {
    pub connection: String,
    /// The `webhook-id` header: a redelivery carries the same one.
    pub webhook_id: String,
    /// SHA-256 (hex) of the raw body, kept with the delivery's id.
    pub body_sha256: String,
    pub scope: String,
    /// The raw body, kept in the audit log.
    pub body: String,
    pub jobs: Vec<NewJob>,
}

impl IncomingWebhook {
    /// The audit entry that records this delivery's receipt and the jobs it queued (the
    /// same in every backend).
    pub fn received(&self, jobs: &[i64]) -> AuditEntry {
        AuditEntry {
            connection: self.connection.clone(),
            subject: "webhook".into(),
            kind: "received".into(),
            data: serde_json::json!({
                "webhook_id": self.webhook_id,
                "scope": self.scope,
                "body": self.body,
                "jobs": jobs,
            })
            .to_string(),
        }
    }
}

/// What became of one incoming webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// Written, with the ids of its jobs (new or already queued).
    Accepted { jobs: Vec<i64> },
    /// Seen before (the same id on the same connection); nothing was added.
    Duplicate,
}

/// One step of a backend's schema: the version a store has once `sql` is applied. Each
/// backend lists its own, in order (`sqlite::migrations`, `postgres::migrations`).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

impl Migration {
    /// The version `all` brings a store to: the schema a build reads and writes.
    pub fn latest(all: &[Migration]) -> i64 {
        all.last().map_or(0, |m| m.version)
    }
}

/// What a claim on a schedule's run finds in its row.
pub(crate) struct ScheduleRow {
    /// Who holds the run now, and until when (`None`: no one).
    pub holder: Option<String>,
    pub held_until: Millis,
    /// Whether the holder's process is alive, where the backend can tell (else `true`).
    pub holder_alive: bool,
    /// When the last run started.
    pub started_at: Option<Millis>,
}

impl ScheduleRow {
    /// Why `owner` may not take the run now (see [`Store::claim_schedule`]), or `None`
    /// when it may.
    pub(crate) fn refusal(self, owner: &str, covers: Millis, now: Millis) -> Option<ScheduleClaim> {
        let held = self.holder_alive && self.held_until > now;
        if let Some(holder) = self.holder.filter(|h| h != owner && held) {
            return Some(ScheduleClaim::Running { owner: holder });
        }
        self.started_at
            .filter(|at| *at > now - covers)
            .map(ScheduleClaim::RanAt)
    }
}

/// One cursor to move: from the value it had when read (`None`: it was not set) to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorMove {
    pub name: String,
    pub from: Option<String>,
    pub to: String,
}

/// What a replica's claim on a schedule's run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleClaim {
    /// The run is this owner's until it ends it (renewing the claim while it runs).
    Claimed,
    /// Another owner is running it now.
    Running { owner: String },
    /// A run started recently enough (at `at`) to stand for this one.
    RanAt(Millis),
}

/// How a worker ends a job it holds ([`Store::end_job`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEnd {
    /// Done; with `covering`, the job read its document's current state at that time, so
    /// the ready jobs of the same document and kind queued before then are done too
    /// (their change was in what it read). `posted`: the revision the job posted,
    /// confirmed in the same transaction (see [`PostedRevision`]).
    Done {
        covering: Option<Millis>,
        posted: Option<PostedRevision>,
    },
    /// Ready again at `at`, with why it failed.
    Retry { error: String, at: Millis },
    /// Parked for the operator, with why.
    Park { reason: String },
}

/// Queue depth by state, for `status` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    pub ready: u64,
    pub leased: u64,
    pub done: u64,
    pub parked: u64,
}

impl QueueDepth {
    /// Counts `count` jobs in the stored state `state` (an unknown state counts as
    /// parked, as such a job is read).
    pub fn add(&mut self, state: &str, count: u64) {
        match JobState::parse(state) {
            Some(JobState::Ready) => self.ready += count,
            Some(JobState::Leased) => self.leased += count,
            Some(JobState::Done) => self.done += count,
            Some(JobState::Parked) | None => self.parked += count,
        }
    }
}

/// Which parked jobs a list shows, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedFilter {
    pub connection: Option<String>,
    pub kind: Option<String>,
    /// Parked at or after this.
    pub since: Option<Millis>,
    /// Only jobs older than this one (the next page of a list).
    pub before: Option<i64>,
    pub limit: usize,
}

/// What an operator does with a parked job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByHand {
    /// Back in line, due now; with `payload` in place of its own when given (a replay
    /// that names another plugin version says so there).
    Replay { payload: Option<String> },
    /// Done without running: the operator settled the record another way.
    Resolve { reason: String },
}

/// An operator's console session, kept by the SHA-256 of its cookie's value, so that every
/// process over the store knows it (replicas behind one address) and removing an operator
/// ends theirs at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub digest: String,
    pub operator: String,
    /// The token every form of the session carries.
    pub csrf: String,
    pub started_at: Millis,
    pub seen_at: Millis,
}

/// The durable store. Its methods are async (through `async_trait`, so that it is used
/// as `Arc<dyn Store>`).
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Adds a job unless one with the same connection, kind and key exists.
    async fn enqueue(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        let mut enqueued = self.enqueue_all(std::slice::from_ref(job)).await?;
        Ok(enqueued.remove(0))
    }

    /// Adds each job unless one with the same connection, kind and key exists, all in one
    /// transaction (a poll's page of changes costs one commit); one answer per job, in
    /// order.
    async fn enqueue_all(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, StoreError>;

    /// Adds a job already parked with `reason`, unless one with the same connection, kind
    /// and key exists: a failure found outside a job (by a poll that handles many
    /// records at once), so that it waits for an operator like any parked job.
    async fn enqueue_parked(&self, job: &NewJob, reason: &str) -> Result<Enqueued, StoreError>;

    /// Writes verified webhooks and their jobs in one transaction (durable before any
    /// is answered), each deduplicated by its id on its connection within
    /// [`WEBHOOK_RETENTION`] (older deliveries are pruned), each audited.
    async fn accept_webhooks(&self, events: &[IncomingWebhook]) -> Result<Vec<Intake>, StoreError>;

    /// Takes up to `max` runnable jobs of `connection` for `owner` until
    /// `now + lease_for`: ready, due, and first in line for their document (no earlier
    /// unfinished job for it). Leases that ran out are released first. Each lease's
    /// fencing token is the job's attempt number ([`Lease`]).
    async fn lease(
        &self,
        connection: &str,
        owner: &str,
        max: usize,
        lease_for: Millis,
    ) -> Result<Vec<Job>, StoreError>;

    /// Extends a lease still held to `now + lease_for`; [`StoreError::LeaseLost`] when it
    /// ran out and was taken again (the holder must stop: it may not post or complete).
    async fn hold(&self, lease: &Lease, lease_for: Millis) -> Result<(), StoreError>;

    /// Whether `lease` is still held (owner and token match) for more than `for_at_least`:
    /// a check that writes nothing, for a step that must not start on a lease lost or
    /// about to run out.
    async fn holds(&self, lease: &Lease, for_at_least: Millis) -> Result<bool, StoreError>;

    /// Frees the leases `owner` holds (a worker stopping with jobs it did not start).
    /// Returns how many were freed.
    async fn release(&self, owner: &str) -> Result<u64, StoreError>;

    /// Frees every lease held by a worker of `role` ([`owner_id`]'s prefix), and ends its
    /// claims on schedule runs: for a process that knows no other worker of that role is
    /// alive (it holds the store's claim), so that a killed one's jobs and schedules are
    /// taken again at once. Returns how many leases it freed.
    async fn release_role(&self, role: &str) -> Result<u64, StoreError>;

    /// Deletes up to `limit` done jobs last changed before `before`, oldest first, and
    /// returns how many it deleted (see [`crate::config::RetentionConfig`]). Their audit
    /// entries stay. A change seen again after its job is gone queues a new job, which
    /// finds its document's postings already in line and posts nothing.
    async fn prune_done_jobs(&self, before: Millis, limit: usize) -> Result<u64, StoreError>;

    /// Replays or resolves a parked job, with the audit entry saying who did it, in one
    /// transaction; [`StoreError::NoJob`] when the job is not parked (any more).
    async fn settle_parked(
        &self,
        id: i64,
        action: &ByHand,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Parked jobs by `filter`, newest first.
    async fn parked_jobs(&self, filter: &ParkedFilter) -> Result<Vec<Job>, StoreError>;

    async fn job(&self, id: i64) -> Result<Option<Job>, StoreError>;

    /// Jobs in a state, oldest first.
    async fn jobs_in(&self, state: JobState, limit: usize) -> Result<Vec<Job>, StoreError>;

    /// Jobs by state, of one connection or all.
    async fn queue_depth(&self, connection: Option<&str>) -> Result<QueueDepth, StoreError>;

    /// The jobs of every connection not done, by state (`done` left at 0): read from an
    /// index of the open jobs only, so it costs as much as the open queue is long.
    async fn open_jobs(&self) -> Result<QueueDepth, StoreError>;

    /// When the next job of `connection` waiting for a retry becomes due (`None`: none is
    /// waiting).
    async fn next_retry_at(&self, connection: &str) -> Result<Option<Millis>, StoreError>;

    async fn cursor(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError>;

    async fn set_cursor(&self, connection: &str, name: &str, value: &str)
    -> Result<(), StoreError>;

    /// Moves cursors together, each from the value the caller read: when one has been
    /// moved since (by another run of the same poll), none is moved and the error is
    /// [`StoreError::CursorMoved`].
    async fn move_cursors(&self, connection: &str, moves: &[CursorMove]) -> Result<(), StoreError>;

    /// Every cursor of a connection: name, value, when it was set.
    async fn cursors(&self, connection: &str) -> Result<Vec<(String, String, Millis)>, StoreError>;

    /// Claims the next run of schedule `name` of `connection` for `owner` until
    /// `now + hold_for`, unless another owner's claim still holds (and, in a backend with
    /// several processes, that owner is alive), or a run started within the last `covers`
    /// milliseconds (it stands for this one). A claim is renewed with
    /// [`Store::hold_schedule`] while the run lasts and ended with [`Store::end_schedule`].
    async fn claim_schedule(
        &self,
        connection: &str,
        name: &str,
        owner: &str,
        covers: Millis,
        hold_for: Millis,
    ) -> Result<ScheduleClaim, StoreError>;

    /// Extends `owner`'s claim on a schedule's run to `now + hold_for`;
    /// [`StoreError::ScheduleLost`] when it is no longer `owner`'s.
    async fn hold_schedule(
        &self,
        connection: &str,
        name: &str,
        owner: &str,
        hold_for: Millis,
    ) -> Result<(), StoreError>;

    /// Ends `owner`'s claim on a schedule's run (the run is over).
    async fn end_schedule(
        &self,
        connection: &str,
        name: &str,
        owner: &str,
    ) -> Result<(), StoreError>;

    /// Every revision of a document, in order.
    async fn revisions(
        &self,
        connection: &str,
        document: &str,
    ) -> Result<Vec<Revision>, StoreError>;

    /// Records a revision about to be posted (voucher `None`), or replaces the unconfirmed
    /// one with the same number, in one transaction with `audit` appended first and, when
    /// it is posted under a job's lease (`under`: the lease and how long to extend it),
    /// that lease renewed: a lease taken over is [`StoreError::LeaseLost`] and nothing is
    /// written, so a worker that lost its job cannot record (nor then make) a post.
    async fn begin_revision(
        &self,
        revision: &Revision,
        under: Option<(&Lease, Millis)>,
        audit: &[AuditEntry],
    ) -> Result<(), StoreError>;

    /// Marks a revision posted under `voucher`.
    async fn confirm_revision(
        &self,
        connection: &str,
        document: &str,
        number: u32,
        voucher: &str,
    ) -> Result<(), StoreError>;

    /// Drops an unconfirmed revision (the post was refused, nothing is in QAD).
    async fn abandon_revision(
        &self,
        connection: &str,
        document: &str,
        number: u32,
    ) -> Result<(), StoreError>;

    /// An id map entry (`email` -> QAD customer code, `sku` -> product).
    async fn mapped(
        &self,
        connection: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError>;

    async fn map(
        &self,
        connection: &str,
        kind: &str,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError>;

    /// Appends to the audit chain; returns its sequence number.
    async fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError>;

    /// Ends the job held under `lease` as `end` says, with `audit` appended first, all in
    /// one transaction; returns how many other jobs a covering completion also ended. A
    /// lease taken over is [`StoreError::LeaseLost`] and changes nothing.
    async fn end_job(
        &self,
        lease: &Lease,
        end: &JobEnd,
        audit: &[AuditEntry],
    ) -> Result<u64, StoreError>;

    /// Appends several entries in order, in one transaction (nothing for none).
    async fn audit_batch(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;

    /// The audit entries about a subject, oldest first.
    async fn audit_for(&self, subject: &str) -> Result<Vec<AuditRecord>, StoreError>;

    /// The audit entries of `kind` appended at or after `since`, oldest first, at most
    /// `limit` of them.
    async fn audit_of_kind(
        &self,
        kind: &str,
        since: Millis,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// How many entries of `kind` each connection appended in each `bucket` milliseconds
    /// from `since` on, read from the index alone (the console's plot of the last hours).
    async fn audit_counts(
        &self,
        kind: &str,
        since: Millis,
        bucket: Millis,
    ) -> Result<Vec<AuditCount>, StoreError>;

    /// Keeps the audit chain under `key` from now on (see [`chain`]): every append is
    /// keyed, and refused if the log is keyed under another key.
    fn key_audit(&self, key: AuditKey);

    /// The newest audit entry's number and hash.
    async fn audit_head(&self) -> Result<Option<(i64, String)>, StoreError>;

    /// The hash of audit entry `seq`.
    async fn audit_hash(&self, seq: i64) -> Result<Option<String>, StoreError>;

    /// Checks the whole chain with the store's audit key, and against `head` when given
    /// (signed with that key).
    async fn verify_audit(&self, head: Option<&SignedHead>) -> Result<ChainSummary, StoreError>;

    /// Opens a console session for `operator` (its times now).
    async fn start_session(
        &self,
        digest: &str,
        operator: &str,
        csrf: &str,
    ) -> Result<(), StoreError>;

    /// Session `digest`, when it was seen within `idle` and started within `longest`; it
    /// is seen now. Sessions past either are removed.
    async fn find_session(
        &self,
        digest: &str,
        idle: Millis,
        longest: Millis,
    ) -> Result<Option<ConsoleSession>, StoreError>;

    /// Ends session `digest`, or with `operator` every session of theirs; how many ended.
    async fn end_sessions(&self, which: &SessionsOf) -> Result<u64, StoreError>;
}

/// Which console sessions [`Store::end_sessions`] ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionsOf {
    /// The one with this digest (a logout).
    Digest(String),
    /// Every one of this operator (removed).
    Operator(String),
}
