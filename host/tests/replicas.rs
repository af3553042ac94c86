//! Replicas of `run` on one PostgreSQL store: three processes, two connections (two
//! BigCommerce stores, two QAD tenants), about 2,000 orders with edits, cancellations and
//! refunds, webhook deliveries spread over the replicas by a round-robin balancer, and one
//! replica killed with SIGKILL every few seconds and started again. When the queue is
//! empty, each tenant's ledger must equal what one process working a SQLite store over the
//! same changes leaves, no reference may be posted twice, every schedule must have run,
//! and no request may reach a store with another store's token.
//!
//! Needs `ML_CONNECTOR_TEST_POSTGRES` (skips with a message without it; fails under
//! `CI=true`).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::fleet::{Fleet, changes, command, config, finish, fleet, idle, net};
use common::{ledger_of, postgres};

/// Orders in each store before the changes.
const ORDERS: u64 = 950;
/// How many times a replica is killed.
const KILLS: u32 = 10;
const REPLICAS: usize = 3;

fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// A TCP balancer on 127.0.0.1 that hands each connection to the next of `backends` that
/// accepts it (a killed replica's turn passes to the next). Returns its address.
async fn balancer(backends: Vec<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            let (backends, next) = (backends.clone(), next.clone());
            tokio::spawn(async move {
                for _ in 0..backends.len() * 4 {
                    let backend = &backends[next.fetch_add(1, Ordering::SeqCst) % backends.len()];
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        }
    });
    address
}

