//! The reconciliation poll: reads the orders modified and refunds created since its
//! cursors (minus an overlap, so a change at the boundary is not missed) from the
//! connection's [`OrderSource`] and queues a job for each; a job key carries the order's
//! modification time and a digest of its listing, so the same change is not queued twice
//! but a new change is, even within the same second. Each
//! order's jobs carry it as listed, so they need not read it again.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use crate::bigcommerce::orders::{Refund, RefundsByOrder};
use crate::bigcommerce::wire;
use crate::flows::FlowError;
use crate::flows::jobs::{Listing, now_millis, order_job, refund_job};
use crate::flows::orders::OrderFlow;
use crate::flows::ports::ORDERS_PAGE;
use crate::store::{CursorMove, Enqueued, NewJob};

/// How far back each poll looks before its cursor.
pub const POLL_OVERLAP: time::Duration = time::Duration::minutes(5);

/// How many times a poll pages the orders when they change under it (see [`poll`]).
const LIST_PASSES: usize = 3;

/// How far behind the store's own clock a cursor stays at the most: a store whose data is
/// dated ahead of its clock (imported orders, a clock set back) must not carry the cursor
/// past changes that are still to come.
pub const CURSOR_MARGIN: time::Duration = time::Duration::minutes(1);

/// What a poll found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollStats {
    pub orders_seen: u64,
    pub refunds_seen: u64,
    pub enqueued: u64,
}

/// The reconciliation poll: enqueues every order modified and every refund created since
/// the cursors (with the overlap), then moves the cursors: to the newest change read, but
/// never past the store's own time at the start of the read, less [`CURSOR_MARGIN`], and
/// only if no other run moved them meanwhile ([`crate::store::StoreError::CursorMoved`]).
///
/// The refunds are listed first (they are few); the orders then page by page, each page's
/// jobs queued in one transaction and carrying their order as listed ([`Listing`]), so
/// what the poll holds is one page whatever the backlog. Pages are offsets in a list that
/// changes: when a pass meets an order twice (changed while paged, so others moved back
/// across a page already read), the list is paged again, up to [`LIST_PASSES`] times.
pub async fn poll(flow: &OrderFlow) -> Result<PollStats, FlowError> {
    let store = &flow.store;
    let connection = &flow.connection;
    let mut stats = PollStats::default();
    let read_at = now_millis();
    let ceiling = flow.source.store_time().await? - CURSOR_MARGIN;
    let orders_read = store.cursor(connection, "orders").await?;
    let refunds_read = store.cursor(connection, "refunds").await?;
    let since = |read: &Option<String>| {
        read.as_deref()
            .and_then(|c| wire::parse_date(c).ok())
            .map(|at| at - POLL_OVERLAP)
    };
    let refunds_since = since(&refunds_read).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let refunds: Vec<Refund> = flow.source.refunds_created_since(refunds_since).await?;
    stats.refunds_seen = refunds.len() as u64;
    let latest_refund = refunds.iter().map(|r| r.created).max();
    let refunds = Arc::new(RefundsByOrder::new(refunds));
    flow.begin_poll(refunds.clone());
    // The refunds whose order is listed go in its page, after it, carrying the listing.
    let mut queued_refunds = HashSet::new();

    let orders_since = since(&orders_read);
    // The cursor itself, not the overlap before it: a poll that finds nothing leaves it.
    let unmoved = orders_since.map(|at| at + POLL_OVERLAP);
    let mut latest = unmoved;
    let mut settled = false;
    for pass in 0..LIST_PASSES {
        // An order changed while the list is paged moves to its end, and every order after
        // its old place moves one back: the one crossing into a page already read would be
        // missed. A pass that meets an order twice is followed by another (what it queues
        // again is a duplicate by key, and its jobs are not added twice).
        let mut seen = HashSet::new();
        let mut shifted = false;
        for page in 1.. {
            let orders = flow.source.orders_modified_page(orders_since, page).await?;
            let last = orders.len() < ORDERS_PAGE as usize;
            flow.prefetch_shoppers(&orders).await?;
            let mut jobs = Vec::with_capacity(orders.len());
            for order in &orders {
                shifted |= !seen.insert(order.id);
                if pass == 0 {
                    stats.orders_seen += 1;
                }
                let listed = Listing::of(order, read_at);
                let version = version_of(order);
                jobs.push(order_job(
                    connection,
                    order.id,
                    &version,
                    "poll",
                    Some(&listed),
                ));
                for refund in refunds.for_order(order.id) {
                    if queued_refunds.insert(refund.id) {
                        jobs.push(refund_job(
                            connection,
                            order.id,
                            refund.id,
                            "poll",
                            Some(&listed),
                        ));
                    }
                }
                latest = latest.max(Some(order.date_modified));
            }
            stats.enqueued += enqueue(flow, &jobs).await?;
            if last {
                break;
            }
        }
        if !shifted {
            settled = true;
            break;
        }
    }
    if !settled {
        // Still changing under every pass: the next poll reads from the same cursor.
        tracing::warn!(
            %connection,
            "orders kept changing while the poll paged them; its cursor stays for the next poll"
        );
        latest = unmoved;
    }
    let rest: Vec<_> = refunds
        .all()
        .filter(|refund| !queued_refunds.contains(&refund.id))
        .map(|refund| refund_job(connection, refund.order_id, refund.id, "poll", None))
        .collect();
    stats.enqueued += enqueue(flow, &rest).await?;
    // Both cursors move together, and only from where this poll read them: a poll of
    // the same connection on another replica that moved them first wins, and this one's
    // reading (already queued, deduplicated by key) is not written over it.
    let moves: Vec<CursorMove> = [
        ("orders", orders_read, latest),
        ("refunds", refunds_read, latest_refund),
    ]
    .into_iter()
    .filter_map(|(name, from, latest)| {
        latest.map(|latest| CursorMove {
            name: name.into(),
            from,
            to: wire::to_rfc3339(latest.min(ceiling)),
        })
    })
    .collect();
    store.move_cursors(connection, &moves).await?;
    Ok(stats)
}

