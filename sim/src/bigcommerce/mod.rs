//! A BigCommerce store simulator (Management API), served over real HTTP.
//!
//! So far: several stores, each with its access token and orders; `GET
//! /stores/{hash}/v2/orders` (page, limit up to 250, `min_date_modified`, sort by
//! `date_modified` or `id`; 204 on an empty page) and `GET /stores/{hash}/v2/orders/{id}`;
//! 401 on a wrong token in the V2 error shape; the quota window with
//! `X-Rate-Limit-Requests-Left/-Quota/-Time-Reset-Ms/-Time-Window-Ms` on every answer and
//! a 429 with `X-Retry-After` once the window's quota is spent. The window length is
//! configurable so tests can compress time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};

/// One simulated order, as V2 lists it.
#[derive(Debug, Clone)]
pub struct SimOrder {
    pub id: u64,
    pub status_id: u32,
    pub status: String,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
    pub currency: String,
    /// Ten-thousandths: sent as a four-decimal string, as V2 does.
    pub total_inc_tax: i64,
}

impl SimOrder {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "status_id": self.status_id,
            "status": self.status,
            "date_created": self.created.format(&Rfc2822).unwrap(),
            "date_modified": self.modified.format(&Rfc2822).unwrap(),
            "currency_code": self.currency,
            "total_inc_tax": format!("{}.{:04}", self.total_inc_tax / 10_000, self.total_inc_tax % 10_000),
        })
    }
}

/// A store: its hash, access token, quota and orders.
#[derive(Debug, Clone)]
pub struct SimStore {
    pub hash: String,
    pub token: String,
    /// Requests per window (BigCommerce Standard: 150 per 30 s).
    pub quota: u32,
    pub window: Duration,
    pub orders: Vec<SimOrder>,
}

/// What the simulator saw, for tests to assert on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    pub rejected_401: u64,
    pub rejected_429: u64,
}

struct StoreState {
    store: SimStore,
    window_started: Instant,
    used: u32,
}

#[derive(Default)]
struct Shared {
    stores: HashMap<String, StoreState>,
    counters: Counters,
}

