//! The operator console's sessions in SQLite.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::store::{ConsoleSession, Millis, SessionsOf, StoreError};

pub(super) fn start(
    tx: &Transaction<'_>,
    digest: &str,
    operator: &str,
    csrf: &str,
    now: Millis,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO console_sessions (digest, operator, csrf, started_at, seen_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![digest, operator, csrf, now])?;
    Ok(())
}

pub(super) fn find(
    tx: &Transaction<'_>,
    digest: &str,
    idle: Millis,
    longest: Millis,
    now: Millis,
) -> Result<Option<ConsoleSession>, StoreError> {
    tx.prepare_cached("DELETE FROM console_sessions WHERE seen_at <= ?1 OR started_at <= ?2")?
        .execute(params![now - idle, now - longest])?;
    Ok(tx
        .query_row(
            "UPDATE console_sessions SET seen_at = ?2 WHERE digest = ?1
             RETURNING digest, operator, csrf, started_at, seen_at",
            params![digest, now],
            row,
        )
        .optional()?)
}

pub(super) fn end(tx: &Transaction<'_>, which: &SessionsOf) -> Result<u64, StoreError> {
    let ended = match which {
        SessionsOf::Digest(digest) => tx
            .prepare_cached("DELETE FROM console_sessions WHERE digest = ?1")?
            .execute(params![digest])?,
        SessionsOf::Operator(operator) => tx
            .prepare_cached("DELETE FROM console_sessions WHERE operator = ?1")?
            .execute(params![operator])?,
    };
    Ok(ended as u64)
}

fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ConsoleSession> {
    Ok(ConsoleSession {
        digest: row.get(0)?,
        operator: row.get(1)?,
        csrf: row.get(2)?,
        started_at: row.get(3)?,
        seen_at: row.get(4)?,
    })
}
