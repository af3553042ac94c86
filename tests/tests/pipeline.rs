//! The order-to-ledger pipeline end to end over both simulators (real HTTP on 127.0.0.1),
//! the durable store and the built-in plugin. 500 generated orders (several lines, tax,
//! coupons, discounts, shipping, handling, three currencies, guests and registered
//! shoppers, partial and full refunds, cancellations, edits): a reconciliation poll fills
//! the queue, a worker posts every order and refund once, and the ledger equals one
//! computed independently from the orders; edits and cancellations after posting post
//! their difference; new shoppers become QAD customers once; a second poll changes
//! nothing. Faults: a post whose answer is lost is found by its reference, QAD 5xx and an
//! expired token are retried, a closed period parks until reopened and replayed, a plugin
//! mapping some orders wrongly parks those only, a small API quota only slows the run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ml_connector::flows::orders::OrderFlow;
use ml_connector::flows::worker::Worker;
use ml_connector::plugins::PluginSlot;
use ml_connector::sources::poll::poll;
use ml_connector::store::{JobState, SqliteStore, Store};
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use ml_connector_sim::qad::{PeriodStatus, QadFault, QadFaultAction, QadSim, SimTenant};
use ml_connector_tests::default_order_plugin;
use time::macros::datetime;

struct Rig {
    bigcommerce: BigCommerceSim,
    qad: QadSim,
    flow: Arc<OrderFlow>,
    worker: Worker,
    _dir: tempfile::TempDir,
}

/// Both simulators with `orders` seeded orders (USD, EUR and GBP), a store, and a worker.
async fn rig(orders: u64) -> Rig {
    rig_with(
        orders,
        default_order_plugin(),
        (100_000, Duration::from_secs(30)),
    )
    .await
}

/// The same with another plugin (or the same plugin with other settings) and the store's
/// API quota (requests per window).
async fn rig_with(
    orders: u64,
    plugin: ml_connector::plugins::LoadedPlugin,
    quota: (u32, Duration),
) -> Rig {
    rig_seeded(orders, plugin, quota, datetime!(2026-11-02 08:00 UTC)).await
}

/// The same with the seeded orders dated in the five days before `start`.
async fn rig_seeded(
    orders: u64,
    plugin: ml_connector::plugins::LoadedPlugin,
    (quota, window): (u32, Duration),
    start: time::OffsetDateTime,
) -> Rig {
    let store = SimStore::new("shop1", "bc-token")
        .with_quota(quota, window)
        .with_orders(orders, start, 21);
    let bigcommerce = BigCommerceSim::start(vec![store]).await.unwrap();
    let tenant = SimTenant::demo("acme");
    let qad = QadSim::start(vec![tenant.clone()]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("store.db")).unwrap());
    let connection = ml_connector_tests::connection(
        "main",
        "shop1",
        "bc-token",
        &bigcommerce,
        &qad,
        &tenant,
        store,
        plugin,
        None,
    );
    let flow = connection.orders.clone();
    let mut worker = Worker::new(flow.clone(), "worker-1");
    worker.backoff = Duration::from_millis(20);
    Rig {
        bigcommerce,
        qad,
        flow,
        worker,
        _dir: dir,
    }
}

/// Net debit per account of every QAD entry whose reference starts with `prefix`.
fn net_by_account(qad: &QadSim, prefix: &str) -> BTreeMap<String, i64> {
    let mut net = BTreeMap::new();
    for journal in qad.ledger("acme") {
        if !journal.external_reference.starts_with(prefix) {
            continue;
        }
        for line in &journal.lines {
            *net.entry(line.gl_code.clone()).or_default() += line.debit_tc - line.credit_tc;
        }
    }
    net.retain(|_, amount| *amount != 0);
    net
}

