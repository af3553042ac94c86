//! V2 orders: the list (filters by dates and status, sorting, paging, consignments with
//! their line items on request), one order, its products, shipping addresses and coupons;
//! and the order statuses.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::super::answers::{no_content, page_and_limit};
use super::super::model::{Order, STATUSES};
use super::super::{SharedState, with_store};
use super::{BadField, Q, bad_v2, date_filter, not_found_v2, number_filter, page_of, v2_list};
use crate::sync::lock;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/stores/{hash}/v2/orders", get(list_orders))
        .route("/stores/{hash}/v2/orders/count", get(count_orders))
        .route("/stores/{hash}/v2/orders/{id}", get(get_order))
        .route(
            "/stores/{hash}/v2/orders/{id}/products",
            get(order_products),
        )
        .route(
            "/stores/{hash}/v2/orders/{id}/shipping_addresses",
            get(order_addresses),
        )
        .route("/stores/{hash}/v2/orders/{id}/coupons", get(order_coupons))
        .route("/stores/{hash}/v2/order_statuses", get(order_statuses))
        .route("/stores/{hash}/v2/order_statuses/{id}", get(order_status))
}

/// The V2 order list's filters (the list and its count take the same).
struct OrderFilter {
    min_modified: Option<time::OffsetDateTime>,
    max_modified: Option<time::OffsetDateTime>,
    min_created: Option<time::OffsetDateTime>,
    max_created: Option<time::OffsetDateTime>,
    status_id: Option<u32>,
    min_id: Option<u64>,
    max_id: Option<u64>,
    customer_id: Option<u64>,
    /// Matched without regard to case.
    email: Option<String>,
}

impl OrderFilter {
    fn read(query: &HashMap<String, String>) -> Result<OrderFilter, BadField> {
        Ok(OrderFilter {
            min_modified: date_filter(query, "min_date_modified")?,
            max_modified: date_filter(query, "max_date_modified")?,
            min_created: date_filter(query, "min_date_created")?,
            max_created: date_filter(query, "max_date_created")?,
            status_id: number_filter(query, "status_id")?,
            min_id: number_filter(query, "min_id")?,
            max_id: number_filter(query, "max_id")?,
            customer_id: number_filter(query, "customer_id")?,
            email: query.get("email").map(|e| e.trim().to_lowercase()),
        })
    }

    /// The orders the query's filters keep, in store order.
    fn kept<'a>(
        orders: &'a [Order],
        query: &HashMap<String, String>,
    ) -> Result<Vec<&'a Order>, BadField> {
        let filter = OrderFilter::read(query)?;
        Ok(orders.iter().filter(|o| filter.keeps(o)).collect())
    }

    fn keeps(&self, o: &Order) -> bool {
        self.min_modified.is_none_or(|t| o.modified >= t)
            && self.max_modified.is_none_or(|t| o.modified <= t)
            && self.min_created.is_none_or(|t| o.created >= t)
            && self.max_created.is_none_or(|t| o.created <= t)
            && self.status_id.is_none_or(|s| o.status_id == s)
            && self.min_id.is_none_or(|id| o.id >= id)
            && self.max_id.is_none_or(|id| o.id <= id)
            && self.customer_id.is_none_or(|id| o.customer_id == id)
            && self
                .email
                .as_ref()
                .is_none_or(|e| o.email.to_lowercase() == *e)
    }
}

/// `GET /v2/orders/count`: how many orders the filters keep, in all and per status.
async fn count_orders(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let kept = match OrderFilter::kept(&store.account.data.orders, &query) {
            Ok(kept) => kept,
            Err(error) => return bad_v2(error.to_string()),
        };
        let statuses: Vec<Value> = STATUSES
            .iter()
            .map(|(id, name)| {
                let mut status = status_json(*id, name);
                status["count"] = json!(kept.iter().filter(|o| o.status_id == *id).count());
                status
            })
            .collect();
        axum::Json(json!({"count": kept.len(), "statuses": statuses})).into_response()
    })
}

