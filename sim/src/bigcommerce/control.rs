//! The simulator's control side, for tests, the demo and operators trying things out:
//! seed orders and customers, change an order's status, edit or refund it, add and remove
//! products, refuse catalog updates of chosen products or variants, inject faults,
//! advance the clock, and inspect hooks and webhook deliveries. Each operation is a method
//! on [`BigCommerceSim`] and the same operation over HTTP under `/_sim/` (no token), so
//! the standalone binary can be driven with curl.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::answers::error_for;
use super::hooks::{self, DeliveryState};
use super::model::{RefundItem, SkuUnavailable};
use super::{BigCommerceSim, Counters, Hook, Shared, SharedState};
use crate::sync::lock;

/// What an injected fault does to the requests it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FaultKind {
    /// A 500 with a V2/V3 error body.
    ServerError,
    /// The answer is held back this long (then served normally).
    Slow {
        #[serde(with = "millis", rename = "delay_ms")]
        delay: Duration,
    },
    /// Headers are sent, then the connection is cut mid-body.
    Drop,
    /// A 429 without the rate-limit headers (BigCommerce under platform load).
    Burst429,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

impl FaultKind {
    pub(crate) fn response(self, path: &str) -> Response {
        match self {
            FaultKind::ServerError => error_for(
                path,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error (injected).",
            ),
            FaultKind::Burst429 => {
                error_for(path, StatusCode::TOO_MANY_REQUESTS, "Too many requests.")
            }
            FaultKind::Drop => {
                let cut = futures_util::stream::iter([
                    Ok(axum::body::Bytes::from_static(b"[{\"status\":")),
                    Err(std::io::Error::other("connection dropped (injected)")),
                ]);
                (StatusCode::OK, Body::from_stream(cut)).into_response()
            }
            FaultKind::Slow { .. } => unreachable!("a slow answer is served, not replaced"),
        }
    }
}

/// A fault for the next `remaining` requests whose path contains `path_contains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    #[serde(flatten)]
    pub kind: FaultKind,
    pub remaining: u32,
    #[serde(default)]
    pub path_contains: Option<String>,
}

impl Fault {
    pub(crate) fn applies_to(&self, path: &str) -> bool {
        self.remaining > 0
            && self
                .path_contains
                .as_deref()
                .is_none_or(|part| path.contains(part))
    }
}

/// A webhook delivery as tests see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryView {
    pub id: String,
    pub hook_id: u64,
    pub scope: String,
    pub attempts: u32,
    pub state: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    #[error("no store {0}")]
    NoStore(String),
    #[error("store has no order {0}")]
    NoOrder(u64),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sku(#[from] SkuUnavailable),
}

impl Shared {
    fn store(&mut self, hash: &str) -> Result<&mut super::StoreState, ControlError> {
        self.stores
            .get_mut(hash)
            .ok_or_else(|| ControlError::NoStore(hash.to_string()))
    }

    fn remove_product(&mut self, hash: &str, id: u64) -> Result<(), ControlError> {
        let products = &mut self.store(hash)?.data().products;
        let before = products.len();
        products.retain(|p| p.id != id);
        if products.len() == before {
            return Err(ControlError::Invalid(format!("no product {id}")));
        }
        Ok(())
    }

    fn place_orders(&mut self, hash: &str, count: u32) -> Result<Vec<u64>, ControlError> {
        let now = self.clock.now();
        let mut rng = self.rng.clone();
        let store = self.store(hash)?;
        if store.account.data.products.is_empty() {
            return Err(ControlError::Invalid(
                "the store has no catalog to order from".into(),
            ));
        }
        let mut ids = Vec::new();
        for _ in 0..count {
            let id = store.account.data.place_order(&mut rng, now);
            hooks::emit(
                store,
                now,
                "store/order/created",
                json!({"type": "order", "id": id}),
            );
            ids.push(id);
        }
        self.rng = rng;
        Ok(ids)
    }

    fn set_status(&mut self, hash: &str, id: u64, status: u32) -> Result<(), ControlError> {
        let now = self.clock.now();
        let store = self.store(hash)?;
        let order = store
            .account
            .data
            .orders
            .iter_mut()
            .find(|o| o.id == id)
            .ok_or(ControlError::NoOrder(id))?;
        let previous = order.status_id;
        order.status_id = status;
        order.modified = now;
        hooks::emit_status_change(store, now, id, previous, status);
        Ok(())
    }

    fn edit_order(&mut self, hash: &str, id: u64) -> Result<(), ControlError> {
        let now = self.clock.now();
        let store = self.store(hash)?;
        let order = store
            .account
            .data
            .orders
            .iter_mut()
            .find(|o| o.id == id)
            .ok_or(ControlError::NoOrder(id))?;
        order.lines[0].quantity += 1;
        order.modified = now;
        let total = order.total_inc_tax();
        if let Some(paid) = order
            .transactions
            .iter_mut()
            .find(|t| t.event == "purchase")
        {
            paid.amount = total;
        }
        hooks::emit(
            store,
            now,
            "store/order/updated",
            json!({"type": "order", "id": id}),
        );
        Ok(())
    }