/// One replica's slot: its address, and the process now in it.
struct Replica {
    address: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Replica {
    fn start(&mut self, dir: &Path, config: &Path) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        self.child = Some(
            command(dir, config, &["run", "--listen", &self.address])
                .env("ML_CONNECTOR_LOG", "info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn up(&self) -> bool {
        reqwest::get(format!("http://{}/healthz", self.address))
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the replicas logged, every run of each.
fn logs(replicas: &[Replica]) -> String {
    replicas
        .iter()
        .map(|r| std::fs::read_to_string(&r.log).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// The lines of the replicas' logs that warn or tell of an error (at most 200).
fn notable(logs: &str) -> String {
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    lines[lines.len().saturating_sub(200)..].join("\n")
}

/// Each tenant's net ledger, after checking that no reference was posted twice in it.
fn ledgers(fleet: &Fleet) -> Vec<std::collections::BTreeMap<(String, String), i64>> {
    fleet
        .shops()
        .map(|(hash, tenant)| {
            let (_, references) = ledger_of(&fleet.qad, tenant);
            let unique: BTreeSet<&String> = references.iter().collect();
            assert_eq!(
                unique.len(),
                references.len(),
                "a reference was posted twice in {tenant}"
            );
            net(fleet, hash, tenant)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_killed_in_turn_leave_the_single_process_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let Some(schema) = postgres::Schema::create(dir.path()).await else {
        return;
    };
    let shops = [0, 1];
    let fleet = fleet(&shops, ORDERS).await;
    let mut replicas: Vec<Replica> = (0..REPLICAS)
        .map(|n| Replica {
            address: free_address(),
            child: None,
            log: dir.path().join(format!("replica-{n}.log")),
        })
        .collect();
    let public = balancer(replicas.iter().map(|r| r.address.clone()).collect()).await;
    let config = config(dir.path(), &fleet, &shops, "every 10s", Some(&public));
    for replica in &mut replicas {
        replica.start(dir.path(), &config);
    }
    for _ in 0..600 {
        if replicas[0].up().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut step = 0;
    for _ in 0..KILLS {
        changes(&fleet, step..step + 2);
        step += 2;
        tokio::time::sleep(Duration::from_millis(1_500 + random() % 2_500)).await;
        let victim = (random() % REPLICAS as u64) as usize;
        replicas[victim].kill();
        tokio::time::sleep(Duration::from_millis(random() % 1_000)).await;
        replicas[victim].start(dir.path(), &config);
    }
    let mut watched = None;
    for _ in 0..600 {
        if let Some(up) = replicas.iter().position(|r| r.child.is_some())
            && replicas[up].up().await
        {
            watched = Some(replicas[up].address.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let watched = watched.unwrap_or_else(|| panic!("no replica came up:\n{}", logs(&replicas)));
    idle(
        &fleet,
        &format!("http://{watched}"),
        Duration::from_secs(600),
    )
    .await;
    for replica in &mut replicas {
        replica.kill();
    }

    // One process, a SQLite store, the same stores and changes.
    let reference = common::fleet::fleet(&shops, ORDERS).await;
    changes(&reference, 0..step);
    let alone = tempfile::tempdir().unwrap();
    let alone_config = common::fleet::config(alone.path(), &reference, &shops, "every 1h", None);
    finish(command(alone.path(), &alone_config, &["sync", "--once"])).await;

    let expected = ledgers(&reference);
    let found = ledgers(&fleet);
    for ((hash, tenant), (found, expected)) in fleet.shops().zip(found.iter().zip(&expected)) {
        assert!(!expected.is_empty());
        // What differs, and what the replicas said that was not routine.
        let differ: Vec<_> = expected
            .keys()
            .chain(found.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|key| found.get(*key) != expected.get(*key))
            .map(|key| (key, found.get(key), expected.get(key)))
            .collect();
        if !differ.is_empty() {
            let mut story = String::new();
            let documents: BTreeSet<&str> = differ.iter().map(|((d, _), ..)| d.as_str()).collect();
            for document in documents {
                let (connection, document) = document.split_once(':').unwrap_or_default();
                let document = document.split(":refund").next().unwrap_or(document);
                let jobs = format!(
                    "SELECT id || ' ' || kind || ' ' || key || ' ' || state || ' attempts ' \
                     || attempts || ' created ' || created_at || ' updated ' || updated_at \
                     || ' ' || coalesce(last_error, '') FROM jobs \
                     WHERE connection = '{connection}' AND document = '{document}' ORDER BY id"
                );
                let audit = format!(
                    "SELECT seq || ' ' || at || ' ' || subject || ' ' || kind || ' ' \
                     || left(data, 400) FROM audit WHERE connection = '{connection}' \
                     AND (subject = '{document}' OR subject IN (SELECT 'job:' || id FROM jobs \
                     WHERE connection = '{connection}' AND document = '{document}')) ORDER BY seq"
                );
                story += &format!(
                    "{connection} {document}:\n  jobs:\n    {}\n  audit:\n    {}\n",
                    schema.query(&jobs).await.join("\n    "),
                    schema.query(&audit).await.join("\n    ")
                );
            }
            panic!(
                "{hash}'s ledger in {tenant} differs from one process's, (document, account): \
                 (found, expected): {differ:?}\n{story}\n{}",
                notable(&logs(&replicas))
            );
        }
    }
    assert_eq!(
        fleet.bigcommerce.counters().rejected_401,
        0,
        "no request reached a store with another store's token"
    );
    // Every schedule of every connection ran, claimed by one replica at a time.
    let ran = schema
        .query(
            "SELECT connection || '.' || name FROM schedule_runs
             WHERE started_at IS NOT NULL ORDER BY 1",
        )
        .await;
    assert_eq!(
        ran,
        [
            "shop1.hooks",
            "shop1.reconcile",
            "shop2.hooks",
            "shop2.reconcile"
        ],
        "{}",
        logs(&replicas)
    );
    let retaken = schema
        .query("SELECT count(*) FROM jobs WHERE attempts > 1")
        .await;
    let done = schema
        .query("SELECT count(*) FROM jobs WHERE state = 'done'")
        .await;
    eprintln!(
        "jobs done: {done:?}; leased more than once (a replica killed mid-job, or a retry): {retaken:?}"
    );
    let orders: u64 = fleet
        .shops()
        .map(|(hash, _)| fleet.bigcommerce.data(hash).unwrap().orders.len() as u64)
        .sum();
    assert!(orders >= 1_950, "{orders} orders");
}
