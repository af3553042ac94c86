//! `/v3/hooks`: list (filtered by the account's client, activity, scope and destination),
//! create (HTTPS on 443 or loopback HTTP, no duplicate, at most 10 per scope), read,
//! update (reactivation included) and delete (dropping its pending deliveries).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::super::answers::{page_and_limit, pagination, unprocessable, v3_error};
use super::super::{SharedState, with_store};
use super::{Hook, drop_pending};

pub(crate) fn router() -> Router<SharedState> {
    Router::new()
        .route("/stores/{hash}/v3/hooks", get(list_hooks).post(create_hook))
        .route(
            "/stores/{hash}/v3/hooks/{id}",
            get(get_hook).put(update_hook).delete(delete_hook),
        )
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
            Err(error) => return unprocessable(&error.to_string()),
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

/// Custom headers that are not an object of strings; the text is the 422's.
#[derive(Debug, thiserror::Error)]
enum HeadersError {
    #[error("header {0} must be a string")]
    NotAString(String),
    #[error("headers must be an object")]
    NotAnObject,
}

/// The custom headers of a create or update; the error names the problem.
fn headers_of(value: Option<&Value>) -> Result<BTreeMap<String, String>, HeadersError> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(v) => Ok((k.clone(), v.to_string())),
                None => Err(HeadersError::NotAString(k.clone())),
            })
            .collect(),
        Some(_) => Err(HeadersError::NotAnObject),
    }
}

fn bad_headers(problem: HeadersError) -> Response {
    detailed_error(
        "Input is invalid",
        json!({ "headers": problem.to_string() }),
    )
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
        drop_pending(store, id);
        wrapped(&hook)
    })
}
