//! The BigCommerce client against the store simulator over real HTTP on 127.0.0.1:
//! paging, 204 as an empty page, a wrong token, and a 429 storm under a small quota.

use std::sync::Arc;
use std::time::Duration;

use ml_connector::bigcommerce::{Client, ClientError, Pacer, StoreConfig};
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore, generate_orders};
use time::OffsetDateTime;
use time::macros::datetime;

const START: OffsetDateTime = datetime!(2026-11-01 08:00 UTC);

fn store(orders: u64, quota: u32, window: Duration) -> SimStore {
    SimStore {
        hash: "abc123".into(),
        token: "good-token".into(),
        quota,
        window,
        orders: generate_orders(orders, START),
    }
}

fn client(sim: &BigCommerceSim, token: &str) -> Client {
    let config = StoreConfig::at(&format!("{}/stores/abc123", sim.base_url()), token);
    Client::new(config, Arc::new(Pacer::new())).unwrap()
}

#[tokio::test]
async fn orders_are_read_across_pages_and_an_empty_page_is_204() {
    let sim = BigCommerceSim::start(vec![store(620, 10_000, Duration::from_secs(30))])
        .await
        .unwrap();
    let client = client(&sim, "good-token");
    let orders = client.orders_modified_since(None).await.unwrap();
    assert_eq!(orders.len(), 620);
    assert!(
        orders
            .windows(2)
            .all(|w| w[0].date_modified <= w[1].date_modified)
    );
    assert_eq!(
        sim.counters().requests,
        3,
        "250 + 250 + 120: the short page ends the list"
    );
    // Money arrives as "12.3400" strings and is exact.
    assert_eq!(orders[0].total_inc_tax, 10_000);
    assert_eq!(orders[1].total_inc_tax, 11_234);

    let since = START + time::Duration::minutes(600);
    let recent = client.orders_modified_since(Some(since)).await.unwrap();
    assert_eq!(recent.len(), 20);
    assert_eq!(recent[0].id, 700);

    let beyond = client.orders_page(None, 9, 250).await.unwrap();
    assert!(
        beyond.is_empty(),
        "a page past the end is a 204, read as empty"
    );
    assert_eq!(client.order(105).await.unwrap().unwrap().id, 105);
    assert_eq!(client.order(99_999).await.unwrap(), None);
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_error_and_is_not_retried() {
    let sim = BigCommerceSim::start(vec![store(10, 150, Duration::from_secs(30))])
        .await
        .unwrap();
    let error = client(&sim, "wrong-token")
        .orders_page(None, 1, 50)
        .await
        .unwrap_err();
    let ClientError::Api(api) = &error else {
        panic!("expected an API error, got {error}")
    };
    assert_eq!(api.status, 401);
    assert!(!error.is_retryable());
    assert_eq!(
        error.to_string(),
        "BigCommerce answered 401: You have not been authorized."
    );
    assert_eq!(sim.counters().requests, 1, "no retry loop on a wrong token");
}

#[tokio::test]
async fn a_429_storm_is_paced_and_the_work_completes() {
    // BigCommerce Standard's 150 requests per window, with the window compressed to 1 s.
    let sim = BigCommerceSim::start(vec![store(400, 150, Duration::from_secs(1))])
        .await
        .unwrap();
    let client = client(&sim, "good-token");
    let mut workers = Vec::new();
    for worker in 0..4_u64 {
        let client = client.clone();
        workers.push(tokio::spawn(async move {
            for i in 0..100 {
                let id = 100 + (worker * 100 + i) % 400;
                assert_eq!(client.order(id).await.unwrap().unwrap().id, id);
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let counters = sim.counters();
    assert_eq!(
        counters.requests - counters.rejected_429,
        400,
        "every order was read once"
    );
    // The first answers teach the pacer the quota; after that it waits for the reset.
    assert!(
        counters.rejected_429 <= 4,
        "{} requests were refused with 429",
        counters.rejected_429
    );
}
