//! Several BigCommerce stores and QAD tenants for tests with more than one connection:
//! their connections file, the binary with every connection's credentials, each tenant's
//! ledger, the same changes in every store, and waiting for a service to go idle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use ml_connector_sim::qad::{QadSim, SimTenant};
use time::macros::datetime;

use super::{ACCOUNTS, binary, change_in, ledger_of};

/// Store hash, QAD tenant, and the seed of the store's orders.
pub const SHOPS: [(&str, &str, u64); 3] = [
    ("shop1", "acme", 33),
    ("shop2", "beta", 34),
    ("shop3", "gamma", 35),
];

pub struct Fleet {
    pub bigcommerce: BigCommerceSim,
    pub qad: QadSim,
    /// Indexes into [`SHOPS`] of the stores and tenants this fleet has.
    pub shops: Vec<usize>,
}

/// The stores and tenants of `shops` (indexes into [`SHOPS`]), each store with `orders`
/// orders to start with.
pub async fn fleet(shops: &[usize], orders: u64) -> Fleet {
    let stores = shops
        .iter()
        .map(|&i| {
            let (hash, _, seed) = SHOPS[i];
            SimStore::new(hash, &format!("token-{hash}"))
                .with_quota(100_000, Duration::from_secs(30))
                .with_orders(orders, datetime!(2026-11-02 08:00 UTC), seed)
        })
        .collect();
    let tenants = shops.iter().map(|&i| SimTenant::demo(SHOPS[i].1)).collect();
    Fleet {
        bigcommerce: BigCommerceSim::start(stores).await.unwrap(),
        qad: QadSim::start(tenants).await.unwrap(),
        shops: shops.to_vec(),
    }
}

impl Fleet {
    /// Store hash and tenant of each of the fleet's shops.
    pub fn shops(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.shops.iter().map(|&i| (SHOPS[i].0, SHOPS[i].1))
    }
}

/// A connections file with one connection per shop in `shops` (named after its store),
/// reconciling on `reconcile`, with webhooks to `address` when given.
pub fn config(
    dir: &Path,
    fleet: &Fleet,
    shops: &[usize],
    reconcile: &str,
    address: Option<&str>,
) -> PathBuf {
    let settings = ACCOUNTS
        .iter()
        .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = String::new();
    for &i in shops {
        let (hash, tenant, _) = SHOPS[i];
        text.push_str(&format!(
            "[connections.{hash}]\n\
             store_hash = \"{hash}\"\n\
             bigcommerce_api_root = \"{}\"\n\
             bigcommerce_token = \"env:TOKEN_{hash}\"\n\
             [connections.{hash}.qad]\n\
             base_url = \"{}\"\n\
             workspace = \"10USA_10USACO\"\n\
             client_id = \"env:CLIENT_{tenant}\"\n\
             username = \"env:QAD_USER\"\n\
             password = \"env:QAD_PASSWORD\"\n\
             [connections.{hash}.posting]\n\
             entity = \"10USACO\"\n\
             base_currency = \"USD\"\n\
             guest_customer = \"GUEST\"\n\
             [connections.{hash}.plugin]\n\
             name = \"order-to-gl\"\n\
             settings = {{ {settings} }}\n\
             [connections.{hash}.schedules]\n\
             reconcile = \"{reconcile}\"\n",
            fleet.bigcommerce.api_root(hash),
            fleet.qad.base_url(tenant),
        ));
        if let Some(address) = address {
            text.push_str(&format!(
                "[connections.{hash}.webhooks]\n\
                 public_url = \"http://{address}\"\n\
                 client_secret = \"env:SECRET_{hash}\"\n"
            ));
        }
    }
    let path = dir.join("connector.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The binary over `dir`'s store, with every connection's credentials.
pub fn command(dir: &Path, config: &Path, args: &[&str]) -> Command {
    let mut command = binary(dir, args);
    command
        .arg("--config")
        .arg(config)
        .env("QAD_USER", "connector")
        .env("QAD_PASSWORD", "s3cret");
    for (hash, tenant, _) in SHOPS {
        let client = SimTenant::demo(tenant).client_id;
        command
            .env(format!("TOKEN_{hash}"), format!("token-{hash}"))
            .env(format!("SECRET_{hash}"), format!("secret-{hash}"))
            .env(format!("CLIENT_{tenant}"), client);
    }
    command
}

/// Runs `command` to the end, which must succeed; its output.
pub async fn finish(mut command: Command) -> String {
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

/// The ledger net per (document, account) of `tenant`, refunds named by their order and
/// place among its refunds (the simulator numbers refunds across its stores).
pub fn net(fleet: &Fleet, hash: &str, tenant: &str) -> BTreeMap<(String, String), i64> {
    let (net, _) = ledger_of(&fleet.qad, tenant);
    let mut names = BTreeMap::new();
    for order in fleet.bigcommerce.data(hash).unwrap().orders {
        for (n, refund) in order.refunds.iter().enumerate() {
            names.insert(
                format!("{hash}:refund:{}", refund.id),
                format!("{hash}:order:{}:refund{n}", order.id),
            );
        }
    }
    net.into_iter()
        .map(|((document, account), amount)| {
            (
                (names.get(&document).cloned().unwrap_or(document), account),
                amount,
            )
        })
        .collect()
}

/// Waits until every store's deliveries are settled and the queue the service at `url`
/// reports has nothing ready or leased, three times in a row (within `patience`).
pub async fn idle(fleet: &Fleet, url: &str, patience: Duration) {
    let mut quiet = 0;
    let deadline = std::time::Instant::now() + patience;
    while std::time::Instant::now() < deadline {
        for (hash, _) in fleet.shops() {
            fleet
                .bigcommerce
                .settle_deliveries(hash, Duration::from_secs(30))
                .await;
        }
        let Ok(page) = reqwest::get(format!("{url}/metrics")).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let page = page.text().await.unwrap_or_default();
        let count = |state: &str| -> Option<u64> {
            let name = format!("ml_connector_queue_jobs{{state=\"{state}\"}} ");
            page.lines()
                .find_map(|l| l.strip_prefix(name.as_str()))
                .and_then(|v| v.parse().ok())
        };
        quiet = match (count("ready"), count("leased")) {
            (Some(0), Some(0)) => quiet + 1,
            _ => 0,
        };
        if quiet == 3 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the service did not finish its queue");
}

/// The same changes in every store of the fleet, interleaved store by store.
pub fn changes(fleet: &Fleet, steps: std::ops::Range<u32>) {
    for step in steps {
        for (hash, _) in fleet.shops() {
            change_in(&fleet.bigcommerce, hash, step);
        }
    }
}
