//! The BigCommerce client against the store simulator over real HTTP on 127.0.0.1:
//! paging and 204s, a wrong token, a 429 storm under the Standard plan's quota, injected
//! faults (500s, dropped connections, slow answers, 429s without headers), refund
//! serialisation, cursor paging, and webhooks: the simulator's signed deliveries checked by
//! the connector's verifier, retries, deactivation after the (compressed) failure window
//! and reactivation.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::HeaderMap;
use futures_util::future::join_all;
use ml_connector::bigcommerce::customers::NewCustomer;
use ml_connector::bigcommerce::hooks::{HookUpdate, NewHook};
use ml_connector::bigcommerce::orders::{RefundRequest, RefundRequestItem, RefundRequestPayment};
use ml_connector::bigcommerce::wire::Number;
use ml_connector::bigcommerce::{Client, ClientError, Pacer, Rejection, StoreConfig, WebhookAuth};
use ml_connector::flows::ports::OrderSource;
use ml_connector_sim::bigcommerce::{
    BigCommerceSim, Fault, FaultKind, SimOptions, SimStore, StoreData,
};
use ml_connector_tests::WebhookReceiver;
use time::OffsetDateTime;
use time::macros::datetime;

const START: OffsetDateTime = datetime!(2026-11-01 08:00 UTC);

fn store(orders: u64, quota: u32, window: Duration) -> SimStore {
    SimStore::new("abc123", "good-token")
        .with_quota(quota, window)
        .with_orders(orders, START, 3)
}

fn client(sim: &BigCommerceSim, token: &str) -> Client {
    let mut config = StoreConfig::at(&sim.api_root("abc123"), token);
    config.timeout = Duration::from_secs(2);
    Client::new(config, Arc::new(Pacer::new())).unwrap()
}

async fn started(store: SimStore) -> BigCommerceSim {
    BigCommerceSim::start(vec![store]).await.unwrap()
}

#[tokio::test]
async fn orders_are_read_across_pages_with_their_lines_and_an_empty_page_is_204() {
    let sim = started(store(620, 10_000, Duration::from_secs(30))).await;
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
    // Lines come with the list, and money is exact.
    let data = sim.data("abc123").unwrap();
    for order in &orders {
        let expected = data.orders.iter().find(|o| o.id == order.id).unwrap();
        assert_eq!(order.total_inc_tax, expected.total_inc_tax());
        let lines = order.lines.as_ref().expect("lines included");
        assert_eq!(lines.len(), expected.lines.len());
        let sum: i64 = lines.iter().map(|l| l.total_ex_tax).sum();
        assert_eq!(sum, order.subtotal_ex_tax, "order {}", order.id);
    }

    let since = orders[600].date_modified;
    let recent = client.orders_modified_since(Some(since)).await.unwrap();
    assert!(recent.iter().all(|o| o.date_modified >= since));
    assert!(recent.len() >= 20);

    let beyond = client.orders_page(None, 9, 250).await.unwrap();
    assert!(
        beyond.is_empty(),
        "a page past the end is a 204, read as empty"
    );
    assert_eq!(client.order(105).await.unwrap().unwrap().id, 105);
    assert_eq!(client.order(99_999).await.unwrap(), None);
}

