//! Several connections in one store, worked by one process: three BigCommerce stores and
//! three QAD tenants, whose order ids overlap. Each store's changes and webhook deliveries
//! are interleaved with the others', and worked by `run`, then `sync`, then `replay`.
//! Each tenant's ledger must equal what a run of its connection alone leaves, and no
//! request of one connection may reach another's store (the simulator refuses a store's
//! requests made with another store's token).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ACCOUNTS, binary, change_in, ledger_of};
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use ml_connector_sim::qad::{QadSim, SimTenant};
use time::macros::datetime;

/// Store hash, QAD tenant, and the seed of the store's orders.
const SHOPS: [(&str, &str, u64); 3] = [
    ("shop1", "acme", 33),
    ("shop2", "beta", 34),
    ("shop3", "gamma", 35),
];

struct Fleet {
    bigcommerce: BigCommerceSim,
    qad: QadSim,
}

async fn fleet() -> Fleet {
    let stores = SHOPS
        .iter()
        .map(|(hash, _, seed)| {
            SimStore::new(hash, &format!("token-{hash}"))
                .with_quota(100_000, Duration::from_secs(30))
                .with_orders(60, datetime!(2026-11-02 08:00 UTC), *seed)
        })
        .collect();
    let tenants = SHOPS
        .iter()
        .map(|(_, tenant, _)| SimTenant::demo(tenant))
        .collect();
    Fleet {
        bigcommerce: BigCommerceSim::start(stores).await.unwrap(),
        qad: QadSim::start(tenants).await.unwrap(),
    }
}

/// A connections file with one connection per shop in `shops` (named after its store),
/// with webhooks to `address` when given.
fn config(dir: &Path, fleet: &Fleet, shops: &[usize], address: Option<&str>) -> PathBuf {
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
             reconcile = \"every 1h\"\n",
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
fn command(dir: &Path, config: &Path, args: &[&str]) -> Command {
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

async fn finish(mut command: Command) -> String {
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
fn net(fleet: &Fleet, hash: &str, tenant: &str) -> BTreeMap<(String, String), i64> {
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

/// Waits until every store's deliveries are settled and the service's queue has nothing
/// ready or leased, three times in a row.
async fn idle(fleet: &Fleet, url: &str) {
    let mut quiet = 0;
    for _ in 0..1200 {
        for (hash, _, _) in SHOPS {
            fleet
                .bigcommerce
                .settle_deliveries(hash, Duration::from_secs(30))
                .await;
        }
        let page = reqwest::get(format!("{url}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let count = |state: &str| -> u64 {
            let name = format!("ml_connector_queue_jobs{{state=\"{state}\"}} ");
            page.lines()
                .find_map(|l| l.strip_prefix(name.as_str()))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        quiet = if count("ready") + count("leased") == 0 {
            quiet + 1
        } else {
            0
        };
        if quiet == 3 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the service did not finish its queue");
}

/// The same changes in every store, interleaved store by store.
fn changes(fleet: &Fleet, steps: std::ops::Range<u32>) {
    for step in steps {
        for (hash, _, _) in SHOPS {
            change_in(&fleet.bigcommerce, hash, step);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_connections_in_one_store_each_post_exactly_their_own_ledger() {
    let all = [0, 1, 2];
    let fleet = fleet().await;
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let config = config(dir.path(), &fleet, &all, Some(&address));

    // `run`: the backfill at start, then webhooks for every store, interleaved.
    let mut child = command(dir.path(), &config, &["run", "--listen", &address])
        .env("ML_CONNECTOR_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("service.log")).unwrap())
        .spawn()
        .unwrap();
    let url = format!("http://{address}");
    let mut up = false;
    for _ in 0..600 {
        if reqwest::get(format!("{url}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        up,
        "{}",
        std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default()
    );
    idle(&fleet, &url).await;
    changes(&fleet, 0..6);
    idle(&fleet, &url).await;
    // A second process working the same store is refused while `run` holds it.
    let out = command(dir.path(), &config, &["sync", "--once"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is in use by another ml-connector process"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = child.kill();
    let _ = child.wait();

    // `sync` over further changes, then `replay` of every record: nothing moves.
    changes(&fleet, 6..9);
    finish(command(dir.path(), &config, &["sync", "--once"])).await;
    let before: Vec<_> = SHOPS.iter().map(|(h, t, _)| net(&fleet, h, t)).collect();
    let replayed = finish(command(
        dir.path(),
        &config,
        &["replay", "--since", "2000-01-01T00:00:00Z"],
    ))
    .await;
    let after: Vec<_> = SHOPS.iter().map(|(h, t, _)| net(&fleet, h, t)).collect();
    assert_eq!(before, after, "a replay posts nothing new: {replayed}");
    assert_eq!(
        fleet.bigcommerce.counters().rejected_401,
        0,
        "no request reached a store with another store's token"
    );

    // Each connection alone, over the same stores and changes: the same ledger.
    let reference = self::fleet().await;
    changes(&reference, 0..9);
    for (i, (hash, tenant, _)) in SHOPS.iter().enumerate() {
        let alone = tempfile::tempdir().unwrap();
        let config = self::config(alone.path(), &reference, &[i], None);
        finish(command(alone.path(), &config, &["sync", "--once"])).await;
        let expected = net(&reference, hash, tenant);
        assert!(!expected.is_empty());
        assert_eq!(after[i], expected, "{hash}'s ledger in {tenant}");
    }
}