/// What tells one listed state of an order from another: its modification time (whole
/// seconds) and a digest of the listing, since two changes within one second carry the
/// same time and the job works from its listing.
fn version_of(order: &crate::bigcommerce::Order) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(order.raw.as_bytes());
    format!(
        "{}:{}",
        wire::to_rfc3339(order.date_modified),
        hex::encode(&digest[..8])
    )
}

/// Queues `jobs` in one transaction; how many were new.
async fn enqueue(flow: &OrderFlow, jobs: &[NewJob]) -> Result<u64, FlowError> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let enqueued = flow.store.enqueue_all(jobs).await?;
    Ok(enqueued
        .iter()
        .filter(|e| matches!(e, Enqueued::New(_)))
        .count() as u64)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::poll;
    use crate::flows::jobs::JobInput;
    use crate::flows::testing::{order, rig};
    use crate::store::JobState;

    /// Order 10 changes once page 1 is read: it moves to the list's end and order 251
    /// moves back onto page 1, already read. The list is paged again, and every order is
    /// queued.
    #[tokio::test]
    async fn an_order_changed_while_the_list_is_paged_hides_no_other() {
        let rig = rig();
        *rig.shop.listed.lock().unwrap() = (1..=300)
            .map(|id| order(id, 0, "guest@example.com", 1, 11).order)
            .collect();
        *rig.shop.change_after_page.lock().unwrap() = Some((1, 10));
        let stats = poll(&rig.flow).await.unwrap();
        assert_eq!(stats.orders_seen, 300);
        let queued: BTreeSet<u64> = rig
            .flow
            .store
            .jobs_in(JobState::Ready, 1_000)
            .await
            .unwrap()
            .iter()
            .map(|job| {
                serde_json::from_str::<JobInput>(&job.payload)
                    .unwrap()
                    .order_id
            })
            .collect();
        assert_eq!(queued, (1..=300).collect());
    }
}
