//! The operator console's sessions in PostgreSQL.

use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use crate::store::{ConsoleSession, Millis, SessionsOf, StoreError};

pub(super) async fn start(
    tx: &Transaction<'_>,
    digest: &str,
    operator: &str,
    csrf: &str,
    now: Millis,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO console_sessions (digest, operator, csrf, started_at, seen_at)
         VALUES ($1, $2, $3, $4, $4)",
        &[&digest, &operator, &csrf, &now],
    )
    .await?;
    Ok(())
}

pub(super) async fn find(
    tx: &Transaction<'_>,
    digest: &str,
    idle: Millis,
    longest: Millis,
    now: Millis,
) -> Result<Option<ConsoleSession>, StoreError> {
    tx.execute(
        "DELETE FROM console_sessions WHERE seen_at <= $1 OR started_at <= $2",
        &[&(now - idle), &(now - longest)],
    )
    .await?;
    let found = tx
        .query_opt(
            "UPDATE console_sessions SET seen_at = $2 WHERE digest = $1
             RETURNING digest, operator, csrf, started_at, seen_at",
            &[&digest, &now],
        )
        .await?;
    Ok(found.as_ref().map(session))
}

pub(super) async fn end(tx: &Transaction<'_>, which: &SessionsOf) -> Result<u64, StoreError> {
    let ended = match which {
        SessionsOf::Digest(digest) => {
            tx.execute("DELETE FROM console_sessions WHERE digest = $1", &[digest])
                .await?
        }
        SessionsOf::Operator(operator) => {
            tx.execute(
                "DELETE FROM console_sessions WHERE operator = $1",
                &[operator],
            )
            .await?
        }
    };
    Ok(ended)
}

fn session(row: &Row) -> ConsoleSession {
    ConsoleSession {
        digest: row.get(0),
        operator: row.get(1),
        csrf: row.get(2),
        started_at: row.get(3),
        seen_at: row.get(4),
    }
}
