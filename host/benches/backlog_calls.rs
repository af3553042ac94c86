//! BigCommerce calls per order when reading a backlog of 1,000 orders, the way the
//! reconciliation poll does: the changed orders page by page with their lines (and so
//! their discounts) included, the refunds across orders page by page, then what each
//! order needs beyond that (its transactions, when paid). The store quota (150 requests per 30 s on Standard and Plus) is the real limit,
//! so fewer calls is speed; the simulator's window is compressed and the figures report
//! what the same calls cost at the real quota.
//!
//! Also measured, for comparison: the straightforward read (one order, then its products,
//! shipping addresses, coupons, transactions and refunds: six calls each).
//!
//! `cargo bench -p ml-connector --bench backlog_calls`

use std::sync::Arc;
use std::time::{Duration, Instant};

use ml_connector::bigcommerce::orders::RefundsByOrder;
use ml_connector::bigcommerce::{Client, Pacer, StoreConfig};
use ml_connector::flows::ports::OrderSource;
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use time::macros::datetime;

const ORDERS: u64 = 1_000;
/// BigCommerce Standard and Plus.
const QUOTA: u32 = 150;
const REAL_WINDOW: Duration = Duration::from_secs(30);
/// The simulator's window: the same quota, 100 times faster.
const SIM_WINDOW: Duration = Duration::from_millis(300);
/// Orders completed concurrently (the pacer shares the quota between them).
const WORKERS: usize = 8;

struct Run {
    name: &'static str,
    calls: u64,
    rejected_429: u64,
    elapsed: Duration,
}

async fn backlog(optimised: bool) -> Run {
    let start = datetime!(2026-11-01 00:00 UTC);
    let store = SimStore::new("bench", "token")
        .with_quota(QUOTA, SIM_WINDOW)
        .with_orders(ORDERS, start, 42);
    let sim = BigCommerceSim::start(vec![store]).await.expect("simulator");
    let client = Client::new(
        StoreConfig::at(&sim.api_root("bench"), "token"),
        Arc::new(Pacer::new()),
    )
    .expect("client");
    let began = Instant::now();
    let ids: Vec<u64> = if optimised {
        let orders = client.orders_modified_since(None).await.expect("orders");
        assert_eq!(orders.len() as u64, ORDERS);
        let refunds = Arc::new(RefundsByOrder::new(
            client.refunds_created_since(start).await.expect("refunds"),
        ));
        let queue = Arc::new(std::sync::Mutex::new(orders));
        let mut workers = Vec::new();
        for _ in 0..WORKERS {
            let (client, queue, refunds) = (client.clone(), queue.clone(), refunds.clone());
            workers.push(tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let next = queue.lock().expect("queue").pop();
                    let Some(order) = next else { break done };
                    let full = client.complete_order(order, &refunds).await.expect("order");
                    assert!(!full.products.is_empty());
                    done.push(full.order.id);
                }
            }));
        }
        let mut ids = Vec::new();
        for worker in workers {
            ids.extend(worker.await.expect("worker"));
        }
        ids
    } else {
        let orders = client.orders_modified_since(None).await.expect("orders");
        let queue = Arc::new(std::sync::Mutex::new(
            orders.into_iter().map(|o| o.id).collect::<Vec<_>>(),
        ));
        let mut workers = Vec::new();
        for _ in 0..WORKERS {
            let (client, queue) = (client.clone(), queue.clone());
            workers.push(tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let next = queue.lock().expect("queue").pop();
                    let Some(id) = next else { break done };
                    client.order(id).await.expect("order");
                    client.order_products(id).await.expect("products");
                    client
                        .order_shipping_addresses(id)
                        .await
                        .expect("addresses");
                    client.order_coupons(id).await.expect("coupons");
                    client.order_transactions(id).await.expect("transactions");
                    client.order_refunds(id).await.expect("refunds");
                    done.push(id);
                }
            }));
        }
        let mut ids = Vec::new();
        for worker in workers {
            ids.extend(worker.await.expect("worker"));
        }
        ids
    };
    let elapsed = began.elapsed();
    assert_eq!(ids.len() as u64, ORDERS);
    let counters = sim.counters();
    Run {
        name: if optimised {
            "lines included, sub-reads only when needed"
        } else {
            "one call per sub-resource"
        },
        calls: counters.requests - counters.rejected_429,
        rejected_429: counters.rejected_429,
        elapsed,
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "Reading a backlog of {ORDERS} orders; quota {QUOTA} per {} s (simulated as {} ms)",
        REAL_WINDOW.as_secs(),
        SIM_WINDOW.as_millis()
    );
    println!(
        "{:<45} {:>8} {:>10} {:>6} {:>12} {:>18}",
        "read", "calls", "per order", "429s", "sim elapsed", "at the real quota"
    );
    for optimised in [true, false] {
        let run = runtime.block_on(backlog(optimised));
        let windows = run.calls.div_ceil(u64::from(QUOTA));
        let real = REAL_WINDOW.as_secs() * windows.saturating_sub(1);
        println!(
            "{:<45} {:>8} {:>10.3} {:>6} {:>10.2} s {:>12} min {:>2} s",
            run.name,
            run.calls,
            run.calls as f64 / ORDERS as f64,
            run.rejected_429,
            run.elapsed.as_secs_f64(),
            real / 60,
            real % 60,
        );
    }
}
