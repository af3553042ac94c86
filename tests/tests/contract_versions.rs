//! The host serves plugins of every contract version it supports side by side: a plugin
//! built against the frozen 0.1 contract (wit-bindgen alone, no SDK) beside the default
//! plugin built against 0.2, each called with the same records in the newest types.

use ml_connector::plugins::RecordError;
use ml_connector::plugins::bindings::Contract;
use ml_connector::plugins::types::{JournalEntry, Order, Tender, TenderKind};
use ml_connector_tests::test_plugins::CONTRACT_0_1;
use ml_connector_tests::{default_order_plugin, example_order, load_file, order_settings};

fn net(entry: &JournalEntry, account: &str) -> i64 {
    entry
        .lines
        .iter()
        .filter(|l| l.account == account)
        .map(|l| l.debit - l.credit)
        .sum()
}

/// What `entry` says was paid via `gateway`.
fn paid_via(entry: &JournalEntry, gateway: &str) -> i64 {
    let memo = format!("paid via {gateway}");
    entry
        .lines
        .iter()
        .filter(|l| l.memo == memo)
        .map(|l| l.debit - l.credit)
        .sum()
}

fn tender(kind: TenderKind, name: &str, amount: i64, transaction: &str) -> Tender {
    Tender {
        kind,
        name: name.into(),
        amount,
        transaction_id: transaction.into(),
    }
}

/// The example order (73.30, captured by Stripe) paid 43.30 by card and 30.00 by `tenders`.
fn with_tenders(tenders: Vec<Tender>) -> Order {
    let mut order = example_order();
    for payment in &mut order.payments {
        payment.amount = 433_000;
    }
    order.tenders = tenders;
    order
}

/// 20.00 by a gift certificate a transaction recorded, 10.00 by store credit only the
/// order's totals tell.
fn split() -> Vec<Tender> {
    vec![
        tender(
            TenderKind::GiftCertificate,
            "gift certificate",
            200_000,
            "t9",
        ),
        tender(TenderKind::StoreCredit, "store credit", 100_000, ""),
    ]
}

#[test]
fn a_plugin_of_each_contract_version_is_loaded_and_told_apart() {
    let legacy = load_file(CONTRACT_0_1, Vec::new()).unwrap();
    assert_eq!(legacy.inspection().contract, Contract::V0_1);
    assert_eq!(legacy.inspection().api_version, "0.1.0");
    assert_eq!(legacy.info().name, "contract-0-1");
    let newest = default_order_plugin();
    assert_eq!(newest.inspection().contract, Contract::V0_2);
    assert_eq!(Contract::NEWEST, Contract::V0_2);
}

#[test]
fn a_0_1_plugin_maps_the_newest_records_as_it_did_before_0_2() {
    let legacy = load_file(CONTRACT_0_1, Vec::new()).unwrap();
    let order = example_order();
    let mapped = legacy.map_orders(std::slice::from_ref(&order), None);
    let entry = mapped.results.into_iter().next().unwrap().unwrap();
    // What 0.1 carried arrives: the total, the payments by gateway, and the payment
    // method among the attributes (0.2 has a field for it).
    assert_eq!(net(&entry, "4000"), -order.total_inc_tax);
    assert_eq!(paid_via(&entry, "stripe"), order.total_inc_tax);
    assert_eq!(net(&entry, "1200"), 0);
    assert_eq!(entry.description, "Order 100 (Credit Card)");
    // Its log, through 0.1's own `host` interface.
    assert!(
        mapped
            .report
            .logs
            .iter()
            .any(|l| l == "[info] order 100 through contract 0.1"),
        "{:?}",
        mapped.report.logs
    );

    // Refunds and shoppers it declines come back as its own errors, in the newest types.
    let refunds = legacy.map_refunds(&[ml_connector_tests::example_refund()], None);
    let Err(RecordError::Mapping { error, .. }) = &refunds.results[0] else {
        panic!("{:?}", refunds.results[0])
    };
    assert_eq!(error.code, "unsupported");
}

#[test]
fn a_tender_a_transaction_recorded_reaches_a_0_1_plugin_as_a_payment() {
    let legacy = load_file(CONTRACT_0_1, Vec::new()).unwrap();
    let order = with_tenders(vec![tender(
        TenderKind::GiftCertificate,
        "gift certificate",
        300_000,
        "t9",
    )]);
    let entry = legacy.map_orders(&[order], None).results.remove(0).unwrap();
    assert_eq!(paid_via(&entry, "stripe"), 433_000);
    assert_eq!(paid_via(&entry, "giftcertificate"), 300_000);
    assert_eq!(net(&entry, "1200"), 0, "nothing booked as owed");
}

#[test]
fn a_tender_only_the_totals_tell_is_not_given_to_a_0_1_plugin_which_would_book_it_as_owed() {
    let legacy = load_file(CONTRACT_0_1, Vec::new()).unwrap();
    let order = with_tenders(split());
    let result = legacy.map_orders(&[order], None).results.remove(0);
    let Err(error @ RecordError::NotCarried { .. }) = &result else {
        panic!("{result:?}")
    };
    assert_eq!(error.code(), "contract-too-old");
    let text = error.to_string();
    assert!(
        text.contains("speaks contract 0.1")
            && text.contains("10.0000 by store credit")
            && text.contains("contract 0.2"),
        "{text}"
    );
    assert!(legacy.map_orders(&[example_order()], None).results[0].is_ok());
}

#[test]
fn the_default_plugin_books_the_same_tenders_to_their_accounts() {
    let newest = default_order_plugin();
    let order = with_tenders(split());
    let entry = newest.map_orders(&[order], None).results.remove(0).unwrap();
    assert_eq!(net(&entry, "2300"), 200_000);
    assert_eq!(net(&entry, "2310"), 100_000);
    assert_eq!(net(&entry, "1200"), 0, "nothing booked as owed");

    // Without the account a tender needs, the order is refused naming the setting.
    let order = with_tenders(vec![tender(
        TenderKind::StoreCredit,
        "store credit",
        300_000,
        "",
    )]);
    let mut settings = order_settings();
    settings.retain(|(key, _)| key != "account.store-credit");
    let without = ml_connector_tests::order_plugin_with(settings);
    let result = without.map_orders(&[order], None).results.remove(0);
    let Err(RecordError::Mapping { error, .. }) = &result else {
        panic!("{result:?}")
    };
    assert_eq!(
        (error.code.as_str(), error.path.as_deref()),
        ("missing-account", Some("account.store-credit"))
    );
}
