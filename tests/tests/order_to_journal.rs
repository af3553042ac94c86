//! BigCommerce orders and refunds, read from the store simulator over HTTP, converted into
//! the plugin contract and mapped by the built-in `order-to-gl` plugin: every generated
//! order (several lines, tax, coupons, manual discounts, shipping, handling, three
//! currencies, guests, partial and full refunds, cancellations, edits) gives a valid,
//! balanced journal, and so does every refund. Then the convergent posting rule: an edit
//! posts only its difference and a cancellation reverses what was posted.

use std::sync::Arc;

use ml_connector::bigcommerce::orders::RefundsByOrder;
use ml_connector::bigcommerce::{Client, Pacer, StoreConfig};
use ml_connector::flows::ports::OrderSource;
use ml_connector::flows::{convert, ledger};
use ml_connector::plugins::types::JournalEntry;
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use ml_connector_tests::default_order_plugin;
use time::macros::datetime;

fn balance(entry: &JournalEntry) -> i64 {
    entry.lines.iter().map(|l| l.debit - l.credit).sum()
}

#[tokio::test]
async fn every_generated_order_and_refund_maps_to_a_balanced_journal() {
    let start = datetime!(2026-11-01 08:00 UTC);
    let store = SimStore::new("abc123", "token")
        .with_quota(100_000, std::time::Duration::from_secs(30))
        .with_orders(300, start, 9);
    let sim = BigCommerceSim::start(vec![store]).await.unwrap();
    let client = Client::new(
        StoreConfig::at(&sim.api_root("abc123"), "token"),
        Arc::new(Pacer::new()),
    )
    .unwrap();
    let refunds = RefundsByOrder::new(client.refunds_created_since(start).await.unwrap());
    let mut orders = Vec::new();
    for order in client.orders_modified_since(None).await.unwrap() {
        let full = client.complete_order(order, &refunds).await.unwrap();
        orders.push(full);
    }
    assert_eq!(orders.len(), 300);
    let converted: Vec<_> = orders
        .iter()
        .map(|full| convert::order("abc123", full, "GUEST").unwrap())
        .collect();
    for (full, order) in orders.iter().zip(&converted) {
        let lines: i64 = order.lines.iter().map(|l| l.total_ex_tax).sum();
        assert_eq!(lines, order.subtotal_ex_tax, "order {}", order.id);
        let discounts: i64 = order.discounts.iter().map(|d| d.amount).sum();
        assert_eq!(
            discounts,
            full.order.discount_amount + full.order.coupon_discount,
            "order {}",
            order.id
        );
    }

    let plugin = default_order_plugin();
    let mapped = plugin.map_orders(&converted, None);
    for (order, result) in converted.iter().zip(&mapped.results) {
        let entry = result
            .as_ref()
            .unwrap_or_else(|e| panic!("order {}: {e}", order.id));
        assert_eq!(balance(entry), 0, "order {}", order.id);
        assert_eq!(entry.currency, order.currency.code);
        let paid: i64 = entry.lines.iter().map(|l| l.debit).sum();
        assert!(paid >= order.total_inc_tax, "order {}", order.id);
    }
    assert!(
        converted.iter().any(|o| o.currency.code == "EUR"),
        "several currencies"
    );

    let mut refund_records = Vec::new();
    for (full, order) in orders.iter().zip(&converted) {
        for refund in &full.refunds {
            refund_records.push(convert::refund(refund, order).unwrap());
        }
    }
    assert!(
        refund_records.len() > 10,
        "{} refunds",
        refund_records.len()
    );
    for refund in &refund_records {
        let tax: i64 = refund.items.iter().map(|i| i.tax).sum();
        assert_eq!(tax, refund.total_tax, "refund {}", refund.id);
    }
    let mapped = plugin.map_refunds(&refund_records, None);
    for (refund, result) in refund_records.iter().zip(&mapped.results) {
        let entry = result
            .as_ref()
            .unwrap_or_else(|e| panic!("refund {}: {e}", refund.id));
        assert_eq!(balance(entry), 0, "refund {}", refund.id);
    }
}

#[tokio::test]
async fn an_edit_posts_its_difference_and_a_cancellation_reverses_the_order() {
    let start = datetime!(2026-11-01 08:00 UTC);
    let store = SimStore::new("abc123", "token")
        .with_quota(100_000, std::time::Duration::from_secs(30))
        .with_orders(40, start, 4);
    let sim = BigCommerceSim::start(vec![store]).await.unwrap();
    let client = Client::new(
        StoreConfig::at(&sim.api_root("abc123"), "token"),
        Arc::new(Pacer::new()),
    )
    .unwrap();
    let plugin = default_order_plugin();
    let journal_of = |full| {
        let order = convert::order("abc123", &full, "GUEST").unwrap();
        plugin.map_orders(&[order], None).results.remove(0).unwrap()
    };
    let id = sim.place_orders("abc123", 1).unwrap()[0];
    let first = journal_of(client.full_order(id).await.unwrap().unwrap());
    let mut posted = vec![first.clone()];
    assert_eq!(ledger::difference(Some(&first), &[]).unwrap(), first.lines);

    sim.edit_order("abc123", id).unwrap();
    let edited = journal_of(client.full_order(id).await.unwrap().unwrap());
    let adjustment = ledger::difference(Some(&edited), &posted).unwrap();
    assert!(!adjustment.is_empty());
    assert!(adjustment.len() < edited.lines.len() + 1);
    let net: i64 = adjustment.iter().map(|l| l.debit - l.credit).sum();
    assert_eq!(net, 0, "the adjustment balances");
    posted.push(JournalEntry {
        lines: adjustment,
        ..edited.clone()
    });
    assert!(
        ledger::difference(Some(&edited), &posted)
            .unwrap()
            .is_empty()
    );

    // Cancelled: the order should have nothing posted.
    let reversal = ledger::difference(None, &posted).unwrap();
    let reversed: i64 = reversal.iter().map(|l| l.debit).sum();
    let original: i64 = edited.lines.iter().map(|l| l.debit).sum();
    assert_eq!(reversed, original);
    posted.push(JournalEntry {
        lines: reversal,
        ..edited
    });
    assert!(ledger::difference(None, &posted).unwrap().is_empty());
}
