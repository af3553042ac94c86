//! V3 catalog: products and variants, looked up by SKU or id (a product alone, or its
//! variants, by its path too), and their batch updates (names, visibility, prices,
//! inventory), with the updates the control API makes the store refuse.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::super::answers::{page_and_limit, pagination, unprocessable, v3_error};
use super::super::model::{self, Money, StoreData};
use super::super::{SharedState, hooks, with_store};
use super::{Q, page_of, parse_date};
use crate::wire::money_of;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/stores/{hash}/v3/catalog/products",
            get(list_products).put(update_products),
        )
        .route(
            "/stores/{hash}/v3/catalog/variants",
            get(list_variants).put(update_variants),
        )
        .route("/stores/{hash}/v3/catalog/products/{id}", get(product))
        .route(
            "/stores/{hash}/v3/catalog/products/{id}/variants",
            get(product_variants),
        )
}

fn with_product(
    shared: &SharedState,
    hash: &str,
    id: u64,
    f: impl FnOnce(&model::Product) -> Response,
) -> Response {
    with_store(shared, hash, |store, _| {
        match store.account.data.products.iter().find(|p| p.id == id) {
            Some(product) => f(product),
            None => v3_error(
                StatusCode::NOT_FOUND,
                "The requested product was not found.",
                json!({}),
            ),
        }
    })
}

async fn product(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    with_product(&shared, &hash, id, |p| {
        axum::Json(json!({ "data": p.wire(), "meta": {} })).into_response()
    })
}

async fn product_variants(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
    Query(query): Q,
) -> Response {
    let (page, limit) = match page_and_limit(&query, 50) {
        Ok(v) => v,
        Err(error) => return unprocessable(&error.to_string()),
    };
    with_product(&shared, &hash, id, |p| {
        let data: Vec<_> = page_of(p.variants.iter().map(|v| v.wire(p)), page, limit);
        let meta = pagination(p.variants.len(), data.len(), page, limit);
        axum::Json(json!({ "data": data, "meta": meta })).into_response()
    })
}

fn products_matching<'a>(
    data: &'a StoreData,
    query: &HashMap<String, String>,
) -> Vec<&'a model::Product> {
    let list = |name: &str| -> Option<Vec<String>> {
        query
            .get(name)
            .map(|l| l.split(',').map(|s| s.trim().to_string()).collect())
    };
    let skus = list("sku:in").or_else(|| query.get("sku").map(|s| vec![s.clone()]));
    let ids = list("id:in").or_else(|| query.get("id").map(|s| vec![s.clone()]));
    let since = query.get("date_modified:min").and_then(|d| parse_date(d));
    data.products
        .iter()
        .filter(|p| skus.as_ref().is_none_or(|s| s.contains(&p.sku)))
        .filter(|p| ids.as_ref().is_none_or(|i| i.contains(&p.id.to_string())))
        .filter(|p| since.is_none_or(|t| p.modified >= t))
        .collect()
}

async fn list_products(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let (page, limit) = match page_and_limit(&query, 50) {
            Ok(v) => v,
            Err(error) => return unprocessable(&error.to_string()),
        };
        let with_variants = query
            .get("include")
            .is_some_and(|i| i.split(',').any(|x| x == "variants"));
        let matching = products_matching(&store.account.data, &query);
        let data: Vec<Value> = page_of(&matching, page, limit)
            .into_iter()
            .map(|p| {
                let mut json = serde_json::to_value(p.wire()).expect("a product serialises");
                if with_variants {
                    json["variants"] = serde_json::to_value(
                        p.variants.iter().map(|v| v.wire(p)).collect::<Vec<_>>(),
                    )
                    .expect("variants serialise");
                }
                json
            })
            .collect();
        let meta = pagination(matching.len(), data.len(), page, limit);
        axum::Json(json!({ "data": data, "meta": meta })).into_response()
    })
}

/// The price fields a catalog update may carry; each must be a JSON number.
const PRICE_FIELDS: [&str; 4] = ["price", "sale_price", "retail_price", "cost_price"];

type Item = HashMap<String, Box<RawValue>>;

