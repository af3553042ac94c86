//! The simulated Management API endpoints: V2 orders and their sub-resources, order
//! statuses, store information and time; V3 transactions, refunds (per order, across
//! orders, and creation with BigCommerce's checks), customers (with cursor paging and
//! batch creation) and catalog products and variants (lookup by SKU and batch updates).
//!
//! Authentication, quota and faults are handled before these run (see the module root).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::wire::money_of;

use super::model::{self, Customer, Money, Order, RefundItem, STATUSES, StoreData, tax_on};
use super::{
    SharedState, hooks, lock, no_content, page_and_limit, pagination, v2_error, v3_error,
    with_store,
};

type Q = Query<HashMap<String, String>>;

pub(crate) fn router() -> Router<SharedState> {
    Router::new()
        .route("/stores/{hash}/v2/orders", get(list_orders))
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
        .route("/stores/{hash}/v2/store", get(store_information))
        .route("/stores/{hash}/v2/time", get(store_time))
        .route(
            "/stores/{hash}/v3/orders/{id}/transactions",
            get(transactions),
        )
        .route(
            "/stores/{hash}/v3/orders/{id}/payment_actions/refunds",
            get(order_refunds).post(create_refund),
        )
        .route(
            "/stores/{hash}/v3/orders/payment_actions/refunds",
            get(all_refunds),
        )
        .route(
            "/stores/{hash}/v3/orders/payment_actions/refunds/{refund_id}",
            get(one_refund),
        )
        .route(
            "/stores/{hash}/v3/customers",
            get(list_customers).post(create_customers),
        )
        .route(
            "/stores/{hash}/v3/catalog/products",
            get(list_products).put(update_products),
        )
        .route(
            "/stores/{hash}/v3/catalog/variants",
            get(list_variants).put(update_variants),
        )
}

fn not_found_v2() -> Response {
    v2_error(
        StatusCode::NOT_FOUND,
        "The requested resource was not found.",
    )
}

fn not_found_v3(what: &str) -> Response {
    v3_error(
        StatusCode::NOT_FOUND,
        &format!("The {what} was not found."),
        json!({}),
    )
}

fn bad_v2(message: impl AsRef<str>) -> Response {
    v2_error(StatusCode::BAD_REQUEST, message.as_ref())
}

/// A V2 list: 204 when empty, as BigCommerce answers.
fn v2_list(items: Vec<Value>) -> Response {
    if items.is_empty() {
        no_content()
    } else {
        axum::Json(Value::Array(items)).into_response()
    }
}

/// RFC 3339 or RFC 2822, as BigCommerce's date filters take.
fn parse_date(text: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::{Rfc2822, Rfc3339};
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc2822))
        .ok()
}

fn date_filter(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<OffsetDateTime>, String> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => parse_date(text)
            .map(Some)
            .ok_or_else(|| format!("The field '{name}' is invalid.")),
    }
}

