//! Webhook ingress: signed BigCommerce deliveries sent by a load generator on 127.0.0.1
//! to the service's real intake (signature check on the raw body, parsing, and the
//! durable write of the delivery, its job and its audit entry to a SQLite store with
//! full disk syncs, batched across concurrent deliveries) until each is answered 200.
//! Reports sustained deliveries per second and latency percentiles.
//!
//! `cargo bench -p ml-connector --bench webhook_ingress` (options: `-- --total N
//! --concurrency C`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ml_connector::bigcommerce::WebhookAuth;
use ml_connector::bigcommerce::signature::signature_header;
use ml_connector::server::{self, ConnectionHooks, ServerState};
use ml_connector::store::{SqliteStore, Store};

const SECRET: &str = "bench-client-secret";

struct Options {
    total: usize,
    concurrency: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Options {
        total: value("--total", 30_000),
        concurrency: value("--concurrency", 64),
    }
}

/// One delivery: its headers and body, signed in advance (the generator should not
/// spend the machine's time on what BigCommerce computes).
fn delivery(n: usize, now: i64) -> (String, String, String) {
    let id = format!("msg_{n:08}");
    let body = format!(
        r#"{{"created_at":{now},"store_id":"1001","producer":"stores/bench","scope":"store/order/updated","data":{{"type":"order","id":{}}},"hash":"{n:040x}"}}"#,
        100 + n
    );
    let signature = signature_header(SECRET, &id, now, body.as_bytes());
    (id, signature, body)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("bench.db")).unwrap());
        let state = Arc::new(ServerState {
            connections: BTreeMap::from([(
                "bench".to_string(),
                ConnectionHooks {
                    store_hash: "bench".into(),
                    auth: WebhookAuth {
                        client_secret: Some(SECRET.into()),
                        shared_header: None,
                    },
                },
            )]),
            store: store.clone(),
            intake: ml_connector::sources::webhooks::intake(store.clone(), |_| {}),
            queue: Default::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/webhooks/bigcommerce/bench",
            listener.local_addr().unwrap()
        );
        tokio::spawn(server::serve(
            listener,
            server::router(state),
            server::Limits::default(),
            std::future::pending(),
        ));

        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let deliveries: Vec<_> = (0..options.total).map(|n| delivery(n, now)).collect();
        let deliveries = Arc::new(deliveries);
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(options.concurrency)
            .build()
            .unwrap();
        // Warm-up: connections open, the store's pages in cache.
        for n in 0..options.concurrency.min(options.total) {
            let (id, signature, body) = delivery(options.total + n, now);
            let answer = client
                .post(&url)
                .header("webhook-id", id)
                .header("webhook-timestamp", now.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
        }

        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..options.concurrency {
            let (client, url, deliveries, next) =
                (client.clone(), url.clone(), deliveries.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((id, signature, body)) = deliveries.get(n) else {
                        return latencies;
                    };
                    let sent = Instant::now();
                    let answer = client
                        .post(&url)
                        .header("webhook-id", id)
                        .header("webhook-timestamp", now.to_string())
                        .header("webhook-signature", signature)
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
                    latencies.push(sent.elapsed());
                }
            }));
        }
        let mut latencies = Vec::with_capacity(options.total);
        for task in tasks {
            latencies.extend(task.await.unwrap());
        }
        let elapsed = started.elapsed();
        latencies.sort();
        let depth = store.queue_depth(None).await.unwrap();
        assert_eq!(
            depth.ready as usize,
            options.total + options.concurrency,
            "every delivery queued its job"
        );
        println!(
            "webhook ingress: {} deliveries, {} concurrent, in {:.2} s: {:.0}/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            options.total,
            options.concurrency,
            elapsed.as_secs_f64(),
            options.total as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.90).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().unwrap().as_secs_f64() * 1e3,
        );
    });
}
