//! SQLite rows of the audit chain: appending an entry with its chain hash, reading a
//! subject's entries, and walking the whole table to verify it (the hash itself is the
//! backend-independent [`crate::store::chain`]).
//!
//! An entry's data of [`PACK_FROM`] bytes or more is stored packed, as the zstd frame of
//! its text in a BLOB, when that is smaller (schema version 8): the requests, the orders
//! and the plugin's input and output are JSON, and packed they take about a third of the
//! space and of the bytes written. The chain hashes the text, so packing changes no hash;
//! every read unpacks, up to [`UNPACK_LIMIT`]. (PostgreSQL compresses large values itself.)

use std::io::Read;

use rusqlite::types::{ToSqlOutput, Type, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, Transaction, params};

use crate::store::chain::{AuditKey, ChainCheck, ChainSummary, SignedHead, next_hash};
use crate::store::{AuditCount, AuditEntry, AuditRecord, Millis, StoreError};

const AUDIT_COLUMNS: &str = "seq, at, connection, subject, kind, data, hash";

/// Data shorter than this is stored as text: packing it would save next to nothing.
const PACK_FROM: usize = 256;
/// zstd's level for packing: its fastest positive level. Level 3 saved 1.5 % more of the
/// store and cost 3 % of the service's throughput.
const PACK_LEVEL: i32 = 1;
/// The most a packed row may unpack to: a damaged row cannot make a read allocate without
/// bound. Far above any entry the connector writes (bodies are cut at 64 KiB).
const UNPACK_LIMIT: u64 = 64 * 1024 * 1024;

/// An entry made ready to append: its data packed, when that pays, before the write, so
/// the packing runs on the caller's thread and not in the transaction every writer waits
/// on.
pub(super) struct Ready {
    entry: AuditEntry,
    packed: Option<Vec<u8>>,
}

impl Ready {
    pub(super) fn of(entry: AuditEntry) -> Ready {
        let packed = packed(&entry.data);
        Ready { entry, packed }
    }

    /// Each of `entries` made ready.
    pub(super) fn all(entries: Vec<AuditEntry>) -> Vec<Ready> {
        entries.into_iter().map(Ready::of).collect()
    }

    fn stored(&self) -> Stored<'_> {
        match &self.packed {
            Some(packed) => Stored::Packed(packed),
            None => Stored::Text(&self.entry.data),
        }
    }
}

/// An entry's data as stored: its text, or packed.
enum Stored<'a> {
    Text(&'a str),
    Packed(&'a [u8]),
}

thread_local! {
    /// Each packing thread's compressor, kept: a context made per entry cost more than
    /// the packing.
    static PACKER: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// `data` packed, when it is long enough to be worth it, the compressor can be made, and
/// the packed form is smaller.
fn packed(data: &str) -> Option<Vec<u8>> {
    if data.len() < PACK_FROM {
        return None;
    }
    PACKER
        .with(|packer| {
            let mut packer = packer.borrow_mut();
            if packer.is_none() {
                *packer = zstd::bulk::Compressor::new(PACK_LEVEL).ok();
            }
            packer.as_mut()?.compress(data.as_bytes()).ok()
        })
        .filter(|packed| packed.len() < data.len())
}

impl ToSql for Stored<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Stored::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Stored::Packed(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
        })
    }
}

/// The text of column `index`, stored as text or packed.
fn data_at(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<String> {
    let unreadable = |kind, error: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(index, kind, error)
    };
    match row.get_ref(index)? {
        ValueRef::Blob(packed) => unpack(packed).map_err(|e| unreadable(Type::Blob, e.into())),
        _ => row.get(index),
    }
}

