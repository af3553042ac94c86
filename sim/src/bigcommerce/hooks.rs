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

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Digest as _;
use time::OffsetDateTime;

use super::{SharedState, StoreState, lock, page_and_limit, pagination, v3_error, with_store};

/// BigCommerce's retry schedule after a failed delivery, in seconds.
pub const RETRY_SCHEDULE_S: [u64; 11] = [
    60, 180, 300, 600, 900, 1_800, 3_600, 7_200, 21_600, 50_400, 86_400,
];

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

pub(crate) fn router() -> Router<SharedState> {
    Router::new()
        .route("/stores/{hash}/v3/hooks", get(list_hooks).post(create_hook))
        .route(
            "/stores/{hash}/v3/hooks/{id}",
            get(get_hook).put(update_hook).delete(delete_hook),
        )
}

/// Queues one event for every active hook that listens to `scope`.
pub(crate) fn emit(store: &mut StoreState, now: OffsetDateTime, scope: &str, data: Value) {
    let data_text = serde_json::to_string(&data).expect("JSON serialises");
    let hash = hex(&sha1::Sha1::digest(data_text.as_bytes()));
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Standard Webhooks signature header value.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// One attempt, ready to send without the lock.
struct Attempt {
    hash: String,
    delivery_id: String,
    destination: String,
    headers: BTreeMap<String, String>,
    secret: String,
    body: String,
}

/// Sends due deliveries until the simulator stops.
pub(crate) async fn deliver_forever(shared: SharedState) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client builds");
    loop {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let due: Vec<Attempt> = {
            let mut guard = lock(&shared);
            let now = guard.clock.now();
            let mut due = Vec::new();
            for store in guard.stores.values_mut() {
                let secret = store.account.client_secret.clone();
                let hash = store.account.hash.clone();
                for delivery in &mut store.deliveries {
                    if delivery.state != DeliveryState::Pending || delivery.due > now {
                        continue;
                    }
                    let Some(hook) = store.hooks.iter().find(|h| h.id == delivery.hook_id) else {
                        delivery.state = DeliveryState::Dropped;
                        continue;
                    };
                    delivery.state = DeliveryState::InFlight;
                    due.push(Attempt {
                        hash: hash.clone(),
                        delivery_id: delivery.id.clone(),
                        destination: hook.destination.clone(),
                        headers: hook.headers.clone(),
                        secret: secret.clone(),
                        body: delivery.body.clone(),
                    });
                }
            }
            due
        };
        for attempt in due {
            let http = http.clone();
            let shared = shared.clone();
            tokio::spawn(async move {
                let ok = send(&http, &attempt).await;
                record_outcome(&shared, &attempt.hash, &attempt.delivery_id, ok);
            });
        }
    }
}

async fn send(http: &reqwest::Client, attempt: &Attempt) -> bool {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut request = http
        .post(&attempt.destination)
        .header("content-type", "application/json")
        .header("webhook-id", &attempt.delivery_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            sign(
                &attempt.secret,
                &attempt.delivery_id,
                timestamp,
                &attempt.body,
            ),
        )
        .body(attempt.body.clone());
    for (name, value) in &attempt.headers {
        request = request.header(name, value);
    }
    matches!(request.send().await, Ok(response) if response.status().is_success())
}

fn record_outcome(shared: &SharedState, hash: &str, delivery_id: &str, ok: bool) {
    let mut guard = lock(shared);
    let shared = &mut *guard;
    let now = shared.clock.now();
    let Some(store) = shared.stores.get_mut(hash) else {
        return;
    };
    let Some(delivery) = store.deliveries.iter_mut().find(|d| d.id == delivery_id) else {
        return;
    };
    if ok {
        delivery.state = DeliveryState::Delivered;
        delivery.attempts += 1;
        shared.counters.webhooks_delivered += 1;
        return;
    }
    shared.counters.webhooks_failed_attempts += 1;
    delivery.attempts += 1;
    match RETRY_SCHEDULE_S.get(delivery.attempts as usize - 1) {
        Some(wait) => {
            delivery.due = now + Duration::from_secs(*wait);
            delivery.state = DeliveryState::Pending;
        }
        None => {
            delivery.state = DeliveryState::Failed;
            let hook_id = delivery.hook_id;
            deactivate(store, hook_id, now);
        }
    }
}

/// Deactivates a hook and drops what was waiting for it, as BigCommerce does after the
/// final retry.
fn deactivate(store: &mut StoreState, hook_id: u64, now: OffsetDateTime) {
    if let Some(hook) = store.hooks.iter_mut().find(|h| h.id == hook_id) {
        hook.is_active = false;
        hook.updated_at = now.unix_timestamp();
    }
    for delivery in &mut store.deliveries {
        if delivery.hook_id == hook_id && delivery.state == DeliveryState::Pending {
            delivery.state = DeliveryState::Dropped;
        }
    }
}

fn wrapped(hook: &Hook) -> Response {
    axum::Json(json!({ "data": hook.json(), "meta": {} })).into_response()
}

fn hook_not_found() -> Response {
    v3_error(
        StatusCode::NOT_FOUND,
        "The webhook was not found.",
        json!({}),
    )
}

