//! Orders posted per second by the service (`ml-connector run`, the release binary, with
//! its worker) on a backlog, with one process on a SQLite store and with 1, 2 and 3
//! replicas on one PostgreSQL store. The simulators run in this process; each replica is
//! its own process. The clock runs from the replicas' start until the queue is empty
//! (the reconciliation poll at start queues the backlog, every replica works it).
//!
//! Each run also reports the replicas' peak resident memory (the largest, from
//! `/proc/<pid>/status`), on SQLite the store's size per order (database and log), and
//! where the jobs' time went per order (the replicas' `time_spent` and plugin counters:
//! a job from start to end, and its waits on BigCommerce, the plugin, QAD and the store,
//! the last counted on SQLite only).
//!
//! With `--by-webhook` (one process on SQLite) the orders are not a backlog: they are
//! placed in the store simulator once the service has registered its hooks, and reach it
//! as webhooks; the run then also reports BigCommerce calls per order on that path.
//!
//! `cargo bench -p ml-connector --bench replicas` (options: `-- --orders N --sqlite-only
//! --in-flight N --by-webhook`, `--in-flight` the connection's `jobs_in_flight`);
//! the PostgreSQL runs need `ML_CONNECTOR_TEST_POSTGRES` (a server URL; each run gets a
//! schema of its own, dropped after it) and are skipped without it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ml_connector::store::{PostgresStore, SqliteStore, Store};
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use ml_connector_sim::qad::{QadSim, SimTenant};
use time::macros::datetime;

const ACCOUNTS: &str = "daybook = \"SO\", \"account.revenue\" = \"4000\", \
    \"account.shipping\" = \"4100\", \"account.handling\" = \"4110\", \
    \"account.discounts\" = \"4900\", \"account.tax\" = \"2200\", \
    \"account.clearing\" = \"1150\", \"account.clearing.stripe\" = \"1151\", \
    \"account.receivable\" = \"1200\", \"account.rounding\" = \"7990\", \
    \"account.gift-certificates\" = \"2300\", \"account.store-credit\" = \"2310\"";

fn sqlite_only() -> bool {
    std::env::args().any(|a| a == "--sqlite-only")
}

fn by_webhook() -> bool {
    std::env::args().any(|a| a == "--by-webhook")
}

/// The value given after `name` on the command line.
fn option(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn orders() -> u64 {
    option("--orders").unwrap_or(3_000)
}

fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").to_string()
}

