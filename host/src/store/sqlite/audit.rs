//! SQLite rows of the audit chain: appending an entry with its chain hash, reading a
//! subject's entries, and walking the whole table to verify it (the hash itself is the
//! backend-independent [`crate::store::chain`]).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::store::chain::{AuditKey, ChainCheck, ChainSummary, SignedHead, next_hash};
use crate::store::{AuditCount, AuditEntry, AuditRecord, Millis, StoreError};

const AUDIT_COLUMNS: &str = "seq, at, connection, subject, kind, data, hash";

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

/// Appends one entry to the hash chain; returns its sequence number.
pub(super) fn append(
    tx: &Transaction<'_>,
    key: Option<&AuditKey>,
    entry: &AuditEntry,
    now: Millis,
) -> Result<i64, StoreError> {
    let last: Option<(i64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (seq, previous) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, String::new()),
    };
    let hash = next_hash(key, &previous, seq, now, entry)?;
    tx.prepare_cached(
        "INSERT INTO audit (seq, at, connection, subject, kind, data, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        seq,
        now,
        entry.connection,
        entry.subject,
        entry.kind,
        entry.data,
        hash
    ])?;
    Ok(seq)
}

/// The entries about `subject`, oldest first.
pub(super) fn records_about(
    db: &Connection,
    subject: &str,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut select = db.prepare_cached(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit WHERE subject = ?1 ORDER BY seq"
    ))?;
    let records = select
        .query_map(params![subject], audit_from)?
        .collect::<Result<_, _>>()?;
    Ok(records)
}

/// The entries of `kind` appended at or after `since`, oldest first, at most `limit`.
pub(super) fn records_of_kind(
    db: &Connection,
    kind: &str,
    since: Millis,
    limit: usize,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut select = db.prepare_cached(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit WHERE kind = ?1 AND at >= ?2 ORDER BY seq LIMIT ?3"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let records = select
        .query_map(params![kind, since, limit], audit_from)?
        .collect::<Result<_, _>>()?;
    Ok(records)
}

/// Entries of `kind` per connection and `bucket` from `since` (the `INDEXED BY` keeps it
/// on the index that holds all three columns).
pub(super) fn counts(
    db: &Connection,
    kind: &str,
    since: Millis,
    bucket: Millis,
) -> Result<Vec<AuditCount>, StoreError> {
    let mut select = db.prepare_cached(
        "SELECT connection, (at - ?2) / ?3, count(*) FROM audit INDEXED BY audit_kind_at
         WHERE kind = ?1 AND at >= ?2 GROUP BY 1, 2 ORDER BY 1, 2",
    )?;
    let counts = select
        .query_map(params![kind, since, bucket.max(1)], |row| {
            Ok(AuditCount {
                connection: row.get(0)?,
                bucket: row.get(1)?,
                count: row.get::<_, i64>(2)?.max(0) as u64,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(counts)
}

/// The newest entry's number and hash.
pub(super) fn head(db: &Connection) -> Result<Option<(i64, String)>, StoreError> {
    Ok(db
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

/// The hash of entry `seq`.
pub(super) fn hash_of(db: &Connection, seq: i64) -> Result<Option<String>, StoreError> {
    Ok(db
        .prepare_cached("SELECT hash FROM audit WHERE seq = ?1")?
        .query_row(params![seq], |row| row.get(0))
        .optional()?)
}

/// Checks the whole chain in order, with `key` and against `head`.
pub(super) fn verify(
    db: &Connection,
    key: Option<&AuditKey>,
    head: Option<&SignedHead>,
) -> Result<ChainSummary, StoreError> {
    let mut select = db.prepare(&format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq"))?;
    let mut check = ChainCheck::new(key, head)?;
    for row in select.query_map([], audit_from)? {
        check.next(&row?)?;
    }
    check.finish()
}
