//! SQLite webhook intake: each verified delivery is recorded once (by its id, within the
//! retention window, older ones pruned), its jobs queued and its receipt audited, all in
//! the caller's transaction.

use rusqlite::{Transaction, params};

use super::{audit, jobs};
use crate::store::chain::AuditKey;
use crate::store::{IncomingWebhook, Intake, JobState, Millis, StoreError, WEBHOOK_RETENTION};

/// Writes `events` in `tx`: a delivery seen before (the same id on its connection) is a
/// duplicate and adds nothing. Deliveries past the retention window are pruned first.
pub(super) fn accept(
    tx: &Transaction<'_>,
    key: Option<&AuditKey>,
    events: &[IncomingWebhook],
    now: Millis,
) -> Result<Vec<Intake>, StoreError> {
    tx.prepare_cached("DELETE FROM webhooks WHERE received_at < ?1")?
        .execute(params![now - WEBHOOK_RETENTION])?;
    let mut outcomes = Vec::with_capacity(events.len());
    for event in events {
        let inserted = tx
            .prepare_cached(
                "INSERT INTO webhooks (connection, webhook_id, body_sha256, scope, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                event.connection,
                event.webhook_id,
                event.body_sha256,
                event.scope,
                now
            ])?;
        if inserted == 0 {
            outcomes.push(Intake::Duplicate);
            continue;
        }
        let mut queued = Vec::with_capacity(event.jobs.len());
        for job in &event.jobs {
            queued.push(jobs::insert(tx, job, JobState::Ready, None, now)?.id());
        }
        audit::append(tx, key, &audit::Ready::of(event.received(&queued)), now)?;
        outcomes.push(Intake::Accepted { jobs: queued });
    }
    Ok(outcomes)
}