    /// Refunds one unit of the first line that has one left (a merchant refund in the
    /// control panel), or the whole remaining balance with `full`.
    fn refund_order(&mut self, hash: &str, id: u64, full: bool) -> Result<u64, ControlError> {
        let now = self.clock.now();
        let store = self.store(hash)?;
        let index = store
            .account
            .data
            .orders
            .iter()
            .position(|o| o.id == id)
            .ok_or(ControlError::NoOrder(id))?;
        let mut order = store.account.data.orders[index].clone();
        if !order.is_paid() {
            return Err(ControlError::Invalid(format!("order {id} is not paid")));
        }
        let previous = order.status_id;
        let (items, amount, tax) = if full {
            let remaining = order.total_inc_tax() - order.refunded();
            let items = vec![RefundItem {
                item_type: "ORDER".into(),
                item_id: id,
                quantity: None,
                amount: Some(remaining),
                reason: "Refunded in full".into(),
            }];
            (items, remaining, 0)
        } else {
            let line = order
                .lines
                .iter()
                .find(|l| l.quantity_refunded < l.quantity)
                .ok_or_else(|| {
                    ControlError::Invalid(format!("order {id} has nothing left to refund"))
                })?;
            let items = vec![RefundItem {
                item_type: "PRODUCT".into(),
                item_id: line.id,
                quantity: Some(1),
                amount: None,
                reason: "Returned".into(),
            }];
            (items, line.price_ex_tax + line.unit_tax, line.unit_tax)
        };
        if amount <= 0 || order.refunded() + amount > order.total_inc_tax() {
            return Err(ControlError::Invalid(format!(
                "order {id} has nothing left to refund"
            )));
        }
        let refund_id = store
            .account
            .data
            .add_refund(&mut order, items, amount, tax, now);
        let status = order.status_id;
        store.account.data.orders[index] = order;
        hooks::emit_refund(store, now, id, refund_id, previous, status);
        Ok(refund_id)
    }

    fn add_customer(
        &mut self,
        hash: &str,
        email: &str,
        first: &str,
        last: &str,
    ) -> Result<u64, ControlError> {
        let now = self.clock.now();
        let store = self.store(hash)?;
        let data = &mut store.account.data;
        if data
            .customers
            .iter()
            .any(|c| c.email.eq_ignore_ascii_case(email))
        {
            return Err(ControlError::Invalid(format!(
                "{email} is already a customer"
            )));
        }
        let id = data.add_customer(email, first, last, "", "", now).id;
        hooks::emit(
            store,
            now,
            "store/customer/created",
            json!({"type": "customer", "id": id}),
        );
        Ok(id)
    }

    fn deliveries(&mut self, hash: &str) -> Result<Vec<DeliveryView>, ControlError> {
        Ok(self
            .store(hash)?
            .deliveries
            .iter()
            .map(|d| DeliveryView {
                id: d.id.clone(),
                hook_id: d.hook_id,
                scope: d.scope.clone(),
                attempts: d.attempts,
                state: format!("{:?}", d.state).to_lowercase(),
                body: d.body.clone(),
            })
            .collect())
    }

    fn summary(&mut self, hash: &str) -> Result<Value, ControlError> {
        let store = self.store(hash)?;
        let data = &store.account.data;
        let count =
            |state: DeliveryState| store.deliveries.iter().filter(|d| d.state == state).count();
        Ok(json!({
            "hash": hash,
            "orders": data.orders.len(),
            "refunds": data.orders.iter().map(|o| o.refunds.len()).sum::<usize>(),
            "customers": data.customers.len(),
            "products": data.products.len(),
            "hooks": store.hooks.iter().map(|h| json!({"id": h.id, "scope": h.scope, "destination": h.destination, "is_active": h.is_active})).collect::<Vec<_>>(),
            "deliveries": {
                "pending": count(DeliveryState::Pending) + count(DeliveryState::InFlight),
                "delivered": count(DeliveryState::Delivered),
                "failed": count(DeliveryState::Failed),
                "dropped": count(DeliveryState::Dropped),
            },
            "faults": store.faults.len(),
        }))
    }
}

impl BigCommerceSim {
    /// Places `count` new orders now; each fires `store/order/created`.
    pub fn place_orders(&self, hash: &str, count: u32) -> Result<Vec<u64>, ControlError> {
        lock(&self.shared).place_orders(hash, count)
    }

    /// Changes an order's status (fires `statusUpdated` and `updated`).
    pub fn set_order_status(&self, hash: &str, id: u64, status: u32) -> Result<(), ControlError> {
        lock(&self.shared).set_status(hash, id, status)
    }