/// A replica's `/metrics` page.
async fn page(address: &str) -> Option<String> {
    reqwest::get(format!("http://{address}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()
}

/// Jobs ready or leased, from a replica's `/metrics`.
async fn queue(address: &str) -> Option<u64> {
    let page = page(address).await?;
    let count = |state: &str| -> Option<u64> {
        let name = format!("ml_connector_queue_jobs{{state=\"{state}\"}} ");
        page.lines()
            .find_map(|l| l.strip_prefix(name.as_str()))
            .and_then(|v| v.parse().ok())
    };
    Some(count("ready")? + count("leased")?)
}

/// Where the replicas' jobs spent their time, summed over the replicas.
#[derive(Default)]
struct Split {
    /// Microseconds by part: `job`, `bigcommerce`, `qad`, `store` and `plugin`.
    micros: BTreeMap<String, u64>,
    /// Jobs run and calls made, by the same parts.
    calls: BTreeMap<String, u64>,
}

impl Split {
    /// Adds a replica's `/metrics` page.
    async fn read(&mut self, address: &str) {
        let Some(page) = page(address).await else {
            return;
        };
        for line in page.lines() {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<u64>() else {
                continue;
            };
            let part = |prefix: &str| {
                name.strip_prefix(prefix)
                    .and_then(|rest| rest.strip_suffix("\"}"))
                    .map(str::to_string)
            };
            if let Some(part) = part("ml_connector_time_spent_microseconds_total{part=\"") {
                *self.micros.entry(part).or_default() += value;
            } else if let Some(part) = part("ml_connector_time_spent_calls_total{part=\"") {
                *self.calls.entry(part).or_default() += value;
            } else if name == "ml_connector_plugin_call_microseconds_total" {
                *self.micros.entry("plugin".into()).or_default() += value;
            } else if name == "ml_connector_plugin_calls_total" {
                *self.calls.entry("plugin".into()).or_default() += value;
            }
        }
    }
}

struct Outcome {
    split: Split,
    elapsed: Duration,
    jobs: u64,
    journals: usize,
    /// The largest peak resident set of the replicas, in KiB.
    peak_kib: u64,
    /// The SQLite store's files (database and write-ahead log), in bytes.
    store_bytes: Option<u64>,
    /// Requests the store simulator answered while the orders were worked (webhook runs).
    bigcommerce_calls: Option<u64>,
    /// When the simulator had delivered every webhook, and how many attempts failed (to
    /// be sent again a minute later; webhook runs).
    delivered_after: Option<(Duration, u64)>,
}

/// A process's peak resident set (`VmHWM`), in KiB.
fn peak_resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `replicas` processes of `run` on `store` over a fresh backlog of `orders` (with
/// `by_webhook`, one process and `orders` placed once it listens, arriving as webhooks),
/// until the queue is empty.
async fn run(store: &str, dir: &Path, replicas: usize, orders: u64, by_webhook: bool) -> Outcome {
    let tenant = SimTenant::demo("acme");
    let backlog = if by_webhook { 0 } else { orders };
    let bigcommerce = BigCommerceSim::start(vec![
        SimStore::new("shop1", "bc-token")
            .with_quota(1_000_000, Duration::from_secs(30))
            .with_orders(backlog, datetime!(2026-11-02 08:00 UTC), 33),
    ])
    .await
    .expect("the store simulator");
    let qad = QadSim::start(vec![tenant.clone()])
        .await
        .expect("the QAD simulator");
    let addresses: Vec<String> = (0..replicas).map(|_| free_address()).collect();
    let hooks = if by_webhook {
        format!(
            "[connections.main.webhooks]\npublic_url = \"http://{}\"\n\
             client_secret = \"env:BENCH_BC_SECRET\"\n",
            addresses[0]
        )
    } else {
        String::new()
    };
    let config = dir.join("connector.toml");
    std::fs::write(
        &config,
        format!(
            "[connections.main]\nstore_hash = \"shop1\"\nbigcommerce_api_root = \"{}\"\n\
             bigcommerce_token = \"env:BENCH_BC_TOKEN\"\n{in_flight}[connections.main.qad]\nbase_url = \"{}\"\n\
             workspace = \"10USA_10USACO\"\nclient_id = \"env:BENCH_QAD_CLIENT\"\n\
             username = \"env:BENCH_QAD_USER\"\npassword = \"env:BENCH_QAD_PASSWORD\"\n[connections.main.posting]\nentity = \"10USACO\"\n\
             base_currency = \"USD\"\nguest_customer = \"GUEST\"\n\
             [connections.main.plugin]\nname = \"order-to-gl\"\nsettings = {{ {ACCOUNTS} }}\n\
             {hooks}[connections.main.schedules]\nreconcile = \"every 1h\"\n",
            bigcommerce.api_root("shop1"),
            qad.base_url("acme"),
            in_flight = option("--in-flight")
                .map(|n| format!("jobs_in_flight = {n}\n"))
                .unwrap_or_default(),
        ),
    )
    .expect("the connections file");
    let mut began = Instant::now();
    let mut children: Vec<Child> = addresses
        .iter()
        .map(|address| {
            Command::new(env!("CARGO_BIN_EXE_ml-connector"))
                .args(["--store", store, "--secrets"])
                .arg(dir.join("secrets.db"))
                .arg("--cache-dir")
                .arg(dir.join("cache"))
                .args(["run", "--listen", address, "--config"])
                .arg(&config)
                .env_remove("ML_CONNECTOR_PLUGIN_DIR")
                .env("BENCH_BC_TOKEN", "bc-token")
                .env("BENCH_BC_SECRET", "secret-shop1")
                .env("BENCH_QAD_CLIENT", &tenant.client_id)
                .env("BENCH_QAD_USER", "connector")
                .env("BENCH_QAD_PASSWORD", "s3cret")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join(format!("{address}.log"))).expect("a log"))
                .spawn()
                .expect("the service starts")
        })
        .collect();
    // By webhook: once the hooks are registered and the start's poll is worked, the
    // orders are placed, a hundred at a time, and the clock starts.
    let mut calls_before = None;
    if by_webhook {
        let registered = Instant::now();
        while !(bigcommerce.hooks("shop1").is_ok_and(|h| !h.is_empty())
            && queue(&addresses[0]).await == Some(0))
        {
            assert!(
                registered.elapsed() < Duration::from_secs(60),
                "the service did not register its hooks"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        calls_before = Some(bigcommerce.counters().requests);
        began = Instant::now();
        let mut placed = 0;
        while placed < orders {
            let batch = (orders - placed).min(100);
            bigcommerce
                .place_orders("shop1", batch as u32)
                .expect("orders placed");
            placed += batch;
        }
    }
    let mut quiet = 0;
    // Whether the queue has had jobs (the poll at start queues the backlog page by page,
    // faster than a page's jobs are worked, so it is not empty again before the end; by
    // webhook, the deliveries must be settled too, and once they are every job is queued:
    // a delivery is answered once its job is on disk, so an empty queue is then the end
    // even if no look saw a job waiting).
    let mut worked = false;
    let mut delivered_after = None;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let delivered = !by_webhook || bigcommerce.settle_deliveries("shop1", Duration::ZERO).await;
        if by_webhook && delivered && delivered_after.is_none() {
            delivered_after = Some((
                began.elapsed(),
                bigcommerce.counters().webhooks_failed_attempts,
            ));
        }
        match queue(&addresses[0]).await {
            Some(0) if (worked || by_webhook) && delivered => quiet += 1,
            Some(open) => {
                worked |= open > 0;
                quiet = 0;
            }
            None => quiet = 0,
        }
        if quiet == 3 {
            break;
        }
        for (child, address) in children.iter_mut().zip(&addresses) {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.join(format!("{address}.log")));
                panic!(
                    "a replica exited ({status}) before the backlog was worked:\n{}",
                    log.unwrap_or_default()
                );
            }
        }
        assert!(
            began.elapsed() < Duration::from_secs(1_800),
            "the backlog was not worked in 30 minutes"
        );
    }
    let elapsed = began.elapsed();
    let bigcommerce_calls = calls_before.map(|before| bigcommerce.counters().requests - before);
    let peak_kib = children
        .iter()
        .filter_map(|child| peak_resident_kib(child.id()))
        .max()
        .unwrap_or(0);
    let mut split = Split::default();
    for address in &addresses {
        split.read(address).await;
    }
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    // From the store: `/metrics` counts the done jobs at most every 30 s.
    let opened: Arc<dyn Store> = if ml_connector::store::postgres::is_url(store) {
        Arc::new(PostgresStore::open(store).expect("the store"))
    } else {
        Arc::new(SqliteStore::open(Path::new(store)).expect("the store"))
    };
    let jobs = opened.queue_depth(None).await.expect("the queue").done;
    let store_bytes = (!ml_connector::store::postgres::is_url(store)).then(|| {
        ["", "-wal"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{store}{suffix}")).ok())
            .map(|m| m.len())
            .sum()
    });
    Outcome {
        split,
        elapsed,
        jobs,
        journals: qad.ledger("acme").len(),
        peak_kib,
        store_bytes,
        bigcommerce_calls,
        delivered_after,
    }
}

/// A fresh schema on the server at `server`; its store URL.
async fn schema(server: &str, name: &str) -> String {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .expect("the PostgreSQL server answers");
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .await
        .expect("a schema for the run");
    let separator = if server.contains('?') { '&' } else { '?' };
    format!("{server}{separator}options=-csearch_path%3D{name}&application_name={name}")
}

async fn drop_schema(server: &str, name: &str) {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .expect("the PostgreSQL server answers");
    tokio::spawn(connection);
    let _ = client
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = '{name}' AND pid <> pg_backend_pid();
             DROP SCHEMA {name} CASCADE"
        ))
        .await;
}

