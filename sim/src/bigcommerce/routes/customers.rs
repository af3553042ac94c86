//! Customers: in V3 the list (filters by email and id, page or cursor paging) and batch
//! creation (required fields, unique emails); in V2 (deprecated, still read by third-party
//! clients) the list with its filters, one customer and the count.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::super::answers::{page_and_limit, pagination, unprocessable, v3_error};
use super::super::model::Customer;
use super::super::{SharedState, hooks, with_store};
use super::{BadField, Q, bad_v2, date_filter, not_found_v2, number_filter, page_of, v2_list};
use crate::sync::lock;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/stores/{hash}/v3/customers",
            get(list_customers).post(create_customers),
        )
        .route("/stores/{hash}/v2/customers", get(list_customers_v2))
        .route("/stores/{hash}/v2/customers/count", get(count_customers_v2))
        .route("/stores/{hash}/v2/customers/{id}", get(customer_v2))
}

/// The V2 customer list's filters (the list and its count take the same).
struct CustomerFilter {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    company: Option<String>,
    min_id: Option<u64>,
    max_id: Option<u64>,
    min_created: Option<time::OffsetDateTime>,
    max_created: Option<time::OffsetDateTime>,
    min_modified: Option<time::OffsetDateTime>,
    max_modified: Option<time::OffsetDateTime>,
}

impl CustomerFilter {
    fn read(query: &HashMap<String, String>) -> Result<CustomerFilter, BadField> {
        let text = |name: &str| query.get(name).map(|v| v.trim().to_lowercase());
        Ok(CustomerFilter {
            email: text("email"),
            first_name: text("first_name"),
            last_name: text("last_name"),
            company: text("company"),
            min_id: number_filter(query, "min_id")?,
            max_id: number_filter(query, "max_id")?,
            min_created: date_filter(query, "min_date_created")?,
            max_created: date_filter(query, "max_date_created")?,
            min_modified: date_filter(query, "min_date_modified")?,
            max_modified: date_filter(query, "max_date_modified")?,
        })
    }

    fn keeps(&self, c: &Customer) -> bool {
        let same = |wanted: &Option<String>, value: &str| {
            wanted.as_ref().is_none_or(|w| value.to_lowercase() == *w)
        };
        same(&self.email, &c.email)
            && same(&self.first_name, &c.first_name)
            && same(&self.last_name, &c.last_name)
            && same(&self.company, &c.company)
            && self.min_id.is_none_or(|id| c.id >= id)
            && self.max_id.is_none_or(|id| c.id <= id)
            && self.min_created.is_none_or(|t| c.created >= t)
            && self.max_created.is_none_or(|t| c.created <= t)
            && self.min_modified.is_none_or(|t| c.modified >= t)
            && self.max_modified.is_none_or(|t| c.modified <= t)
    }
}

async fn list_customers_v2(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    let root = lock(&shared).base_url.clone() + "/stores/" + &hash;
    with_store(&shared, &hash, |store, _| {
        let (page, limit) = match page_and_limit(&query, 50) {
            Ok(v) => v,
            Err(error) => return bad_v2(error.to_string()),
        };
        let filter = match CustomerFilter::read(&query) {
            Ok(filter) => filter,
            Err(error) => return bad_v2(error.to_string()),
        };
        let mut kept: Vec<&Customer> = store
            .account
            .data
            .customers
            .iter()
            .filter(|c| filter.keeps(c))
            .collect();
        kept.sort_by_key(|c| c.id);
        v2_list(page_of(
            kept.into_iter().map(|c| c.v2_json(&root)),
            page,
            limit,
        ))
    })
}

async fn count_customers_v2(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let filter = match CustomerFilter::read(&query) {
            Ok(filter) => filter,
            Err(error) => return bad_v2(error.to_string()),
        };
        let count = store
            .account
            .data
            .customers
            .iter()
            .filter(|c| filter.keeps(c))
            .count();
        axum::Json(json!({ "count": count })).into_response()
    })
}

async fn customer_v2(
    State(shared): State<SharedState>,
    Path((hash, id)): Path<(String, u64)>,
) -> Response {
    let root = lock(&shared).base_url.clone() + "/stores/" + &hash;
    with_store(&shared, &hash, |store, _| {
        match store.account.data.customers.iter().find(|c| c.id == id) {
            Some(customer) => axum::Json(customer.v2_json(&root)).into_response(),
            None => not_found_v2(),
        }
    })
}

fn cursor(id: u64) -> String {
    format!("c{id:x}")
}

fn parse_cursor(text: &str) -> Option<u64> {
    u64::from_str_radix(text.strip_prefix('c')?, 16).ok()
}

