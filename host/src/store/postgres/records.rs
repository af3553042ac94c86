//! Cursors (moved by compare-and-set), who runs each schedule now, id maps and posted
//! revisions in PostgreSQL.

use deadpool_postgres::{GenericClient, Transaction};

use crate::store::{CursorMove, Millis, Revision, ScheduleClaim, ScheduleRow, StoreError};

fn number(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(super) async fn cursor(
    db: &impl GenericClient,
    connection: &str,
    name: &str,
) -> Result<Option<String>, StoreError> {
    let row = db
        .query_opt(
            &db.prepare_cached("SELECT value FROM cursors WHERE connection = $1 AND name = $2")
                .await?,
            &[&connection, &name],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

pub(super) async fn cursors(
    db: &impl GenericClient,
    connection: &str,
) -> Result<Vec<(String, String, Millis)>, StoreError> {
    let rows = db
        .query(
            "SELECT name, value, updated_at FROM cursors WHERE connection = $1 ORDER BY name",
            &[&connection],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect())
}

pub(super) async fn set_cursor(
    tx: &Transaction<'_>,
    connection: &str,
    name: &str,
    value: &str,
    now: Millis,
) -> Result<(), StoreError> {
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO cursors (connection, name, value, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (connection, name) DO UPDATE SET value = $3, updated_at = $4",
        )
        .await?,
        &[&connection, &name, &value, &now],
    )
    .await?;
    Ok(())
}

pub(super) async fn mapped(
    db: &impl GenericClient,
    connection: &str,
    kind: &str,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let row = db
        .query_opt(
            &db.prepare_cached(
                "SELECT value FROM id_map WHERE connection = $1 AND kind = $2 AND key = $3",
            )
            .await?,
            &[&connection, &kind, &key],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

pub(super) async fn map(
    tx: &Transaction<'_>,
    connection: &str,
    kind: &str,
    key: &str,
    value: &str,
    now: Millis,
) -> Result<(), StoreError> {
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO id_map (connection, kind, key, value, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (connection, kind, key) DO UPDATE SET value = $4, updated_at = $5",
        )
        .await?,
        &[&connection, &kind, &key, &value, &now],
    )
    .await?;
    Ok(())
}

pub(super) async fn revisions(
    db: &impl GenericClient,
    connection: &str,
    document: &str,
) -> Result<Vec<Revision>, StoreError> {
    let rows = db
        .query(
            &db.prepare_cached(
                "SELECT connection, document, number, external_reference, entry, voucher, at
                 FROM revisions WHERE connection = $1 AND document = $2 ORDER BY number",
            )
            .await?,
            &[&connection, &document],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Revision {
            connection: row.get(0),
            document: row.get(1),
            number: u32::try_from(row.get::<_, i32>(2)).unwrap_or(0),
            external_reference: row.get(3),
            entry: row.get(4),
            voucher: row.get(5),
            at: row.get(6),
        })
        .collect())
}

/// Records a revision about to be posted, or replaces the unconfirmed one with its
/// number; a confirmed one is final.
pub(super) async fn begin_revision(
    tx: &Transaction<'_>,
    revision: &Revision,
) -> Result<(), StoreError> {
    let confirmed = tx
        .query_opt(
            "SELECT voucher FROM revisions
             WHERE connection = $1 AND document = $2 AND number = $3
             FOR UPDATE",
            &[
                &revision.connection,
                &revision.document,
                &number(revision.number),
            ],
        )
        .await?;
    if let Some(voucher) = confirmed.and_then(|row| row.get::<_, Option<String>>(0)) {
        return Err(StoreError::RevisionPosted {
            document: revision.document.clone(),
            number: revision.number,
            voucher,
        });
    }
    tx.execute(
        "INSERT INTO revisions
             (connection, document, number, external_reference, entry, voucher, at)
         VALUES ($1, $2, $3, $4, $5, NULL, $6)
         ON CONFLICT (connection, document, number) DO UPDATE SET
             external_reference = EXCLUDED.external_reference, entry = EXCLUDED.entry,
             voucher = NULL, at = EXCLUDED.at",
        &[
            &revision.connection,
            &revision.document,
            &number(revision.number),
            &revision.external_reference,
            &revision.entry,
            &revision.at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn confirm_revision(
    tx: &Transaction<'_>,
    connection: &str,
    document: &str,
    revision: u32,
    voucher: &str,
) -> Result<(), StoreError> {
    let changed = tx
        .execute(
            "UPDATE revisions SET voucher = $1
             WHERE connection = $2 AND document = $3 AND number = $4",
            &[&voucher, &connection, &document, &number(revision)],
        )
        .await?;
    if changed == 0 {
        return Err(StoreError::NoRevision {
            document: document.to_string(),
            number: revision,
        });
    }
    Ok(())
}

pub(super) async fn abandon_revision(
    tx: &Transaction<'_>,
    connection: &str,
    document: &str,
    revision: u32,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM revisions
         WHERE connection = $1 AND document = $2 AND number = $3 AND voucher IS NULL",
        &[&connection, &document, &number(revision)],
    )
    .await?;
    Ok(())
}

/// Moves every cursor in `moves` from the value it was read at, or none (each row locked
/// while it is compared, so two replicas cannot both move it from the same value).
pub(super) async fn move_cursors(
    tx: &Transaction<'_>,
    connection: &str,
    moves: &[CursorMove],
    now: Millis,
) -> Result<(), StoreError> {
    for cursor in moves {
        let found: Option<String> = tx
            .query_opt(
                &tx.prepare_cached(
                    "SELECT value FROM cursors WHERE connection = $1 AND name = $2 FOR UPDATE",
                )
                .await?,
                &[&connection, &cursor.name],
            )
            .await?
            .map(|row| row.get(0));
        let moved = match &cursor.from {
            Some(_) => found != cursor.from,
            // Not set when read: inserting it must not meet a row another run inserted.
            None => {
                found.is_some()
                    || tx
                        .execute(
                            "INSERT INTO cursors (connection, name, value, updated_at)
                             VALUES ($1, $2, $3, $4) ON CONFLICT (connection, name) DO NOTHING",
                            &[&connection, &cursor.name, &cursor.to, &now],
                        )
                        .await?
                        == 0
            }
        };
        if moved {
            return Err(StoreError::CursorMoved {
                connection: connection.to_string(),
                name: cursor.name.clone(),
            });
        }
        set_cursor(tx, connection, &cursor.name, &cursor.to, now).await?;
    }
    Ok(())
}

/// Whether the process whose presence key is in `column` is alive: it holds its session
/// advisory lock (see `PostgresStore::presence`), in this database.
pub(super) fn alive(column: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM pg_locks l
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND ((l.classid::BIGINT << 32) | l.objid::BIGINT) = {column})"
    )
}

/// Claims a schedule's run (see `Store::claim_schedule`) for `owner` of the process with
/// `presence`: a claim held by a process that is gone is taken at once.
#[allow(clippy::too_many_arguments)]
pub(super) async fn claim_schedule(
    tx: &Transaction<'_>,
    connection: &str,
    name: &str,
    owner: &str,
    presence: i64,
    covers: Millis,
    hold_for: Millis,
    now: Millis,
) -> Result<ScheduleClaim, StoreError> {
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO schedule_runs (connection, name) VALUES ($1, $2)
             ON CONFLICT (connection, name) DO NOTHING",
        )
        .await?,
        &[&connection, &name],
    )
    .await?;
    let row = tx
        .query_one(
            &tx.prepare_cached(&format!(
                "SELECT owner, held_until, started_at, {} FROM schedule_runs
                 WHERE connection = $1 AND name = $2 FOR UPDATE",
                alive("presence")
            ))
            .await?,
            &[&connection, &name],
        )
        .await?;
    let row = ScheduleRow {
        holder: row.get(0),
        held_until: row.get(1),
        started_at: row.get(2),
        holder_alive: row.get(3),
    };
    if let Some(refusal) = row.refusal(owner, covers, now) {
        return Ok(refusal);
    }
    tx.execute(
        &tx.prepare_cached(
            "UPDATE schedule_runs SET owner = $3, presence = $4, held_until = $5, started_at = $6
             WHERE connection = $1 AND name = $2",
        )
        .await?,
        &[
            &connection,
            &name,
            &owner,
            &presence,
            &(now + hold_for),
            &now,
        ],
    )
    .await?;
    Ok(ScheduleClaim::Claimed)
}

/// Renews `owner`'s claim on a schedule's run.
pub(super) async fn hold_schedule(
    tx: &Transaction<'_>,
    connection: &str,
    name: &str,
    owner: &str,
    hold_for: Millis,
    now: Millis,
) -> Result<(), StoreError> {
    let changed = tx
        .execute(
            &tx.prepare_cached(
                "UPDATE schedule_runs SET held_until = $4
                 WHERE connection = $1 AND name = $2 AND owner = $3",
            )
            .await?,
            &[&connection, &name, &owner, &(now + hold_for)],
        )
        .await?;
    if changed == 0 {
        return Err(StoreError::ScheduleLost {
            connection: connection.to_string(),
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Ends `owner`'s claim on a schedule's run.
pub(super) async fn end_schedule(
    tx: &Transaction<'_>,
    connection: &str,
    name: &str,
    owner: &str,
) -> Result<(), StoreError> {
    tx.execute(
        &tx.prepare_cached(
            "UPDATE schedule_runs SET owner = NULL, presence = NULL, held_until = 0
             WHERE connection = $1 AND name = $2 AND owner = $3",
        )
        .await?,
        &[&connection, &name, &owner],
    )
    .await?;
    Ok(())
}
