//! The QAD simulator's injected faults and its control API over real HTTP.

mod common;

use std::time::{Duration, Instant};

use ml_connector_sim::qad::{QadFault, QadFaultAction};
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{Client, ITEM_VIEW, order_entry, start};

#[tokio::test]
async fn injected_faults_have_their_shapes() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let items = format!("/api/erp/items?itemCode=SKU-0100&viewUri={ITEM_VIEW}");
    let raw = |path: String| {
        let request = client.request(reqwest::Method::GET, &path);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let kind = response.headers().get("content-type").cloned();
            (status, kind, response.text().await.unwrap())
        }
    };
    for action in [
        QadFaultAction::Html502,
        QadFaultAction::Http500,
        QadFaultAction::TruncateJson,
        QadFaultAction::Unauthorized401Once,
    ] {
        sim.inject("acme", QadFault::new(action, 1).on("/api/erp/items"));
    }
    let (status, kind, body) = raw(items.clone()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(kind.unwrap(), "text/html");
    assert!(body.contains("<title>502 Bad Gateway</title>"));
    let (status, _, body) = raw(items.clone()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["code"], "500");
    let (status, _, body) = raw(items.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        serde_json::from_str::<Value>(&body).is_err(),
        "truncated: {body}"
    );
    assert!(body.starts_with("{\"data\""));
    let (status, _, _) = raw(items.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = raw(items.clone()).await;
    assert_eq!(status, StatusCode::OK, "the faults are used up");

    sim.inject(
        "acme",
        QadFault::new(QadFaultAction::Delay(Duration::from_millis(150)), 1),
    );
    let started = Instant::now();
    assert_eq!(raw(items).await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(sim.counters().faults_injected, 5);
}

#[tokio::test]
async fn the_control_api_drives_the_simulator_over_http() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let http = reqwest::Client::new();
    let control = format!("{}/_sim/qad/acme", sim.root_url());
    let post = |path: &str, body: Value| http.post(format!("{control}{path}")).json(&body).send();
    assert_eq!(
        post("/duplicate-guard", json!({"mode": "off"}))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        post("/duplicate-guard", json!({"mode": "maybe"}))
            .await
            .unwrap()
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    client.post_journal(&order_entry("x")).await;
    client.post_journal(&order_entry("x")).await;
    let ledger: Value = http
        .get(format!("{control}/ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger.as_array().unwrap().len(), 2);

    let touched = post("/items/SKU-0100/touch", json!({"list_price": "19.95"}))
        .await
        .unwrap();
    assert_eq!(touched.status(), StatusCode::OK);
    let item = sim
        .items("acme")
        .into_iter()
        .find(|i| i.code == "SKU-0100")
        .unwrap();
    assert_eq!(item.list_price, 199_500);
    assert_eq!(
        post("/items/NOPE/touch", json!({"list_price": 1}))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    // Items added, renamed and repriced, and price list rows set, over HTTP.
    let added = post(
        "/items",
        json!({"code": "NEW-1", "description": "New", "list_price": 12.5}),
    );
    assert_eq!(added.await.unwrap().status(), StatusCode::OK);
    let again = post(
        "/items",
        json!({"code": "NEW-1", "description": "New", "list_price": 1}),
    );
    assert_eq!(
        again.await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let renamed = post("/items/NEW-1/touch", json!({"description": "Renamed"}));
    assert_eq!(renamed.await.unwrap().status(), StatusCode::OK);
    let empty = post("/items/NEW-1/touch", json!({}));
    assert_eq!(
        empty.await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let item = sim
        .items("acme")
        .into_iter()
        .find(|i| i.code == "NEW-1")
        .unwrap();
    assert_eq!(
        (
            item.description.as_str(),
            item.list_price,
            item.status.as_str()
        ),
        ("Renamed", 125_000, "ACTIVE")
    );
    let row = json!({"price_list": "WEB", "item": "NEW-1", "currency": "USD",
        "start": "2026-01-01", "list_price": "11.00"});
    assert_eq!(
        post("/prices", row.clone()).await.unwrap().status(),
        StatusCode::OK
    );
    let mut cheaper = row.clone();
    cheaper["list_price"] = json!("10.00");
    assert_eq!(
        post("/prices", cheaper).await.unwrap().status(),
        StatusCode::OK
    );
    let rows: Vec<_> = sim
        .data("acme")
        .prices
        .into_iter()
        .filter(|p| p.item == "NEW-1")
        .collect();
    assert_eq!(rows.len(), 1, "the same row is updated, not added twice");
    assert_eq!(rows[0].list_price, 100_000);
    let mut bad_date = row.clone();
    bad_date["start"] = json!("01/01/2026");
    assert_eq!(
        post("/prices", bad_date).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut no_item = row;
    no_item["item"] = json!("NOPE");
    assert_eq!(
        post("/prices", no_item).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let fault = json!({"action": "http500", "count": 1, "path_contains": "glAccounts"});
    assert_eq!(
        post("/faults", fault).await.unwrap().status(),
        StatusCode::OK
    );
    let (status, _) = client
        .get("/api/erp/glAccounts?viewUri=urn:be:com.qad.base.coa.IGLAccount")
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    let before = sim.now();
    let advanced = http
        .post(format!("{}/_sim/qad/clock", sim.root_url()))
        .json(&json!({"seconds": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(advanced.status(), StatusCode::OK);
    assert!(sim.now() - before >= Duration::from_secs(3600));
    let customers: Value = http
        .get(format!("{control}/customers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(customers[0]["domains"].as_array().unwrap().len(), 2);
    let counters: Value = http
        .get(format!("{}/_sim/qad/counters", sim.root_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["journals_posted"], 2);
    let unknown = http
        .get(format!("{}/_sim/qad/nobody", sim.root_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
