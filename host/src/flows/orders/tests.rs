//! The order flow alone, in memory ([`crate::flows::testing`]): revisions, differences,
//! reversals, lost answers and customers; the simulators check the same over HTTP end to
//! end.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::bigcommerce::orders::{FullOrder, RefundsByOrder, Transaction};
use crate::flows::testing::{Rig, order, rig, rig_settling_after, rig_sharing_guests};
use crate::flows::{FlowError, Outcome};
use crate::money::Amount;
use crate::qad::{CustomerRef, QadError};

fn posted(outcome: Outcome) -> String {
    match outcome {
        Outcome::Posted { reference, .. } => reference,
        other => panic!("expected a posting, got {other:?}"),
    }
}

#[tokio::test]
async fn an_order_posts_once_and_an_edit_posts_only_its_difference() {
    let rig = rig();
    rig.shop.put(order(100, 0, "", 2, 11));
    let first = rig.flow.process_order(100, None).await.unwrap();
    assert_eq!(posted(first), "shop1:order:100:r1");
    let after_first = rig.books.net("shop1:order:100:");
    assert_eq!(after_first.get("4000"), Some(&-500_000), "{after_first:?}");
    assert_eq!(after_first.values().sum::<i64>(), 0, "balanced");

    // Nothing changed: nothing is posted.
    assert_eq!(
        rig.flow.process_order(100, None).await.unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(rig.books.references().len(), 1);

    // The order is edited to three units: r2 carries the difference alone.
    rig.shop.put(order(100, 0, "", 3, 11));
    assert_eq!(
        posted(rig.flow.process_order(100, None).await.unwrap()),
        "shop1:order:100:r2"
    );
    let journals = rig.books.journals.lock().unwrap().clone();
    let revenue_r2: i64 = journals[1]
        .lines
        .iter()
        .filter(|l| l.gl_code == "4000")
        .map(|l| l.debit - l.credit)
        .sum();
    assert_eq!(revenue_r2, -250_000, "{:?}", journals[1]);
    let net = rig.books.net("shop1:order:100:");
    assert_eq!(net.get("4000"), Some(&-750_000));
    assert_eq!(net.values().sum::<i64>(), 0);
}

#[tokio::test]
async fn a_cancelled_order_is_reversed_in_full() {
    let rig = rig();
    rig.shop.put(order(101, 0, "", 2, 11));
    rig.flow.process_order(101, None).await.unwrap();
    // Cancelled (5) is not a posted status.
    rig.shop.put(order(101, 0, "", 2, 5));
    assert_eq!(
        posted(rig.flow.process_order(101, None).await.unwrap()),
        "shop1:order:101:r2"
    );
    assert!(
        rig.books.net("shop1:order:101:").is_empty(),
        "the ledger nets to nothing"
    );
    // Reversed once: a second run finds nothing to do.
    assert_eq!(
        rig.flow.process_order(101, None).await.unwrap(),
        Outcome::Unchanged
    );
}

#[tokio::test]
async fn a_lost_answer_is_looked_up_and_never_posted_twice() {
    let rig = rig();
    rig.shop.put(order(102, 0, "", 1, 11));
    *rig.books.lose_next_answer.lock().unwrap() = true;
    let error = rig.flow.process_order(102, None).await.unwrap_err();
    assert!(
        error.is_transient(),
        "a lost answer is tried again: {error}"
    );
    // The retry finds the journal under its reference and records it; nothing more.
    assert_eq!(
        rig.flow.process_order(102, None).await.unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(rig.books.references(), ["shop1:order:102:r1"]);
    let revisions = rig.flow.store.revisions("main", "order:102").await.unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].voucher.as_deref(), Some("V1"));
}

