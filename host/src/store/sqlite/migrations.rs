//! The SQLite store's schema, as numbered migrations (`migrations/NNNN_name.sql`) applied
//! in order, each in one transaction that also sets the database's `user_version` to its
//! number. A store with a higher version than the last migration here was written by a
//! newer build and is refused rather than misread.
//!
//! Migration 1 is written to run again on a store that has it, and is applied again to
//! every store at version 1: stores written before its runnable-jobs index was keyed by
//! connection carry version 1 too, and this brings them to the same schema. A later
//! migration runs once, on a store below its number.

use std::path::Path;

use rusqlite::Connection;

use crate::store::StoreError;

/// One step of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The `user_version` a store has once this step is applied.
    pub version: i64,
    pub sql: &'static str,
}

/// Every migration, in order; the last one's version is the schema this build reads and
/// writes.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("migrations/0002_schedule_runs.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("migrations/0003_webhook_retention.sql"),
    },
];

/// The schema version this build reads and writes.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the store open on `connection` (at `path`, for messages) to the latest schema.
pub(super) fn migrate(connection: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > latest() {
        return Err(StoreError::NewerSchema {
            store: path.display().to_string(),
            found,
            supported: latest(),
        });
    }
    for migration in MIGRATIONS {
        let rerun = migration.version == 1 && found == 1;
        if migration.version <= found && !rerun {
            continue;
        }
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(migration.sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {};", migration.version))?;
        tx.commit()?;
    }
    Ok(())
}
