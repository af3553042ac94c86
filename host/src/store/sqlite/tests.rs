//! Tests of the SQLite store: the backend-independent contract run against it, and what
//! only SQLite has (the on-disk schema and its migrations, the claim's lock file, the
//! triggers guarding the audit table, error classification, reopening a file, a panic on
//! the blocking pool).

use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;

use super::*;
use crate::store::contract::store_contract_tests;
use crate::store::{AuditBreak, system_clock};

store_contract_tests!(async |clock: Clock| {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with_clock(&dir.path().join("store.db"), clock).unwrap();
    (store, dir)
});

fn job(key: &str, document: &str) -> NewJob {
    NewJob {
        connection: "main".into(),
        kind: "order".into(),
        key: key.into(),
        document: document.into(),
        payload: "{}".into(),
        not_before: None,
    }
}

/// The store's schema as SQLite records it, in the layout of `testdata/schema.txt`.
fn schema_of(path: &Path) -> String {
    let db = Connection::open(path).unwrap();
    let mut select = db
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap();
    select
        .query_map([], |row| {
            Ok(format!(
                "{} {} {}\n{}\n",
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?.unwrap_or_default()
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
        .join("\n")
}

fn expected_schema() -> String {
    include_str!("testdata/schema.txt")
        .lines()
        .filter(|line| !line.starts_with("# "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn a_new_store_has_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(SqliteStore::open(&path).unwrap());
    assert_eq!(schema_of(&path).trim(), expected_schema().trim());
    assert_eq!(user_version(&path), 8);
    assert_eq!(migrations::latest(), 8);
}

#[tokio::test]
async fn a_version_1_store_from_before_the_connection_index_opens_and_is_brought_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        // What a store looked like before the runnable-jobs index was keyed by connection.
        let db = Connection::open(&path).unwrap();
        db.execute_batch(migrations::MIGRATIONS[0].sql).unwrap();
        db.execute_batch(
            "DROP INDEX jobs_runnable_by_connection;
             CREATE INDEX jobs_runnable ON jobs (state, next_attempt_at, id);
             PRAGMA user_version = 1;
             INSERT INTO jobs (connection, kind, key, document, payload, state, attempts,
                 next_attempt_at, created_at, updated_at)
             VALUES ('main', 'order', 'wh:1', 'order:1', '{}', 'ready', 0, 0, 0, 0);",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let leased = store.lease("main", "w", 10, 30_000).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].key, "wh:1");
    drop(store);
    assert_eq!(schema_of(&path).trim(), expected_schema().trim());
    assert_eq!(user_version(&path), 8);
}

#[test]
fn a_store_written_by_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 9;")
        .unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::NewerSchema {
            store: refused,
            found: 9,
            supported: 8,
        }) => assert_eq!(refused, path.display().to_string()),
        other => panic!("{other:?}"),
    }
    assert_eq!(user_version(&path), 9, "left as it was");
}

#[test]
fn a_store_that_cannot_be_opened_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("store.db");
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(&error, StoreError::Open { store, .. } if *store == path.display().to_string())
    );
    let source = std::error::Error::source(&error).expect("the cause is kept");
    assert!(source.downcast_ref::<rusqlite::Error>().is_some());
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    store.enqueue(&job("a", "order:1")).await.unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.queue_depth(None).await.unwrap().ready, 1);
}

#[test]
fn a_second_process_cannot_claim_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let claim = SqliteStore::claim(&path, "run").unwrap();
    let refused = SqliteStore::claim(&path, "sync").unwrap_err();
    match &refused {
        StoreError::InUse { path: p, holder } => {
            assert_eq!(*p, path);
            assert!(holder.starts_with("`run`, pid "), "{holder}");
        }
        other => panic!("{other:?}"),
    }
    let message = refused.to_string();
    assert!(
        message.contains("is in use by another ml-connector process (`run`, pid"),
        "{message}"
    );
    assert!(!message.contains("  "), "{message}");
    drop(claim);
    SqliteStore::claim(&path, "sync").unwrap();
}

