//! Why a store operation failed: typed, with the backend's own error kept as the source,
//! and a failure worth retrying as such (the database was busy or locked, or a transaction
//! lost a serialization conflict) told apart from every other.

use std::path::PathBuf;

/// A backend's own error (`rusqlite::Error` for SQLite), kept as the source of a
/// [`StoreError`] so that its cause is not lost.
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed store operation. The message of each variant carries its cause too, since most
/// callers show only the top-level message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database was busy or locked by another connection, or a transaction could not
    /// be serialized: the operation had no effect, and trying it again may succeed.
    #[error("the store is busy: {0}")]
    Busy(#[source] BackendError),
    /// Any other failure of the database.
    #[error("the store failed: {0}")]
    Database(#[source] BackendError),
    /// The store could not be opened: `store` is its file, or its URL without the
    /// password.
    #[error("the store failed: cannot open {store}: {source}")]
    Open {
        store: String,
        #[source]
        source: BackendError,
    },
    /// The store has a schema newer than this build reads.
    #[error(
        "the store failed: {store} was written by a newer ml-connector (schema {found}; this one reads {supported})"
    )]
    NewerSchema {
        store: String,
        found: i64,
        supported: i64,
    },
    /// The file that records a store's claim could not be opened.
    #[error("the store failed: cannot open {}: {source}", path.display())]
    LockFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the claim on the store at `path`; `holder` is what it wrote
    /// about itself (role, pid, since when), possibly empty.
    #[error(
        "{} is in use by another ml-connector process ({holder}); a SQLite store serves one \
         process that runs schedules and polls: stop that one first, or keep the store in \
         PostgreSQL to run several",
        path.display()
    )]
    InUse { path: PathBuf, holder: String },
    #[error("job {0} is not leased by this worker (its lease expired and it was taken again)")]
    LeaseLost(i64),
    /// A cursor was not where the caller read it: another run of the same poll (on
    /// another replica) moved it since. Nothing was moved.
    #[error(
        "cursor `{name}` of connection `{connection}` was moved by another run since it was read"
    )]
    CursorMoved { connection: String, name: String },
    /// The claim on a schedule's run ran out and was taken by another replica (or ended).
    #[error(
        "the run of schedule `{name}` of connection `{connection}` is no longer this replica's"
    )]
    ScheduleLost { connection: String, name: String },
    /// No such job, or none in a state the operation applies to.
    #[error("no job {0}")]
    NoJob(i64),
    /// `begin_revision` on a revision already confirmed: a posted revision is final.
    #[error("revision {number} of {document} is already posted as {voucher}")]
    RevisionPosted {
        document: String,
        number: u32,
        voucher: String,
    },
    /// `confirm_revision` on a revision never begun (or abandoned).
    #[error("no revision {number} of {document} to confirm")]
    NoRevision { document: String, number: u32 },
    #[error("the audit chain is broken at entry {seq}: {reason}")]
    AuditBroken { seq: i64, reason: AuditBreak },
    /// An append or check that needs the audit key it was not given (or another).
    #[error("{0}")]
    AuditKey(String),
    /// The backend's task for the operation did not finish (it panicked, or the runtime
    /// was shutting down): whether the operation took effect is unknown.
    #[error("the store failed: its task did not finish: {0}")]
    Task(#[source] tokio::task::JoinError),
}

impl StoreError {
    /// Whether the database was busy, locked or in a serialization conflict (so the same
    /// operation may succeed when tried again).
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy(_))
    }
}

/// How the audit chain is broken at an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditBreak {
    /// The entry with this sequence number is not there (a row was removed).
    #[error("the entry is missing")]
    Missing,
    /// The entry is there, but its hash does not cover its content and the previous hash
    /// (it was edited).
    #[error("its content does not match its hash")]
    Altered,
    /// A plain hash after keyed entries: the entry was rewritten by someone without the key.
    #[error("it is not keyed, though entries before it are: it was rewritten without the key")]
    Unkeyed,
    /// Keyed under a key that is not the one checking (or none is).
    #[error("it is keyed under key id {0}, which is not the master key given")]
    OtherKey(String),
    /// The signed head names this entry, with another hash.
    #[error("it is not the entry the signed head names: the log was rewritten")]
    NotTheHead,
    /// The signed head names an entry past the end of the log.
    #[error(
        "the signed head names it, but the log ends at entry {last}: entries were removed from its end"
    )]
    Truncated { last: i64 },
    /// The head given is not signed with the key.
    #[error("the signed head that names it is not signed with the master key")]
    HeadForged,
}