    /// Adds a unit to the order's first line after placement (fires `updated`).
    pub fn edit_order(&self, hash: &str, id: u64) -> Result<(), ControlError> {
        lock(&self.shared).edit_order(hash, id)
    }

    /// A merchant refund: one unit, or the whole remaining balance.
    pub fn refund_order(&self, hash: &str, id: u64, full: bool) -> Result<u64, ControlError> {
        lock(&self.shared).refund_order(hash, id, full)
    }

    /// A shopper registers (fires `store/customer/created`).
    pub fn add_customer(
        &self,
        hash: &str,
        email: &str,
        first: &str,
        last: &str,
    ) -> Result<u64, ControlError> {
        lock(&self.shared).add_customer(hash, email, first, last)
    }

    /// Adds a product (and a variant per entry of `variant_skus`) to the catalog; returns
    /// the product's id.
    pub fn add_product(
        &self,
        hash: &str,
        sku: &str,
        name: &str,
        price: i64,
        variant_skus: &[&str],
    ) -> Result<u64, ControlError> {
        let mut shared = lock(&self.shared);
        let now = shared.clock.now();
        shared
            .store(hash)?
            .data()
            .add_product(sku, name, price, variant_skus, now)
            .map_err(ControlError::from)
    }

    /// Deletes a product with its variants (as a merchant does in the control panel).
    pub fn remove_product(&self, hash: &str, id: u64) -> Result<(), ControlError> {
        lock(&self.shared).remove_product(hash, id)
    }

    /// Until changed, batch updates of these product or variant ids fail item by item
    /// with `reason` (products in a 207, variants in a 422 naming each); an empty `ids`
    /// accepts every update again.
    pub fn refuse_updates(
        &self,
        hash: &str,
        ids: &[u64],
        reason: &str,
    ) -> Result<(), ControlError> {
        let mut shared = lock(&self.shared);
        let store = shared.store(hash)?;
        store.refused_updates = ids.iter().map(|id| (*id, reason.to_string())).collect();
        Ok(())
    }

    /// Injects a fault for the store's next matching requests.
    pub fn inject(&self, hash: &str, fault: Fault) -> Result<(), ControlError> {
        lock(&self.shared).store(hash)?.faults.push_back(fault);
        Ok(())
    }

    /// Moves the simulated clock forward (due webhook retries then fire).
    pub fn advance(&self, by: Duration) {
        lock(&self.shared).clock.advanced += by;
    }

    /// The simulated time now.
    pub fn now(&self) -> time::OffsetDateTime {
        lock(&self.shared).clock.now()
    }

    pub fn hooks(&self, hash: &str) -> Result<Vec<Hook>, ControlError> {
        Ok(lock(&self.shared).store(hash)?.hooks.clone())
    }

    pub fn deliveries(&self, hash: &str) -> Result<Vec<DeliveryView>, ControlError> {
        lock(&self.shared).deliveries(hash)
    }

    /// The store's data as it stands (orders, refunds, customers, catalog).
    pub fn data(&self, hash: &str) -> Result<super::StoreData, ControlError> {
        Ok(lock(&self.shared).store(hash)?.account.data.clone())
    }

    /// Waits (in real time) until no delivery is pending or in flight, or `timeout`.
    pub async fn settle_deliveries(&self, hash: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let busy = lock(&self.shared).store(hash).is_ok_and(|s| {
                s.deliveries
                    .iter()
                    .any(|d| matches!(d.state, DeliveryState::Pending | DeliveryState::InFlight))
            });
            if !busy {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

pub(crate) fn router() -> Router<SharedState> {
    Router::new()
        .route("/_sim/counters", get(counters))
        .route("/_sim/clock", get(clock).post(advance))
        .route("/_sim/stores/{hash}", get(summary))
        .route("/_sim/stores/{hash}/orders", post(place_orders))
        .route("/_sim/stores/{hash}/orders/{id}/status", post(set_status))
        .route("/_sim/stores/{hash}/orders/{id}/edit", post(edit_order))
        .route("/_sim/stores/{hash}/orders/{id}/refund", post(refund_order))
        .route("/_sim/stores/{hash}/customers", post(add_customer))
        .route("/_sim/stores/{hash}/products", post(add_product))
        .route(
            "/_sim/stores/{hash}/products/{id}",
            axum::routing::delete(remove_product),
        )
        .route("/_sim/stores/{hash}/refused-updates", post(refuse_updates))
        .route("/_sim/stores/{hash}/faults", post(inject))
        .route("/_sim/stores/{hash}/deliveries", get(deliveries))
}

fn answer<T: Serialize>(result: Result<T, ControlError>) -> Response {
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(error @ (ControlError::NoStore(_) | ControlError::NoOrder(_))) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": error.to_string()})),
        )
            .into_response(),
        Err(error) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": error.to_string()})),
        )
            .into_response(),
    }
}

