//! The order flow alone, in memory ([`crate::flows::testing`]): revisions, differences,
//! reversals, lost answers and customers; the simulators check the same over HTTP end to
//! end.

use std::time::Duration;

use crate::flows::testing::{order, rig, rig_settling_after};
use crate::flows::{FlowError, Outcome};
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
    let first = rig.flow.process_order(100).await.unwrap();
    assert_eq!(posted(first), "shop1:order:100:r1");
    let after_first = rig.books.net("shop1:order:100:");
    assert_eq!(after_first.get("4000"), Some(&-500_000), "{after_first:?}");
    assert_eq!(after_first.values().sum::<i64>(), 0, "balanced");

    // Nothing changed: nothing is posted.
    assert_eq!(
        rig.flow.process_order(100).await.unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(rig.books.references().len(), 1);

    // The order is edited to three units: r2 carries the difference alone.
    rig.shop.put(order(100, 0, "", 3, 11));
    assert_eq!(
        posted(rig.flow.process_order(100).await.unwrap()),
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
    rig.flow.process_order(101).await.unwrap();
    // Cancelled (5) is not a posted status.
    rig.shop.put(order(101, 0, "", 2, 5));
    assert_eq!(
        posted(rig.flow.process_order(101).await.unwrap()),
        "shop1:order:101:r2"
    );
    assert!(
        rig.books.net("shop1:order:101:").is_empty(),
        "the ledger nets to nothing"
    );
    // Reversed once: a second run finds nothing to do.
    assert_eq!(
        rig.flow.process_order(101).await.unwrap(),
        Outcome::Unchanged
    );
}

#[tokio::test]
async fn a_lost_answer_is_looked_up_and_never_posted_twice() {
    let rig = rig();
    rig.shop.put(order(102, 0, "", 1, 11));
    *rig.books.lose_next_answer.lock().unwrap() = true;
    let error = rig.flow.process_order(102).await.unwrap_err();
    assert!(
        error.is_transient(),
        "a lost answer is tried again: {error}"
    );
    // The retry finds the journal under its reference and records it; nothing more.
    assert_eq!(
        rig.flow.process_order(102).await.unwrap(),
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
        let error = rig.flow.process_order(105).await.unwrap_err();
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
    let error = rig.flow.process_order(106).await.unwrap_err();
    assert!(matches!(error, FlowError::Unsettled { .. }), "{error:?}");
    assert_eq!(
        posted(rig.flow.process_order(106).await.unwrap()),
        "shop1:order:106:r1"
    );
    assert_eq!(rig.books.references(), ["shop1:order:106:r1"]);
}

#[tokio::test]
async fn an_entry_found_under_the_reference_with_other_lines_parks_with_both_shown() {
    let rig = rig();
    rig.shop.put(order(107, 0, "", 1, 11));
    *rig.books.lose_next_answer.lock().unwrap() = true;
    rig.flow.process_order(107).await.unwrap_err();
    // Someone else's entry under the same reference: its amounts differ.
    for journal in rig.books.journals.lock().unwrap().iter_mut() {
        for line in &mut journal.lines {
            line.debit *= 2;
            line.credit *= 2;
        }
    }
    let error = rig.flow.process_order(107).await.unwrap_err();
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
        rig.flow.process_order(107).await.unwrap_err(),
        FlowError::NotAsMeant { .. }
    ));
    assert_eq!(rig.books.references().len(), 1);
}

#[tokio::test]
async fn a_refused_post_is_abandoned_and_its_number_used_again() {
    let rig = rig();
    rig.shop.put(order(103, 0, "", 1, 11));
    *rig.books.refuse_next.lock().unwrap() = true;
    let error = rig.flow.process_order(103).await.unwrap_err();
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
        posted(rig.flow.process_order(103).await.unwrap()),
        "shop1:order:103:r1"
    );
}

#[tokio::test]
async fn a_shopper_is_created_once_and_matched_after() {
    let rig = rig();
    rig.shop.put(order(104, 9, "Ada@Example.com ", 1, 11));
    rig.shop.put(order(105, 9, "ada@example.com", 1, 11));
    rig.flow.process_order(104).await.unwrap();
    rig.flow.process_order(105).await.unwrap();
    let created = rig.books.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].email, "ada@example.com");
    // A guest goes to the configured customer, creating nothing.
    rig.shop.put(order(106, 0, "guest@example.com", 1, 11));
    rig.flow.process_order(106).await.unwrap();
    assert_eq!(rig.books.created.lock().unwrap().len(), 1);
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
    let error = rig.flow.process_order(107).await.unwrap_err();
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