#[tokio::test]
async fn every_order_and_refund_is_posted_once_and_changes_post_their_difference() {
    let rig = rig(500).await;
    let polled = poll(&rig.flow).await.unwrap();
    assert_eq!(polled.orders_seen, 500);
    let stats = rig.worker.drain(Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        stats.parked,
        0,
        "{:?}",
        rig.flow.store.jobs_in(JobState::Parked, 5).await
    );
    let data = rig.bigcommerce.data("shop1").unwrap();
    let policy = rig.flow.policy.clone();
    let ledger = rig.qad.ledger("acme");
    for currency in ["EUR", "GBP"] {
        assert!(
            ledger
                .iter()
                .any(|j| j.lines.iter().any(|l| l.currency == currency)),
            "{currency} orders are posted, balanced in the base currency too"
        );
    }
    let references: Vec<&str> = ledger
        .iter()
        .map(|j| j.external_reference.as_str())
        .collect();
    let unique: BTreeSet<&str> = references.iter().copied().collect();
    assert_eq!(unique.len(), references.len(), "no reference posted twice");
    for order in &data.orders {
        let first = format!("shop1:order:{}:r1", order.id);
        let posted = unique.contains(first.as_str());
        assert_eq!(
            posted,
            policy.posted_statuses.contains(&order.status_id),
            "order {} in status {}",
            order.id,
            order.status_id
        );
        for refund in &order.refunds {
            assert!(
                unique.contains(format!("shop1:refund:{}:r1", refund.id).as_str()),
                "refund {}",
                refund.id
            );
        }
    }
    // The ledger, computed independently from the seeded orders: per posted order, net
    // debits by account under the example account map. Gift certificates and store credit
    // redeemed are their liabilities' debits, never receivables.
    let mut tendered = (0, 0);
    for order in data
        .orders
        .iter()
        .filter(|o| policy.posted_statuses.contains(&o.status_id))
    {
        let paid: i64 = order
            .transactions
            .iter()
            .filter(|t| t.event == "purchase" && t.method == "credit_card")
            .map(|t| t.amount)
            .sum();
        let clearing = if order.gateway == "stripe" {
            "1151"
        } else {
            "1150"
        };
        tendered.0 += i32::from(order.gift_certificate > 0);
        tendered.1 += i32::from(order.store_credit > 0);
        let mut expected: BTreeMap<String, i64> = BTreeMap::new();
        for (account, amount) in [
            ("4000", -order.subtotal_ex_tax()),
            ("4100", -order.shipping_ex_tax),
            ("4110", -order.handling_ex_tax),
            ("4900", order.discount_amount + order.coupon_discount()),
            ("2200", -order.total_tax()),
            (clearing, paid),
            ("2300", order.gift_certificate),
            ("2310", order.store_credit),
            (
                "1200",
                order.total_inc_tax() - paid - order.gift_certificate - order.store_credit,
            ),
        ] {
            *expected.entry(account.to_string()).or_default() += amount;
        }
        expected.retain(|_, amount| *amount != 0);
        assert_eq!(
            net_by_account(&rig.qad, &format!("shop1:order:{}:", order.id)),
            expected,
            "order {}",
            order.id
        );
    }
    assert!(
        tendered.0 > 0 && tendered.1 > 0,
        "the seeded orders include gift certificates and store credit: {tendered:?}"
    );

    // Every registered shopper with a posted order is a QAD customer exactly once.
    let customers = rig.qad.customers("acme");
    let emails: Vec<String> = customers.iter().map(|c| c.email.to_lowercase()).collect();
    for order in data
        .orders
        .iter()
        .filter(|o| o.customer_id != 0 && policy.posted_statuses.contains(&o.status_id))
    {
        let count = emails
            .iter()
            .filter(|e| **e == order.email.to_lowercase())
            .count();
        assert_eq!(count, 1, "{}", order.email);
    }

    // A changed mapping, tried without posting: revenue moves from 4000 to 4010.
    let mut settings = ml_connector_tests::order_settings();
    for (key, value) in &mut settings {
        if key == "account.revenue" {
            *value = "4010".into();
        }
    }
    let changed = OrderFlow::new(
        "main",
        "shop1",
        rig.flow.source.clone(),
        rig.flow.ledger.clone(),
        PluginSlot::fixed(ml_connector_tests::order_plugin_with(settings)),
        rig.flow.store.clone(),
        rig.flow.policy.clone(),
    );
    let sample = data.orders.iter().find(|o| o.status_id == 11).unwrap();
    let plan = changed.dry_run_order(sample.id).await.unwrap().unwrap();
    assert_eq!(plan.reference, format!("shop1:order:{}:r2", sample.id));
    let moved: BTreeMap<&str, i64> = plan
        .entry
        .lines
        .iter()
        .map(|l| (l.account.as_str(), l.debit - l.credit))
        .collect();
    let revenue = sample.subtotal_ex_tax();
    assert_eq!(
        moved,
        BTreeMap::from([("4000", revenue), ("4010", -revenue)])
    );
    assert!(
        rig.flow.dry_run_order(sample.id).await.unwrap().is_none(),
        "with the posted mapping there is nothing to post"
    );

    // Nothing changed: a second poll and run post nothing.
    let before = rig.qad.ledger("acme").len();
    poll(&rig.flow).await.unwrap();
    rig.worker.drain(Duration::from_secs(30)).await.unwrap();
    assert_eq!(rig.qad.ledger("acme").len(), before);

    // An edit, a cancellation after posting, a refund and new orders.
    let posted: Vec<u64> = data
        .orders
        .iter()
        .filter(|o| o.status_id == 11)
        .map(|o| o.id)
        .collect();
    let (edited, cancelled, refunded) = (posted[0], posted[1], posted[2]);
    rig.bigcommerce.advance(Duration::from_secs(3_600));
    rig.bigcommerce.edit_order("shop1", edited).unwrap();
    rig.bigcommerce
        .set_order_status("shop1", cancelled, 5)
        .unwrap();
    let refund_id = rig
        .bigcommerce
        .refund_order("shop1", refunded, false)
        .unwrap();
    let new_orders = rig.bigcommerce.place_orders("shop1", 3).unwrap();
    poll(&rig.flow).await.unwrap();
    let stats = rig.worker.drain(Duration::from_secs(30)).await.unwrap();
    assert_eq!(stats.parked, 0);
    let references: BTreeSet<String> = rig
        .qad
        .ledger("acme")
        .into_iter()
        .map(|j| j.external_reference)
        .collect();
    assert!(references.contains(&format!("shop1:order:{edited}:r2")));
    assert!(references.contains(&format!("shop1:order:{cancelled}:r2")));
    assert!(references.contains(&format!("shop1:refund:{refund_id}:r1")));
    for id in new_orders {
        assert!(references.contains(&format!("shop1:order:{id}:r1")));
    }
    assert!(
        net_by_account(&rig.qad, &format!("shop1:order:{cancelled}:")).is_empty(),
        "the cancelled order nets to nothing"
    );
    let edited_net = net_by_account(&rig.qad, &format!("shop1:order:{edited}:"));
    let edited_order = rig
        .bigcommerce
        .data("shop1")
        .unwrap()
        .orders
        .into_iter()
        .find(|o| o.id == edited)
        .unwrap();
    assert_eq!(
        edited_net.values().filter(|v| **v > 0).sum::<i64>(),
        edited_order.total_inc_tax()
            + edited_order.discount_amount
            + edited_order.coupon_discount(),
        "after the edit the order's entries add up to its new totals"
    );
    assert!(rig.flow.store.verify_audit(None).await.unwrap().entries > 0);
}

