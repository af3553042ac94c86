//! `ml-connector sync`, the real binary, against both simulators.
//!
//! Crash safety: the process is killed with SIGKILL at random moments (at least 20 times)
//! while it posts a store's orders and refunds to QAD, and restarted each time, while the
//! store keeps changing (new orders, edits, refunds, cancellations). The final QAD ledger
//! nets, per document and account, to exactly what one uninterrupted run over the same
//! changes gives, and no reference is posted twice.
//!
//! Transport: a tenant configured for QXtend gets its journals as QDocs and the same
//! ledger as over REST.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use ml_connector_sim::qad::{QadSim, SimTenant};
use time::macros::datetime;

struct Systems {
    bigcommerce: BigCommerceSim,
    qad: QadSim,
    client_id: String,
}

async fn systems() -> Systems {
    let store = SimStore::new("shop1", "bc-token")
        .with_quota(100_000, Duration::from_secs(30))
        .with_orders(150, datetime!(2026-11-02 08:00 UTC), 33);
    let tenant = SimTenant::demo("acme");
    Systems {
        bigcommerce: BigCommerceSim::start(vec![store]).await.unwrap(),
        qad: QadSim::start(vec![tenant.clone()]).await.unwrap(),
        client_id: tenant.client_id,
    }
}

/// The same changes, in the same order, on either pair of systems.
fn change(systems: &Systems, step: u32) {
    let bc = &systems.bigcommerce;
    bc.place_orders("shop1", 3).unwrap();
    let data = bc.data("shop1").unwrap();
    let open: Vec<u64> = data
        .orders
        .iter()
        .filter(|o| o.status_id == 11)
        .map(|o| o.id)
        .collect();
    let pick = |n: u32| open[(n as usize * 7 + step as usize * 13) % open.len()];
    match step % 3 {
        0 => bc.edit_order("shop1", pick(1)).unwrap(),
        1 => bc.set_order_status("shop1", pick(2), 5).unwrap(),
        // A unit worth more than a heavily discounted order is refused; both runs see
        // the same refusal.
        _ => {
            let _ = bc.refund_order("shop1", pick(3), false);
        }
    }
}

fn write_config(dir: &Path, systems: &Systems) -> std::path::PathBuf {
    write_config_with(dir, systems, "")
}

/// The connection's file, with `extra` appended (more sections).
fn write_config_with(dir: &Path, systems: &Systems, extra: &str) -> std::path::PathBuf {
    let settings = [
        ("daybook", "SO"),
        ("account.revenue", "4000"),
        ("account.shipping", "4100"),
        ("account.handling", "4110"),
        ("account.discounts", "4900"),
        ("account.tax", "2200"),
        ("account.clearing", "1150"),
        ("account.clearing.stripe", "1151"),
        ("account.receivable", "1200"),
        ("account.rounding", "7990"),
    ]
    .iter()
    .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
    .collect::<Vec<_>>()
    .join(", ");
    let text = format!(
        "[connections.main]\n\
         store_hash = \"shop1\"\n\
         bigcommerce_api_root = \"{}\"\n\
         bigcommerce_token = \"env:TEST_BC_TOKEN\"\n\
         [connections.main.qad]\n\
         base_url = \"{}\"\n\
         workspace = \"10USA_10USACO\"\n\
         client_id = \"env:TEST_QAD_CLIENT\"\n\
         username = \"env:TEST_QAD_USER\"\n\
         password = \"env:TEST_QAD_PASSWORD\"\n\
         [connections.main.plugin]\n\
         name = \"order-to-gl\"\n\
         settings = {{ {settings} }}\n{extra}",
        systems.bigcommerce.api_root("shop1"),
        systems.qad.base_url("acme"),
    );
    let path = dir.join("connector.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The binary with the store, cache and credentials of this test.
fn command(dir: &Path, config: &Path, systems: &Systems, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ml-connector"));
    command
        .arg("--store")
        .arg(dir.join("store.db"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("TEST_BC_TOKEN", "bc-token")
        .env("TEST_QAD_CLIENT", &systems.client_id)
        .env("TEST_QAD_USER", "connector")
        .env("TEST_QAD_PASSWORD", "s3cret")
        .env_remove("ML_CONNECTOR_PLUGIN_DIR");
    command
}

fn sync(dir: &Path, config: &Path, systems: &Systems) -> Child {
    command(dir, config, systems, &["sync", "--once"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs the binary to the end; its exit code and standard output.
async fn output(dir: &Path, config: &Path, systems: &Systems, args: &[&str]) -> (i32, String) {
    let mut command = command(dir, config, systems, args);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

/// Runs `sync --once` to the end.
async fn finish(dir: &Path, config: &Path, systems: &Systems) {
    let mut child = sync(dir, config, systems);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    if !status.success() {
        use ml_connector::store::{JobState, SqliteStore, Store};
        let store = SqliteStore::open(&dir.join("store.db")).unwrap();
        let parked: Vec<(String, Option<String>)> = store
            .jobs_in(JobState::Parked, 10)
            .unwrap()
            .into_iter()
            .map(|j| (j.document, j.last_error))
            .collect();
        panic!("the final run ended with {status}; parked: {parked:?}");
    }
}

/// Net per (document, account) and the references posted.
fn ledger(qad: &QadSim) -> (BTreeMap<(String, String), i64>, Vec<String>) {
    let mut net = BTreeMap::new();
    let mut references = Vec::new();
    for journal in qad.ledger("acme") {
        let document = journal
            .external_reference
            .rsplit_once(":r")
            .map_or(journal.external_reference.clone(), |(d, _)| d.to_string());
        references.push(journal.external_reference.clone());
        for line in &journal.lines {
            *net.entry((document.clone(), line.gl_code.clone()))
                .or_default() += line.debit_tc - line.credit_tc;
        }
    }
    net.retain(|_, amount| *amount != 0);
    (net, references)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_runs_end_with_the_uninterrupted_ledger() {
    let killed = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &killed);
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
        let mut child = sync(dir.path(), &config, &killed);
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
    finish(dir.path(), &config, &killed).await;

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
    systems
        .qad
        .set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Closed);
    let (code, _) = output(dir.path(), &config, &systems, &["sync", "--once"]).await;
    assert_eq!(code, 1, "orders in a closed period are parked");
    assert!(systems.qad.ledger("acme").is_empty());

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
async fn a_record_keeps_its_requests_and_a_changed_plugin_is_judged_by_a_dry_run() {
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
    let journal_post = requests
        .iter()
        .find(|r| r["system"] == "qad" && r["method"] == "POST" && r["url"] != "/oauth/token")
        .unwrap_or_else(|| panic!("no QAD write in {requests:?}"));
    assert!((200..300).contains(&journal_post["status"].as_u64().unwrap()));
    assert!(
        journal_post["request"]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("shop1:order:{order}:r1")),
        "{journal_post}"
    );
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let guests = Path::new(env!("CARGO_BIN_EXE_ml-connector"))
        .ancestors()
        .nth(2)
        .unwrap()
        .join("wasm32-guests");
    let relabel = tokio::task::spawn_blocking(move || {
        wasm_build::build_in(&root.join("plugins"), &guests, &["relabel"])
    })
    .await
    .unwrap()
    .remove(0)
    .1;
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
}
