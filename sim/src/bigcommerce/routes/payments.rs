//! V3 payments: an order's transactions, and refunds (per order, across orders with
//! filters, one by id, and creation with BigCommerce's checks, one at a time per order).

use std::collections::HashMap;
use std::num::ParseIntError;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use serde_json::value::RawValue;

use super::super::answers::{no_content, page_and_limit, pagination, unprocessable};
use super::super::model::{self, Money, Order, RefundItem, tax_on};
use super::super::{SharedState, hooks, with_store};
use super::{BadField, Q, date_filter, not_found_v3, page_of};
use crate::sync::lock;
use crate::wire::money_of;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
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
            Err(error) => return unprocessable(&error.to_string()),
        };
        let dates = (|| {
            Ok::<_, BadField>((
                date_filter(&query, "created:min")?,
                date_filter(&query, "created:max")?,
            ))
        })();
        let Ok((min, max)) = dates else {
            return unprocessable("created:min and created:max must be RFC 3339 dates.");
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
        let data: Vec<_> = page_of(refunds.into_iter().map(model::Refund::wire), page, limit);
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

/// Why a refund request is refused; the text is the 422's title.
#[derive(Debug, thiserror::Error)]
enum RefundError {
    #[error("The order has not been paid, so it cannot be refunded.")]
    NotPaid,
    #[error("At least one item is required.")]
    NoItems,
    #[error("item_type is required.")]
    NoItemType,
    #[error("item_id is required.")]
    NoItemId(#[source] Option<ParseIntError>),
    #[error("Order product {0} is not on this order.")]
    NotOnOrder(u64),
    #[error("quantity is required for PRODUCT items.")]
    NoQuantity(#[source] Option<ParseIntError>),
    #[error("Quantity {quantity} of order product {item_id} exceeds the refundable quantity.")]
    TooMany { quantity: u32, item_id: u64 },
    #[error("A positive amount is required for {0} items.")]
    NoAmount(String),
    #[error("item_id {item_id} does not identify this order's {what}.")]
    NotThisOrders { item_id: u64, what: String },
    #[error("item_type {0} is not supported by this simulator.")]
    UnsupportedType(String),
    #[error("Each payment needs an exact amount.")]
    InexactPayment,
    #[error(
        "The payments ({}) must equal the refund amount ({}).",
        model::s4(*.paid),
        model::s4(*.amount)
    )]
    PaymentsDiffer { paid: Money, amount: Money },
    #[error("Unable to provide store credit for a guest customer.")]
    StoreCreditForGuest,
    #[error("Refund amount is greater than remaining amount.")]
    MoreThanRemaining,
}

/// Checks a refund request against the order and returns its items, amount and tax.
fn check_refund(
    order: &Order,
    request: &RefundRequest,
) -> Result<(Vec<RefundItem>, Money, Money), RefundError> {
    if !order.is_paid() {
        return Err(RefundError::NotPaid);
    }
    if request.items.is_empty() {
        return Err(RefundError::NoItems);
    }
    let field = |item: &HashMap<String, Box<RawValue>>, name: &str| {
        item.get(name)
            .map(|v| v.get().trim_matches('"').to_string())
    };
    let (mut items, mut amount, mut tax) = (Vec::new(), 0, 0);
    for item in &request.items {
        let kind = field(item, "item_type").ok_or(RefundError::NoItemType)?;
        let item_id: u64 = field(item, "item_id")
            .ok_or(RefundError::NoItemId(None))?
            .parse()
            .map_err(|cause| RefundError::NoItemId(Some(cause)))?;
        let reason = field(item, "reason").unwrap_or_default();
        match kind.as_str() {
            "PRODUCT" => {
                let line = order
                    .lines
                    .iter()
                    .find(|l| l.id == item_id)
                    .ok_or(RefundError::NotOnOrder(item_id))?;
                let quantity: u32 = field(item, "quantity")
                    .ok_or(RefundError::NoQuantity(None))?
                    .parse()
                    .map_err(|cause| RefundError::NoQuantity(Some(cause)))?;
                if quantity == 0 || quantity > line.quantity - line.quantity_refunded {
                    return Err(RefundError::TooMany { quantity, item_id });
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
                    .ok_or_else(|| RefundError::NoAmount(kind.clone()))?;
                let expected_id = if kind == "ORDER" {
                    order.id
                } else {
                    order.shipping_address_id
                };
                if item_id != expected_id {
                    return Err(RefundError::NotThisOrders {
                        item_id,
                        what: kind.to_lowercase(),
                    });
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
            other => return Err(RefundError::UnsupportedType(other.to_string())),
        }
    }
    let paid: Money = request
        .payments
        .iter()
        .map(|p| p.get("amount").and_then(|a| money_of(a)))
        .sum::<Option<Money>>()
        .ok_or(RefundError::InexactPayment)?;
    if paid != amount {
        return Err(RefundError::PaymentsDiffer { paid, amount });
    }
    if request
        .payments
        .iter()
        .any(|p| field(p, "provider_id").as_deref() == Some("storecredit"))
        && order.customer_id == 0
    {
        return Err(RefundError::StoreCreditForGuest);
    }
    if order.refunded() + amount > order.total_inc_tax() {
        return Err(RefundError::MoreThanRemaining);
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
        if let Err(error) = check_refund(order, &request) {
            return refund_error(StatusCode::UNPROCESSABLE_ENTITY, &error.to_string());
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
            Err(error) => {
                return refund_error(StatusCode::UNPROCESSABLE_ENTITY, &error.to_string());
            }
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
        hooks::emit_refund(store, now, id, refund_id, previous_status, new_status);
        (
            StatusCode::CREATED,
            axum::Json(json!({ "data": refund_json, "meta": {} })),
        )
            .into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_errors_read_as_the_answers_give_them() {
        let differ = RefundError::PaymentsDiffer {
            paid: 123_400,
            amount: 5,
        };
        assert_eq!(
            differ.to_string(),
            "The payments (12.3400) must equal the refund amount (0.0005)."
        );
        let too_many = RefundError::TooMany {
            quantity: 3,
            item_id: 7,
        };
        assert_eq!(
            too_many.to_string(),
            "Quantity 3 of order product 7 exceeds the refundable quantity."
        );
    }
}