#[tokio::test]
async fn lost_answers_are_resolved_by_reference_and_refusals_are_parked() {
    let rig = rig(30).await;
    // November is closed: everything dated in it is refused and parked.
    rig.qad
        .set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Closed);
    poll(&rig.flow).await.unwrap();
    let stats = rig.worker.drain(Duration::from_secs(30)).await.unwrap();
    assert!(stats.parked > 0);
    let parked = rig.flow.store.jobs_in(JobState::Parked, 100).await.unwrap();
    assert!(
        parked[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("postingPeriod"),
        "{:?}",
        parked[0].last_error
    );
    assert!(rig.qad.ledger("acme").is_empty());

    // The first post commits and the connection is cut; then QAD fails three times.
    rig.qad.inject(
        "acme",
        QadFault::new(QadFaultAction::DropAfterCommit, 1)
            .on("journalEntries")
            .for_method("POST"),
    );
    rig.qad.inject(
        "acme",
        QadFault::new(QadFaultAction::Http500, 3).on("journalEntries"),
    );
    // Reopened and replayed an hour later (the QAD token has expired meanwhile):
    // everything posts, the cut post exactly once.
    rig.qad.advance(Duration::from_secs(3_600));
    rig.qad
        .set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Open);
    for job in &parked {
        ml_connector_tests::replay_parked(rig.flow.store.as_ref(), job).await;
    }
    let stats = rig.worker.drain(Duration::from_secs(30)).await.unwrap();
    assert_eq!(stats.parked, 0);
    let ledger = rig.qad.ledger("acme");
    let references: BTreeSet<&str> = ledger
        .iter()
        .map(|j| j.external_reference.as_str())
        .collect();
    assert_eq!(references.len(), ledger.len(), "nothing posted twice");
    assert!(!ledger.is_empty());
}