#[tokio::test]
async fn a_full_order_is_read_with_as_few_calls_as_it_needs() {
    let sim = started(store(200, 10_000, Duration::from_secs(30))).await;
    let client = client(&sim, "good-token");
    let data = sim.data("abc123").unwrap();
    let plain = data
        .orders
        .iter()
        .find(|o| o.coupon.is_some() && o.refunds.is_empty() && o.status_id == 11)
        .unwrap();
    let before = sim.counters().requests;
    let full = client.full_order(plain.id).await.unwrap().unwrap();
    assert_eq!(
        sim.counters().requests - before,
        2,
        "the order with its lines (and so its coupon), then its transactions"
    );
    let coupon = plain.coupon.as_ref().unwrap();
    assert_eq!(
        full.discounts[0].code.as_deref(),
        Some(coupon.code.as_str())
    );
    assert_eq!(full.discounts[0].amount, coupon.discount);
    assert_eq!(full.transactions.len(), 1);
    assert_eq!(full.transactions[0].amount, plain.total_inc_tax());

    let refunded = data
        .orders
        .iter()
        .find(|o| !o.refunds.is_empty() && o.coupon.is_some())
        .or_else(|| data.orders.iter().find(|o| !o.refunds.is_empty()))
        .unwrap();
    let full = client.full_order(refunded.id).await.unwrap().unwrap();
    assert_eq!(full.refunds.len(), refunded.refunds.len());
    assert_eq!(
        full.refunds[0].total_amount,
        refunded.refunds[0].total_amount
    );
    // The coupon comes from the lines' applied discounts, to the cent.
    let coupon = full.discounts.iter().find(|d| d.code.is_some());
    assert_eq!(
        coupon.map(|d| d.amount),
        refunded.coupon.as_ref().map(|c| c.discount)
    );
    let statuses = client.order_statuses().await.unwrap();
    assert_eq!(statuses[&11].name, "Awaiting Fulfillment");
    assert_eq!(
        statuses[&11].custom_label, "Ready to pick",
        "renamed by the merchant"
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_error_and_is_not_retried() {
    let sim = started(store(10, 150, Duration::from_secs(30))).await;
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
    let sim = started(store(400, 150, Duration::from_secs(1))).await;
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

fn fault(kind: FaultKind, remaining: u32, path: &str) -> Fault {
    Fault {
        kind,
        remaining,
        path_contains: Some(path.into()),
    }
}

#[tokio::test]
async fn injected_faults_are_retried_and_the_reads_complete() {
    let sim = started(store(20, 10_000, Duration::from_secs(30))).await;
    let client = client(&sim, "good-token");
    sim.inject("abc123", fault(FaultKind::ServerError, 2, "/v2/orders/101"))
        .unwrap();
    assert_eq!(client.order(101).await.unwrap().unwrap().id, 101);
    sim.inject("abc123", fault(FaultKind::Drop, 2, "/v2/orders/102"))
        .unwrap();
    assert_eq!(client.order(102).await.unwrap().unwrap().id, 102);
    sim.inject("abc123", fault(FaultKind::Burst429, 2, "/v2/orders/103"))
        .unwrap();
    assert_eq!(client.order(103).await.unwrap().unwrap().id, 103);
    // Slower than the client's 2 s timeout once, then normal.
    sim.inject(
        "abc123",
        fault(
            FaultKind::Slow {
                delay: Duration::from_millis(2_500),
            },
            1,
            "/v2/orders/104",
        ),
    )
    .unwrap();
    assert_eq!(client.order(104).await.unwrap().unwrap().id, 104);
    assert_eq!(sim.counters().faults_injected, 7);

    // Five 500s in a row exhaust the attempts: a clear, retryable error.
    sim.inject("abc123", fault(FaultKind::ServerError, 5, "/v2/orders/105"))
        .unwrap();
    let error = client.order(105).await.unwrap_err();
    assert!(error.is_retryable());
    assert!(error.to_string().contains("500"), "{error}");
}

#[tokio::test]
async fn a_post_that_may_have_been_processed_is_not_sent_again() {
    let sim = started(store(5, 10_000, Duration::from_secs(30))).await;
    let client = client(&sim, "good-token");
    sim.inject("abc123", fault(FaultKind::ServerError, 1, "/v3/customers"))
        .unwrap();
    let shopper = NewCustomer {
        email: "once@example.org".into(),
        first_name: "Only".into(),
        last_name: "Once".into(),
        company: String::new(),
        phone: String::new(),
    };
    let before = sim.counters().requests;
    let error = client
        .create_customers(std::slice::from_ref(&shopper))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert!(error.is_retryable(), "the caller may look and try again");
    assert_eq!(
        sim.counters().requests - before,
        1,
        "not re-sent by the client"
    );
    // A 429 is refused before processing, so that one is re-sent.
    sim.inject("abc123", fault(FaultKind::Burst429, 1, "/v3/customers"))
        .unwrap();
    let created = client.create_customers(&[shopper]).await.unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(
        client
            .customers_by_email(&[" ONCE@example.org "])
            .await
            .unwrap()
            .len(),
        1
    );
}

fn paid_order(data: &StoreData) -> &ml_connector_sim::bigcommerce::model::Order {
    data.orders
        .iter()
        .find(|o| {
            o.status_id == 11
                && o.coupon.is_none()
                && o.discount_amount == 0
                && o.lines.iter().map(|l| l.quantity).sum::<u32>() >= 3
        })
        .expect("a paid order with three units")
}

fn one_unit(order: &ml_connector_sim::bigcommerce::model::Order, line: usize) -> RefundRequest {
    let line = &order.lines[line];
    RefundRequest {
        items: vec![RefundRequestItem {
            item_type: "PRODUCT".into(),
            item_id: line.id,
            quantity: Some(1),
            amount: None,
            reason: None,
        }],
        payments: vec![RefundRequestPayment {
            provider_id: order.gateway.clone(),
            amount: Number(line.price_ex_tax + line.unit_tax),
            offline: false,
        }],
    }
}

#[tokio::test]
async fn refunds_on_one_order_are_serialised_by_the_client() {
    let options = SimOptions {
        refund_processing: Duration::from_millis(100),
        ..SimOptions::default()
    };
    let sim = BigCommerceSim::start_with(
        vec![store(80, 10_000, Duration::from_secs(30))],
        options,
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let data = sim.data("abc123").unwrap();
    let order = paid_order(&data).clone();
    let units: Vec<usize> = order
        .lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| std::iter::repeat_n(i, l.quantity as usize))
        .take(3)
        .collect();

    // Straight to the API, three at once: BigCommerce refuses the overlapping ones.
    let http = reqwest::Client::new();
    let url = format!(
        "{}/v3/orders/{}/payment_actions/refunds",
        sim.api_root("abc123"),
        order.id
    );
    let raw = units.iter().map(|&line| {
        let request = http
            .post(&url)
            .header("x-auth-token", "good-token")
            .json(&one_unit(&order, line));
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = join_all(raw).await;
    assert!(statuses.contains(&201));
    assert!(statuses.contains(&422), "{statuses:?}");
    let refused_raw = sim.counters().refunds_refused_in_progress;
    assert!(refused_raw >= 1);

    // Through the client, three at once: each waits for the one before.
    let other = data
        .orders
        .iter()
        .filter(|o| o.id != order.id)
        .find(|o| {
            o.status_id == 11
                && o.coupon.is_none()
                && o.discount_amount == 0
                && o.lines.iter().map(|l| l.quantity).sum::<u32>() >= 3
        })
        .unwrap()
        .clone();
    let client = client(&sim, "good-token");
    let units: Vec<usize> = other
        .lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| std::iter::repeat_n(i, l.quantity as usize))
        .take(3)
        .collect();
    let calls = units.iter().map(|&line| {
        let client = client.clone();
        let request = one_unit(&other, line);
        let id = other.id;
        async move { client.create_refund(id, &request).await }
    });
    for result in join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(
        sim.counters().refunds_refused_in_progress,
        refused_raw,
        "no refund from the client was refused as concurrent"
    );
    assert_eq!(client.order_refunds(other.id).await.unwrap().len(), 3);
}

#[tokio::test]
async fn customers_are_paged_by_cursor_and_created_in_batches_of_ten() {
    let sim = started(store(90, 10_000, Duration::from_secs(30))).await;
    let client = client(&sim, "good-token");
    let existing = sim.data("abc123").unwrap().customers.len();
    let shoppers: Vec<NewCustomer> = (0..23)
        .map(|n| NewCustomer {
            email: format!("shopper{n}@example.org"),
            first_name: "Shopper".into(),
            last_name: n.to_string(),
            company: String::new(),
            phone: String::new(),
        })
        .collect();
    let before = sim.counters().requests;
    assert_eq!(client.create_customers(&shoppers).await.unwrap().len(), 23);
    assert_eq!(sim.counters().requests - before, 3, "10 + 10 + 3");
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = client.customers_after(cursor.as_deref(), 7).await.unwrap();
        seen.extend(page.customers.iter().map(|c| c.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), existing + 23);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "no gaps or repeats");
    assert_eq!(client.all_customers().await.unwrap().len(), existing + 23);
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn verify(auth: &WebhookAuth, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), Rejection> {
    auth.verify(
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        body,
        now,
    )
}

#[tokio::test]
async fn simulator_deliveries_are_signed_as_the_connector_verifies_them() {
    let sim = started(store(10, 10_000, Duration::from_secs(30))).await;
    let client = client(&sim, "good-token");
    let receiver = WebhookReceiver::start().await;
    client
        .create_hook(&NewHook {
            scope: "store/order/*".into(),
            destination: receiver.url.clone(),
            is_active: true,
            headers: BTreeMap::from([("x-connector-key".to_string(), "k3y".to_string())]),
        })
        .await
        .unwrap();
    let ids = sim.place_orders("abc123", 3).unwrap();
    assert!(
        sim.settle_deliveries("abc123", Duration::from_secs(5))
            .await
    );
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    let auth = WebhookAuth {
        client_secret: Some("secret-abc123".into()),
        shared_header: Some(("X-Connector-Key".into(), "k3y".into())),
    };
    for (headers, body) in &received {
        verify(&auth, headers, body, unix_now()).unwrap();
        let payload: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(payload["scope"], "store/order/created");
        assert!(ids.contains(&payload["data"]["id"].as_u64().unwrap()));
        assert_eq!(payload["hash"].as_str().unwrap().len(), 40, "SHA-1 hex");
    }
    let (headers, body) = &received[0];
    // Tampered body, wrong secret, stale timestamp, missing headers: all refused.
    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    assert_eq!(
        verify(&auth, headers, &tampered, unix_now()),
        Err(Rejection::BadSignature)
    );
    let wrong = WebhookAuth {
        client_secret: Some("another-secret".into()),
        shared_header: None,
    };
    assert_eq!(
        verify(&wrong, headers, body, unix_now()),
        Err(Rejection::BadSignature)
    );
    assert!(matches!(
        verify(&auth, headers, body, unix_now() + 600),
        Err(Rejection::Stale(_))
    ));
    let mut stripped = headers.clone();
    stripped.remove("webhook-signature");
    assert_eq!(
        verify(&auth, &stripped, body, unix_now()),
        Err(Rejection::MissingHeader("webhook-signature"))
    );
}

#[tokio::test]
async fn a_failing_destination_is_retried_then_deactivated_and_can_be_reactivated() {
    // 48 hours of BigCommerce's retry schedule in under two seconds.
    let options = SimOptions {
        speedup: 200_000,
        ..SimOptions::default()
    };
    let sim = BigCommerceSim::start_with(
        vec![store(10, 10_000, Duration::from_secs(30))],
        options,
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let client = client(&sim, "good-token");
    let receiver = WebhookReceiver::start().await;
    receiver.status.store(503, Ordering::SeqCst);
    let hook = client
        .create_hook(&NewHook {
            scope: "store/order/created".into(),
            destination: receiver.url.clone(),
            is_active: true,
            headers: BTreeMap::new(),
        })
        .await
        .unwrap();
    sim.place_orders("abc123", 1).unwrap();
    assert!(
        sim.settle_deliveries("abc123", Duration::from_secs(10))
            .await
    );
    let deliveries = sim.deliveries("abc123").unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].state, "failed");
    assert_eq!(deliveries[0].attempts, 12, "the first try and 11 retries");
    assert_eq!(receiver.received.lock().unwrap().len(), 12);
    let hooks = client.hooks().await.unwrap();
    assert!(!hooks[0].is_active, "deactivated after the final retry");

    // While deactivated, events are not delivered (BigCommerce does not queue them).
    sim.place_orders("abc123", 1).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(sim.deliveries("abc123").unwrap().len(), 1);

    receiver.status.store(200, Ordering::SeqCst);
    let reactivated = client
        .update_hook(
            hook.id,
            &HookUpdate {
                is_active: Some(true),
                ..HookUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(reactivated.is_active);
    sim.place_orders("abc123", 1).unwrap();
    assert!(
        sim.settle_deliveries("abc123", Duration::from_secs(5))
            .await
    );
    let states: Vec<String> = sim
        .deliveries("abc123")
        .unwrap()
        .into_iter()
        .map(|d| d.state)
        .collect();
    assert_eq!(states, ["failed", "delivered"]);
}

/// A server on 127.0.0.1 that answers every request with a redirect to `to`, and one that
/// counts what reaches it and whether it carried a token.
async fn redirecting(status: u16, to: String) -> String {
    let app = axum::Router::new().fallback(move || {
        let to = to.clone();
        async move {
            axum::response::Response::builder()
                .status(status)
                .header("location", to)
                .body(axum::body::Body::empty())
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_token_goes_nowhere_else() {
    let reached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = reached.clone();
    let elsewhere = axum::Router::new().fallback(move |headers: HeaderMap| {
        let counter = counter.clone();
        async move {
            if headers.contains_key("x-auth-token") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, elsewhere).await });
    for status in [301, 302, 307, 308] {
        let root = redirecting(status, format!("http://{other}/stores/abc123/v2/store")).await;
        let mut config = StoreConfig::at(&format!("{root}/stores/abc123"), "good-token");
        config.timeout = Duration::from_secs(2);
        config.max_attempts = 1;
        let client = Client::new(config, Arc::new(Pacer::new())).unwrap();
        assert!(client.store_information().await.is_err(), "{status}");
    }
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the token followed a redirect"
    );
}

#[test]
fn credentials_travel_only_over_https_outside_loopback() {
    let error = Client::new(
        StoreConfig::at("http://api.example.com/stores/abc123", "good-token"),
        Arc::new(Pacer::new()),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(error.contains("is plain http"), "{error}");
}