#[tokio::test]
async fn an_unanswered_post_not_found_waits_until_its_lookup_is_conclusive() {
    // QAD may still be working on it: nothing is posted for the document meanwhile.
    let rig = rig_settling_after(Duration::from_secs(3_600));
    rig.shop.put(order(105, 0, "", 1, 11));
    *rig.books.swallow_next.lock().unwrap() = true;
    for _ in 0..3 {
        let error = rig.flow.process_order(105, None).await.unwrap_err();
        assert!(
            matches!(error, FlowError::Unsettled { .. }) && error.is_transient(),
            "{error:?}"
        );
        assert!(error.settles_at().is_some());
    }
    assert!(rig.books.references().is_empty(), "not posted again");
    let revisions = rig.flow.store.revisions("main", "order:105").await.unwrap();
    assert_eq!(
        (revisions.len(), revisions[0].voucher.as_deref()),
        (1, None)
    );

    // Once the lookup is conclusive (the settle time has passed) and the entry is still
    // missing, the revision is posted again, once.
    let rig = rig_settling_after(Duration::ZERO);
    rig.shop.put(order(106, 0, "", 1, 11));
    *rig.books.swallow_next.lock().unwrap() = true;
    let error = rig.flow.process_order(106, None).await.unwrap_err();
    assert!(matches!(error, FlowError::Unsettled { .. }), "{error:?}");
    assert_eq!(
        posted(rig.flow.process_order(106, None).await.unwrap()),
        "shop1:order:106:r1"
    );
    assert_eq!(rig.books.references(), ["shop1:order:106:r1"]);
}