#[tokio::test]
async fn orders_the_plugin_maps_wrongly_are_parked_and_the_rest_are_posted() {
    // Orders paid through squarev2 map to an account QAD has deactivated.
    let mut settings = ml_connector_tests::order_settings();
    settings.push(("account.clearing.squarev2".into(), "9999".into()));
    let rig = rig_with(
        40,
        ml_connector_tests::order_plugin_with(settings),
        (100_000, Duration::from_secs(30)),
    )
    .await;
    poll(&rig.flow).await.unwrap();
    let stats = rig.worker.drain(Duration::from_secs(30)).await.unwrap();
    assert!(stats.parked > 0 && stats.posted > 0, "{stats:?}");
    let parked = rig.flow.store.jobs_in(JobState::Parked, 100).await.unwrap();
    for job in &parked {
        let reason = job.last_error.as_deref().unwrap_or_default();
        assert!(reason.contains("9999"), "{reason}");
    }
    let data = rig.bigcommerce.data("shop1").unwrap();
    let posted: BTreeSet<String> = rig
        .qad
        .ledger("acme")
        .into_iter()
        .map(|j| j.external_reference)
        .collect();
    for order in data.orders.iter().filter(|o| {
        o.gateway != "squarev2" && rig.flow.policy.posted_statuses.contains(&o.status_id)
    }) {
        assert!(
            posted.contains(&format!("shop1:order:{}:r1", order.id)),
            "order {}",
            order.id
        );
    }
    // The audit keeps the failed mapping with the plugin's identity.
    let document = &parked[0].document;
    let trail = rig.flow.store.audit_for(document).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.entry.kind == "mapping-failed" && e.entry.data.contains("sha256"))
    );
}

