//! V2 coupons (marketing): the store's coupons as third-party clients list them, with
//! filters, one coupon and the count. The simulated store's coupons are those its orders
//! used (one per coupon id), each with how many orders used it.
//!
//! No OpenAPI document for this endpoint is in the reference specs; the shape follows
//! BigCommerce's V2 coupon documentation (type names, money as strings, RFC 2822 dates).

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::super::answers::page_and_limit;
use super::super::model::{StoreData, rfc2822};
use super::super::{SharedState, with_store};
use super::{BadField, Q, bad_v2, not_found_v2, number_filter, page_of, v2_list};

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/stores/{hash}/v2/coupons", get(list_coupons))
        .route("/stores/{hash}/v2/coupons/count", get(count_coupons))
        .route("/stores/{hash}/v2/coupons/{id}", get(coupon))
}

/// BigCommerce's coupon type names, by the code order coupons carry.
const TYPES: [&str; 6] = [
    "per_item_discount",
    "percentage_discount",
    "per_total_discount",
    "shipping_discount",
    "free_shipping",
    "promotion",
];

/// The store's coupons in id order, as V2 writes them.
fn coupons(data: &StoreData) -> Vec<Value> {
    let mut by_id: BTreeMap<u64, (Value, u64)> = BTreeMap::new();
    for order in &data.orders {
        let Some(c) = &order.coupon else { continue };
        let entry = by_id.entry(c.coupon_id).or_insert_with(|| {
            let json = json!({
                "id": c.coupon_id,
                "name": c.code,
                "type": TYPES.get(usize::from(c.kind)).copied().unwrap_or("promotion"),
                "amount": format!("{}.0000", c.amount),
                "min_purchase": "0.0000",
                "expires": "",
                "enabled": true,
                "code": c.code,
                "applies_to": { "entity": "categories", "ids": [0] },
                "max_uses": 0,
                "max_uses_per_customer": 0,
                "restricted_to": [],
                "shipping_methods": null,
                "date_created": rfc2822(order.created),
            });
            (json, 0)
        });
        entry.1 += 1;
    }
    by_id
        .into_values()
        .map(|(mut json, uses)| {
            json["num_uses"] = json!(uses);
            json
        })
        .collect()
}

/// The V2 coupon list's filters.
struct CouponFilter {
    id: Option<u64>,
    min_id: Option<u64>,
    max_id: Option<u64>,
    code: Option<String>,
    name: Option<String>,
    kind: Option<String>,
}

impl CouponFilter {
    fn read(query: &HashMap<String, String>) -> Result<CouponFilter, BadField> {
        Ok(CouponFilter {
            id: number_filter(query, "id")?,
            min_id: number_filter(query, "min_id")?,
            max_id: number_filter(query, "max_id")?,
            code: query.get("code").cloned(),
            name: query.get("name").cloned(),
            kind: query.get("type").cloned(),
        })
    }

    fn keeps(&self, coupon: &Value) -> bool {
        let id = coupon["id"].as_u64().unwrap_or(0);
        let same = |wanted: &Option<String>, key: &str| {
            wanted
                .as_ref()
                .is_none_or(|w| coupon[key].as_str() == Some(w))
        };
        self.id.is_none_or(|want| id == want)
            && self.min_id.is_none_or(|min| id >= min)
            && self.max_id.is_none_or(|max| id <= max)
            && same(&self.code, "code")
            && same(&self.name, "name")
            && same(&self.kind, "type")
    }
}

fn kept(data: &StoreData, query: &HashMap<String, String>) -> Result<Vec<Value>, BadField> {
    let filter = CouponFilter::read(query)?;
    Ok(coupons(data)
        .into_iter()
        .filter(|c| filter.keeps(c))
        .collect())
}

async fn list_coupons(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let (page, limit) = match page_and_limit(&query, 50) {
            Ok(v) => v,
            Err(error) => return bad_v2(error.to_string()),
        };
        match kept(&store.account.data, &query) {
            Ok(kept) => v2_list(page_of(kept, page, limit)),
            Err(error) => bad_v2(error.to_string()),
        }
    })
}

async fn count_coupons(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        match kept(&store.account.data, &query) {
            Ok(kept) => axum::Json(json!({ "count": kept.len() })).into_response(),
            Err(error) => bad_v2(error.to_string()),
        }
    })
}

async fn coupon(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        match coupons(&store.account.data)
            .into_iter()
            .find(|c| c["id"].as_u64() == Some(id))
        {
            Some(coupon) => axum::Json(coupon).into_response(),
            None => not_found_v2(),
        }
    })
}