/// Checks one update's shape: an integer `id` and numeric prices.
fn check_update(item: &Item, nullable_prices: bool) -> Result<u64, serde_json::Map<String, Value>> {
    let mut errors = serde_json::Map::new();
    let id = item.get("id").and_then(|id| id.get().parse::<u64>().ok());
    if id.is_none() {
        errors.insert("id".into(), json!("id is required and must be an integer."));
    }
    for field in PRICE_FIELDS {
        if let Some(raw) = item.get(field) {
            let text = raw.get().trim();
            let is_number = text.starts_with(|c: char| c.is_ascii_digit() || c == '-');
            let valid = (is_number && money_of(raw).is_some_and(|m| m >= 0))
                || (nullable_prices && text == "null");
            if !valid {
                errors.insert(
                    field.into(),
                    json!(format!(
                        "{field} must be a non-negative number, got {text}."
                    )),
                );
            }
        }
    }
    if let Some(raw) = item.get("name") {
        let name: Option<String> = serde_json::from_str(raw.get()).ok();
        let length = name.as_ref().map(|n| n.chars().count());
        if !length.is_some_and(|l| (1..=250).contains(&l)) {
            errors.insert(
                "name".into(),
                json!("name must be a string of 1 to 250 characters."),
            );
        }
    }
    for field in BOOLEAN_FIELDS {
        if let Some(raw) = item.get(field)
            && !matches!(raw.get().trim(), "true" | "false")
        {
            errors.insert(field.into(), json!(format!("{field} must be a boolean.")));
        }
    }
    match (id, errors.is_empty()) {
        (Some(id), true) => Ok(id),
        _ => Err(errors),
    }
}

/// The yes/no fields a catalog update may carry.
const BOOLEAN_FIELDS: [&str; 2] = ["is_visible", "purchasing_disabled"];

fn flag(item: &Item, field: &str) -> Option<bool> {
    item.get(field)
        .and_then(|raw| raw.get().trim().parse().ok())
}

fn apply_price(target: &mut Money, item: &Item, field: &str) {
    if let Some(value) = item.get(field).and_then(|raw| money_of(raw)) {
        *target = value;
    }
}

async fn update_products(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(items) = serde_json::from_slice::<Vec<Item>>(&body) else {
        return unprocessable("The request body must be an array of products.");
    };
    if items.len() > 10 {
        return v3_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request payload is too large. The maximum items allowed in the array is 10.",
            json!({}),
        );
    }
    let mut checked = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match check_update(item, false) {
            Ok(id) => checked.push((id, item)),
            Err(errors) => {
                let errors: serde_json::Map<String, Value> = errors
                    .into_iter()
                    .map(|(k, v)| (format!("{i}.{k}"), v))
                    .collect();
                return v3_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "JSON data is missing or invalid",
                    Value::Object(errors),
                );
            }
        }
    }
    with_store(&shared, &hash, |store, now| {
        let (mut updated, mut failed) = (Vec::new(), serde_json::Map::new());
        for (id, item) in checked {
            if let Some(reason) = store.refused_updates.get(&id) {
                failed.insert(id.to_string(), json!(reason));
                continue;
            }
            let Some(product) = store.account.data.products.iter_mut().find(|p| p.id == id) else {
                failed.insert(
                    id.to_string(),
                    json!(format!("Product {id} was not found.")),
                );
                continue;
            };
            if let Some(name) = item
                .get("name")
                .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            {
                product.name = name;
            }
            if let Some(visible) = flag(item, "is_visible") {
                product.is_visible = visible;
            }
            apply_price(&mut product.price, item, "price");
            apply_price(&mut product.sale_price, item, "sale_price");
            apply_price(&mut product.retail_price, item, "retail_price");
            apply_price(&mut product.cost_price, item, "cost_price");
            if let Some(level) = item
                .get("inventory_level")
                .and_then(|l| l.get().parse().ok())
            {
                product.inventory_level = level;
            }
            product.modified = now;
            updated.push(serde_json::to_value(product.wire()).expect("a product serialises"));
        }
        for product in &updated {
            hooks::emit(
                store,
                now,
                "store/product/updated",
                json!({"type": "product", "id": product["id"]}),
            );
        }
        if failed.is_empty() {
            return axum::Json(json!({ "data": updated, "meta": {} })).into_response();
        }
        let meta = pagination(updated.len(), updated.len(), 1, 10);
        (
            StatusCode::MULTI_STATUS,
            axum::Json(json!({
                "data": updated,
                "errors": {
                    "status": 404,
                    "title": "Some products could not be updated.",
                    "type": "/api-docs/getting-started/api-status-codes",
                    "errors": failed,
                },
                "meta": meta,
            })),
        )
            .into_response()
    })
}

