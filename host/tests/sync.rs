//! `ml-connector sync`, the real binary, against both simulators.
//!
//! Crash safety, on a SQLite store and on PostgreSQL: the process is killed with SIGKILL
//! at random moments (at least 20 times) while it posts a store's orders and refunds to
//! QAD, and restarted each time, while the store keeps changing (new orders, edits,
//! refunds, cancellations). The final QAD ledger nets, per document and account, to
//! exactly what one uninterrupted run over the same changes gives, and no reference is
//! posted twice.
//!
//! Transport: a tenant configured for QXtend gets its journals as QDocs and the same
//! ledger as over REST.
//!
//! A backlog of several pages is queued page by page and posted from the poll's lists,
//! each refund once.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_runs_end_with_the_uninterrupted_ledger() {
    let dir = tempfile::tempdir().unwrap();
    killed_and_restarted(dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_runs_on_postgresql_end_with_the_uninterrupted_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_schema) = postgres::Schema::create(dir.path()).await else {
        return;
    };
    killed_and_restarted(dir.path()).await;
}

/// The crash test over the store of `dir` (see the top of this file).
async fn killed_and_restarted(dir: &std::path::Path) {
    let killed = systems().await;
    let config = write_config(dir, &killed);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    let mut kills = 0;
    let mut step = 0;
    while kills < 20 {
        if kills % 2 == 0 {
            change(&killed, step);
            step += 1;
        }
        let mut child = sync(dir, &config, &killed);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(30 + seed % 700)).await;
        match child.try_wait().unwrap() {
            // It finished before the kill: more work next time.
            Some(_) => {}
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    finish(dir, &config, &killed).await;

    let clean = systems().await;
    for n in 0..step {
        change(&clean, n);
    }
    let clean_dir = tempfile::tempdir().unwrap();
    let clean_config = write_config(clean_dir.path(), &clean);
    finish(clean_dir.path(), &clean_config, &clean).await;

    let (killed_net, killed_refs) = ledger(&killed.qad);
    let (clean_net, _) = ledger(&clean.qad);
    let unique: BTreeSet<&String> = killed_refs.iter().collect();
    assert_eq!(
        unique.len(),
        killed_refs.len(),
        "a reference was posted twice"
    );
    assert_eq!(
        killed_net.len(),
        clean_net.len(),
        "documents and accounts with a balance"
    );
    assert_eq!(killed_net, clean_net);
    assert!(kills >= 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qxtend_tenant_gets_the_same_ledger_as_a_rest_one() {
    let over_qxtend = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[connections.main.qad.qxtend]\n\
         url = \"{}\"\n\
         receiver = \"ACME\"\n\
         username = \"env:TEST_QAD_USER\"\n\
         password = \"env:TEST_QAD_PASSWORD\"\n",
        over_qxtend.qad.qxtend_url()
    );
    let config = write_config_with(dir.path(), &over_qxtend, &extra);
    finish(dir.path(), &config, &over_qxtend).await;
    assert!(
        over_qxtend.qad.counters().qdocs > 0,
        "journals went as QDocs"
    );

    let over_rest = systems().await;
    let rest_dir = tempfile::tempdir().unwrap();
    let rest_config = write_config(rest_dir.path(), &over_rest);
    finish(rest_dir.path(), &rest_config, &over_rest).await;
    // The QXtend password travels in every QDoc; the audit keeps the bodies without it.
    let stored = std::fs::read(dir.path().join("store.db")).unwrap();
    assert!(
        !stored.windows(6).any(|w| w == b"s3cret"),
        "the password reached the store"
    );
    let (qxtend_net, _) = ledger(&over_qxtend.qad);
    let (rest_net, _) = ledger(&over_rest.qad);
    assert!(!rest_net.is_empty());
    assert_eq!(qxtend_net, rest_net);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_records_are_shown_by_a_dry_run_and_posted_by_a_replay() {
    use ml_connector_sim::qad::PeriodStatus;
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems);
    park_in_closed_period(dir.path(), &config, &systems).await;

    let (code, shown) = output(
        dir.path(),
        &config,
        &systems,
        &["replay", "--failed", "--dry-run"],
    )
    .await;
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("would post shop1:order:"), "{shown}");
    assert!(shown.contains("    4000 "), "per account: {shown}");
    assert!(
        systems.qad.ledger("acme").is_empty(),
        "a dry run posts nothing"
    );

    systems
        .qad
        .set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Open);
    let (code, shown) = output(dir.path(), &config, &systems, &["replay", "--failed"]).await;
    assert_eq!(code, 0, "{shown}");
    let posted = systems.qad.ledger("acme");
    assert!(!posted.is_empty());
    let (code, _) = output(dir.path(), &config, &systems, &["sync", "--once"]).await;
    assert_eq!(code, 0);
    let order = posted
        .iter()
        .filter_map(|j| j.external_reference.strip_prefix("shop1:"))
        .filter(|r| r.starts_with("order:"))
        .find_map(|r| r.rsplit_once(":r"))
        .map(|(document, _)| document.to_string())
        .unwrap();
    let (code, shown) = output(
        dir.path(),
        &config,
        &systems,
        &["replay", &order, "--dry-run"],
    )
    .await;
    assert_eq!(code, 0);
    assert!(shown.contains("nothing to post"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_keeps_its_requests_a_changed_plugin_is_judged_by_a_dry_run_and_a_0_1_plugin_replays_it()
 {
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems);
    finish(dir.path(), &config, &systems).await;
    let posted = systems.qad.ledger("acme");
    let order = posted
        .iter()
        .find_map(|j| j.external_reference.strip_prefix("shop1:order:"))
        .and_then(|r| r.strip_suffix(":r1"))
        .unwrap()
        .to_string();

    // The record's trail: the order as BigCommerce sent it, each request and answer
    // (login bodies withheld), the plugin's output, the posting.
    let shown = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .arg("--store")
        .arg(dir.path().join("store.db"))
        .args(["audit", "show", &format!("order:{order}"), "--json"])
        .output()
        .unwrap();
    assert!(shown.status.success(), "{shown:?}");
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&shown.stdout).unwrap();
    let kinds: Vec<&str> = entries.iter().filter_map(|e| e["kind"].as_str()).collect();
    for kind in ["source", "request", "mapped", "posted"] {
        assert!(kinds.contains(&kind), "{kind}: {kinds:?}");
    }
    let requests: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["kind"] == "request")
        .map(|e| &e["data"])
        .collect();
    // (A new shopper's customer is created first, also a QAD write.)
    let journal_post = requests
        .iter()
        .find(|r| {
            r["system"] == "qad"
                && r["method"] == "POST"
                && r["request"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains(&format!("shop1:order:{order}:r1")))
        })
        .unwrap_or_else(|| panic!("no journal post in {requests:?}"));
    assert!((200..300).contains(&journal_post["status"].as_u64().unwrap()));
    let source = entries.iter().find(|e| e["kind"] == "source").unwrap();
    assert_eq!(source["data"]["order"]["id"].as_u64(), order.parse().ok());
    assert!(
        requests.iter().any(|r| r["system"] == "bigcommerce"),
        "{requests:?}"
    );
    let stored = std::fs::read(dir.path().join("store.db")).unwrap();
    assert!(!stored.windows(6).any(|w| w == b"s3cret"));

    // Another plugin (books everything to two accounts): the dry run shows, account by
    // account, what it would change, and posts nothing.
    let relabel = test_plugin("relabel").await;
    let (code, shown) = output(
        dir.path(),
        &config,
        &systems,
        &[
            "replay",
            &format!("order:{order}"),
            "--plugin",
            relabel.to_str().unwrap(),
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains(&format!("would post shop1:order:{order}:r2")),
        "{shown}"
    );
    for account in ["1200", "2200", "4000"] {
        assert!(
            shown.contains(&format!("    {account} ")),
            "{account}: {shown}"
        );
    }
    assert_eq!(
        systems.qad.ledger("acme").len(),
        posted.len(),
        "nothing posted"
    );

    // A plugin built against contract 0.1 replays the order for real beside the 0.2
    // default plugin: the ledger then holds what it maps (the total to revenue, what the
    // gateway took to clearing), the difference posted as r2.
    let legacy = test_plugin("contract-0-1").await;
    let (code, shown) = output(
        dir.path(),
        &config,
        &systems,
        &[
            "replay",
            &format!("order:{order}"),
            "--plugin",
            legacy.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, 0, "{shown}");
    let (net, references) = ledger(&systems.qad);
    assert!(
        references.contains(&format!("shop1:order:{order}:r2")),
        "{references:?}"
    );
    let document = format!("shop1:order:{order}");
    let of_order: BTreeMap<&str, i64> = net
        .iter()
        .filter(|((d, _), _)| *d == document)
        .map(|((_, account), amount)| (account.as_str(), *amount))
        .collect();
    let accounts: Vec<&str> = of_order.keys().copied().collect();
    assert_eq!(accounts, ["1150", "4000"], "{of_order:?}");
    assert_eq!(of_order["1150"], -of_order["4000"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_under_development_maps_recorded_records_beside_what_was_posted() {
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems);
    finish(dir.path(), &config, &systems).await;
    let order = systems
        .qad
        .ledger("acme")
        .iter()
        .find_map(|j| j.external_reference.strip_prefix("shop1:order:"))
        .and_then(|r| r.strip_suffix(":r1"))
        .unwrap()
        .to_string();
    let record = format!("order:{order}");
    let posted_before = systems.qad.ledger("acme").len();
    // `plugins test <plugin> <selection...>` over the store and connections of this run.
    let test = async |plugin: &str, selection: &[&str]| {
        let args = [&["plugins", "test", plugin][..], selection].concat();
        output(dir.path(), &config, &systems, &args).await
    };

    // The plugin that mapped it, on the order as it was received: the same journal.
    let (code, shown) = test("order-to-gl", &["--from-store", &record]).await;
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains(&format!("{record} (main): mapped ")),
        "{shown}"
    );
    assert!(shown.contains("by order-to-gl 0.2.0"), "{shown}");
    assert!(shown.contains("then posted as "), "{shown}");
    assert!(shown.contains("    4000 "), "per account: {shown}");
    assert!(
        shown.contains("1 the same, 0 different, 0 skipped"),
        "{shown}"
    );

    // Another plugin (books everything to two accounts): each account then and now, the
    // changed ones marked, exit code 1.
    let relabel = test_plugin("relabel").await;
    let relabel = relabel.to_str().unwrap();
    let (code, shown) = test(relabel, &["--from-store", &record]).await;
    assert_eq!(code, 1, "{shown}");
    assert!(shown.contains("DIFFERENT"), "{shown}");
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("    4000 ") && l.ends_with('*')),
        "{shown}"
    );
    assert!(shown.contains("0 the same, 1 different"), "{shown}");

    // Every record mapped since a time: the orders and the refunds, all the same with
    // the plugin that mapped them; and nothing was posted by any of it.
    let (code, shown) = test("order-to-gl", &["--since", "2000-01-01T00:00:00Z"]).await;
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("refund:"), "{shown}");
    let summary = shown.lines().last().unwrap();
    let same: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(same > 3, "{shown}");
    assert!(summary.ends_with(", 0 different, 0 skipped"), "{summary}");
    let (code, shown) = test("order-to-gl", &["--since", "2999-01-01T00:00:00Z"]).await;
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("no mapped records found"), "{shown}");
    // Only another connection's records: none of this one's.
    let (code, shown) = test(
        "order-to-gl",
        &["--from-store", &record, "--connection", "elsewhere"],
    )
    .await;
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("no mapped records found"), "{shown}");
    assert_eq!(systems.qad.ledger("acme").len(), posted_before);

    // A record of no kind the trail maps: an error (exit code 2), nothing run.
    let (code, shown) = test("order-to-gl", &["--from-store", "invoice:1"]).await;
    assert_eq!(code, 2, "{shown}");
    assert!(shown.is_empty(), "{shown}");
}