async fn list_orders(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    let root = lock(&shared).base_url.clone() + "/stores/" + &hash;
    with_store(&shared, &hash, |store, _| {
        let (page, limit) = match page_and_limit(&query, 50) {
            Ok(v) => v,
            Err(error) => return bad_v2(error.to_string()),
        };
        let mut orders = match OrderFilter::kept(&store.account.data.orders, &query) {
            Ok(kept) => kept,
            Err(error) => return bad_v2(error.to_string()),
        };
        let sort = query.get("sort").map_or("id", String::as_str);
        let (field, descending) = match sort.split_once(':') {
            None => (sort, false),
            Some((field, "asc")) => (field, false),
            Some((field, "desc")) => (field, true),
            Some(_) => return bad_v2("The field 'sort' is invalid."),
        };
        match field {
            "id" => orders.sort_by_key(|o| o.id),
            "date_modified" => orders.sort_by_key(|o| (o.modified, o.id)),
            "date_created" => orders.sort_by_key(|o| (o.created, o.id)),
            "status_id" => orders.sort_by_key(|o| (o.status_id, o.id)),
            _ => return bad_v2("The field 'sort' is invalid."),
        }
        if descending {
            orders.reverse();
        }
        let with_lines = match include_lines(&query) {
            Ok(with_lines) => with_lines,
            Err(error) => return bad_v2(error.to_string()),
        };
        let page: Vec<&Order> = page_of(orders, page, limit);
        if page.is_empty() {
            return no_content();
        }
        if with_lines {
            let orders: Vec<_> = page.iter().map(|o| o.v2_json_with_lines(&root)).collect();
            return axum::Json(orders).into_response();
        }
        v2_list(page.iter().map(|o| o.v2_json(&root)).collect())
    })
}

/// Whether `include=consignments.line_items&consignment_structure=object` was asked for.
/// Other includes are refused rather than silently ignored.
fn include_lines(query: &HashMap<String, String>) -> Result<bool, IncludeError> {
    let Some(include) = query.get("include") else {
        return Ok(false);
    };
    let known = ["consignments", "consignments.line_items", "fees"];
    if let Some(unknown) = include.split(',').find(|i| !known.contains(i)) {
        return Err(IncludeError::Unknown(unknown.to_string()));
    }
    if !include.split(',').any(|i| i == "consignments.line_items") {
        return Err(IncludeError::WithoutLineItems);
    }
    if query.get("consignment_structure").map(String::as_str) != Some("object") {
        return Err(IncludeError::NotObjectStructure);
    }
    Ok(true)
}

/// An `include` the simulator does not serve; the text is the 400's.
#[derive(Debug, thiserror::Error)]
enum IncludeError {
    #[error("The include '{0}' is not supported.")]
    Unknown(String),
    #[error("This simulator supports include=consignments.line_items only.")]
    WithoutLineItems,
    #[error("consignment_structure=object is required with include=consignments.")]
    NotObjectStructure,
}

fn with_order(
    shared: &SharedState,
    hash: &str,
    id: u64,
    f: impl FnOnce(&Order) -> Response,
) -> Response {
    with_store(shared, hash, |store, _| {
        match store.account.data.orders.iter().find(|o| o.id == id) {
            Some(order) => f(order),
            None => not_found_v2(),
        }
    })
}

async fn get_order(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
    Query(query): Q,
) -> Response {
    let root = lock(&shared).base_url.clone() + "/stores/" + &hash;
    let with_lines = match include_lines(&query) {
        Ok(with_lines) => with_lines,
        Err(error) => return bad_v2(error.to_string()),
    };
    with_order(&shared, &hash, id, |o| {
        if with_lines {
            axum::Json(o.v2_json_with_lines(&root)).into_response()
        } else {
            axum::Json(o.v2_json(&root)).into_response()
        }
    })
}

async fn order_products(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
    Query(query): Q,
) -> Response {
    let (page, limit) = match page_and_limit(&query, 50) {
        Ok(v) => v,
        Err(error) => return bad_v2(error.to_string()),
    };
    with_order(&shared, &hash, id, |o| {
        let Value::Array(lines) = o.products_json() else {
            unreachable!("products are a list")
        };
        v2_list(page_of(lines, page, limit))
    })
}

async fn order_addresses(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    with_order(&shared, &hash, id, |o| {
        axum::Json(o.shipping_addresses_json()).into_response()
    })
}

async fn order_coupons(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    with_order(&shared, &hash, id, |o| {
        let coupons = o.coupons_wire();
        if coupons.is_empty() {
            no_content()
        } else {
            axum::Json(coupons).into_response()
        }
    })
}

fn status_json(id: u32, name: &str) -> Value {
    // Merchants rename statuses; the simulator renames two so clients map by id.
    let custom = match id {
        11 => "Ready to pick",
        2 => "Dispatched",
        _ => name,
    };
    json!({
        "id": id,
        "name": name,
        "system_label": name,
        "custom_label": custom,
        "system_description": format!("{name} orders."),
        "order": id,
    })
}

async fn order_statuses() -> Response {
    axum::Json(Value::Array(
        STATUSES
            .iter()
            .map(|(id, name)| status_json(*id, name))
            .collect(),
    ))
    .into_response()
}

async fn order_status(Path((_hash, id)): Path<(String, u32)>) -> Response {
    match STATUSES.iter().find(|(status, _)| *status == id) {
        Some((id, name)) => axum::Json(status_json(*id, name)).into_response(),
        None => not_found_v2(),
    }
}
