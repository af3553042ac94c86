//! The Management API's answer shapes the endpoints share: V2 and V3 error bodies, the V3
//! collection `meta` with its pagination links, an empty 204, and the `page` and `limit`
//! parameters both versions take.

use std::collections::HashMap;
use std::num::ParseIntError;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The error body of the API version `path` belongs to.
pub(crate) fn error_for(path: &str, status: StatusCode, message: &str) -> Response {
    if path.contains("/v3/") {
        v3_error(status, message, json!({}))
    } else {
        v2_error(status, message)
    }
}

pub(crate) fn v2_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!([{ "status": status.as_u16(), "message": message }])),
    )
        .into_response()
}

pub(crate) fn v3_error(status: StatusCode, title: &str, errors: Value) -> Response {
    (
        status,
        axum::Json(json!({
            "status": status.as_u16(),
            "title": title,
            "type": "/api-docs/getting-started/api-status-codes",
            "errors": errors,
        })),
    )
        .into_response()
}

/// A V3 422 with `title` and no field errors.
pub(crate) fn unprocessable(title: &str) -> Response {
    v3_error(StatusCode::UNPROCESSABLE_ENTITY, title, json!({}))
}

/// The V3 collection `meta` for one page of `total` items.
pub(crate) fn pagination(total: usize, count: usize, page: usize, limit: usize) -> Value {
    let total_pages = total.div_ceil(limit).max(1);
    let mut links = serde_json::Map::new();
    if page > 1 {
        links.insert(
            "previous".into(),
            json!(format!("?page={}&limit={limit}", page - 1)),
        );
    }
    links.insert(
        "current".into(),
        json!(format!("?page={page}&limit={limit}")),
    );
    if page < total_pages {
        links.insert(
            "next".into(),
            json!(format!("?page={}&limit={limit}", page + 1)),
        );
    }
    json!({
        "pagination": {
            "total": total,
            "count": count,
            "per_page": limit,
            "current_page": page,
            "total_pages": total_pages,
            "links": links,
        }
    })
}

/// An empty 204.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A `page` or `limit` out of bounds (with the parse error when it is not a number); the
/// text is the answer's.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PagingError {
    #[error("The field 'page' is invalid.")]
    Page(#[source] Option<ParseIntError>),
    #[error("The field 'limit' must be between 1 and 250.")]
    Limit(#[source] Option<ParseIntError>),
}

/// Reads `page` and `limit` (V2 and V3 share the rules: page from 1, limit 1..=250).
pub(crate) fn page_and_limit(
    query: &HashMap<String, String>,
    default_limit: usize,
) -> Result<(usize, usize), PagingError> {
    let page = match query.get("page").map(|p| p.parse::<usize>()) {
        None => 1,
        Some(Ok(page)) if page >= 1 => page,
        Some(Ok(_)) => return Err(PagingError::Page(None)),
        Some(Err(cause)) => return Err(PagingError::Page(Some(cause))),
    };
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => default_limit,
        Some(Ok(limit)) if (1..=250).contains(&limit) => limit,
        Some(Ok(_)) => return Err(PagingError::Limit(None)),
        Some(Err(cause)) => return Err(PagingError::Limit(Some(cause))),
    };
    Ok((page, limit))
}
