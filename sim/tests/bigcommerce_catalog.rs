//! The BigCommerce simulator's catalog over HTTP: products added and removed through the
//! control API, batch updates applying names, visibility, variant cost prices and
//! purchasability, bad field types refused with a 422, and the updates the control API
//! makes the store refuse: a 207 naming the products, a 422 naming the variants.

use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn start() -> BigCommerceSim {
    BigCommerceSim::start(vec![SimStore::new("shop", "token")])
        .await
        .expect("the simulator starts")
}

async fn put(sim: &BigCommerceSim, path: &str, body: Value) -> (StatusCode, Value) {
    let answer = reqwest::Client::new()
        .put(format!("{}/v3/catalog/{path}", sim.api_root("shop")))
        .header("x-auth-token", "token")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn products_added_over_http_take_names_visibility_and_refusals() {
    let sim = start().await;
    let http = reqwest::Client::new();
    let control = format!("{}/_sim/stores/shop", sim.base_url());
    let added: Value = http
        .post(format!("{control}/products"))
        .json(&json!({"sku": "MUG", "name": "Mug", "price": "12.50", "variant_skus": ["MUG-RED"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = added["id"].as_u64().unwrap();
    let taken = http
        .post(format!("{control}/products"))
        .json(&json!({"sku": "MUG-RED", "name": "Again", "price": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let data = sim.data("shop").unwrap();
    let variant_id = data.products[0].variants[0].id;
    assert_eq!(data.products[0].price, 125_000);

    let (status, _) = put(
        &sim,
        "products",
        json!([{"id": id, "name": "Big mug", "is_visible": false, "price": 13.5}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = put(
        &sim,
        "variants",
        json!([{"id": variant_id, "cost_price": 4.25, "purchasing_disabled": true}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let product = sim.data("shop").unwrap().products.remove(0);
    assert_eq!(
        (product.name.as_str(), product.is_visible, product.price),
        ("Big mug", false, 135_000)
    );
    assert_eq!(product.variants[0].cost_price, Some(42_500));
    assert!(product.variants[0].purchasing_disabled);

    for bad in [
        json!([{"id": id, "name": ""}]),
        json!([{"id": id, "name": 7}]),
        json!([{"id": id, "is_visible": "no"}]),
    ] {
        let (status, _) = put(&sim, "products", bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    sim.refuse_updates("shop", &[id, variant_id], "Locked.")
        .unwrap();
    let (status, body) = put(&sim, "products", json!([{"id": id, "price": 1}])).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(body["errors"]["errors"][id.to_string()], "Locked.");
    let (status, body) = put(&sim, "variants", json!([{"id": variant_id, "price": 1}])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["batch_errors"][0]["errors"]["id"], "Locked.");
    let cleared = http
        .post(format!("{control}/refused-updates"))
        .json(&json!({"ids": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::OK);
    let (status, _) = put(&sim, "products", json!([{"id": id, "price": 1}])).await;
    assert_eq!(status, StatusCode::OK);

    let removed = http
        .delete(format!("{control}/products/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    assert!(sim.data("shop").unwrap().products.is_empty());
    let (status, body) = put(&sim, "products", json!([{"id": id, "price": 1}])).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(
        body["errors"]["errors"][id.to_string()]
            .as_str()
            .unwrap()
            .contains("not found")
    );
}