/// The text a packed row holds.
fn unpack(packed: &[u8]) -> Result<String, String> {
    let mut text = String::new();
    zstd::stream::read::Decoder::new(packed)
        .and_then(|decoder| decoder.take(UNPACK_LIMIT + 1).read_to_string(&mut text))
        .map_err(|e| format!("a packed audit entry cannot be unpacked: {e}"))?;
    if text.len() as u64 > UNPACK_LIMIT {
        return Err(format!(
            "a packed audit entry unpacks to more than {UNPACK_LIMIT} bytes"
        ));
    }
    Ok(text)
}

fn audit_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.get(0)?,
        at: row.get(1)?,
        entry: AuditEntry {
            connection: row.get(2)?,
            subject: row.get(3)?,
            kind: row.get(4)?,
            data: data_at(row, 5)?,
        },
        hash: row.get(6)?,
    })
}

/// Appends one entry to the hash chain; returns its sequence number.
pub(super) fn append(
    tx: &Transaction<'_>,
    key: Option<&AuditKey>,
    entry: &Ready,
    now: Millis,
) -> Result<i64, StoreError> {
    chain(tx, key, std::slice::from_ref(entry), now)
}

/// Appends `entries` to the hash chain in order, its head read once.
pub(super) fn append_all(
    tx: &Transaction<'_>,
    key: Option<&AuditKey>,
    entries: &[Ready],
    now: Millis,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    chain(tx, key, entries, now).map(|_| ())
}

/// Appends `entries` after the chain's head; returns the sequence number of the last.
fn chain(
    tx: &Transaction<'_>,
    key: Option<&AuditKey>,
    entries: &[Ready],
    now: Millis,
) -> Result<i64, StoreError> {
    let last: Option<(i64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (mut seq, mut previous) = last.unwrap_or((0, String::new()));
    let mut insert = tx.prepare_cached(
        "INSERT INTO audit (seq, at, connection, subject, kind, data, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for ready in entries {
        seq += 1;
        let entry = &ready.entry;
        let hash = next_hash(key, &previous, seq, now, entry)?;
        insert.execute(params![
            seq,
            now,
            entry.connection,
            entry.subject,
            entry.kind,
            ready.stored(),
            hash
        ])?;
        previous = hash;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn long_data_is_packed_smaller_and_data_under_the_threshold_is_text() {
        let long = format!(
            "{{\"lines\":[{}]}}",
            "{\"sku\":\"SKU-1\",\"qty\":1},".repeat(40)
        );
        let packed = packed(&long).expect("packed");
        assert!(
            packed.len() * 3 < long.len(),
            "{} of {}",
            packed.len(),
            long.len()
        );
        assert_eq!(unpack(&packed).unwrap(), long);
        assert!(super::packed("{\"n\":1}").is_none());
        // Below the threshold stays text, however well it would pack.
        let just_under = "a".repeat(PACK_FROM - 1);
        assert!(super::packed(&just_under).is_none());
        assert!(super::packed(&format!("{just_under}a")).is_some());
    }

    #[test]
    fn a_packed_row_past_the_limit_or_damaged_is_refused_not_allocated() {
        let huge = zstd::bulk::compress(&vec![b'a'; (UNPACK_LIMIT + 1) as usize], 1).unwrap();
        assert!(unpack(&huge).unwrap_err().contains("more than"));
        assert!(
            unpack(b"not zstd")
                .unwrap_err()
                .contains("cannot be unpacked")
        );
        let mut packed = zstd::bulk::compress("{\"a\":1}".repeat(100).as_bytes(), 3).unwrap();
        packed.truncate(packed.len() / 2);
        assert!(unpack(&packed).is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_unpack_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = unpack(&bytes);
        }

        #[test]
        fn what_is_stored_reads_back_as_it_was(text in ".{0,2000}") {
            let ready = Ready::of(AuditEntry {
                connection: "c".into(),
                subject: "s".into(),
                kind: "k".into(),
                data: text.clone(),
            });
            let read = match ready.stored() {
                Stored::Packed(packed) => unpack(packed).unwrap(),
                Stored::Text(text) => text.to_string(),
            };
            prop_assert_eq!(read, text);
        }
    }
}