/// A running simulator. Dropping it stops the server.
pub struct BigCommerceSim {
    base_url: String,
    shared: Arc<Mutex<Shared>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for BigCommerceSim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl BigCommerceSim {
    /// Starts the simulator on 127.0.0.1 with these stores.
    pub async fn start(stores: Vec<SimStore>) -> std::io::Result<BigCommerceSim> {
        let shared = Arc::new(Mutex::new(Shared {
            stores: stores
                .into_iter()
                .map(|store| {
                    let hash = store.hash.clone();
                    (
                        hash,
                        StoreState {
                            store,
                            window_started: Instant::now(),
                            used: 0,
                        },
                    )
                })
                .collect(),
            counters: Counters::default(),
        }));
        let app = Router::new()
            .route("/stores/{hash}/v2/orders", get(list_orders))
            .route("/stores/{hash}/v2/orders/{id}", get(get_order))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(BigCommerceSim {
            base_url,
            shared,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`; a store's API root is `{base_url}/stores/{hash}`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn counters(&self) -> Counters {
        self.shared.lock().unwrap().counters.clone()
    }
}

/// `count` orders for a store: ids from 100, modified one minute apart from `start`.
pub fn generate_orders(count: u64, start: OffsetDateTime) -> Vec<SimOrder> {
    (0..count)
        .map(|i| SimOrder {
            id: 100 + i,
            status_id: 11,
            status: "Awaiting Fulfillment".into(),
            created: start + time::Duration::minutes(i as i64),
            modified: start + time::Duration::minutes(i as i64),
            currency: if i % 5 == 0 {
                "EUR".into()
            } else {
                "USD".into()
            },
            total_inc_tax: 10_000 + (i as i64 * 1_234) % 500_000,
        })
        .collect()
}

type SharedState = Arc<Mutex<Shared>>;

/// Authenticates, counts against the quota, and adds the rate-limit headers; `answer`
/// builds the response from the store when the request is admitted.
fn admit(
    shared: &SharedState,
    hash: &str,
    headers: &HeaderMap,
    answer: impl FnOnce(&SimStore) -> Response,
) -> Response {
    let mut shared = shared.lock().unwrap();
    shared.counters.requests += 1;
    let Some(state) = shared.stores.get_mut(hash) else {
        return v2_error(StatusCode::NOT_FOUND, "Store not found.");
    };
    let token_ok = headers.get("x-auth-token").and_then(|v| v.to_str().ok())
        == Some(state.store.token.as_str());
    if !token_ok {
        shared.counters.rejected_401 += 1;
        return v2_error(StatusCode::UNAUTHORIZED, "You have not been authorized.");
    }
    let now = Instant::now();
    if now.duration_since(state.window_started) >= state.store.window {
        state.window_started = now;
        state.used = 0;
    }
    let (quota, window) = (state.store.quota, state.store.window);
    let reset = window.saturating_sub(now.duration_since(state.window_started));
    let admitted = state.used < quota;
    let answer = admitted.then(|| {
        state.used += 1;
        answer(&state.store)
    });
    let left = quota.saturating_sub(state.used);
    let mut response = answer.unwrap_or_else(|| {
        shared.counters.rejected_429 += 1;
        let mut limited = v2_error(StatusCode::TOO_MANY_REQUESTS, "Too many requests.");
        let retry_after = reset.as_secs_f64().ceil() as u64;
        limited
            .headers_mut()
            .insert("x-retry-after", HeaderValue::from(retry_after));
        limited
    });
    let h = response.headers_mut();
    h.insert("x-rate-limit-requests-left", HeaderValue::from(left));
    h.insert("x-rate-limit-requests-quota", HeaderValue::from(quota));
    h.insert(
        "x-rate-limit-time-reset-ms",
        HeaderValue::from(reset.as_millis() as u64),
    );
    h.insert(
        "x-rate-limit-time-window-ms",
        HeaderValue::from(window.as_millis() as u64),
    );
    response
}

fn v2_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!([{ "status": status.as_u16(), "message": message }])),
    )
        .into_response()
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
    min_date_modified: Option<String>,
    sort: Option<String>,
}

async fn list_orders(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    admit(&shared, &hash, &headers, |store| {
        let page: usize = match query.page.as_deref().map(str::parse).unwrap_or(Ok(1)) {
            Ok(page) if page >= 1 => page,
            _ => return v2_error(StatusCode::BAD_REQUEST, "The field 'page' is invalid."),
        };
        let limit: usize = match query.limit.as_deref().map(str::parse).unwrap_or(Ok(50)) {
            Ok(limit) if (1..=250).contains(&limit) => limit,
            _ => {
                return v2_error(
                    StatusCode::BAD_REQUEST,
                    "The field 'limit' must be between 1 and 250.",
                );
            }
        };
        let since = match query.min_date_modified.as_deref().map(parse_date) {
            Some(Some(since)) => Some(since),
            Some(None) => {
                return v2_error(
                    StatusCode::BAD_REQUEST,
                    "The field 'min_date_modified' is invalid.",
                );
            }
            None => None,
        };
        let mut orders: Vec<&SimOrder> = store
            .orders
            .iter()
            .filter(|o| since.is_none_or(|since| o.modified >= since))
            .collect();
        match query.sort.as_deref() {
            None | Some("id:asc") => orders.sort_by_key(|o| o.id),
            Some("date_modified:asc") => orders.sort_by_key(|o| (o.modified, o.id)),
            Some(_) => return v2_error(StatusCode::BAD_REQUEST, "The field 'sort' is invalid."),
        }
        let page: Vec<Value> = orders
            .iter()
            .skip((page - 1) * limit)
            .take(limit)
            .map(|o| o.to_json())
            .collect();
        if page.is_empty() {
            StatusCode::NO_CONTENT.into_response()
        } else {
            axum::Json(Value::Array(page)).into_response()
        }
    })
}

async fn get_order(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
    headers: HeaderMap,
) -> Response {
    admit(&shared, &hash, &headers, |store| {
        match store.orders.iter().find(|o| o.id == id) {
            Some(order) => axum::Json(order.to_json()).into_response(),
            None => v2_error(
                StatusCode::NOT_FOUND,
                "The requested resource was not found.",
            ),
        }
    })
}

/// BigCommerce takes RFC 2822 or ISO 8601 for `min_date_modified`.
fn parse_date(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc2822))
        .ok()
}