async fn list_orders(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    let root = super::lock(&shared).base_url.clone() + "/stores/" + &hash;
    with_store(&shared, &hash, |store, _| {
        let (page, limit) = match page_and_limit(&query, 50) {
            Ok(v) => v,
            Err(message) => return bad_v2(message),
        };
        let filters = (|| {
            Ok::<_, String>((
                date_filter(&query, "min_date_modified")?,
                date_filter(&query, "max_date_modified")?,
                date_filter(&query, "min_date_created")?,
                date_filter(&query, "max_date_created")?,
            ))
        })();
        let (min_mod, max_mod, min_created, max_created) = match filters {
            Ok(f) => f,
            Err(message) => return bad_v2(message),
        };
        let status = match query.get("status_id").map(|s| s.parse::<u32>()) {
            None => None,
            Some(Ok(status)) => Some(status),
            Some(Err(_)) => return bad_v2("The field 'status_id' is invalid."),
        };
        let mut orders: Vec<&Order> = store
            .account
            .data
            .orders
            .iter()
            .filter(|o| min_mod.is_none_or(|t| o.modified >= t))
            .filter(|o| max_mod.is_none_or(|t| o.modified <= t))
            .filter(|o| min_created.is_none_or(|t| o.created >= t))
            .filter(|o| max_created.is_none_or(|t| o.created <= t))
            .filter(|o| status.is_none_or(|s| o.status_id == s))
            .collect();
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
            Err(message) => return bad_v2(message),
        };
        let page: Vec<&Order> = orders
            .into_iter()
            .skip((page - 1) * limit)
            .take(limit)
            .collect();
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
fn include_lines(query: &HashMap<String, String>) -> Result<bool, String> {
    let Some(include) = query.get("include") else {
        return Ok(false);
    };
    let known = ["consignments", "consignments.line_items", "fees"];
    if let Some(unknown) = include.split(',').find(|i| !known.contains(i)) {
        return Err(format!("The include '{unknown}' is not supported."));
    }
    if !include.split(',').any(|i| i == "consignments.line_items") {
        return Err("This simulator supports include=consignments.line_items only.".into());
    }
    if query.get("consignment_structure").map(String::as_str) != Some("object") {
        return Err("consignment_structure=object is required with include=consignments.".into());
    }
    Ok(true)
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
    let root = super::lock(&shared).base_url.clone() + "/stores/" + &hash;
    let with_lines = match include_lines(&query) {
        Ok(with_lines) => with_lines,
        Err(message) => return bad_v2(message),
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
        Err(message) => return bad_v2(message),
    };
    with_order(&shared, &hash, id, |o| {
        let Value::Array(lines) = o.products_json() else {
            unreachable!("products are a list")
        };
        v2_list(
            lines
                .into_iter()
                .skip((page - 1) * limit)
                .take(limit)
                .collect(),
        )
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

async fn store_information(Path(hash): Path<String>) -> Response {
    axum::Json(json!({
        "id": hash,
        "account_uuid": format!("00000000-0000-4000-8000-{:0>12}", hash.len()),
        "domain": format!("{hash}.example.com"),
        "secure_url": format!("https://{hash}.example.com"),
        "control_panel_base_url": format!("https://store-{hash}.mybigcommerce.com"),
        "status": "live",
        "name": format!("Simulated store {hash}"),
        "first_name": "Sim",
        "last_name": "Ulator",
        "address": "12 Main Street, Austin, Texas 78701",
        "country": "United States",
        "country_code": "US",
        "phone": "",
        "admin_email": "admin@example.com",
        "order_email": "orders@example.com",
        "favicon_url": "",
        "timezone": { "name": "Etc/UTC", "raw_offset": 0, "dst_offset": 0, "dst_correction": false,
            "date_format": { "display": "jS M Y", "export": "M jS Y", "extended_display": "M jS Y @ g:i A" } },
        "language": "en",
        "currency": "USD",
        "currency_symbol": "$",
        "decimal_separator": ".",
        "thousands_separator": ",",
        "decimal_places": 2,
        "currency_symbol_location": "left",
        "weight_units": "LBS",
        "dimension_units": "Inches",
        "dimension_decimal_places": 2,
        "dimension_decimal_token": ".",
        "dimension_thousands_token": ",",
        "plan_name": "Standard",
        "plan_level": "Standard",
        "plan_is_trial": false,
        "industry": "",
        "logo": [],
        "is_price_entered_with_tax": false,
        "store_id": 1_000_000 + hash.len() as u64,
        "default_site_id": 1000,
        "default_channel_id": 1,
        "active_comparison_modules": [],
        "features": {
            "stencil_enabled": true,
            "sitewidehttps_enabled": true,
            "facebook_catalog_id": "",
            "checkout_type": "optimized",
            "wishlists_enabled": true,
            "graphql_storefront_api_enabled": true,
            "shopper_consent_tracking_enabled": false,
            "multi_storefront_enabled": false,
            "storefront_limits": { "active": 1, "total_including_inactive": 1 },
        },
    }))
    .into_response()
}

async fn store_time(State(shared): State<SharedState>) -> Response {
    let now = lock(&shared).clock.now();
    axum::Json(json!({ "time": now.unix_timestamp() })).into_response()
}

async fn transactions(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let Some(order) = store.account.data.orders.iter().find(|o| o.id == id) else {
            return not_found_v3("order");
        };
        let data = order.transactions_wire();
        if data.is_empty() {
            return no_content();
        }
        let meta = pagination(data.len(), data.len(), 1, 250);
        axum::Json(json!({ "data": data, "meta": meta })).into_response()
    })
}

async fn order_refunds(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let Some(order) = store.account.data.orders.iter().find(|o| o.id == id) else {
            return not_found_v3("order");
        };
        let data: Vec<_> = order.refunds.iter().map(model::Refund::wire).collect();
        let meta = pagination(data.len(), data.len(), 1, 250);
        axum::Json(json!({ "data": data, "meta": meta })).into_response()
    })
}

async fn all_refunds(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let (page, limit) = match page_and_limit(&query, 50) {
            Ok(v) => v,
            Err(message) => return v3_error(StatusCode::UNPROCESSABLE_ENTITY, &message, json!({})),
        };
        let dates = (|| {
            Ok::<_, String>((
                date_filter(&query, "created:min")?,
                date_filter(&query, "created:max")?,
            ))
        })();
        let Ok((min, max)) = dates else {
            return v3_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "created:min and created:max must be RFC 3339 dates.",
                json!({}),
            );
        };
        let ids = |name: &str| -> Option<Vec<u64>> {
            query.get(name).map(|list| {
                list.split(',')
                    .filter_map(|id| id.trim().parse().ok())
                    .collect()
            })
        };
        let (order_ids, refund_ids) = (ids("order_id:in"), ids("id:in"));
        let mut refunds: Vec<&model::Refund> = store
            .account
            .data
            .orders
            .iter()
            .flat_map(|o| &o.refunds)
            .filter(|r| min.is_none_or(|t| r.created >= t))
            .filter(|r| max.is_none_or(|t| r.created <= t))
            .filter(|r| {
                order_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&r.order_id))
            })
            .filter(|r| refund_ids.as_ref().is_none_or(|ids| ids.contains(&r.id)))
            .collect();
        refunds.sort_by_key(|r| r.id);
        let total = refunds.len();
        let data: Vec<_> = refunds
            .into_iter()
            .skip((page - 1) * limit)
            .take(limit)
            .map(model::Refund::wire)
            .collect();
        let meta = pagination(total, data.len(), page, limit);
        axum::Json(json!({ "data": data, "meta": meta })).into_response()
    })
}