#[tokio::test]
async fn a_small_api_quota_slows_the_run_down_but_loses_nothing() {
    // Fifty requests per quarter second, shared by the poll and the worker.
    let rig = rig_with(60, default_order_plugin(), (50, Duration::from_millis(250))).await;
    poll(&rig.flow).await.unwrap();
    let stats = rig.worker.drain(Duration::from_secs(60)).await.unwrap();
    assert_eq!(stats.parked, 0);
    let counters = rig.bigcommerce.counters();
    assert!(
        counters.rejected_429 <= 3,
        "the pacer kept 429s near zero: {}",
        counters.rejected_429
    );
    let data = rig.bigcommerce.data("shop1").unwrap();
    let references: BTreeSet<String> = rig
        .qad
        .ledger("acme")
        .into_iter()
        .map(|j| j.external_reference)
        .collect();
    for order in data
        .orders
        .iter()
        .filter(|o| rig.flow.policy.posted_statuses.contains(&o.status_id))
    {
        assert!(references.contains(&format!("shop1:order:{}:r1", order.id)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_job_keeps_its_lease_and_a_second_worker_never_takes_it() {
    let mut rig = rig(6).await;
    poll(&rig.flow).await.unwrap();
    // Leases of 300 ms, and journal posts that take 1.2 s: only renewal keeps a lease.
    rig.worker.lease_for = Duration::from_millis(300);
    let mut second = Worker::new(rig.flow.clone(), "worker-2");
    second.lease_for = Duration::from_millis(300);
    second.backoff = Duration::from_millis(20);
    rig.qad.inject(
        "acme",
        QadFault::new(QadFaultAction::Delay(Duration::from_millis(1_200)), 3)
            .on("journalEntries")
            .for_method("POST"),
    );
    let (first, other) = tokio::join!(rig.worker.drain(Duration::from_secs(30)), async {
        // The second worker starts while the first holds the slow jobs.
        tokio::time::sleep(Duration::from_millis(100)).await;
        second.drain(Duration::from_secs(30)).await
    });
    let (first, other) = (first.unwrap(), other.unwrap());
    assert_eq!(first.parked + other.parked, 0);
    // Whatever is left (a job the second worker saw leased) is run now.
    rig.worker.drain(Duration::from_secs(30)).await.unwrap();
    let done = rig.flow.store.jobs_in(JobState::Done, 100).await.unwrap();
    assert!(!done.is_empty());
    for job in &done {
        assert_eq!(
            job.attempts, 1,
            "job {} was leased again while it ran",
            job.id
        );
    }
    let references: Vec<String> = rig
        .qad
        .ledger("acme")
        .into_iter()
        .map(|j| j.external_reference)
        .collect();
    let unique: BTreeSet<&String> = references.iter().collect();
    assert_eq!(unique.len(), references.len(), "{references:?}");
}

#[tokio::test]
async fn store_data_dated_ahead_of_the_stores_clock_does_not_carry_the_cursor_past_new_changes() {
    // Orders dated up to two days ahead of the store's clock.
    let ahead = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let rig = rig_seeded(
        40,
        default_order_plugin(),
        (100_000, Duration::from_secs(30)),
        ahead,
    )
    .await;
    let first = poll(&rig.flow).await.unwrap();
    assert_eq!(first.orders_seen, 40);
    rig.worker.drain(Duration::from_secs(30)).await.unwrap();
    let store_now = rig.bigcommerce.now();
    let cursor = rig
        .flow
        .store
        .cursor("main", "orders")
        .await
        .unwrap()
        .unwrap();
    let cursor = ml_connector::bigcommerce::wire::parse_date(&cursor).unwrap();
    assert!(
        cursor <= store_now,
        "the cursor {cursor} passed the store's time {store_now}"
    );

    // A change made now is read by the next poll and posted.
    let data = rig.bigcommerce.data("shop1").unwrap();
    let edited = data.orders.iter().find(|o| o.status_id == 11).unwrap().id;
    rig.bigcommerce.edit_order("shop1", edited).unwrap();
    let second = poll(&rig.flow).await.unwrap();
    assert!(second.enqueued >= 1, "{second:?}");
    rig.worker.drain(Duration::from_secs(30)).await.unwrap();
    let revisions = rig
        .flow
        .store
        .revisions("main", &format!("order:{edited}"))
        .await
        .unwrap();
    assert_eq!(
        revisions.len(),
        2,
        "the edit was posted as a second revision"
    );
}