#[test]
fn a_claim_whose_lock_file_cannot_be_opened_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("store.db");
    match SqliteStore::claim(&path, "run") {
        Err(StoreError::LockFile { path: lock, source }) => {
            assert_eq!(lock, dir.path().join("missing").join("store.db.lock"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_audit_table_refuses_edits_and_the_chain_catches_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db")).unwrap();
    for n in 0..5 {
        store
            .audit(&AuditEntry {
                connection: "main".into(),
                subject: format!("order:{}", n % 2),
                kind: "received".into(),
                data: format!("{{\"n\":{n}}}"),
            })
            .await
            .unwrap();
    }
    assert_eq!(store.verify_audit(None).await.unwrap().entries, 5);
    {
        let connection = store.inner.lock();
        let refused = connection.execute("UPDATE audit SET data = '{}' WHERE seq = 2", []);
        assert!(refused.unwrap_err().to_string().contains("append-only"));
        let refused = connection.execute("DELETE FROM audit WHERE seq = 3", []);
        assert!(refused.unwrap_err().to_string().contains("append-only"));
        // Someone who drops the triggers to edit or remove a row is caught by the chain.
        connection
            .execute_batch(
                "DROP TRIGGER audit_no_update; UPDATE audit SET data = '{}' WHERE seq = 2;",
            )
            .unwrap();
    }
    assert!(matches!(
        store.verify_audit(None).await,
        Err(StoreError::AuditBroken {
            seq: 2,
            reason: AuditBreak::Altered
        })
    ));
    store
        .inner
        .lock()
        .execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq IN (1, 2);")
        .unwrap();
    assert!(matches!(
        store.verify_audit(None).await,
        Err(StoreError::AuditBroken {
            seq: 1,
            reason: AuditBreak::Missing
        })
    ));
}

#[tokio::test]
async fn long_audit_data_is_stored_packed_beside_older_text_rows_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    let long = format!(
        "{{\"order\":{}}}",
        "{\"sku\":\"SKU-0001\",\"quantity\":2},".repeat(50)
    );
    let entry = |data: &str| AuditEntry {
        connection: "main".into(),
        subject: "order:1".into(),
        kind: "source".into(),
        data: data.into(),
    };
    store.audit(&entry("{\"n\":1}")).await.unwrap();
    store.audit(&entry(&long)).await.unwrap();
    // The second row is packed, and much smaller than its text; the first is text.
    let stored: Vec<(String, i64)> = {
        let connection = store.inner.lock();
        let mut select = connection
            .prepare("SELECT typeof(data), length(CAST(data AS BLOB)) FROM audit ORDER BY seq")
            .unwrap();
        select
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(stored[0].0, "text");
    assert_eq!(stored[1].0, "blob");
    assert!(stored[1].1 * 5 < long.len() as i64, "{stored:?}");
    // Read back as written, and the chain (over the text) verifies.
    let read = store.audit_for("order:1").await.unwrap();
    assert_eq!(read[1].entry.data, long);
    assert_eq!(store.verify_audit(None).await.unwrap().entries, 2);
    // A damaged packed row is an error that says so, not a panic or a guess.
    store
        .inner
        .lock()
        .execute_batch(
            "DROP TRIGGER audit_no_update; UPDATE audit SET data = X'28B52FFD00' WHERE seq = 2;",
        )
        .unwrap();
    let error = store.audit_for("order:1").await.unwrap_err().to_string();
    assert!(error.contains("cannot be unpacked"), "{error}");
}

#[test]
fn a_busy_or_locked_database_is_told_apart_from_other_failures() {
    use rusqlite::ffi;
    let failure = |code| rusqlite::Error::SqliteFailure(ffi::Error::new(code), None);
    for code in [ffi::SQLITE_BUSY, ffi::SQLITE_LOCKED] {
        let error = StoreError::from(failure(code));
        assert!(error.is_busy(), "{error:?}");
        assert!(matches!(error, StoreError::Busy(_)));
    }
    let error = StoreError::from(failure(ffi::SQLITE_CONSTRAINT));
    assert!(!error.is_busy());
    let source = std::error::Error::source(&error).expect("the cause is kept");
    assert!(matches!(
        source.downcast_ref::<rusqlite::Error>(),
        Some(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
    ));
}

#[tokio::test]
async fn a_write_blocked_by_another_connection_past_the_timeout_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open_with_clock(&path, Arc::new(system_clock)).unwrap();
    store
        .inner
        .lock()
        .execute_batch("PRAGMA busy_timeout = 50;")
        .unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let blocked = store.enqueue(&job("a", "order:1")).await.unwrap_err();
    assert!(blocked.is_busy(), "{blocked:?}");
    other.execute_batch("ROLLBACK;").unwrap();
    store.enqueue(&job("a", "order:1")).await.unwrap();
}

#[tokio::test]
async fn a_panic_in_a_store_call_is_an_error_that_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db")).unwrap();
    let failed = store
        .blocking(|_| -> Result<(), StoreError> { panic!("the transaction broke") })
        .await
        .unwrap_err();
    match &failed {
        StoreError::Task(cause) => assert!(cause.is_panic(), "{cause:?}"),
        other => panic!("{other:?}"),
    }
    assert!(failed.to_string().contains("did not finish"), "{failed}");
    // The store goes on working.
    store.enqueue(&job("a", "order:1")).await.unwrap();
    assert_eq!(store.queue_depth(None).await.unwrap().ready, 1);
}
