//! Webhooks in the simulated store: `/v3/hooks` management, events, and delivery.
//!
//! Events ([`emit`]) become one delivery per active hook whose scope matches (exactly or
//! by a `/*` wildcard). A delivery is a POST of the light payload (`scope`, `store_id`,
//! `data`, `hash` = SHA-1 of the JSON-encoded `data`, `created_at`, `producer`) with the
//! hook's custom headers and the Standard Webhooks headers: `webhook-id`,
//! `webhook-timestamp` (wall-clock seconds, so a receiver's 5-minute tolerance holds
//! even when the simulator's clock runs fast) and `webhook-signature`
//! (`v1,` + base64 HMAC-SHA256 over `id.timestamp.body`, keyed with the account's client
//! secret). A non-2xx answer or no answer is retried on BigCommerce's schedule (60 s, 180 s,
//! ... 86 400 s: about 48 hours in all, in simulated time); after the last retry fails
//! the hook is deactivated (`is_active: false`) and its pending events are dropped, as
//! BigCommerce does. `PUT /v3/hooks/{id}` with `is_active: true` reactivates it.
//!
//! Deviation (listed with the conformance exceptions): destinations must be HTTPS on
//! port 443 at BigCommerce; the simulator also accepts `http://127.0.0.1:PORT` so tests
//! stay on the machine.
//!
//! The hooks and their pending deliveries live here, with [`emit`]; `delivery` sends
//! them and `routes` is `/v3/hooks`.

mod delivery;
mod routes;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha1::Digest as _;
use time::OffsetDateTime;

use super::StoreState;

pub(crate) use delivery::deliver_forever;
pub use delivery::{RETRY_SCHEDULE_S, sign};
pub(crate) use routes::router;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub id: u64,
    pub client_id: String,
    pub store_hash: String,
    pub scope: String,
    pub destination: String,
    pub headers: BTreeMap<String, String>,
    pub is_active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Hook {
    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "client_id": self.client_id,
            "store_hash": self.store_hash,
            "scope": self.scope,
            "destination": self.destination,
            "headers": self.headers,
            "is_active": self.is_active,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }

    fn matches(&self, scope: &str) -> bool {
        match self.scope.strip_suffix('*') {
            Some(prefix) => scope.starts_with(prefix),
            None => self.scope == scope,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    InFlight,
    Delivered,
    /// Every retry failed; the hook was deactivated.
    Failed,
    /// Dropped because its hook was deactivated or deleted.
    Dropped,
}

#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) id: String,
    pub(crate) hook_id: u64,
    pub(crate) scope: String,
    pub(crate) body: String,
    pub(crate) attempts: u32,
    pub(crate) due: OffsetDateTime,
    pub(crate) state: DeliveryState,
}

/// Queues one event for every active hook that listens to `scope`.
pub(crate) fn emit(store: &mut StoreState, now: OffsetDateTime, scope: &str, data: Value) {
    let data_text = serde_json::to_string(&data).expect("JSON serialises");
    let hash = hex::encode(sha1::Sha1::digest(data_text.as_bytes()));
    let body = json!({
        "scope": scope,
        "store_id": format!("{}", 1_000_000 + store.account.hash.len()),
        "data": data,
        "hash": hash,
        "created_at": now.unix_timestamp(),
        "producer": format!("stores/{}", store.account.hash),
    })
    .to_string();
    let hooks: Vec<u64> = store
        .hooks
        .iter()
        .filter(|h| h.is_active && h.matches(scope))
        .map(|h| h.id)
        .collect();
    for hook_id in hooks {
        let id = format!("msg_{:x}", store.account.data.next_id());
        store.deliveries.push(Delivery {
            id,
            hook_id,
            scope: scope.to_string(),
            body: body.clone(),
            attempts: 0,
            due: now,
            state: DeliveryState::Pending,
        });
    }
}

/// `store/order/refund/created` for a refund on an order, then the status change it
/// made, if any.
pub(crate) fn emit_refund(
    store: &mut StoreState,
    now: OffsetDateTime,
    order_id: u64,
    refund_id: u64,
    previous: u32,
    new: u32,
) {
    emit(
        store,
        now,
        "store/order/refund/created",
        json!({"type": "order", "id": order_id, "refund": {"refund_id": refund_id}}),
    );
    if new != previous {
        emit_status_change(store, now, order_id, previous, new);
    }
}

/// Drops what was waiting for a hook that was deactivated or deleted.
fn drop_pending(store: &mut StoreState, hook_id: u64) {
    for delivery in &mut store.deliveries {
        if delivery.hook_id == hook_id && delivery.state == DeliveryState::Pending {
            delivery.state = DeliveryState::Dropped;
        }
    }
}

/// `store/order/statusUpdated` and `store/order/updated` for a status change.
pub(crate) fn emit_status_change(
    store: &mut StoreState,
    now: OffsetDateTime,
    order_id: u64,
    previous: u32,
    new: u32,
) {
    emit(
        store,
        now,
        "store/order/statusUpdated",
        json!({"type": "order", "id": order_id, "status": {"previous_status_id": previous, "new_status_id": new}}),
    );
    emit(
        store,
        now,
        "store/order/updated",
        json!({"type": "order", "id": order_id}),
    );
}
