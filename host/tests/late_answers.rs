//! Exactly once when QAD answers late, with `ml-connector sync` (the real binary) against
//! both simulators and a tenant without a duplicate guard (it posts a repeated external
//! reference again, as a QAD without one would).
//!
//! One journal post is held by the tenant past the client's timeout and then processed
//! anyway; another fails with a 5xx before it is processed. Neither answer is seen, so
//! both posts are unsettled: the first must be found by its later lookups and never posted
//! again, the second posted again only once the settle time has passed and the lookup is
//! conclusive. The ledger ends as a run without faults leaves it, every reference once.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::*;
use ml_connector_sim::qad::{DuplicateGuard, QadFault, QadFaultAction};

/// The client gives up on an answer after 2 s; an unanswered post is settled after 10 s.
fn with_timing(config: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let text = text.replace(
        "[connections.main.qad]\n",
        "[connections.main.qad]\ntimeout_seconds = 2\nsettle_after_seconds = 10\n",
    );
    std::fs::write(config, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_answered_after_the_timeout_lands_once() {
    let systems = systems().await;
    systems.qad.set_duplicate_guard("acme", DuplicateGuard::Off);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems);
    with_timing(&config);
    let held = Duration::from_secs(6);
    let late_post = QadFault::new(QadFaultAction::Delay(held), 1)
        .on("journalEntries")
        .for_method("POST");
    let failed_post = QadFault::new(QadFaultAction::Http500, 1)
        .on("journalEntries")
        .for_method("POST");
    systems.qad.inject("acme", late_post);
    systems.qad.inject("acme", failed_post);
    let started = std::time::Instant::now();
    finish(dir.path(), &config, &systems).await;
    // Whatever the tenant still held has landed before the ledger is read.
    tokio::time::sleep(
        (started + held + Duration::from_secs(1))
            .saturating_duration_since(std::time::Instant::now()),
    )
    .await;
    assert_eq!(systems.qad.counters().faults_injected, 2);

    let (net, references) = ledger(&systems.qad);
    let unique: BTreeSet<&String> = references.iter().collect();
    let twice: Vec<&String> = references
        .iter()
        .filter(|r| references.iter().filter(|o| o == r).count() > 1)
        .collect();
    assert_eq!(unique.len(), references.len(), "posted twice: {twice:?}");

    // The same orders without faults.
    let clean = common::systems().await;
    let clean_dir = tempfile::tempdir().unwrap();
    let clean_config = write_config(clean_dir.path(), &clean);
    finish(clean_dir.path(), &clean_config, &clean).await;
    let (clean_net, clean_references) = ledger(&clean.qad);
    assert_eq!(references.len(), clean_references.len());
    assert_eq!(
        net, clean_net,
        "the ledger differs from a run without faults"
    );
}
