//! `ml-connector run`, the real binary as a service, against both simulators.
//!
//! Webhooks: the BigCommerce simulator delivers signed webhooks for new orders, status
//! changes, edits, refunds and new shoppers; the QAD ledger ends exactly as a polling
//! run over the same changes leaves it, and every new shopper is a QAD customer once.
//! Forged and stale deliveries are refused, redelivered ones ignored; none changes
//! anything.
//!
//! Plugins: a plugin dropped into the plugin directory of the running service maps the
//! next order, and a broken one leaves the last good version serving.
//!
//! Hook lifecycle: after a downtime long enough for BigCommerce to deactivate the
//! hooks, and after a deactivation while the service runs, the service reactivates
//! the hooks and backfills by polling: no order is missing.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::*;
use ml_connector::bigcommerce::signature::signature_header;

/// The running service and where it listens.
struct Service {
    child: Child,
    url: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// The catalog plugin: QAD's prices reach the store, so later orders use them.
const CATALOG: &str = "[connections.main.catalog]\n\
                       name = \"item-to-catalog\"\n\
                       settings = { price-list = \"WEB\", currency = \"USD\" }\n";

/// The connections file with webhooks to `address` and the given schedules.
fn service_config(
    dir: &Path,
    systems: &Systems,
    address: &str,
    schedules: &str,
) -> std::path::PathBuf {
    write_config_with(
        dir,
        systems,
        &format!(
            "[connections.main.webhooks]\n\
             public_url = \"http://{address}\"\n\
             client_secret = \"env:TEST_BC_SECRET\"\n\
             {CATALOG}\
             [connections.main.schedules]\n{schedules}"
        ),
    )
}

async fn start(dir: &Path, config: &Path, systems: &Systems, address: &str) -> Service {
    start_command(
        dir,
        address,
        command(dir, config, systems, &["run", "--listen", address]),
    )
    .await
}

async fn start_command(dir: &Path, address: &str, mut command: std::process::Command) -> Service {
    let child = command
        .env("ML_CONNECTOR_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("service.log")).unwrap())
        .spawn()
        .unwrap();
    let service = Service {
        child,
        url: format!("http://{address}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if http
            .get(format!("{}/healthz", service.url))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return service;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the service did not start: {}",
        std::fs::read_to_string(dir.join("service.log")).unwrap_or_default()
    );
}

/// Sends the service SIGTERM and waits for it to exit, at most `within`; how it exited.
async fn terminate(service: &mut Service, within: Duration) -> Option<std::process::ExitStatus> {
    let pid = service.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let sent = std::time::Instant::now();
    while sent.elapsed() < within {
        if let Some(status) = service.child.try_wait().unwrap() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// The service's metrics by name (labels included).
async fn metrics(service: &Service) -> BTreeMap<String, u64> {
    let page = reqwest::get(format!("{}/metrics", service.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(name, value)| Some((name.to_string(), value.parse().ok()?)))
        .collect()
}

/// Waits until every delivery is settled and the queue has nothing ready or leased,
/// twice in a row.
async fn idle(systems: &Systems, service: &Service) {
    let mut quiet = 0;
    for _ in 0..1200 {
        systems
            .bigcommerce
            .settle_deliveries("shop1", Duration::from_secs(30))
            .await;
        let m = metrics(service).await;
        let busy = m["ml_connector_queue_jobs{state=\"ready\"}"]
            + m["ml_connector_queue_jobs{state=\"leased\"}"];
        quiet = if busy == 0 { quiet + 1 } else { 0 };
        if quiet == 3 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the service did not finish its queue");
}

/// A service over fresh simulators, started and idle.
struct Serving {
    systems: Systems,
    dir: tempfile::TempDir,
    address: String,
    config: std::path::PathBuf,
    service: Service,
}

async fn serving(schedules: &str) -> Serving {
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let address = free_address();
    let config = service_config(dir.path(), &systems, &address, schedules);
    let service = start(dir.path(), &config, &systems, &address).await;
    idle(&systems, &service).await;
    Serving {
        systems,
        dir,
        address,
        config,
        service,
    }
}

/// The same changes a webhook run and a polling run both see.
fn changes(systems: &Systems) -> Vec<String> {
    for step in 0..6 {
        change(systems, step);
    }
    (0..4)
        .map(|n| {
            let email = format!("New.Shopper{n}@Example.com");
            systems
                .bigcommerce
                .add_customer("shop1", &email, "New", &format!("Shopper{n}"))
                .unwrap();
            email
        })
        .collect()
}

/// The ledger net per (document, account), with each refund named by its order and
/// place among the order's refunds: the two simulators number refunds differently.
fn by_order(systems: &Systems) -> (BTreeMap<(String, String), i64>, Vec<String>) {
    let (net, references) = ledger(&systems.qad);
    let mut names = BTreeMap::new();
    for order in systems.bigcommerce.data("shop1").unwrap().orders {
        for (n, refund) in order.refunds.iter().enumerate() {
            names.insert(
                format!("shop1:refund:{}", refund.id),
                format!("shop1:order:{}:refund{n}", order.id),
            );
        }
    }
    let net = net
        .into_iter()
        .map(|((document, account), amount)| {
            let document = names.get(&document).cloned().unwrap_or(document);
            ((document, account), amount)
        })
        .collect();
    (net, references)
}

async fn post(service: &Service, headers: &[(&str, String)], body: &str) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/bigcommerce/main", service.url))
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn signed(id: &str, timestamp: i64, body: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            signature_header(secret, id, timestamp, body.as_bytes()),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_post_what_polling_posts_and_forgeries_change_nothing() {
    let Serving {
        systems,
        dir,
        address: _,
        config,
        service,
    } = serving("reconcile = \"every 1h\"\nhooks = \"every 1h\"\ncatalog = \"every 1h\"\n").await;
    let hooks = systems.bigcommerce.hooks("shop1").unwrap();
    assert_eq!(hooks.len(), 5, "one hook per scope: {hooks:?}");
    assert!(
        hooks
            .iter()
            .all(|h| h.is_active && h.destination.ends_with("/webhooks/bigcommerce/main"))
    );

    // The catalog poll at start reprices the store's products; the orders placed next
    // must see the same catalog as the polled run's, which finishes its poll first.
    let mut polled_catalog = false;
    for _ in 0..300 {
        if metrics(&service).await["ml_connector_catalog_updates_total"] > 0 {
            polled_catalog = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(polled_catalog, "the catalog poll at start finished");
    let emails = changes(&systems);
    idle(&systems, &service).await;
    let delivered = systems.bigcommerce.deliveries("shop1").unwrap();
    assert!(delivered.len() >= 15, "{}", delivered.len());
    assert!(
        delivered.iter().all(|d| d.state == "delivered"),
        "{delivered:?}"
    );

    // Forged, stale and replayed deliveries.
    let order = systems.bigcommerce.data("shop1").unwrap().orders[0].id;
    let body = format!(
        r#"{{"scope":"store/order/updated","store_id":"1","producer":"stores/shop1","data":{{"type":"order","id":{order}}},"hash":"x","created_at":1}}"#
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let before = systems.qad.ledger("acme").len();
    let (status, reason) = post(
        &service,
        &signed("msg_forged", now, &body, "not-the-secret"),
        &body,
    )
    .await;
    assert_eq!(
        (status, reason.as_str()),
        (401, "no signature in `webhook-signature` matches")
    );
    let (status, reason) = post(
        &service,
        &signed("msg_old", now - 600, &body, "secret-shop1"),
        &body,
    )
    .await;
    assert_eq!(status, 401, "{reason}");
    assert!(reason.contains("timestamp"), "{reason}");
    let (status, _) = post(&service, &[], &body).await;
    assert_eq!(status, 401);
    let genuine = signed("msg_genuine", now, &body, "secret-shop1");
    assert_eq!(
        post(&service, &genuine, &body).await,
        (200, "queued".into())
    );
    assert_eq!(
        post(&service, &genuine, &body).await,
        (200, "already received".into())
    );
    // Another genuine delivery with the same bytes (two changes in one second) is a
    // delivery of its own: its job reads the order as it is, and posts nothing new.
    let same_body = signed("msg_other_id", now, &body, "secret-shop1");
    assert_eq!(
        post(&service, &same_body, &body).await,
        (200, "queued".into())
    );
    let unknown =
        r#"{"scope":"store/cart/created","producer":"stores/shop1","data":{"type":"cart","id":1}}"#;
    let (status, reason) = post(
        &service,
        &signed("msg_cart", now, unknown, "secret-shop1"),
        unknown,
    )
    .await;
    assert_eq!(status, 422, "{reason}");
    idle(&systems, &service).await;
    let m = metrics(&service).await;
    assert_eq!(
        m["ml_connector_webhooks_rejected_total{reason=\"signature\"}"],
        3
    );
    assert_eq!(
        m["ml_connector_webhooks_rejected_total{reason=\"unknown_scope\"}"],
        1
    );
    assert_eq!(m["ml_connector_webhooks_duplicate_total"], 1);
    assert!(m["ml_connector_webhooks_accepted_total"] >= 16, "{m:?}");
    assert!(m["ml_connector_plugin_calls_total"] > 0);
    // The catalog poll ran at start: QAD's items reached the store's catalog.
    assert!(m["ml_connector_catalog_updates_total"] > 0, "{m:?}");
    // Only items the store does not sell are parked (QAD has a lower-case twin, an
    // inactive and an obsolete item the store never listed).
    assert_eq!(
        m["ml_connector_queue_jobs{state=\"parked\"}"], m["ml_connector_catalog_parked_total"],
        "no order or refund parked"
    );
    assert_eq!(
        systems.qad.ledger("acme").len(),
        before,
        "the genuine replay posted nothing new"
    );

    // `status` reads the same store while the service runs.
    let (code, shown) = output(dir.path(), &config, &systems, &["status", "--json"]).await;
    assert_eq!(code, 0, "{shown}");
    let status: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let main = &status[0];
    let parked = main["parked"].as_array().unwrap();
    assert!(
        parked.iter().all(|p| p["kind"] == "catalog"
            && p["reason"]
                .as_str()
                .unwrap()
                .contains(p["document"].as_str().unwrap().trim_start_matches("item:"))),
        "{main}"
    );
    assert!(
        main["schedules"]["catalog"]["last"]["ok"].is_string(),
        "{main}"
    );
    assert!(main["queue"]["done"].as_u64().unwrap() > 100, "{main}");
    for schedule in ["reconcile", "hooks", "catalog"] {
        assert!(main["schedules"][schedule]["next"].is_string(), "{main}");
        assert!(
            main["schedules"][schedule]["last"]["ok"].is_string(),
            "{main}"
        );
    }
    assert!(main["cursors"]["orders"]["value"].is_string(), "{main}");
    assert!(
        main["bigcommerce_quota"]["left"].as_u64().is_some(),
        "{main}"
    );

    // The same changes, polled instead.
    let polled = common::systems().await;
    let polled_dir = tempfile::tempdir().unwrap();
    let polled_config = write_config_with(polled_dir.path(), &polled, CATALOG);
    // As the service did at start: the seeded orders and the catalog, then the changes.
    // (Exit code 1: the same three items are parked.)
    for step in 0..2 {
        if step == 1 {
            changes(&polled);
        }
        let (code, shown) = output(
            polled_dir.path(),
            &polled_config,
            &polled,
            &["sync", "--once"],
        )
        .await;
        assert!(code == 0 || code == 1, "{shown}");
    }
    let (net, references) = by_order(&systems);
    let (polled_net, _) = by_order(&polled);
    assert!(!net.is_empty());
    let differences: Vec<_> = net
        .keys()
        .chain(polled_net.keys())
        .filter(|key| net.get(*key) != polled_net.get(*key))
        .map(|key| (key, net.get(key), polled_net.get(key)))
        .collect();
    assert!(
        differences.is_empty(),
        "webhooks and polling post the same ledger; they differ at {differences:?}"
    );
    let unique: std::collections::BTreeSet<&String> = references.iter().collect();
    assert_eq!(unique.len(), references.len(), "no reference twice");

    // SIGTERM while work arrives: the service finishes or releases what it holds and
    // exits cleanly.
    systems.bigcommerce.place_orders("shop1", 5).unwrap();
    let mut service = service;
    let exited = terminate(&mut service, Duration::from_secs(30)).await;
    assert!(
        exited.is_some_and(|s| s.success()),
        "exited cleanly: {exited:?}"
    );
    {
        use ml_connector::store::{SqliteStore, Store};
        let store = SqliteStore::open(&dir.path().join("store.db")).unwrap();
        assert_eq!(
            store.queue_depth(None).await.unwrap().leased,
            0,
            "nothing left leased"
        );
    }

    let customers = systems.qad.customers("acme");
    for email in &emails {
        let matching = customers
            .iter()
            .filter(|c| c.email.eq_ignore_ascii_case(email))
            .count();
        assert_eq!(
            matching,
            1,
            "{email} in {:?}",
            customers.iter().map(|c| &c.email).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_hooks_are_reactivated_and_the_gap_backfilled() {
    let Serving {
        systems,
        dir,
        address,
        config,
        service,
    } = serving("reconcile = \"every 1h\"\nhooks = \"every 2s\"\n").await;

    // Downtime: deliveries fail until BigCommerce gives up on the hooks (48 hours of
    // retries, on the simulator's clock).
    drop(service);
    systems.bigcommerce.place_orders("shop1", 4).unwrap();
    let created_hook_active = || {
        systems
            .bigcommerce
            .hooks("shop1")
            .unwrap()
            .iter()
            .any(|h| h.scope == "store/order/created" && h.is_active)
    };
    for _ in 0..40 {
        if !created_hook_active() {
            break;
        }
        systems.bigcommerce.advance(Duration::from_secs(25 * 3600));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!created_hook_active(), "BigCommerce deactivated the hook");
    // Orders placed while the hooks are inactive are delivered to no one.
    let deliveries = systems.bigcommerce.deliveries("shop1").unwrap().len();
    let missed = systems.bigcommerce.place_orders("shop1", 3).unwrap();
    assert_eq!(
        systems.bigcommerce.deliveries("shop1").unwrap().len(),
        deliveries
    );

    let service = start(dir.path(), &config, &systems, &address).await;
    idle(&systems, &service).await;
    let hooks = systems.bigcommerce.hooks("shop1").unwrap();
    assert!(hooks.iter().all(|h| h.is_active), "reactivated: {hooks:?}");
    // Posted, or not a sale (an incomplete checkout is never posted).
    let posted = |id: u64| {
        let data = systems.bigcommerce.data("shop1").unwrap();
        let order = data.orders.iter().find(|o| o.id == id).unwrap();
        ![2, 3, 4, 8, 9, 10, 11, 14].contains(&order.status_id)
            || systems
                .qad
                .ledger("acme")
                .iter()
                .any(|j| j.external_reference == format!("shop1:order:{id}:r1"))
    };
    let sales = |ids: &[u64]| {
        let data = systems.bigcommerce.data("shop1").unwrap();
        data.orders
            .iter()
            .filter(|o| ids.contains(&o.id) && o.status_id == 11)
            .count()
    };
    assert!(sales(&missed) > 0, "the gap had sales to backfill");
    for id in &missed {
        assert!(
            posted(*id),
            "order {id} placed during the gap was backfilled"
        );
    }

    // Deactivated while the service runs: the scheduled hook check restores the hooks
    // and polls for what they did not deliver.
    let token_client = reqwest::Client::new();
    for hook in systems.bigcommerce.hooks("shop1").unwrap() {
        let answer = token_client
            .put(format!(
                "{}/v3/hooks/{}",
                systems.bigcommerce.api_root("shop1"),
                hook.id
            ))
            .header("X-Auth-Token", "bc-token")
            .json(&serde_json::json!({"is_active": false}))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
    }
    let missed = systems.bigcommerce.place_orders("shop1", 6).unwrap();
    assert!(sales(&missed) > 0, "sales to backfill");
    let mut restored = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if systems
            .bigcommerce
            .hooks("shop1")
            .unwrap()
            .iter()
            .all(|h| h.is_active)
            && missed.iter().all(|id| posted(*id))
        {
            restored = true;
            break;
        }
    }
    assert!(
        restored,
        "the hook check reactivated the hooks and backfilled; hooks {:?}; log:\n{}",
        systems.bigcommerce.hooks("shop1").unwrap(),
        std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default()
    );
}

/// `ml_connector_plugin_active` for the connection's order plugin: (version, value).
async fn active_order_plugin(service: &Service) -> Vec<(String, u64)> {
    metrics(service)
        .await
        .into_iter()
        .filter(|(name, _)| {
            name.starts_with("ml_connector_plugin_active{entry=\"main:order\",plugin=\"orders\"")
        })
        .map(|(name, value)| {
            let version = name.split("version=\"").nth(1).unwrap_or_default();
            (
                version.split('"').next().unwrap_or_default().to_string(),
                value,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_dropped_into_the_running_service_maps_the_next_order() {
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let drop_plugin = |bytes: &[u8]| {
        let tmp = plugins.join("orders.wasm.tmp");
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, plugins.join("orders.wasm")).unwrap();
    };
    drop_plugin(ml_connector::plugins::builtin::builtin("order-to-gl").unwrap());
    let address = free_address();
    let config = service_config(dir.path(), &systems, &address, "reconcile = \"every 1h\"\n");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replacen("name = \"order-to-gl\"", "name = \"orders\"", 1),
    )
    .unwrap();
    let mut run = command(
        dir.path(),
        &config,
        &systems,
        &["run", "--listen", &address],
    );
    run.env("ML_CONNECTOR_PLUGIN_DIR", &plugins);
    let service = start_command(dir.path(), &address, run).await;
    idle(&systems, &service).await;
    assert_eq!(
        active_order_plugin(&service).await,
        [("0.2.0".to_string(), 1)]
    );
    // The backfill at start posts the seeded orders (the first poll may start after the
    // queue first looked idle).
    for _ in 0..300 {
        if !systems.qad.ledger("acme").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    idle(&systems, &service).await;
    assert!(!systems.qad.ledger("acme").is_empty());

    // A new version, dropped in while the service runs.
    drop_plugin(&std::fs::read(test_plugin("relabel").await).unwrap());
    for _ in 0..200 {
        if active_order_plugin(&service).await == [("2.0.0".to_string(), 1)] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        active_order_plugin(&service).await,
        [("2.0.0".to_string(), 1)]
    );
    let daybooks_of_new_orders = |placed: Vec<u64>| {
        let journals = systems.qad.ledger("acme");
        let daybooks: Vec<String> = journals
            .iter()
            .filter(|j| {
                placed.iter().any(|id| {
                    j.external_reference
                        .starts_with(&format!("shop1:order:{id}:"))
                })
            })
            .map(|j| j.daybook.clone())
            .collect();
        // Some simulated orders are incomplete checkouts, which are never posted.
        assert!(
            !daybooks.is_empty(),
            "none of {placed:?} was posted: {}",
            std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default()
        );
        daybooks
    };
    let placed = systems.bigcommerce.place_orders("shop1", 6).unwrap();
    idle(&systems, &service).await;
    for daybook in daybooks_of_new_orders(placed) {
        assert_eq!(
            daybook, "WEBSALES",
            "the next orders are mapped by the new version"
        );
    }

    // A broken version: the last good one keeps serving, and status says why.
    drop_plugin(b"\0asm this is not a component");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let placed = systems.bigcommerce.place_orders("shop1", 6).unwrap();
    idle(&systems, &service).await;
    for daybook in daybooks_of_new_orders(placed) {
        assert_eq!(daybook, "WEBSALES", "the last good version serves");
    }
    assert_eq!(
        metrics(&service).await["ml_connector_jobs_parked_total"],
        0,
        "no failed call"
    );
    let (code, status) = output(dir.path(), &config, &systems, &["status"]).await;
    assert_eq!(code, 0, "{status}");
    assert!(status.contains("order plugin: orders 2.0.0"), "{status}");
    assert!(status.contains("newest version not loaded"), "{status}");
}

/// A service over fresh simulators whose server allows `timeout` seconds per request and
/// `max_connections`, started (not waited for idle).
async fn serving_with_limits(timeout: u64, max_connections: usize) -> Serving {
    serving_edited(|text| {
        text + &format!(
            "[server]\ntimeout_seconds = {timeout}\nmax_connections = {max_connections}\n"
        )
    })
    .await
}

/// A service over fresh simulators, its schedules hourly and its connections file changed
/// by `edit`, started (not waited for idle).
async fn serving_edited(edit: impl FnOnce(String) -> String) -> Serving {
    serving_in(systems().await, tempfile::tempdir().unwrap(), edit).await
}

/// The same over `systems`, in `dir` (a store may already be there).
async fn serving_in(
    systems: Systems,
    dir: tempfile::TempDir,
    edit: impl FnOnce(String) -> String,
) -> Serving {
    let address = free_address();
    let config = service_config(
        dir.path(),
        &systems,
        &address,
        "reconcile = \"every 1h\"\nhooks = \"every 1h\"\ncatalog = \"every 1h\"\n",
    );
    let text = edit(std::fs::read_to_string(&config).unwrap());
    std::fs::write(&config, text).unwrap();
    let service = start(dir.path(), &config, &systems, &address).await;
    Serving {
        systems,
        dir,
        address,
        config,
        service,
    }
}

/// Reads what the server sends on `stream` until it closes the connection, or `within`
/// passes (`None` then).
async fn until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut seen)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&seen).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_connections_are_capped() {
    use tokio::io::AsyncWriteExt;
    let Serving {
        service, address, ..
    } = serving_with_limits(4, 4).await;
    let healthz = || async {
        reqwest::Client::new()
            .get(format!("{}/healthz", service.url))
            .timeout(Duration::from_millis(1_500))
            .send()
            .await
    };

    // Four clients that send half a request head and stop hold every connection: a fifth
    // waits to be accepted.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"POST /webhooks/bigcommerce/main HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(stream);
    }
    let opened = std::time::Instant::now();
    assert!(
        healthz().await.is_err(),
        "a fifth connection was served past the cap of four"
    );
    // Each half-sent head is cut off after the timeout (4 s), not held open.
    for stream in &mut held {
        let answer = until_closed(stream, Duration::from_secs(15)).await;
        assert!(
            answer.is_some(),
            "a half-sent request head still held its connection after 15 s"
        );
    }
    assert!(opened.elapsed() < Duration::from_secs(12));
    // Then the server takes connections again.
    let mut served = false;
    for _ in 0..50 {
        if healthz().await.is_ok_and(|r| r.status().is_success()) {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the server took no connection once the cap freed");

    // A body that stops coming: answered 408 after the timeout, connection closed.
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"POST /webhooks/bigcommerce/main HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"scope\":",
        )
        .await
        .unwrap();
    let answer = until_closed(&mut stream, Duration::from_secs(15))
        .await
        .expect("a request whose body stopped coming still held its connection after 15 s");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_kept_alive_connections_do_not_keep_a_waiting_client_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Serving {
        service, address, ..
    } = serving_with_limits(4, 4).await;
    /// Sends one request on `stream` and reads its whole answer (a short one).
    async fn ask(stream: &mut tokio::net::TcpStream) -> String {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
                .await
                .expect("an answer within 5 s")
                .unwrap();
            assert!(read > 0, "closed before answering");
            answer.extend_from_slice(&buffer[..read]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    }
    // A client that leaves four answered connections open, as a burst of deliveries
    // through a pooling client does: they would hold all four slots until the timeout.
    let mut idle = Vec::new();
    for _ in 0..4 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        assert!(ask(&mut stream).await.starts_with("HTTP/1.1 200"));
        idle.push(stream);
    }
    let answered = reqwest::Client::new()
        .get(format!("{}/healthz", service.url))
        .timeout(Duration::from_millis(1_500))
        .send()
        .await;
    assert!(
        answered.is_ok_and(|r| r.status().is_success()),
        "a fifth client waited behind four idle connections"
    );
    // Below the cap's last quarter a connection is still kept alive.
    assert!(ask(&mut idle[0]).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_ends_within_its_deadline_while_qad_does_not_answer() {
    use ml_connector::store::JobState;
    use ml_connector_sim::qad::{QadFault, QadFaultAction};
    use tokio::io::AsyncWriteExt;
    let systems = systems().await;
    // Every journal post is held for two minutes: longer than the client waits (30 s).
    systems.qad.inject(
        "acme",
        QadFault::new(QadFaultAction::Delay(Duration::from_secs(120)), 1_000)
            .on("journalEntries")
            .for_method("POST"),
    );
    let dir = tempfile::tempdir().unwrap();
    let address = free_address();
    let config = service_config(
        dir.path(),
        &systems,
        &address,
        "reconcile = \"every 1h\"\nhooks = \"every 1h\"\ncatalog = \"every 1h\"\n",
    );
    let mut service = start(dir.path(), &config, &systems, &address).await;
    // The first post is in QAD's hands, and a client holds a connection with half a head.
    for _ in 0..600 {
        if systems.qad.counters().faults_injected > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        systems.qad.counters().faults_injected > 0,
        "no post was sent"
    );
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();

    let stopping = std::time::Instant::now();
    let exited = terminate(&mut service, Duration::from_secs(25)).await;
    let took = stopping.elapsed();
    assert!(
        exited.is_some_and(|s| s.success()),
        "exited cleanly: {exited:?} after {took:?}; {}",
        std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default()
    );
    // The stop's deadline is 10 s; a little is allowed for the process to end.
    assert!(took < Duration::from_secs(12), "the stop took {took:?}");
    // The job in hand was released, not left leased; its post is settled by lookup next time.
    let store = open_store(dir.path());
    assert!(
        store
            .jobs_in(JobState::Leased, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!store.jobs_in(JobState::Ready, 10).await.unwrap().is_empty());
}

/// With `catalog_drift = "restore"` the service subscribes to product webhooks: a
/// merchant's rename in the store comes back as a delivery, its product is checked
/// against the item master and QAD's name sent again; the delivery of that update finds
/// nothing to do, and nothing is parked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchants_rename_comes_back_as_a_webhook_and_is_restored() {
    let Serving {
        systems,
        dir,
        mut service,
        ..
    } = serving_edited(|text| {
        text.replacen(
            "[connections.main]\n",
            "[connections.main]\ncatalog_drift = \"restore\"\n",
            1,
        )
    })
    .await;
    idle(&systems, &service).await;
    let scopes: Vec<String> = systems
        .bigcommerce
        .hooks("shop1")
        .unwrap()
        .into_iter()
        .map(|h| h.scope)
        .collect();
    for scope in ["store/product/updated", "store/sku/updated"] {
        assert!(scopes.iter().any(|s| s == scope), "{scope} in {scopes:?}");
    }

    // A product QAD's item master has, renamed by the merchant.
    let items = systems.qad.items("acme");
    let (product, item) = systems
        .bigcommerce
        .data("shop1")
        .unwrap()
        .products
        .into_iter()
        .find_map(|p| {
            let item = items.iter().find(|i| i.code == p.sku)?.clone();
            Some((p, item))
        })
        .expect("a product QAD has");
    let answer = reqwest::Client::new()
        .put(format!(
            "{}/v3/catalog/products",
            systems.bigcommerce.api_root("shop1")
        ))
        .header("X-Auth-Token", "bc-token")
        .json(&serde_json::json!([{"id": product.id, "name": "Merchant's name"}]))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let name = || {
        systems
            .bigcommerce
            .data("shop1")
            .unwrap()
            .products
            .into_iter()
            .find(|p| p.id == product.id)
            .unwrap()
            .name
    };
    let mut restored = false;
    for _ in 0..100 {
        idle(&systems, &service).await;
        if name() == item.description {
            restored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        restored,
        "`{}` after the rename: {}",
        name(),
        std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default()
    );
    let m = metrics(&service).await;
    assert_eq!(m["ml_connector_jobs_parked_total"], 0, "{m:?}");
    let deliveries = systems.bigcommerce.deliveries("shop1").unwrap();
    let product_deliveries = deliveries
        .iter()
        .filter(|d| d.scope == "store/product/updated")
        .count();
    assert!(
        product_deliveries >= 2,
        "the rename's and the restore's: {deliveries:?}"
    );
    assert!(
        terminate(&mut service, Duration::from_secs(12))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn done_jobs_past_their_retention_are_pruned_at_start_and_recent_ones_kept() {
    use ml_connector::store::{JobEnd, Lease, NewJob, SqliteStore, Store, system_clock};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    // Two jobs done 40 days ago and one done now, before the service starts.
    const DAY: i64 = 24 * 3600 * 1000;
    let now = Arc::new(AtomicI64::new(system_clock() - 40 * DAY));
    let clock = now.clone();
    let store = SqliteStore::open_with_clock(
        &dir.path().join("store.db"),
        Arc::new(move || clock.load(Ordering::SeqCst)),
    )
    .unwrap();
    let mut ids = Vec::new();
    for order in [900_001, 900_002, 900_003] {
        if order == 900_003 {
            now.store(system_clock(), Ordering::SeqCst);
        }
        let job = NewJob {
            connection: "main".into(),
            kind: "order".into(),
            key: format!("old:{order}"),
            document: format!("order:{order}"),
            payload: format!("{{\"order_id\":{order}}}"),
            not_before: None,
        };
        let id = store.enqueue(&job).await.unwrap().id();
        let leased = store.lease("main", "test", 1, 30_000).await.unwrap();
        let done = JobEnd::Done {
            covering: None,
            posted: None,
        };
        store
            .end_job(&Lease::of(&leased[0], "test"), &done, &[])
            .await
            .unwrap();
        ids.push(id);
    }
    drop(store);

    // The simulators stay up while the service runs.
    let mut serving = serving_in(systems, dir, |text| {
        format!("[retention]\ndone_jobs_days = 30\n{text}")
    })
    .await;
    let mut pruned = 0;
    for _ in 0..100 {
        pruned = metrics(&serving.service).await["ml_connector_jobs_pruned_total"];
        if pruned > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pruned, 2);
    assert!(
        terminate(&mut serving.service, Duration::from_secs(15))
            .await
            .is_some()
    );
    let store = open_store(serving.dir.path());
    assert_eq!(store.job(ids[0]).await.unwrap(), None);
    assert_eq!(store.job(ids[1]).await.unwrap(), None);
    let kept = store
        .job(ids[2])
        .await
        .unwrap()
        .expect("the recent job is kept");
    assert_eq!(kept.key, "old:900003");
}