async fn one_refund(
    State(shared): State<SharedState>,
    Path((hash, refund_id)): Path<(String, u64)>,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let refund = store
            .account
            .data
            .orders
            .iter()
            .flat_map(|o| &o.refunds)
            .find(|r| r.id == refund_id);
        match refund {
            Some(refund) => {
                axum::Json(json!({ "data": refund.wire(), "meta": {} })).into_response()
            }
            None => not_found_v3("refund"),
        }
    })
}

/// The refund endpoints' 422: wrapped in `data`, unlike other V3 errors.
fn refund_error(status: StatusCode, title: &str) -> Response {
    (
        status,
        axum::Json(json!({ "data": [{
            "status": status.as_u16(),
            "title": title,
            "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
        }]})),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct RefundRequest {
    items: Vec<HashMap<String, Box<RawValue>>>,
    payments: Vec<HashMap<String, Box<RawValue>>>,
}

/// Checks a refund request against the order and returns its items, amount and tax.
fn check_refund(
    order: &Order,
    request: &RefundRequest,
) -> Result<(Vec<RefundItem>, Money, Money), String> {
    if !order.is_paid() {
        return Err("The order has not been paid, so it cannot be refunded.".into());
    }
    if request.items.is_empty() {
        return Err("At least one item is required.".into());
    }
    let field = |item: &HashMap<String, Box<RawValue>>, name: &str| {
        item.get(name)
            .map(|v| v.get().trim_matches('"').to_string())
    };
    let (mut items, mut amount, mut tax) = (Vec::new(), 0, 0);
    for item in &request.items {
        let kind = field(item, "item_type").ok_or("item_type is required.")?;
        let item_id: u64 = field(item, "item_id")
            .and_then(|id| id.parse().ok())
            .ok_or("item_id is required.")?;
        let reason = field(item, "reason").unwrap_or_default();
        match kind.as_str() {
            "PRODUCT" => {
                let line = order
                    .lines
                    .iter()
                    .find(|l| l.id == item_id)
                    .ok_or_else(|| format!("Order product {item_id} is not on this order."))?;
                let quantity: u32 = field(item, "quantity")
                    .and_then(|q| q.parse().ok())
                    .ok_or("quantity is required for PRODUCT items.")?;
                if quantity == 0 || quantity > line.quantity - line.quantity_refunded {
                    return Err(format!(
                        "Quantity {quantity} of order product {item_id} exceeds the refundable quantity."
                    ));
                }
                amount += (line.price_ex_tax + line.unit_tax) * quantity as Money;
                tax += line.unit_tax * quantity as Money;
                items.push(RefundItem {
                    item_type: kind,
                    item_id,
                    quantity: Some(quantity),
                    amount: None,
                    reason,
                });
            }
            "ORDER" | "SHIPPING" | "HANDLING" => {
                let value = item
                    .get("amount")
                    .and_then(|a| money_of(a))
                    .filter(|a| *a > 0)
                    .ok_or_else(|| format!("A positive amount is required for {kind} items."))?;
                let expected_id = if kind == "ORDER" {
                    order.id
                } else {
                    order.shipping_address_id
                };
                if item_id != expected_id {
                    return Err(format!(
                        "item_id {item_id} does not identify this order's {}.",
                        kind.to_lowercase()
                    ));
                }
                if kind == "SHIPPING" {
                    tax += tax_on(
                        value * 10_000 / (10_000 + order.tax_rate_bp),
                        order.tax_rate_bp,
                    )
                    .min(order.shipping_tax());
                }
                amount += value;
                items.push(RefundItem {
                    item_type: kind,
                    item_id,
                    quantity: None,
                    amount: Some(value),
                    reason,
                });
            }
            other => {
                return Err(format!(
                    "item_type {other} is not supported by this simulator."
                ));
            }
        }
    }
    let paid: Money = request
        .payments
        .iter()
        .map(|p| p.get("amount").and_then(|a| money_of(a)))
        .sum::<Option<Money>>()
        .ok_or("Each payment needs an exact amount.")?;
    if paid != amount {
        return Err(format!(
            "The payments ({}) must equal the refund amount ({}).",
            model::s4(paid),
            model::s4(amount)
        ));
    }
    if request
        .payments
        .iter()
        .any(|p| field(p, "provider_id").as_deref() == Some("storecredit"))
        && order.customer_id == 0
    {
        return Err("Unable to provide store credit for a guest customer.".into());
    }
    if order.refunded() + amount > order.total_inc_tax() {
        return Err("Refund amount is greater than remaining amount.".into());
    }
    Ok((items, amount, tax))
}

async fn create_refund(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
    body: Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<RefundRequest>(&body) else {
        return refund_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request body must have items and payments.",
        );
    };
    let processing = {
        let mut guard = lock(&shared);
        let shared_state = &mut *guard;
        let store = shared_state
            .stores
            .get_mut(&hash)
            .expect("the gate checked the store");
        let Some(order) = store.account.data.orders.iter().find(|o| o.id == id) else {
            return not_found_v3("order");
        };
        if let Err(message) = check_refund(order, &request) {
            return refund_error(StatusCode::UNPROCESSABLE_ENTITY, &message);
        }
        if !store.refunds_in_progress.insert(id) {
            shared_state.counters.refunds_refused_in_progress += 1;
            return refund_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "A refund is already being processed for this order; refunds on one order must be sequential.",
            );
        }
        shared_state.options.refund_processing
    };
    tokio::time::sleep(processing).await;
    with_store(&shared, &hash, |store, now| {
        store.refunds_in_progress.remove(&id);
        let index = store
            .account
            .data
            .orders
            .iter()
            .position(|o| o.id == id)
            .expect("checked above");
        let mut order = store.account.data.orders[index].clone();
        // Checked again: the order may have changed while this refund was processing.
        let (items, amount, tax) = match check_refund(&order, &request) {
            Ok(checked) => checked,
            Err(message) => return refund_error(StatusCode::UNPROCESSABLE_ENTITY, &message),
        };
        let previous_status = order.status_id;
        let refund_id = store
            .account
            .data
            .add_refund(&mut order, items, amount, tax, now);
        let refund_json = serde_json::to_value(order.refunds.last().expect("just added").wire())
            .expect("a refund serialises");
        let new_status = order.status_id;
        store.account.data.orders[index] = order;
        hooks::emit(
            store,
            now,
            "store/order/refund/created",
            json!({"type": "order", "id": id, "refund": {"refund_id": refund_id}}),
        );
        if new_status != previous_status {
            hooks::emit_status_change(store, now, id, previous_status, new_status);
        }
        (
            StatusCode::CREATED,
            axum::Json(json!({ "data": refund_json, "meta": {} })),
        )
            .into_response()
    })
}

