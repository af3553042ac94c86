//! The simulated Management API endpoints: V2 orders (with their count) and their
//! sub-resources, order statuses, customers and coupons (deprecated or marketing endpoints
//! third-party clients still read), store information and time; V3 transactions, refunds (per order, across
//! orders, and creation with BigCommerce's checks), customers (with cursor paging and
//! batch creation) and catalog products and variants (lookup by SKU and batch updates).
//!
//! One module per resource: [`orders`] (V2 orders and order statuses), [`store`] (store
//! information and time), [`payments`] (transactions and refunds), [`customers`],
//! [`coupons`] and [`catalog`]. This module merges their routes and holds what they share:
//! the not-found answer for what no endpoint serves, the bad-request answers, V2's empty
//! lists and the date and number filters.
//!
//! Authentication, quota and faults are handled before these run (see the module root).

mod catalog;
mod coupons;
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
        .merge(coupons::router())
        .merge(catalog::router())
        .fallback(unknown)
}

/// Anything under a store's root that no endpoint serves: BigCommerce's V2 or V3 404 (the
/// gate has already counted it against the quota and adds the rate-limit headers).
async fn unknown(uri: axum::http::Uri) -> Response {
    super::answers::error_for(
        uri.path(),
        StatusCode::NOT_FOUND,
        "The requested resource was not found.",
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

/// Page `page` (from 1) of `limit` items.
fn page_of<T>(items: impl IntoIterator<Item = T>, page: usize, limit: usize) -> Vec<T> {
    items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect()
}

/// RFC 3339 or RFC 2822, as BigCommerce's date filters take.
fn parse_date(text: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::{Rfc2822, Rfc3339};
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc2822))
        .ok()
}

/// A filter whose value is not of its kind (a date neither RFC 3339 nor RFC 2822, a number
/// that is not one); the text is the answer's.
#[derive(Debug, thiserror::Error)]
#[error("The field '{0}' is invalid.")]
struct BadField(String);

/// The date filter `name`, when given.
fn date_filter(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<OffsetDateTime>, BadField> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => parse_date(text)
            .map(Some)
            .ok_or_else(|| BadField(name.to_string())),
    }
}

/// The number filter `name`, when given.
fn number_filter<T: std::str::FromStr>(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, BadField> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| BadField(name.to_string())),
    }
}