async fn list_hooks(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let (page, limit) = match page_and_limit(&query, 50) {
            Ok(v) => v,
            Err(message) => return v3_error(StatusCode::UNPROCESSABLE_ENTITY, &message, json!({})),
        };
        let client = store.account.client_id.clone();
        let matching: Vec<&Hook> = store
            .hooks
            .iter()
            .filter(|h| h.client_id == client)
            .filter(|h| {
                query
                    .get("is_active")
                    .is_none_or(|a| *a == h.is_active.to_string())
            })
            .filter(|h| query.get("scope").is_none_or(|s| *s == h.scope))
            .filter(|h| query.get("destination").is_none_or(|d| *d == h.destination))
            .collect();
        let data: Vec<Value> = matching
            .iter()
            .skip((page - 1) * limit)
            .take(limit)
            .map(|h| h.json())
            .collect();
        let meta = pagination(matching.len(), data.len(), page, limit);
        axum::Json(json!({ "data": data, "meta": meta })).into_response()
    })
}

fn detailed_error(title: &str, errors: Value) -> Response {
    v3_error(StatusCode::UNPROCESSABLE_ENTITY, title, errors)
}

/// BigCommerce takes HTTPS on port 443 only; the simulator also takes loopback HTTP.
fn destination_allowed(destination: &str) -> bool {
    let https = destination
        .strip_prefix("https://")
        .map(|rest| rest.split('/').next().unwrap_or(""))
        .is_some_and(|host| !host.is_empty() && (!host.contains(':') || host.ends_with(":443")));
    let loopback = destination.starts_with("http://127.0.0.1:");
    https || loopback
}

/// The custom headers of a create or update; the error names the problem.
fn headers_of(value: Option<&Value>) -> Result<BTreeMap<String, String>, String> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(v) => Ok((k.clone(), v.to_string())),
                None => Err(format!("header {k} must be a string")),
            })
            .collect(),
        Some(_) => Err("headers must be an object".into()),
    }
}

fn bad_headers(problem: String) -> Response {
    detailed_error("Input is invalid", json!({ "headers": problem }))
}

async fn create_hook(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return detailed_error("The request body must be a JSON object.", json!({}));
    };
    let scope = body.get("scope").and_then(Value::as_str).unwrap_or("");
    let destination = body
        .get("destination")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut errors = serde_json::Map::new();
    if scope.is_empty() {
        errors.insert("scope".into(), json!("error.path.missing."));
    }
    if destination.is_empty() {
        errors.insert("destination".into(), json!("error.path.missing."));
    } else if !destination_allowed(destination) {
        errors.insert(
            "destination".into(),
            json!("The destination must be HTTPS on port 443."),
        );
    }
    let is_active = match body.get("is_active") {
        None => true,
        Some(Value::Bool(active)) => *active,
        Some(_) => {
            errors.insert("is_active".into(), json!("is_active must be a boolean."));
            true
        }
    };
    let headers = match headers_of(body.get("headers")) {
        Ok(headers) => headers,
        Err(problem) => return bad_headers(problem),
    };
    if !errors.is_empty() {
        return detailed_error("Input is invalid", Value::Object(errors));
    }
    with_store(&shared, &hash, |store, now| {
        let client = store.account.client_id.clone();
        let same_scope = store
            .hooks
            .iter()
            .filter(|h| h.client_id == client && h.scope == scope);
        if same_scope.clone().any(|h| h.destination == destination) {
            return detailed_error(
                "A webhook with this scope and destination already exists.",
                json!({ "destination": "duplicate" }),
            );
        }
        if same_scope.count() >= 10 {
            return detailed_error(
                "At most 10 webhooks per scope are allowed.",
                json!({ "scope": "limit reached" }),
            );
        }
        let hook = Hook {
            id: store.account.data.next_id(),
            client_id: client,
            store_hash: store.account.hash.clone(),
            scope: scope.to_string(),
            destination: destination.to_string(),
            headers,
            is_active,
            created_at: now.unix_timestamp(),
            updated_at: now.unix_timestamp(),
        };
        let response = wrapped(&hook);
        store.hooks.push(hook);
        response
    })
}

async fn get_hook(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        match store.hooks.iter().find(|h| h.id == id) {
            Some(hook) => wrapped(hook),
            None => hook_not_found(),
        }
    })
}

async fn update_hook(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
    body: Bytes,
) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return detailed_error("The request body must be a JSON object.", json!({}));
    };
    if body.is_empty() {
        return detailed_error("At least one field is required.", json!({}));
    }
    let headers = match body.get("headers").map(|h| headers_of(Some(h))).transpose() {
        Ok(headers) => headers,
        Err(problem) => return bad_headers(problem),
    };
    if let Some(destination) = body.get("destination").and_then(Value::as_str)
        && !destination_allowed(destination)
    {
        return detailed_error(
            "Input is invalid",
            json!({ "destination": "The destination must be HTTPS on port 443." }),
        );
    }
    with_store(&shared, &hash, |store, now| {
        let Some(hook) = store.hooks.iter_mut().find(|h| h.id == id) else {
            return hook_not_found();
        };
        if let Some(scope) = body.get("scope").and_then(Value::as_str) {
            hook.scope = scope.to_string();
        }
        if let Some(destination) = body.get("destination").and_then(Value::as_str) {
            hook.destination = destination.to_string();
        }
        if let Some(active) = body.get("is_active").and_then(Value::as_bool) {
            hook.is_active = active;
        }
        if let Some(headers) = headers {
            hook.headers = headers;
        }
        hook.updated_at = now.unix_timestamp();
        wrapped(hook)
    })
}

async fn delete_hook(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let Some(index) = store.hooks.iter().position(|h| h.id == id) else {
            return hook_not_found();
        };
        let hook = store.hooks.remove(index);
        for delivery in &mut store.deliveries {
            if delivery.hook_id == id && delivery.state == DeliveryState::Pending {
                delivery.state = DeliveryState::Dropped;
            }
        }
        wrapped(&hook)
    })
}