#[tokio::test]
async fn an_entry_found_under_the_reference_with_other_lines_parks_with_both_shown() {
    let rig = rig();
    rig.shop.put(order(107, 0, "", 1, 11));
    *rig.books.lose_next_answer.lock().unwrap() = true;
    rig.flow.process_order(107, None).await.unwrap_err();
    // Someone else's entry under the same reference: its amounts differ.
    for journal in rig.books.journals.lock().unwrap().iter_mut() {
        for line in &mut journal.lines {
            line.debit *= 2;
            line.credit *= 2;
        }
    }
    let error = rig.flow.process_order(107, None).await.unwrap_err();
    let FlowError::NotAsMeant {
        reference,
        in_qad,
        meant,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(reference, "shop1:order:107:r1");
    assert!(
        in_qad.contains("4000//") && meant.contains("4000//"),
        "{error}"
    );
    assert_ne!(in_qad, meant);
    assert!(!error.is_transient(), "it waits for the operator");
    // Nothing is confirmed, nothing posted over it: each attempt finds the same.
    let revisions = rig.flow.store.revisions("main", "order:107").await.unwrap();
    assert_eq!(revisions[0].voucher, None);
    assert!(matches!(
        rig.flow.process_order(107, None).await.unwrap_err(),
        FlowError::NotAsMeant { .. }
    ));
    assert_eq!(rig.books.references().len(), 1);
}

#[tokio::test]
async fn a_refused_post_is_abandoned_and_its_number_used_again() {
    let rig = rig();
    rig.shop.put(order(103, 0, "", 1, 11));
    *rig.books.refuse_next.lock().unwrap() = true;
    let error = rig.flow.process_order(103, None).await.unwrap_err();
    assert!(
        matches!(error, FlowError::Qad(QadError::Business(_))),
        "{error:?}"
    );
    assert!(
        !error.is_transient(),
        "a business refusal waits for someone"
    );
    assert!(
        rig.flow
            .store
            .revisions("main", "order:103")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        posted(rig.flow.process_order(103, None).await.unwrap()),
        "shop1:order:103:r1"
    );
}

fn created_emails(rig: &Rig) -> Vec<String> {
    let created = rig.books.created.lock().unwrap();
    created.iter().map(|c| c.email.clone()).collect()
}

async fn mapped(rig: &Rig, kind: &str, key: &str) -> Option<String> {
    rig.flow.store.mapped("main", kind, key).await.unwrap()
}

#[tokio::test]
async fn a_shopper_is_created_once_and_matched_after() {
    let rig = rig();
    rig.shop.put(order(104, 0, "Ada@Example.com ", 1, 11));
    rig.shop.put(order(105, 0, "ada@example.com", 1, 11));
    rig.flow.process_order(104, None).await.unwrap();
    rig.flow.process_order(105, None).await.unwrap();
    assert_eq!(created_emails(&rig), ["ada@example.com"]);
    // A guest without an email goes to the configured customer, creating nothing.
    rig.shop.put(order(106, 0, "", 1, 11));
    rig.flow.process_order(106, None).await.unwrap();
    assert_eq!(rig.books.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_registered_shopper_is_one_customer_whatever_the_billing_email() {
    let rig = rig();
    rig.shop.register(9, "ada@example.com");
    for (id, email) in [
        (140, "ada@work.example"),
        (141, " ADA@home.example"),
        (142, "accounts@work.example"),
    ] {
        rig.shop.put(order(id, 9, email, 1, 11));
        posted(rig.flow.process_order(id, None).await.unwrap());
    }
    // Created once, under the account's email, and the account read once.
    assert_eq!(created_emails(&rig), ["ada@example.com"]);
    let code = mapped(&rig, "customer", "9").await.expect("mapped by id");
    assert_eq!(
        mapped(&rig, "email", "ada@example.com").await.as_ref(),
        Some(&code)
    );
    assert_eq!(mapped(&rig, "email", "ada@work.example").await, None);
    assert_eq!(rig.shop.customer_reads.load(Ordering::Relaxed), 1);
    // Another registered shopper billing with one of those emails is their own customer.
    rig.shop.register(10, "grace@example.com");
    rig.shop.put(order(143, 10, "ada@work.example", 1, 11));
    rig.flow.process_order(143, None).await.unwrap();
    assert_eq!(
        created_emails(&rig),
        ["ada@example.com", "grace@example.com"]
    );
}

#[tokio::test]
async fn a_guest_who_registers_later_keeps_their_customer() {
    let rig = rig();
    rig.shop.put(order(150, 0, "Grace@Example.com", 1, 11));
    rig.shop.put(order(151, 0, "grace@example.com ", 1, 11));
    rig.flow.process_order(150, None).await.unwrap();
    rig.flow.process_order(151, None).await.unwrap();
    assert_eq!(created_emails(&rig), ["grace@example.com"]);
    let code = mapped(&rig, "email", "grace@example.com").await.unwrap();

    // She registers with the same email: the registration adopts her customer.
    rig.shop.register(12, "GRACE@example.com");
    assert_eq!(
        rig.flow.process_customer(12).await.unwrap(),
        Outcome::Customer { code: code.clone() }
    );
    assert_eq!(
        rig.flow.process_customer(12).await.unwrap(),
        Outcome::Unchanged
    );
    // Her next order, billed to another address, is hers too.
    rig.shop
        .put(order(152, 12, "grace@elsewhere.example", 1, 11));
    rig.flow.process_order(152, None).await.unwrap();
    assert_eq!(created_emails(&rig), ["grace@example.com"]);
    assert_eq!(mapped(&rig, "customer", "12").await, Some(code));
}

#[tokio::test]
async fn an_existing_qad_customer_is_adopted_once() {
    let rig = rig();
    rig.books.customers.lock().unwrap().push(CustomerRef {
        code: "C-OLD".into(),
        shared_set: String::new(),
        email: "lin@example.com".into(),
        name: "Lin".into(),
    });
    rig.shop.register(20, "Lin@Example.com");
    rig.shop.put(order(160, 20, "lin@example.com", 1, 11));
    rig.flow.process_order(160, None).await.unwrap();
    assert!(created_emails(&rig).is_empty());
    assert_eq!(
        mapped(&rig, "customer", "20").await.as_deref(),
        Some("C-OLD")
    );
    let adopted = rig
        .flow
        .store
        .audit_for("order:160")
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.entry.kind == "customer-adopted")
        .count();
    assert_eq!(adopted, 1);
    // Remembered: QAD is not searched again for this shopper.
    rig.books.customers.lock().unwrap().clear();
    rig.shop.put(order(161, 20, "lin@example.com", 1, 11));
    rig.flow.process_order(161, None).await.unwrap();
    assert!(created_emails(&rig).is_empty());
}

#[tokio::test]
async fn a_deleted_account_is_matched_by_the_orders_email_and_a_dry_run_creates_nothing() {
    let rig = rig();
    rig.shop.put(order(170, 30, "gone@example.com", 1, 11));
    assert!(rig.flow.dry_run_order(170).await.unwrap().is_some());
    assert!(created_emails(&rig).is_empty());
    assert_eq!(mapped(&rig, "customer", "30").await, None);
    rig.flow.process_order(170, None).await.unwrap();
    assert_eq!(created_emails(&rig), ["gone@example.com"]);
    assert!(mapped(&rig, "customer", "30").await.is_some());
}

#[tokio::test]
async fn shared_guests_go_to_the_guest_customer() {
    let rig = rig_sharing_guests();
    rig.shop.put(order(180, 0, "guest@example.com", 1, 11));
    posted(rig.flow.process_order(180, None).await.unwrap());
    assert!(created_emails(&rig).is_empty());
}

/// Orders `(id, customer)` billed to `billing@example.com`, each customer registered
/// as `shopper<id>@example.com` (0: a guest), put in the shop and handed to the flow as a
/// poll's read.
async fn polled(rig: &Rig, orders: &[(u64, u64)]) -> Result<(), FlowError> {
    let mut listed = Vec::new();
    for &(id, customer) in orders {
        if customer != 0 {
            rig.shop
                .register(customer, &format!("shopper{customer}@example.com"));
        }
        let full = order(id, customer, "billing@example.com", 1, 11);
        listed.push(full.order.clone());
        rig.shop.put(full);
    }
    rig.flow
        .begin_poll(Arc::new(RefundsByOrder::new(Vec::new())));
    rig.flow.prefetch_shoppers(&listed).await
}

#[tokio::test]
async fn a_polls_shoppers_are_read_together() {
    let rig = rig();
    polled(
        &rig,
        &[(190, 41), (191, 42), (192, 41), (193, 43), (194, 0)],
    )
    .await
    .unwrap();
    for id in 190..=194 {
        posted(rig.flow.process_order(id, None).await.unwrap());
    }
    assert_eq!(rig.shop.customer_reads.load(Ordering::Relaxed), 1);
    assert_eq!(
        created_emails(&rig),
        [
            "shopper41@example.com",
            "shopper42@example.com",
            "shopper43@example.com",
            "billing@example.com"
        ]
    );
}

#[tokio::test]
async fn a_failed_read_of_the_polls_shoppers_leaves_each_job_to_read_its_own() {
    let rig = rig();
    rig.shop.failing_batch_reads.store(true, Ordering::Relaxed);
    polled(&rig, &[(195, 51), (196, 52)])
        .await
        .expect("the poll goes on");
    for id in [195, 196] {
        posted(rig.flow.process_order(id, None).await.unwrap());
    }
    assert_eq!(rig.shop.customer_reads.load(Ordering::Relaxed), 3);
    assert_eq!(
        created_emails(&rig),
        ["shopper51@example.com", "shopper52@example.com"]
    );
}

/// A succeeded purchase transaction.
fn purchase(id: u64, method: &str, gateway: &str, amount: &str) -> Transaction {
    serde_json::from_value(serde_json::json!({
        "id": id, "event": "purchase", "method": method, "amount": amount,
        "currency": "USD", "gateway": gateway, "status": "ok",
        "date_created": "2026-11-02T10:00:00Z"
    }))
    .unwrap()
}

/// Order `id` of 50.00, captured, paid as `transactions` and the order's tender fields say.
fn paid_order(id: u64, gift: Amount, credit: Amount, transactions: Vec<Transaction>) -> FullOrder {
    let mut full = order(id, 0, "tender@example.com", 2, 11);
    full.order.payment_status = "captured".into();
    full.order.gift_certificate_amount = Some(gift);
    full.order.store_credit_amount = Some(credit);
    full.transactions = transactions;
    full
}

#[tokio::test]
async fn split_tenders_are_each_booked_once_to_their_accounts_and_nothing_is_owed() {
    let rig = rig();
    // 50.00: 20.00 by card, 20.00 by a gift certificate the order's field and a
    // transaction both tell, 10.00 by store credit only the field tells.
    rig.shop.put(paid_order(
        200,
        200_000,
        100_000,
        vec![
            purchase(1, "credit_card", "stripe", "20.00"),
            purchase(2, "gift_certificate", "giftcertificate", "20.00"),
        ],
    ));
    posted(rig.flow.process_order(200, None).await.unwrap());
    let net = rig.books.net("shop1:order:200:");
    assert_eq!(net.get("1151"), Some(&200_000), "card: {net:?}");
    assert_eq!(
        net.get("2300"),
        Some(&200_000),
        "gift certificate once: {net:?}"
    );
    assert_eq!(net.get("2310"), Some(&100_000), "store credit: {net:?}");
    assert_eq!(net.get("1200"), None, "nothing owed: {net:?}");
    assert_eq!(net.get("4000"), Some(&-500_000));
}

#[tokio::test]
async fn an_order_paid_only_by_gift_certificate_posts_without_a_gateway() {
    let rig = rig();
    rig.shop.put(paid_order(201, 500_000, 0, Vec::new()));
    posted(rig.flow.process_order(201, None).await.unwrap());
    let net = rig.books.net("shop1:order:201:");
    assert_eq!(net.get("2300"), Some(&500_000), "{net:?}");
    assert_eq!(net.len(), 2, "revenue and the gift certificate: {net:?}");
}

#[tokio::test]
async fn tenders_the_field_and_the_transactions_disagree_on_are_parked_not_guessed() {
    let rig = rig();
    let gift = purchase(2, "gift_certificate", "giftcertificate", "15.00");
    let card = purchase(1, "credit_card", "stripe", "35.00");
    rig.shop.put(paid_order(202, 200_000, 0, vec![card, gift]));
    let error = rig.flow.process_order(202, None).await.unwrap_err();
    assert!(!error.is_transient(), "{error:?}");
    let reason = error.to_string();
    assert!(
        reason.contains("20.0000 was paid by gift certificate")
            && reason.contains("add up to 15.0000"),
        "{reason}"
    );
    assert!(rig.books.references().is_empty(), "nothing posted");
}

#[tokio::test]
async fn a_captured_order_short_of_its_total_is_refused_not_booked_as_owed() {
    let rig = rig();
    let card = purchase(1, "credit_card", "stripe", "30.00");
    rig.shop.put(paid_order(203, 0, 0, vec![card]));
    let error = rig.flow.process_order(203, None).await.unwrap_err();
    let reason = error.to_string();
    assert!(
        reason.contains("unexplained-balance") && reason.contains("20.0000 of its 50.0000"),
        "{reason}"
    );
    assert!(rig.books.references().is_empty(), "nothing posted");

    // Awaiting payment, the same balance is owed.
    let mut awaiting = paid_order(
        203,
        0,
        0,
        vec![purchase(1, "credit_card", "stripe", "30.00")],
    );
    awaiting.order.payment_status = "pending".into();
    rig.shop.put(awaiting);
    posted(rig.flow.process_order(203, None).await.unwrap());
    assert_eq!(
        rig.books.net("shop1:order:203:").get("1200"),
        Some(&200_000)
    );
}

#[tokio::test]
async fn a_refund_paid_as_store_credit_is_owed_to_the_shopper() {
    let rig = rig();
    let mut full = paid_order(
        204,
        0,
        0,
        vec![purchase(1, "credit_card", "stripe", "50.00")],
    );
    full.refunds = vec![
        serde_json::from_value(serde_json::json!({
            "id": 9, "order_id": 204, "created": "2026-11-03T10:00:00Z",
            "total_amount": 25.0, "total_tax": 0,
            "items": [{"item_type": "PRODUCT", "item_id": 2040, "quantity": 1}],
            "payments": [{"id": 1, "provider_id": "storecredit", "amount": 25.0,
                          "offline": false, "is_declined": false}]
        }))
        .unwrap(),
    ];
    rig.shop.put(full);
    posted(rig.flow.process_refund(204, 9, None).await.unwrap());
    let net = rig.books.net("shop1:refund:9:");
    assert_eq!(
        net.get("2310"),
        Some(&-250_000),
        "credited to store credit: {net:?}"
    );
    assert_eq!(net.get("4000"), Some(&250_000), "{net:?}");
    assert_eq!(net.get("1151"), None, "no card refund: {net:?}");
}

#[tokio::test]
async fn two_qad_customers_with_one_email_are_not_guessed_between() {
    let rig = rig();
    for code in ["C1", "C2"] {
        rig.books.customers.lock().unwrap().push(CustomerRef {
            code: code.into(),
            shared_set: String::new(),
            email: "twin@example.com".into(),
            name: "Twin".into(),
        });
    }
    rig.shop.put(order(107, 3, "twin@example.com", 1, 11));
    let error = rig.flow.process_order(107, None).await.unwrap_err();
    assert!(matches!(error, FlowError::Refused(_)), "{error:?}");
    assert!(error.to_string().contains("C1, C2"), "{error}");
    assert!(rig.books.references().is_empty());
}

#[test]
fn dates_are_days() {
    assert_eq!(
        super::date_of("2026-11-02"),
        Some(time::Date::from_calendar_date(2026, time::Month::November, 2).unwrap())
    );
}

#[tokio::test]
async fn a_listing_read_before_the_last_posting_does_not_take_it_back() {
    use crate::flows::jobs::{Listing, now_millis};
    let rig = rig();
    // A poll lists the order while it is pending (status 1, not a sale) ...
    let pending = crate::flows::testing::order_json(300, 0, "", 1, 1).to_string();
    let listed = Listing {
        read_at: now_millis() - 1_000,
        order: serde_json::value::RawValue::from_string(pending).unwrap(),
    };
    // ... it is paid, and a webhook's job, queued before the poll's, posts it.
    rig.shop.put(order(300, 0, "", 1, 11));
    assert_eq!(
        posted(rig.flow.process_order(300, None).await.unwrap()),
        "shop1:order:300:r1"
    );
    // The poll's job runs last: it reads the order again rather than reverse it.
    assert_eq!(
        rig.flow.process_order(300, Some(&listed)).await.unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(rig.books.references(), ["shop1:order:300:r1"]);
    assert_eq!(
        rig.books.net("shop1:order:300:").get("4000"),
        Some(&-250_000)
    );
}

#[tokio::test]
async fn a_listing_is_used_when_nothing_was_posted_since() {
    use crate::flows::jobs::{Listing, now_millis};
    let rig = rig();
    rig.shop.put(order(301, 0, "", 1, 11));
    // Listed as pending after the order was paid (a store whose list lags): the listing
    // is what the job maps, so nothing is posted.
    let pending = crate::flows::testing::order_json(301, 0, "", 1, 1).to_string();
    let listed = Listing {
        read_at: now_millis(),
        order: serde_json::value::RawValue::from_string(pending).unwrap(),
    };
    assert_eq!(
        rig.flow.process_order(301, Some(&listed)).await.unwrap(),
        Outcome::Unchanged
    );
    assert!(rig.books.references().is_empty());
}
