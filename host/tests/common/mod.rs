//! What the tests of the real binary share: a BigCommerce store and a QAD tenant on
//! 127.0.0.1, a connections file for them, and the binary run with this test's store,
//! cache and credentials.
#![allow(dead_code)] // each test file uses its own part

pub mod fleet;
pub mod postgres;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use ml_connector_sim::qad::{QadSim, SimTenant};
use time::macros::datetime;

/// The order plugin's settings: the daybook and the GL account map of the QAD
/// simulator's chart.
pub const ACCOUNTS: [(&str, &str); 12] = [
    ("daybook", "SO"),
    ("account.revenue", "4000"),
    ("account.shipping", "4100"),
    ("account.handling", "4110"),
    ("account.discounts", "4900"),
    ("account.tax", "2200"),
    ("account.clearing", "1150"),
    ("account.clearing.stripe", "1151"),
    ("account.receivable", "1200"),
    ("account.gift-certificates", "2300"),
    ("account.store-credit", "2310"),
    ("account.rounding", "7990"),
];

pub struct Systems {
    pub bigcommerce: BigCommerceSim,
    pub qad: QadSim,
    pub client_id: String,
}

pub async fn systems() -> Systems {
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
pub fn change(systems: &Systems, step: u32) {
    change_in(&systems.bigcommerce, "shop1", step);
}

/// Step `step` of the changes, in store `hash`: new orders, then an edit, a cancellation
/// or a refund.
pub fn change_in(bc: &BigCommerceSim, hash: &str, step: u32) {
    bc.place_orders(hash, 3).unwrap();
    let data = bc.data(hash).unwrap();
    let open: Vec<u64> = data
        .orders
        .iter()
        .filter(|o| o.status_id == 11)
        .map(|o| o.id)
        .collect();
    let pick = |n: u32| open[(n as usize * 7 + step as usize * 13) % open.len()];
    match step % 3 {
        0 => bc.edit_order(hash, pick(1)).unwrap(),
        1 => bc.set_order_status(hash, pick(2), 5).unwrap(),
        // A unit worth more than a heavily discounted order is refused; both runs see
        // the same refusal.
        _ => {
            let _ = bc.refund_order(hash, pick(3), false);
        }
    }
}

pub fn write_config(dir: &Path, systems: &Systems) -> std::path::PathBuf {
    write_config_with(dir, systems, "")
}

/// The connection's file, with `extra` appended (more sections).
pub fn write_config_with(dir: &Path, systems: &Systems, extra: &str) -> std::path::PathBuf {
    let settings = ACCOUNTS
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
         [connections.main.posting]\n\
         entity = \"10USACO\"\n\
         base_currency = \"USD\"\n\
         guest_customer = \"GUEST\"\n\
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

/// The store of a test's directory: the PostgreSQL URL in `store.url` when the test made
/// one ([`postgres::Schema::create`]), else the SQLite file `store.db`.
pub fn store_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("store.url"))
        .unwrap_or_else(|_| dir.join("store.db").display().to_string())
}

/// The store of a test's directory, opened here.
pub fn open_store(dir: &Path) -> std::sync::Arc<dyn ml_connector::store::Store> {
    let at = store_of(dir);
    if ml_connector::store::postgres::is_url(&at) {
        std::sync::Arc::new(ml_connector::store::PostgresStore::open(&at).unwrap())
    } else {
        std::sync::Arc::new(ml_connector::store::SqliteStore::open(Path::new(&at)).unwrap())
    }
}

/// The binary over `dir`'s store and compile cache (and, with a PostgreSQL store, its
/// secrets file), running `args`, with no plugin directory from the environment.
pub fn binary(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ml-connector"));
    let store = store_of(dir);
    if ml_connector::store::postgres::is_url(&store) {
        command.arg("--secrets").arg(dir.join("secrets.db"));
    }
    command
        .arg("--store")
        .arg(store)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .args(args)
        .env_remove("ML_CONNECTOR_PLUGIN_DIR");
    command
}

