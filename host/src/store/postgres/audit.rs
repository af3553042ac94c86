//! The audit chain in PostgreSQL: each append locks the chain's head row, so appends from
//! every replica come one after another and each covers the one before.

use deadpool_postgres::{GenericClient, Transaction};
use futures_util::{TryStreamExt, pin_mut};
use tokio_postgres::Row;

use crate::store::chain::{AuditKey, ChainCheck, ChainSummary, SignedHead, next_hash};
use crate::store::{AuditCount, AuditEntry, AuditRecord, Millis, StoreError};

const AUDIT_COLUMNS: &str = "seq, at, connection, subject, kind, data, hash";

fn audit_from(row: &Row) -> AuditRecord {
    AuditRecord {
        seq: row.get(0),
        at: row.get(1),
        entry: AuditEntry {
            connection: row.get(2),
            subject: row.get(3),
            kind: row.get(4),
            data: row.get(5),
        },
        hash: row.get(6),
    }
}

pub(super) async fn append(
    tx: &Transaction<'_>,
    key: Option<&AuditKey>,
    entry: &AuditEntry,
    now: Millis,
) -> Result<i64, StoreError> {
    let head = tx
        .query_one(
            &tx.prepare_cached("SELECT seq, hash FROM audit_head FOR UPDATE")
                .await?,
            &[],
        )
        .await?;
    let seq = head.get::<_, i64>(0) + 1;
    let previous: String = head.get(1);
    let hash = next_hash(key, &previous, seq, now, entry)?;
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO audit (seq, at, connection, subject, kind, data, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?,
        &[
            &seq,
            &now,
            &entry.connection,
            &entry.subject,
            &entry.kind,
            &entry.data,
            &hash,
        ],
    )
    .await?;
    tx.execute(
        &tx.prepare_cached("UPDATE audit_head SET seq = $1, hash = $2")
            .await?,
        &[&seq, &hash],
    )
    .await?;
    Ok(seq)
}

pub(super) async fn records_about(
    db: &impl GenericClient,
    subject: &str,
) -> Result<Vec<AuditRecord>, StoreError> {
    let rows = db
        .query(
            &db.prepare_cached(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit WHERE subject = $1 ORDER BY seq"
            ))
            .await?,
            &[&subject],
        )
        .await?;
    Ok(rows.iter().map(audit_from).collect())
}

/// The entries of `kind` appended at or after `since`, oldest first, at most `limit`.
pub(super) async fn records_of_kind(
    db: &impl GenericClient,
    kind: &str,
    since: Millis,
    limit: usize,
) -> Result<Vec<AuditRecord>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = db
        .query(
            &db.prepare_cached(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit WHERE kind = $1 AND at >= $2 ORDER BY seq LIMIT $3"
            ))
            .await?,
            &[&kind, &since, &limit],
        )
        .await?;
    Ok(rows.iter().map(audit_from).collect())
}

/// Entries of `kind` per connection and `bucket` from `since`.
pub(super) async fn counts(
    db: &impl GenericClient,
    kind: &str,
    since: Millis,
    bucket: Millis,
) -> Result<Vec<AuditCount>, StoreError> {
    let rows = db
        .query(
            &db.prepare_cached(
                "SELECT connection, (at - $2) / $3, count(*) FROM audit
                 WHERE kind = $1 AND at >= $2 GROUP BY 1, 2 ORDER BY 1, 2",
            )
            .await?,
            &[&kind, &since, &bucket.max(1)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| AuditCount {
            connection: row.get(0),
            bucket: row.get(1),
            count: row.get::<_, i64>(2).max(0) as u64,
        })
        .collect())
}

/// The newest entry's number and hash.
pub(super) async fn head(db: &impl GenericClient) -> Result<Option<(i64, String)>, StoreError> {
    let row = db
        .query_opt(
            &db.prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                .await?,
            &[],
        )
        .await?;
    Ok(row.map(|row| (row.get(0), row.get(1))))
}

/// The hash of entry `seq`.
pub(super) async fn hash_of(
    db: &impl GenericClient,
    seq: i64,
) -> Result<Option<String>, StoreError> {
    let row = db
        .query_opt(
            &db.prepare_cached("SELECT hash FROM audit WHERE seq = $1")
                .await?,
            &[&seq],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// Walks the whole chain in order, streaming the rows, with `key` and against `head`.
pub(super) async fn verify(
    db: &impl GenericClient,
    key: Option<&AuditKey>,
    head: Option<&SignedHead>,
) -> Result<ChainSummary, StoreError> {
    let statement = db
        .prepare(&format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq"))
        .await?;
    let rows = db.query_raw(&statement, std::iter::empty::<&str>()).await?;
    pin_mut!(rows);
    let mut check = ChainCheck::new(key, head)?;
    while let Some(row) = rows.try_next().await? {
        check.next(&audit_from(&row))?;
    }
    check.finish()
}
