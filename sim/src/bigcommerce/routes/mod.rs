//! The simulated Management API endpoints: V2 orders and their sub-resources, order
//! statuses, store information and time; V3 transactions, refunds (per order, across
//! orders, and creation with BigCommerce's checks), customers (with cursor paging and
//! batch creation) and catalog products and variants (lookup by SKU and batch updates).
//!
//! One module per resource: [`orders`] (V2 orders and order statuses), [`store`] (store
//! information and time), [`payments`] (transactions and refunds), [`customers`] and
//! [`catalog`]. This module merges their routes and holds what they share: the not-found
//! and bad-request answers, V2's empty lists and the date filters.
//!
//! Authentication, quota and faults are handled before these run (see the module root).

mod catalog;
mod customers;
mod orders;
mod payments;
mod store;

use std::collections::HashMap;

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::SharedState;
use super::answers::{no_content, v2_error, v3_error};

/// A request's query parameters.
type Q = Query<HashMap<String, String>>;

pub(crate) fn router() -> Router<SharedState> {
    Router::new()
        .merge(orders::router())
        .merge(store::router())
        .merge(payments::router())
        .merge(customers::router())
        .merge(catalog::router())
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

/// A date filter that is neither RFC 3339 nor RFC 2822; the text is the answer's.
#[derive(Debug, thiserror::Error)]
#[error("The field '{0}' is invalid.")]
struct BadDate(String);

/// The date filter `name`, when given.
fn date_filter(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<OffsetDateTime>, BadDate> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => parse_date(text)
            .map(Some)
            .ok_or_else(|| BadDate(name.to_string())),
    }
}