fn cursor(id: u64) -> String {
    format!("c{id:x}")
}

fn parse_cursor(text: &str) -> Option<u64> {
    u64::from_str_radix(text.strip_prefix('c')?, 16).ok()
}

async fn list_customers(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let (page, limit) = match page_and_limit(&query, 50) {
            Ok(v) => v,
            Err(message) => return v3_error(StatusCode::UNPROCESSABLE_ENTITY, &message, json!({})),
        };
        let list = |name: &str| -> Option<Vec<String>> {
            query
                .get(name)
                .map(|l| l.split(',').map(|s| s.trim().to_lowercase()).collect())
        };
        let (emails, ids) = (list("email:in"), list("id:in"));
        let (after, before) = (query.get("after"), query.get("before"));
        let bound = |c: Option<&String>| c.map(|c| parse_cursor(c).ok_or(()));
        let (after, before) = match (bound(after).transpose(), bound(before).transpose()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => {
                return v3_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "The cursor is invalid.",
                    json!({}),
                );
            }
        };
        let mut matching: Vec<&Customer> = store
            .account
            .data
            .customers
            .iter()
            .filter(|c| {
                emails
                    .as_ref()
                    .is_none_or(|e| e.contains(&c.email.to_lowercase()))
            })
            .filter(|c| ids.as_ref().is_none_or(|i| i.contains(&c.id.to_string())))
            .collect();
        matching.sort_by_key(|c| c.id);
        let total = matching.len();
        let cursor_mode = after.is_some() || before.is_some();
        let window: Vec<&Customer> = if let Some(after) = after {
            matching
                .iter()
                .filter(|c| c.id > after)
                .take(limit)
                .copied()
                .collect()
        } else if let Some(before) = before {
            let earlier: Vec<&Customer> =
                matching.iter().filter(|c| c.id < before).copied().collect();
            earlier[earlier.len().saturating_sub(limit)..].to_vec()
        } else {
            matching
                .iter()
                .skip((page - 1) * limit)
                .take(limit)
                .copied()
                .collect()
        };
        let has_next = window
            .last()
            .is_some_and(|last| matching.iter().any(|c| c.id > last.id));
        let has_previous = window
            .first()
            .is_some_and(|first| matching.iter().any(|c| c.id < first.id));
        let mut links = serde_json::Map::new();
        if let (true, Some(last)) = (has_next, window.last()) {
            links.insert(
                "next".into(),
                json!(format!("?after={}&limit={limit}", cursor(last.id))),
            );
        }
        if let (true, Some(first)) = (has_previous, window.first()) {
            links.insert(
                "previous".into(),
                json!(format!("?before={}&limit={limit}", cursor(first.id))),
            );
        }
        let cursor_meta = json!({
            "count": window.len(),
            "per_page": limit,
            "start_cursor": window.first().map(|c| cursor(c.id)),
            "end_cursor": window.last().map(|c| cursor(c.id)),
            "links": links,
        });
        let mut meta = serde_json::Map::new();
        if !cursor_mode {
            let paged = pagination(total, window.len(), page, limit);
            meta.insert("pagination".into(), paged["pagination"].clone());
        }
        if cursor_mode || page == 1 {
            meta.insert("cursor_pagination".into(), cursor_meta);
        }
        let data: Vec<Value> = window.iter().map(|c| c.v3_json()).collect();
        axum::Json(json!({ "data": data, "meta": meta })).into_response()
    })
}

