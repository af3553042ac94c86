//! SQLite records kept per connection beside the queue: cursors (where each poll stands),
//! who runs each schedule now, id maps (email to QAD customer, SKU to product) and the
//! revisions posted for every source document.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::store::{CursorMove, Millis, Revision, ScheduleClaim, ScheduleRow, StoreError};

pub(super) fn cursor(
    db: &Connection,
    connection: &str,
    name: &str,
) -> Result<Option<String>, StoreError> {
    Ok(db
        .query_row(
            "SELECT value FROM cursors WHERE connection = ?1 AND name = ?2",
            params![connection, name],
            |row| row.get(0),
        )
        .optional()?)
}

/// Every cursor of `connection` by name: name, value, when it was set.
pub(super) fn cursors(
    db: &Connection,
    connection: &str,
) -> Result<Vec<(String, String, Millis)>, StoreError> {
    let mut select = db.prepare_cached(
        "SELECT name, value, updated_at FROM cursors WHERE connection = ?1 ORDER BY name",
    )?;
    let cursors = select
        .query_map(params![connection], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(cursors)
}

pub(super) fn set_cursor(
    tx: &Transaction<'_>,
    connection: &str,
    name: &str,
    value: &str,
    now: Millis,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO cursors (connection, name, value, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (connection, name) DO UPDATE SET value = ?3, updated_at = ?4",
    )?
    .execute(params![connection, name, value, now])?;
    Ok(())
}

pub(super) fn mapped(
    db: &Connection,
    connection: &str,
    kind: &str,
    key: &str,
) -> Result<Option<String>, StoreError> {
    Ok(db
        .query_row(
            "SELECT value FROM id_map WHERE connection = ?1 AND kind = ?2 AND key = ?3",
            params![connection, kind, key],
            |row| row.get(0),
        )
        .optional()?)
}

pub(super) fn map(
    tx: &Transaction<'_>,
    connection: &str,
    kind: &str,
    key: &str,
    value: &str,
    now: Millis,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO id_map (connection, kind, key, value, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (connection, kind, key) DO UPDATE SET value = ?4, updated_at = ?5",
    )?
    .execute(params![connection, kind, key, value, now])?;
    Ok(())
}

/// Every revision of a document, by number.
pub(super) fn revisions(
    db: &Connection,
    connection: &str,
    document: &str,
) -> Result<Vec<Revision>, StoreError> {
    let mut select = db.prepare_cached(
        "SELECT connection, document, number, external_reference, entry, voucher, at
         FROM revisions WHERE connection = ?1 AND document = ?2 ORDER BY number",
    )?;
    let revisions = select
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
        })?
        .collect::<Result<_, _>>()?;
    Ok(revisions)
}

/// Records `revision` unconfirmed, replacing an unconfirmed one of the same number;
/// refused when that number is already confirmed.
pub(super) fn begin_revision(tx: &Transaction<'_>, revision: &Revision) -> Result<(), StoreError> {
    let confirmed: Option<Option<String>> = tx
        .query_row(
            "SELECT voucher FROM revisions
             WHERE connection = ?1 AND document = ?2 AND number = ?3",
            params![revision.connection, revision.document, revision.number],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(Some(voucher)) = confirmed {
        return Err(StoreError::RevisionPosted {
            document: revision.document.clone(),
            number: revision.number,
            voucher,
        });
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO revisions
             (connection, document, number, external_reference, entry, voucher, at)
         VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
    )?
    .execute(params![
        revision.connection,
        revision.document,
        revision.number,
        revision.external_reference,
        revision.entry,
        revision.at
    ])?;
    Ok(())
}

pub(super) fn confirm_revision(
    tx: &Transaction<'_>,
    connection: &str,
    document: &str,
    number: u32,
    voucher: &str,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE revisions SET voucher = ?1
         WHERE connection = ?2 AND document = ?3 AND number = ?4",
        )?
        .execute(params![voucher, connection, document, number])?;
    if changed == 0 {
        return Err(StoreError::NoRevision {
            document: document.to_string(),
            number,
        });
    }
    Ok(())
}

/// Drops an unconfirmed revision (a confirmed one stays).
pub(super) fn abandon_revision(
    tx: &Transaction<'_>,
    connection: &str,
    document: &str,
    number: u32,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "DELETE FROM revisions
         WHERE connection = ?1 AND document = ?2 AND number = ?3 AND voucher IS NULL",
    )?
    .execute(params![connection, document, number])?;
    Ok(())
}

/// Moves every cursor in `moves` from the value it was read at, or none.
pub(super) fn move_cursors(
    tx: &Transaction<'_>,
    connection: &str,
    moves: &[CursorMove],
    now: Millis,
) -> Result<(), StoreError> {
    for cursor in moves {
        let found: Option<String> = tx
            .query_row(
                "SELECT value FROM cursors WHERE connection = ?1 AND name = ?2",
                params![connection, cursor.name],
                |row| row.get(0),
            )
            .optional()?;
        if found != cursor.from {
            return Err(StoreError::CursorMoved {
                connection: connection.to_string(),
                name: cursor.name.clone(),
            });
        }
        set_cursor(tx, connection, &cursor.name, &cursor.to, now)?;
    }
    Ok(())
}

/// Claims a schedule's run (see `Store::claim_schedule`).
pub(super) fn claim_schedule(
    tx: &Transaction<'_>,
    connection: &str,
    name: &str,
    owner: &str,
    covers: Millis,
    hold_for: Millis,
    now: Millis,
) -> Result<ScheduleClaim, StoreError> {
    tx.prepare_cached(
        "INSERT INTO schedule_runs (connection, name) VALUES (?1, ?2)
         ON CONFLICT (connection, name) DO NOTHING",
    )?
    .execute(params![connection, name])?;
    let row = tx
        .prepare_cached(
            "SELECT owner, held_until, started_at FROM schedule_runs
             WHERE connection = ?1 AND name = ?2",
        )?
        .query_row(params![connection, name], |row| {
            Ok(ScheduleRow {
                holder: row.get(0)?,
                held_until: row.get(1)?,
                // One process at a time works a SQLite store (its claim): a holder that
                // is gone had its claims ended by the next claimant.
                holder_alive: true,
                started_at: row.get(2)?,
            })
        })?;
    if let Some(refusal) = row.refusal(owner, covers, now) {
        return Ok(refusal);
    }
    tx.prepare_cached(
        "UPDATE schedule_runs SET owner = ?3, held_until = ?4, started_at = ?5
         WHERE connection = ?1 AND name = ?2",
    )?
    .execute(params![connection, name, owner, now + hold_for, now])?;
    Ok(ScheduleClaim::Claimed)
}

/// Renews `owner`'s claim on a schedule's run.
pub(super) fn hold_schedule(
    tx: &Transaction<'_>,
    connection: &str,
    name: &str,
    owner: &str,
    hold_for: Millis,
    now: Millis,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE schedule_runs SET held_until = ?4
         WHERE connection = ?1 AND name = ?2 AND owner = ?3",
        )?
        .execute(params![connection, name, owner, now + hold_for])?;
    if changed == 0 {
        return Err(StoreError::ScheduleLost {
            connection: connection.to_string(),
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Ends `owner`'s claim on a schedule's run.
pub(super) fn end_schedule(
    tx: &Transaction<'_>,
    connection: &str,
    name: &str,
    owner: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE schedule_runs SET owner = NULL, held_until = 0
         WHERE connection = ?1 AND name = ?2 AND owner = ?3",
    )?
    .execute(params![connection, name, owner])?;
    Ok(())
}