fn counters_json(c: &Counters) -> Value {
    json!({
        "requests": c.requests,
        "rejected_401": c.rejected_401,
        "rejected_403": c.rejected_403,
        "rejected_429": c.rejected_429,
        "faults_injected": c.faults_injected,
        "refunds_refused_in_progress": c.refunds_refused_in_progress,
        "webhooks_delivered": c.webhooks_delivered,
        "webhooks_failed_attempts": c.webhooks_failed_attempts,
    })
}

async fn counters(State(shared): State<SharedState>) -> Response {
    axum::Json(counters_json(&lock(&shared).counters)).into_response()
}

async fn clock(State(shared): State<SharedState>) -> Response {
    let now = lock(&shared).clock.now();
    axum::Json(json!({ "now": super::model::rfc3339(now) })).into_response()
}

#[derive(Deserialize)]
struct Advance {
    seconds: u64,
}

async fn advance(
    State(shared): State<SharedState>,
    axum::Json(by): axum::Json<Advance>,
) -> Response {
    let mut shared = lock(&shared);
    shared.clock.advanced += Duration::from_secs(by.seconds);
    axum::Json(json!({ "now": super::model::rfc3339(shared.clock.now()) })).into_response()
}

async fn summary(State(shared): State<SharedState>, Path(hash): Path<String>) -> Response {
    answer(lock(&shared).summary(&hash))
}

#[derive(Deserialize)]
struct Count {
    count: u32,
}

async fn place_orders(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    axum::Json(body): axum::Json<Count>,
) -> Response {
    answer(
        lock(&shared)
            .place_orders(&hash, body.count)
            .map(|ids| json!({ "ids": ids })),
    )
}

#[derive(Deserialize)]
struct Status {
    status_id: u32,
}

async fn set_status(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
    axum::Json(body): axum::Json<Status>,
) -> Response {
    answer(
        lock(&shared)
            .set_status(&hash, id, body.status_id)
            .map(|()| json!({})),
    )
}

async fn edit_order(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    answer(lock(&shared).edit_order(&hash, id).map(|()| json!({})))
}

#[derive(Deserialize)]
struct RefundBody {
    #[serde(default)]
    full: bool,
}

async fn refund_order(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
    axum::Json(body): axum::Json<RefundBody>,
) -> Response {
    answer(
        lock(&shared)
            .refund_order(&hash, id, body.full)
            .map(|refund_id| json!({ "refund_id": refund_id })),
    )
}

#[derive(Deserialize)]
struct NewCustomer {
    email: String,
    first_name: String,
    last_name: String,
}

async fn add_customer(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    axum::Json(body): axum::Json<NewCustomer>,
) -> Response {
    answer(
        lock(&shared)
            .add_customer(&hash, &body.email, &body.first_name, &body.last_name)
            .map(|id| json!({ "id": id })),
    )
}

#[derive(Deserialize)]
struct NewProduct {
    sku: String,
    name: String,
    /// A JSON number or decimal string.
    price: Box<serde_json::value::RawValue>,
    #[serde(default)]
    variant_skus: Vec<String>,
}

async fn add_product(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    axum::Json(body): axum::Json<NewProduct>,
) -> Response {
    let Some(price) = crate::wire::money_of(&body.price) else {
        return answer::<()>(Err(ControlError::Invalid(
            "price must be a decimal amount".into(),
        )));
    };
    let variants: Vec<&str> = body.variant_skus.iter().map(String::as_str).collect();
    let mut guard = lock(&shared);
    let now = guard.clock.now();
    answer(guard.store(&hash).and_then(|store| {
        store
            .data()
            .add_product(&body.sku, &body.name, price, &variants, now)
            .map(|id| json!({ "id": id }))
            .map_err(ControlError::from)
    }))
}

async fn remove_product(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    answer(lock(&shared).remove_product(&hash, id).map(|()| json!({})))
}

#[derive(Deserialize)]
struct Refusal {
    ids: Vec<u64>,
    #[serde(default)]
    reason: String,
}

async fn refuse_updates(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    axum::Json(body): axum::Json<Refusal>,
) -> Response {
    answer(lock(&shared).store(&hash).map(|store| {
        store.refused_updates = body
            .ids
            .iter()
            .map(|id| (*id, body.reason.clone()))
            .collect();
        json!({})
    }))
}

async fn inject(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    axum::Json(fault): axum::Json<Fault>,
) -> Response {
    answer(lock(&shared).store(&hash).map(|store| {
        store.faults.push_back(fault);
        json!({})
    }))
}

async fn deliveries(State(shared): State<SharedState>, Path(hash): Path<String>) -> Response {
    answer(lock(&shared).deliveries(&hash))
}
