//! The PostgreSQL schema's versions (`migrations/NNNN_*.sql`) and how they are applied:
//! under a session advisory lock, so that replicas starting together migrate once, each
//! version in its own transaction with its number recorded in `schema_version`.

use deadpool_postgres::{GenericClient, Object};

use crate::store::{Migration, StoreError};

/// Every migration, in order.
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
];

/// The schema version this build reads and writes.
pub fn latest() -> i64 {
    Migration::latest(MIGRATIONS)
}

/// The advisory lock every replica takes while migrating.
const LOCK: i64 = 0x006d_6c2d_636f_6e6e; // "ml-conn" in ASCII

pub(super) async fn migrate(client: &mut Object, store: &str) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK])
        .await?;
    let outcome = apply(client, store).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK])
        .await;
    outcome?;
    unlocked?;
    Ok(())
}

async fn apply(client: &mut Object, store: &str) -> Result<(), StoreError> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await?;
    let found: i64 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .await?
        .get(0);
    if found > latest() {
        return Err(StoreError::NewerSchema {
            store: store.to_string(),
            found,
            supported: latest(),
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        let tx = client.transaction().await?;
        tx.batch_execute(migration.sql).await?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&migration.version],
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}