/// The binary with the store, cache and credentials of this test.
pub fn command(dir: &Path, config: &Path, systems: &Systems, args: &[&str]) -> Command {
    let mut command = binary(dir, args);
    command
        .arg("--config")
        .arg(config)
        .env("TEST_BC_TOKEN", "bc-token")
        .env("TEST_BC_SECRET", "secret-shop1")
        .env("TEST_QAD_CLIENT", &systems.client_id)
        .env("TEST_QAD_USER", "connector")
        .env("TEST_QAD_PASSWORD", "s3cret");
    command
}

pub fn sync(dir: &Path, config: &Path, systems: &Systems) -> Child {
    command(dir, config, systems, &["sync", "--once"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs the binary to the end; its exit code and standard output.
pub async fn output(dir: &Path, config: &Path, systems: &Systems, args: &[&str]) -> (i32, String) {
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
pub async fn finish(dir: &Path, config: &Path, systems: &Systems) {
    let mut child = sync(dir, config, systems);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    if !status.success() {
        use ml_connector::store::JobState;
        let store = open_store(dir);
        let parked: Vec<(String, Option<String>)> = store
            .jobs_in(JobState::Parked, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|j| (j.document, j.last_error))
            .collect();
        panic!("the final run ended with {status}; parked: {parked:?}");
    }
}

/// Net per (document, account) and the references posted.
pub fn ledger(qad: &QadSim) -> (BTreeMap<(String, String), i64>, Vec<String>) {
    ledger_of(qad, "acme")
}

/// [`ledger`] of tenant `tenant`.
pub fn ledger_of(qad: &QadSim, tenant: &str) -> (BTreeMap<(String, String), i64>, Vec<String>) {
    let mut net = BTreeMap::new();
    let mut references = Vec::new();
    for journal in qad.ledger(tenant) {
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

/// Test plugin `name` from `plugins/testing/` (`relabel`: version 2.0.0, books the order
/// total to 1200 and 4000 under daybook WEBSALES; `contract-0-1`: built against contract
/// 0.1), built into the guests' target directory.
pub async fn test_plugin(name: &'static str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let guests = Path::new(env!("CARGO_BIN_EXE_ml-connector"))
        .ancestors()
        .nth(2)
        .unwrap()
        .join("wasm32-guests");
    tokio::task::spawn_blocking(move || {
        wasm_build::build_in(&root.join("plugins"), &guests, &[name])
    })
    .await
    .unwrap()
    .remove(0)
    .1
}

/// A plugin folder (the built-in `order-to-gl` as its `plugin.wasm`) with two fixtures:
/// `basic.json`, which passes, and `wrong.json`, which expects 50.00 less revenue.
pub fn folder_with_fixtures(folder: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::create_dir_all(folder.join("fixtures")).unwrap();
    std::fs::write(
        folder.join("plugin.wasm"),
        ml_connector::plugins::builtin::builtin("order-to-gl").unwrap(),
    )
    .unwrap();
    let mut fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("plugins/order-to-gl/fixtures/order-basic.json"))
            .unwrap(),
    )
    .unwrap();
    fixture["case"] = root
        .join("examples/fixtures/shared/order-basic.json")
        .display()
        .to_string()
        .into();
    std::fs::write(folder.join("fixtures/basic.json"), fixture.to_string()).unwrap();
    fixture["expected"]["lines"][0]["credit"] = 575000.into();
    std::fs::write(folder.join("fixtures/wrong.json"), fixture.to_string()).unwrap();
}

/// Closes QAD's November 2026 and runs one `sync`: the seeded orders, dated in it, are
/// parked (exit code 1) and nothing is posted.
pub async fn park_in_closed_period(dir: &Path, config: &Path, systems: &Systems) {
    systems.qad.set_period_status(
        "acme",
        "10USACO",
        2026,
        11,
        ml_connector_sim::qad::PeriodStatus::Closed,
    );
    let (code, _) = output(dir, config, systems, &["sync", "--once"]).await;
    assert_eq!(code, 1, "orders in a closed period are parked");
    assert!(systems.qad.ledger("acme").is_empty());
}
