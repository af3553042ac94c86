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

use crate::store::{Migration, StoreError};

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
    Migration {
        version: 4,
        sql: include_str!("migrations/0004_open_jobs.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("migrations/0005_audit_by_kind.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("migrations/0006_console_sessions.sql"),
    },
    Migration {
        version: 7,
        sql: include_str!("migrations/0007_audit_counts.sql"),
    },
    Migration {
        version: 8,
        sql: include_str!("migrations/0008_packed_audit.sql"),
    },
];

/// The schema version (`user_version`) this build reads and writes.
pub fn latest() -> i64 {
    Migration::latest(MIGRATIONS)
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