async fn create_customers(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
        return v3_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request body must be an array of customers.",
            json!({}),
        );
    };
    if items.len() > 10 {
        return v3_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The maximum number of items allowed in the array is 10",
            json!({}),
        );
    }
    with_store(&shared, &hash, |store, now| {
        let mut errors = serde_json::Map::new();
        for (i, item) in items.iter().enumerate() {
            for field in ["email", "first_name", "last_name"] {
                if item
                    .get(field)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    errors.insert(
                        format!("{i}.{field}"),
                        json!(format!("{field} is required.")),
                    );
                }
            }
            if let Some(email) = item.get("email").and_then(Value::as_str) {
                let taken = store
                    .account
                    .data
                    .customers
                    .iter()
                    .any(|c| c.email.eq_ignore_ascii_case(email))
                    || items[..i].iter().any(|other| {
                        other
                            .get("email")
                            .and_then(Value::as_str)
                            .is_some_and(|e| e.eq_ignore_ascii_case(email))
                    });
                if taken {
                    errors.insert(
                        format!("{i}.email"),
                        json!(format!("The email address {email} is already in use.")),
                    );
                }
            }
        }
        if !errors.is_empty() {
            return v3_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Create customers failed.",
                Value::Object(errors),
            );
        }
        let data = store.data();
        let mut created = Vec::new();
        for item in &items {
            let text = |name: &str| {
                item.get(name)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let id = data.customers.iter().map(|c| c.id).max().unwrap_or(0) + 1;
            let customer = Customer {
                id,
                email: text("email"),
                first_name: text("first_name"),
                last_name: text("last_name"),
                company: text("company"),
                phone: text("phone"),
                created: now,
                modified: now,
            };
            created.push(customer.v3_json());
            data.customers.push(customer);
        }
        for customer in &created {
            hooks::emit(
                store,
                now,
                "store/customer/created",
                json!({"type": "customer", "id": customer["id"]}),
            );
        }
        axum::Json(json!({ "data": created, "meta": {} })).into_response()
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
            Err(message) => return v3_error(StatusCode::UNPROCESSABLE_ENTITY, &message, json!({})),
        };
        let with_variants = query
            .get("include")
            .is_some_and(|i| i.split(',').any(|x| x == "variants"));
        let matching = products_matching(&store.account.data, &query);
        let data: Vec<Value> = matching
            .iter()
            .skip((page - 1) * limit)
            .take(limit)
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
        return v3_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request body must be an array of products.",
            json!({}),
        );
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
            Err(message) => return v3_error(StatusCode::UNPROCESSABLE_ENTITY, &message, json!({})),
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
        let data: Vec<Value> = matching
            .iter()
            .skip((page - 1) * limit)
            .take(limit)
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
