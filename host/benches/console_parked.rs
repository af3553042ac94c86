//! The console's parked list with a large store: 100,000 parked jobs among 200,000
//! (the rest done), answered by the console's router as the server runs it (a logged-in
//! session, the store on SQLite). Reports the server-side time per page: the first page,
//! a filtered page (one connection and kind), and a page deep in the list.
//!
//! `cargo bench -p ml-connector --bench console_parked` (options: `-- --parked N
//! --rounds R`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ml_connector::console::auth::{Operators, Sessions};
use ml_connector::console::{self, Console};
use ml_connector::secrets::{MasterKey, Secrets};
use ml_connector::store::{NewJob, SqliteStore, Store};
use tower_service::Service;

fn option(flag: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn main() {
    let parked = option("--parked", 100_000);
    let rounds = option("--rounds", 50);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        // Twice as many jobs as parked ones, queued a thousand to a transaction, over two
        // connections and three kinds; then every other one parked, the rest done.
        let started = Instant::now();
        let kinds = ["order", "refund", "customer"];
        for chunk in 0..(2 * parked).div_ceil(1_000) {
            let jobs: Vec<NewJob> = (chunk * 1_000..((chunk + 1) * 1_000).min(2 * parked))
                .map(|n| NewJob {
                    connection: if n % 4 < 2 { "east" } else { "west" }.into(),
                    kind: kinds[n % 3].into(),
                    key: format!("k{n}"),
                    document: format!("order:{n}"),
                    payload: format!(r#"{{"order_id":{n},"source":"poll"}}"#),
                    not_before: None,
                })
                .collect();
            store.enqueue_all(&jobs).await.unwrap();
        }
        {
            let db = rusqlite::Connection::open(&path).unwrap();
            db.execute_batch(
                "UPDATE jobs SET state = 'parked', last_error = 'QAD refused it: postingPeriod: \
                 GL period 2026/11 of entity 10USACO is Closed.' WHERE id % 2 = 0;
                 UPDATE jobs SET state = 'done' WHERE id % 2 = 1;",
            )
            .unwrap();
        }
        let depth = store.queue_depth(None).await.unwrap();
        eprintln!(
            "{} parked and {} done jobs written in {:.1?}",
            depth.parked,
            depth.done,
            started.elapsed()
        );

        let key = MasterKey::parse(hex::encode([7u8; 32]).as_bytes(), "bench").unwrap();
        let console = Arc::new(Console {
            store: store.clone(),
            connections: BTreeMap::new(),
            operators: Operators::new(Secrets::at(&dir.path().join("secrets.db")), Arc::new(key)),
            sessions: Sessions::new(store.clone()),
            secure: false,
            origin: None,
            replayed: Arc::new(|_: &str| {}),
            reconciles: Default::default(),
            plugins: None,
        });
        let cookie = format!(
            "{}={}",
            console::auth::COOKIE,
            console.sessions.start("bench").await.unwrap()
        );
        let router = console::router(console);
        let deep = format!("/parked?before={}", 2 * parked - 2 * 50_000.min(parked / 2));
        for (name, uri) in [
            ("first page", "/parked".to_string()),
            (
                "filtered: west, refund",
                "/parked?connection=west&kind=refund".to_string(),
            ),
            ("deep page", deep),
        ] {
            let mut times = Vec::with_capacity(rounds);
            let mut bytes = 0;
            for _ in 0..rounds {
                let request = Request::get(&uri)
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap();
                let started = Instant::now();
                let response = router.clone().call(request).await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap();
                times.push(started.elapsed());
                bytes = body.len();
                assert!(
                    String::from_utf8_lossy(&body).contains("100 shown, newest first"),
                    "a full page"
                );
            }
            times.sort();
            println!(
                "{name:<24} median {:>8.2?}  p95 {:>8.2?}  max {:>8.2?}  ({} KiB, {rounds} rounds)",
                percentile(&times, 0.5),
                percentile(&times, 0.95),
                times[times.len() - 1],
                bytes / 1024,
            );
        }
    });
}