fn report(what: &str, orders: u64, outcome: &Outcome) {
    let seconds = outcome.elapsed.as_secs_f64();
    println!(
        "| {what} | {seconds:.1} s | {} | {} | {:.0} | {:.0} | {} MiB | {} |",
        outcome.jobs,
        outcome.journals,
        outcome.jobs as f64 / seconds,
        orders as f64 / seconds,
        outcome.peak_kib / 1024,
        outcome.store_bytes.map_or("-".to_string(), |bytes| format!(
            "{:.1} KiB",
            bytes as f64 / 1024.0 / orders as f64
        )),
    );
    // The jobs' time and their waits, per order; jobs in flight at once overlap, so the
    // parts add up to more than the wall clock.
    let Split { micros, calls } = &outcome.split;
    let parts: Vec<String> = ["job", "bigcommerce", "plugin", "qad", "store"]
        .iter()
        .map(|part| {
            let spent = micros.get(*part).copied().unwrap_or(0);
            let count = calls.get(*part).copied().unwrap_or(0);
            format!(
                "{part} {:.2} ms ({:.2} calls)",
                spent as f64 / 1000.0 / orders as f64,
                count as f64 / orders as f64
            )
        })
        .collect();
    println!("|  | per order: {} |", parts.join(", "));
    if let Some(calls) = outcome.bigcommerce_calls {
        println!(
            "|  | by webhook: {calls} BigCommerce requests, {:.2} per order; every webhook delivered after {:.1} s, {} attempts failed |",
            calls as f64 / orders as f64,
            outcome.delivered_after.unwrap_or_default().0.as_secs_f64(),
            outcome.delivered_after.unwrap_or_default().1,
        );
    }
}

fn main() {
    let orders = orders();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let by_webhook = by_webhook();
        if by_webhook {
            println!("{orders} orders arriving by webhook");
        } else {
            println!("backlog of {orders} orders");
        }
        println!(
            "| store, replicas | time to an empty queue | jobs done | journals | jobs/s | orders/s | peak resident | store per order |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        let dir = tempfile::tempdir().expect("a directory");
        let sqlite = dir.path().join("store.db");
        let outcome = run(&sqlite.display().to_string(), dir.path(), 1, orders, by_webhook).await;
        report("SQLite, 1 process", orders, &outcome);
        if sqlite_only() || by_webhook {
            return;
        }
        let Ok(server) = std::env::var("ML_CONNECTOR_TEST_POSTGRES") else {
            println!("(PostgreSQL runs skipped: set ML_CONNECTOR_TEST_POSTGRES to a server URL)");
            return;
        };
        for replicas in 1..=3 {
            let name = format!("bench_replicas_{}_{replicas}", std::process::id());
            let url = schema(&server, &name).await;
            let dir = tempfile::tempdir().expect("a directory");
            let outcome = run(&url, dir.path(), replicas, orders, false).await;
            report(&format!("PostgreSQL, {replicas} replica(s)"), orders, &outcome);
            drop_schema(&server, &name).await;
        }
    });
}
