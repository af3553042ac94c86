//! The gate every request under `/stores/{hash}/` passes before its endpoint: injected
//! faults, the access token, the account's scopes and the quota window (with
//! BigCommerce's `X-Rate-Limit-*` headers on the answer); with recording on, it also keeps
//! the request and its answer for
//! [`BigCommerceSim::exchanges`](super::BigCommerceSim::exchanges).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use super::answers::{error_for, v2_error, v3_error};
use super::control::FaultKind;
use super::{Counters, Exchange, SharedState, StoreState};
use crate::sync::lock;

/// The scopes of which a request below the store root needs one (none: the default
/// scope is enough), as the specs list them per endpoint.
fn scopes_for(path: &str) -> &'static [&'static str] {
    if path.contains("/transactions") {
        &["store_v2_transactions"]
    } else if path.starts_with("/v3/orders/") && path.contains("/payment_actions") {
        &["store_v2_transactions", "store_v2_orders"]
    } else if path.starts_with("/v2/order") {
        &["store_v2_orders"]
    } else if path.starts_with("/v3/customers") || path.starts_with("/v2/customers") {
        &["store_v2_customers"]
    } else if path.starts_with("/v2/coupons") {
        &["store_v2_marketing"]
    } else if path.starts_with("/v3/catalog") {
        &["store_v2_products"]
    } else if path.starts_with("/v2/store") || path.starts_with("/v2/time") {
        &["store_v2_information"]
    } else {
        &[]
    }
}

/// What the gate decided for one request.
enum Admission {
    Refuse(Response),
    Fault(FaultKind),
    Admit,
}

/// The store's hash and the path below its root, for `/stores/{hash}/...`.
fn split_store_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/stores/")?;
    let slash = rest.find('/')?;
    Some((&rest[..slash], &rest[slash..]))
}

/// Faults, token and quota for every store request; records the exchange when asked.
pub(super) async fn gate(
    State(shared): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let full_path = request.uri().path().to_string();
    let Some((hash, path)) = split_store_path(&full_path) else {
        return next.run(request).await;
    };
    let (hash, path) = (hash.to_string(), path.to_string());
    let (admission, rate) = {
        let mut guard = lock(&shared);
        let shared = &mut *guard;
        shared.counters.requests += 1;
        match shared.stores.get_mut(&hash) {
            None => (
                Admission::Refuse(error_for(&path, StatusCode::NOT_FOUND, "Store not found.")),
                None,
            ),
            Some(store) => admit(store, &mut shared.counters, &path, &request),
        }
    };
    let mut response = match admission {
        Admission::Refuse(response) => response,
        Admission::Fault(FaultKind::Slow { delay }) => {
            tokio::time::sleep(delay).await;
            serve(&shared, &path, request, next).await
        }
        Admission::Fault(kind) => kind.response(&path),
        Admission::Admit => serve(&shared, &path, request, next).await,
    };
    if let Some((left, quota, reset, window)) = rate {
        let headers = response.headers_mut();
        headers.insert("x-rate-limit-requests-left", HeaderValue::from(left));
        headers.insert("x-rate-limit-requests-quota", HeaderValue::from(quota));
        headers.insert(
            "x-rate-limit-time-reset-ms",
            HeaderValue::from(reset.as_millis() as u64),
        );
        headers.insert(
            "x-rate-limit-time-window-ms",
            HeaderValue::from(window.as_millis() as u64),
        );
    }
    response
}

type RateState = Option<(u32, u32, Duration, Duration)>;

fn admit(
    store: &mut StoreState,
    counters: &mut Counters,
    path: &str,
    request: &Request,
) -> (Admission, RateState) {
    if let Some(index) = store.faults.iter().position(|f| f.applies_to(path)) {
        let fault = &mut store.faults[index];
        let kind = fault.kind;
        fault.remaining = fault.remaining.saturating_sub(1);
        if fault.remaining == 0 {
            store.faults.remove(index);
        }
        counters.faults_injected += 1;
        if !matches!(kind, FaultKind::Slow { .. }) {
            return (Admission::Fault(kind), None);
        }
        // A slow answer is still an answer: it goes through the token and the quota.
        let (admission, rate) = admit(store, counters, path, request);
        return match admission {
            Admission::Admit => (Admission::Fault(kind), rate),
            other => (other, rate),
        };
    }
    let token = request
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(store.account.token.as_str()) {
        counters.rejected_401 += 1;
        let response = if path.starts_with("/v3/") {
            v3_error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized - the v3 Auth client ID or token is invalid.",
                json!({}),
            )
        } else {
            v2_error(StatusCode::UNAUTHORIZED, "You have not been authorized.")
        };
        return (Admission::Refuse(response), None);
    }
    let needed = scopes_for(path);
    if !needed.is_empty() {
        let reading = request.method() == axum::http::Method::GET;
        let granted = store.account.scopes.iter().any(|held| {
            needed.iter().any(|scope| {
                held == scope || (reading && held.strip_suffix("_read_only") == Some(scope))
            })
        });
        if !granted {
            counters.rejected_403 += 1;
            let response = error_for(
                path,
                StatusCode::FORBIDDEN,
                "You don't have a required scope to access the endpoint",
            );
            return (Admission::Refuse(response), None);
        }
    }
    let now = Instant::now();
    if now.duration_since(store.window_started) >= store.account.window {
        store.window_started = now;
        store.used = 0;
    }
    let (quota, window) = (store.account.quota, store.account.window);
    let reset = window.saturating_sub(now.duration_since(store.window_started));
    if store.used >= quota {
        counters.rejected_429 += 1;
        let mut limited = error_for(path, StatusCode::TOO_MANY_REQUESTS, "Too many requests.");
        let retry_after = reset.as_secs_f64().ceil() as u64;
        limited
            .headers_mut()
            .insert("x-retry-after", HeaderValue::from(retry_after));
        return (Admission::Refuse(limited), Some((0, quota, reset, window)));
    }
    store.used += 1;
    let left = quota - store.used;
    (Admission::Admit, Some((left, quota, reset, window)))
}

/// Runs the endpoint; with recording on, keeps both bodies.
async fn serve(shared: &SharedState, path: &str, request: Request, next: Next) -> Response {
    if !lock(shared).options.record {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = if name == "x-auth-token" {
                "<redacted>".to_string()
            } else {
                value.to_str().unwrap_or("").to_string()
            };
            (name.as_str().to_string(), value)
        })
        .collect();
    let method = parts.method.to_string();
    let request_body = serde_json::from_slice(&bytes).ok();
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    lock(shared).exchanges.push(Exchange {
        method,
        path: path.to_string(),
        query,
        headers,
        request_body,
        status: parts.status.as_u16(),
        response_body: serde_json::from_slice(&bytes).ok(),
    });
    Response::from_parts(parts, Body::from(bytes))
}