/// A backlog of several pages: the poll queues it page by page, each order's jobs work from
/// the list's copy of it (no order nor its lines is read on its own), every refund is
/// posted once after its order, and a second run posts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_several_pages_is_posted_from_the_polls_lists() {
    use ml_connector_sim::bigcommerce::{BigCommerceSim, SimOptions, SimStore};
    use ml_connector_sim::qad::{QadSim, SimTenant};
    let store = SimStore::new("shop1", "bc-token")
        .with_quota(100_000, Duration::from_secs(30))
        .with_orders(600, time::macros::datetime!(2026-11-02 08:00 UTC), 5);
    let tenant = SimTenant::demo("acme");
    let options = SimOptions {
        record: true,
        ..SimOptions::default()
    };
    let systems = Systems {
        bigcommerce: BigCommerceSim::start_with(vec![store], options, "127.0.0.1:0")
            .await
            .unwrap(),
        qad: QadSim::start(vec![tenant.clone()]).await.unwrap(),
        client_id: tenant.client_id,
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems);
    finish(dir.path(), &config, &systems).await;

    let reads: Vec<String> = systems
        .bigcommerce
        .exchanges()
        .into_iter()
        .filter(|e| e.method == "GET")
        .map(|e| e.path)
        .collect();
    // 600 orders: two full pages and a short one.
    assert_eq!(reads.iter().filter(|p| *p == "/v2/orders").count(), 3);
    let alone: Vec<&String> = reads
        .iter()
        .filter(|p| {
            p.strip_prefix("/v2/orders/").is_some_and(|rest| {
                rest.ends_with("/products") || rest.bytes().all(|b| b.is_ascii_digit())
            })
        })
        .collect();
    assert!(alone.is_empty(), "orders read on their own: {alone:?}");

    let data = systems.bigcommerce.data("shop1").unwrap();
    let refunds: BTreeSet<u64> = data
        .orders
        .iter()
        .flat_map(|o| o.refunds.iter().map(|r| r.id))
        .collect();
    assert!(!refunds.is_empty(), "the seeded backlog has refunds");
    let (_, references) = ledger(&systems.qad);
    let unique: BTreeSet<&String> = references.iter().collect();
    assert_eq!(
        unique.len(),
        references.len(),
        "a reference was posted twice"
    );
    let posted_refunds: BTreeSet<u64> = references
        .iter()
        .filter_map(|r| r.split(":refund:").nth(1)?.split(":r").next()?.parse().ok())
        .collect();
    assert_eq!(posted_refunds, refunds);
    let orders_posted = unique.iter().filter(|r| r.contains(":order:")).count();
    assert!(orders_posted > 500, "{orders_posted} orders posted of 600");

    finish(dir.path(), &config, &systems).await;
    assert_eq!(
        ledger(&systems.qad).1,
        references,
        "the second run posted again"
    );
}
