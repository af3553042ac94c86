//! Webhook intake in PostgreSQL: each delivery recorded once (by its id, within the
//! retention window, older ones pruned), its jobs queued and its receipt audited, in the
//! caller's transaction.

use deadpool_postgres::{GenericClient, Transaction};

use super::{audit, jobs};
use crate::store::chain::AuditKey;
use crate::store::{IncomingWebhook, Intake, JobState, Millis, StoreError, WEBHOOK_RETENTION};

pub(super) async fn accept(
    tx: &Transaction<'_>,
    key: Option<&AuditKey>,
    events: &[IncomingWebhook],
    now: Millis,
) -> Result<Vec<Intake>, StoreError> {
    tx.execute(
        &tx.prepare_cached("DELETE FROM webhooks WHERE received_at < $1")
            .await?,
        &[&(now - WEBHOOK_RETENTION)],
    )
    .await?;
    let mut outcomes = Vec::with_capacity(events.len());
    for event in events {
        let inserted = tx
            .execute(
                &tx.prepare_cached(
                    "INSERT INTO webhooks (connection, webhook_id, body_sha256, scope, received_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .await?,
                &[
                    &event.connection,
                    &event.webhook_id,
                    &event.body_sha256,
                    &event.scope,
                    &now,
                ],
            )
            .await?;
        if inserted == 0 {
            outcomes.push(Intake::Duplicate);
            continue;
        }
        let mut queued = Vec::with_capacity(event.jobs.len());
        for job in &event.jobs {
            queued.push(
                jobs::insert(tx, job, JobState::Ready, None, now)
                    .await?
                    .id(),
            );
        }
        audit::append(tx, key, &event.received(&queued), now).await?;
        outcomes.push(Intake::Accepted { jobs: queued });
    }
    Ok(outcomes)
}