async fn list_variants(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let (page, limit) = match page_and_limit(&query, 50) {
            Ok(v) => v,
            Err(error) => return unprocessable(&error.to_string()),
        };
        let product_ids: Option<Vec<String>> = query
            .get("product_id:in")
            .map(|l| l.split(',').map(|s| s.trim().to_string()).collect());
        let matching: Vec<(&model::Product, &model::Variant)> = store
            .account
            .data
            .products
            .iter()
            .flat_map(|p| p.variants.iter().map(move |v| (p, v)))
            .filter(|(_, v)| query.get("sku").is_none_or(|s| *s == v.sku))
            .filter(|(_, v)| query.get("id").is_none_or(|i| *i == v.id.to_string()))
            .filter(|(p, _)| {
                product_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&p.id.to_string()))
            })
            .collect();
        let data: Vec<Value> = page_of(&matching, page, limit)
            .into_iter()
            .map(|(p, v)| serde_json::to_value(v.wire(p)).expect("a variant serialises"))
            .collect();
        let meta = pagination(matching.len(), data.len(), page, limit);
        axum::Json(json!({ "data": data, "meta": meta })).into_response()
    })
}

fn batch_errors(errors: Vec<Value>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({ "batch_errors": errors })),
    )
        .into_response()
}

async fn update_variants(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(items) = serde_json::from_slice::<Vec<Item>>(&body) else {
        return batch_errors(vec![
            json!({"status": 422, "title": "The request body must be an array of variants.", "type": "/api-docs/getting-started/api-status-codes", "errors": {}}),
        ]);
    };
    if items.len() > 50 {
        return v3_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request payload is too large. The maximum items allowed in the array is 50.",
            json!({}),
        );
    }
    with_store(&shared, &hash, |store, now| {
        // Variant batches are all or nothing: any bad item fails the batch, naming each one.
        let mut errors = Vec::new();
        let mut checked = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let problem = match check_update(item, true) {
                Err(fields) => Some(Value::Object(fields)),
                Ok(id) if store.refused_updates.contains_key(&id) => {
                    Some(json!({ "id": store.refused_updates[&id] }))
                }
                Ok(id)
                    if !store
                        .account
                        .data
                        .products
                        .iter()
                        .any(|p| p.variants.iter().any(|v| v.id == id)) =>
                {
                    Some(json!({ "id": format!("Variant {id} was not found.") }))
                }
                Ok(id) => {
                    checked.push((id, item));
                    None
                }
            };
            if let Some(fields) = problem {
                errors.push(json!({
                    "status": 422,
                    "title": "The variant could not be updated.",
                    "type": "/api-docs/getting-started/api-status-codes",
                    "instance": i.to_string(),
                    "errors": fields,
                }));
            }
        }
        if !errors.is_empty() {
            return batch_errors(errors);
        }
        let mut updated = Vec::new();
        for (id, item) in checked {
            let product = store
                .account
                .data
                .products
                .iter_mut()
                .find(|p| p.variants.iter().any(|v| v.id == id))
                .expect("checked");
            product.modified = now;
            let variant = product
                .variants
                .iter_mut()
                .find(|v| v.id == id)
                .expect("checked");
            for (field, target) in [
                ("price", &mut variant.price),
                ("sale_price", &mut variant.sale_price),
                ("cost_price", &mut variant.cost_price),
            ] {
                if let Some(raw) = item.get(field) {
                    *target = money_of(raw);
                }
            }
            if let Some(disabled) = flag(item, "purchasing_disabled") {
                variant.purchasing_disabled = disabled;
            }
            if let Some(level) = item
                .get("inventory_level")
                .and_then(|l| l.get().parse().ok())
            {
                variant.inventory_level = level;
            }
            let variant = variant.clone();
            updated
                .push(serde_json::to_value(variant.wire(product)).expect("a variant serialises"));
        }
        for variant in &updated {
            hooks::emit(
                store,
                now,
                "store/sku/updated",
                json!({"type": "sku", "id": variant["id"], "sku": {"product_id": variant["product_id"], "variant_id": variant["id"]}}),
            );
        }
        let meta = pagination(updated.len(), updated.len(), 1, 50);
        axum::Json(json!({ "data": updated, "meta": meta })).into_response()
    })
}