async fn list_customers(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    Query(query): Q,
) -> Response {
    with_store(&shared, &hash, |store, _| {
        let (page, limit) = match page_and_limit(&query, 50) {
            Ok(v) => v,
            Err(error) => return unprocessable(&error.to_string()),
        };
        let list = |name: &str| -> Option<Vec<String>> {
            query
                .get(name)
                .map(|l| l.split(',').map(|s| s.trim().to_lowercase()).collect())
        };
        let (emails, ids) = (list("email:in"), list("id:in"));
        let (after, before) = (query.get("after"), query.get("before"));
        let bound = |c: Option<&String>| c.map(|c| parse_cursor(c).ok_or(()));
        let (after, before) = match (bound(after).transpose(), bound(before).transpose()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => {
                return unprocessable("The cursor is invalid.");
            }
        };
        let mut matching: Vec<&Customer> = store
            .account
            .data
            .customers
            .iter()
            .filter(|c| {
                emails
                    .as_ref()
                    .is_none_or(|e| e.contains(&c.email.to_lowercase()))
            })
            .filter(|c| ids.as_ref().is_none_or(|i| i.contains(&c.id.to_string())))
            .collect();
        matching.sort_by_key(|c| c.id);
        let total = matching.len();
        let cursor_mode = after.is_some() || before.is_some();
        let window: Vec<&Customer> = if let Some(after) = after {
            matching
                .iter()
                .filter(|c| c.id > after)
                .take(limit)
                .copied()
                .collect()
        } else if let Some(before) = before {
            let earlier: Vec<&Customer> =
                matching.iter().filter(|c| c.id < before).copied().collect();
            earlier[earlier.len().saturating_sub(limit)..].to_vec()
        } else {
            page_of(matching.iter().copied(), page, limit)
        };
        let has_next = window
            .last()
            .is_some_and(|last| matching.iter().any(|c| c.id > last.id));
        let has_previous = window
            .first()
            .is_some_and(|first| matching.iter().any(|c| c.id < first.id));
        let mut links = serde_json::Map::new();
        if let (true, Some(last)) = (has_next, window.last()) {
            links.insert(
                "next".into(),
                json!(format!("?after={}&limit={limit}", cursor(last.id))),
            );
        }
        if let (true, Some(first)) = (has_previous, window.first()) {
            links.insert(
                "previous".into(),
                json!(format!("?before={}&limit={limit}", cursor(first.id))),
            );
        }
        let cursor_meta = json!({
            "count": window.len(),
            "per_page": limit,
            "start_cursor": window.first().map(|c| cursor(c.id)),
            "end_cursor": window.last().map(|c| cursor(c.id)),
            "links": links,
        });
        let mut meta = serde_json::Map::new();
        if !cursor_mode {
            let paged = pagination(total, window.len(), page, limit);
            meta.insert("pagination".into(), paged["pagination"].clone());
        }
        if cursor_mode || page == 1 {
            meta.insert("cursor_pagination".into(), cursor_meta);
        }
        let data: Vec<Value> = window.iter().map(|c| c.v3_json()).collect();
        axum::Json(json!({ "data": data, "meta": meta })).into_response()
    })
}

async fn create_customers(
    State(shared): State<SharedState>,
    Path(hash): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
        return unprocessable("The request body must be an array of customers.");
    };
    if items.len() > 10 {
        return v3_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The maximum number of items allowed in the array is 10",
            json!({}),
        );
    }
    with_store(&shared, &hash, |store, now| {
        let mut errors = serde_json::Map::new();
        for (i, item) in items.iter().enumerate() {
            for field in ["email", "first_name", "last_name"] {
                if item
                    .get(field)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    errors.insert(
                        format!("{i}.{field}"),
                        json!(format!("{field} is required.")),
                    );
                }
            }
            if let Some(email) = item.get("email").and_then(Value::as_str) {
                let taken = store
                    .account
                    .data
                    .customers
                    .iter()
                    .any(|c| c.email.eq_ignore_ascii_case(email))
                    || items[..i].iter().any(|other| {
                        other
                            .get("email")
                            .and_then(Value::as_str)
                            .is_some_and(|e| e.eq_ignore_ascii_case(email))
                    });
                if taken {
                    errors.insert(
                        format!("{i}.email"),
                        json!(format!("The email address {email} is already in use.")),
                    );
                }
            }
        }
        if !errors.is_empty() {
            return v3_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Create customers failed.",
                Value::Object(errors),
            );
        }
        let data = store.data();
        let mut created = Vec::new();
        for item in &items {
            let text = |name: &str| {
                item.get(name)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let customer = data.add_customer(
                &text("email"),
                &text("first_name"),
                &text("last_name"),
                &text("company"),
                &text("phone"),
                now,
            );
            created.push(customer.v3_json());
        }
        for customer in &created {
            hooks::emit(
                store,
                now,
                "store/customer/created",
                json!({"type": "customer", "id": customer["id"]}),
            );
        }
        axum::Json(json!({ "data": created, "meta": {} })).into_response()
    })
}
