//! The tenant's OpenAPI document and its `api/erp` collections: customers (`customerV2s`,
//! created with QAD's mandatory set and creating a domain record in every domain),
//! customer domain data (`mfgCustomers`, updated with the current `concurrencyHash`),
//! items (read, created or updated, deleted), price list rows (`priceListV2s`, detail with
//! `listPrice`), the chart of accounts (`glAccounts`) and GL periods (`glPeriods`). Journal
//! entries are in [`super::journals`].
//!
//! Every call names the collection's `viewUri` (else a `submitResult` error on
//! `viewUri`); reads answer `{"data": {"<collection>": [...]}}`, writes `submitResult` and
//! the records as stored, each with a new `concurrencyHash`.
//!
//! The collections and the rules every call and write follows are here; each collection
//! has its module (`customers`, `mfg_customers`, `items`, `prices`, `gl` for accounts and
//! periods), and `openapi` is the tenant's document of them.

mod customers;
mod gl;
mod items;
mod mfg_customers;
mod openapi;
mod prices;

use axum::Router;
use axum::routing::get;

use super::answers::FieldError;
use super::model::{
    ACCOUNT_VIEW, CUSTOMER_VIEW, ITEM_VIEW, JOURNAL_VIEW, MFG_CUSTOMER_VIEW, PERIOD_VIEW,
    PRICE_VIEW,
};
use super::params::Params;
use super::{PREFIX, SharedState};
use crate::wire::RawObject;

pub(crate) use customers::{check_customer, check_customer_fields};

/// One `api/erp` collection as the tenant offers it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entity {
    pub(crate) path: &'static str,
    pub(crate) collection: &'static str,
    pub(crate) view_uri: &'static str,
    /// The methods the simulator implements on it.
    pub(crate) methods: &'static [&'static str],
    /// The query keys a GET takes.
    pub(crate) keys: &'static [&'static str],
    pub(crate) summary: &'static str,
}

pub(crate) const CUSTOMERS: Entity = Entity {
    path: "/api/erp/customerV2s",
    collection: "customerV2s",
    view_uri: CUSTOMER_VIEW,
    methods: &["get", "post"],
    keys: &["sharedSetCode", "customerCode"],
    summary: "Customers of a shared set",
};

pub(crate) const MFG_CUSTOMERS: Entity = Entity {
    path: "/api/erp/mfgCustomers",
    collection: "mfgCustomers",
    view_uri: MFG_CUSTOMER_VIEW,
    methods: &["get", "post"],
    keys: &["domainContext", "customerCode"],
    summary: "A customer's data in one domain",
};

pub(crate) const ITEMS: Entity = Entity {
    path: "/api/erp/items",
    collection: "items",
    view_uri: ITEM_VIEW,
    methods: &["get", "post", "delete"],
    keys: &["domainCode", "itemCode"],
    summary: "Items of a domain",
};

pub(crate) const PRICES: Entity = Entity {
    path: "/api/erp/priceListV2s",
    collection: "priceListV2s",
    view_uri: PRICE_VIEW,
    methods: &["get"],
    keys: &[
        "domainCode",
        "priceListCode",
        "customerCode",
        "itemCode",
        "currencyCode",
        "unitOfMeasure",
        "startDate",
    ],
    summary: "Price list rows with their amounts",
};

pub(crate) const JOURNALS: Entity = Entity {
    path: "/api/erp/journalEntries",
    collection: "journalEntries",
    view_uri: JOURNAL_VIEW,
    methods: &["get", "post"],
    keys: &["entityCode", "externalReference", "daybookCode", "voucher"],
    summary: "GL journal entries",
};

pub(crate) const ACCOUNTS: Entity = Entity {
    path: "/api/erp/glAccounts",
    collection: "glAccounts",
    view_uri: ACCOUNT_VIEW,
    methods: &["get"],
    keys: &["entityCode", "glCode"],
    summary: "The chart of accounts of an entity",
};

pub(crate) const PERIODS: Entity = Entity {
    path: "/api/erp/glPeriods",
    collection: "glPeriods",
    view_uri: PERIOD_VIEW,
    methods: &["get"],
    keys: &["entityCode", "postingYear", "postingPeriod"],
    summary: "GL periods of an entity and their status",
};

pub(crate) const ENTITIES: [Entity; 7] = [
    CUSTOMERS,
    MFG_CUSTOMERS,
    ITEMS,
    PRICES,
    JOURNALS,
    ACCOUNTS,
    PERIODS,
];

pub(crate) fn router() -> Router<SharedState> {
    let path = |entity: Entity| format!("{PREFIX}{}", entity.path);
    Router::new()
        .route(
            &format!("{PREFIX}/api-docs/openapi.json"),
            get(openapi::openapi),
        )
        .route(
            &path(CUSTOMERS),
            get(customers::get_customers).post(customers::post_customers),
        )
        .route(
            &path(MFG_CUSTOMERS),
            get(mfg_customers::get_mfg_customers).post(mfg_customers::post_mfg_customers),
        )
        .route(
            &path(ITEMS),
            get(items::get_items)
                .post(items::post_items)
                .delete(items::delete_item),
        )
        .route(&path(PRICES), get(prices::get_prices))
        .route(&path(ACCOUNTS), get(gl::get_accounts))
        .route(&path(PERIODS), get(gl::get_periods))
}

/// The call must name the collection's view.
pub(crate) fn check_view(params: &Params, entity: &Entity) -> Result<(), Vec<FieldError>> {
    match params.value("viewUri") {
        Some(view) if view == entity.view_uri => Ok(()),
        Some(view) => Err(vec![FieldError::new(
            "viewUri",
            format!(
                "viewUri {view} does not match api/erp/{}; expected {}.",
                entity.collection, entity.view_uri
            ),
            view,
        )]),
        None => Err(vec![FieldError::new(
            "viewUri",
            format!("viewUri is mandatory; expected {}.", entity.view_uri),
            "",
        )]),
    }
}

/// The records of a write: `{"supplementaryMessages": [], "<collection>": [ .. ]}`.
pub(crate) fn records(body: &[u8], collection: &str) -> Result<Vec<RawObject>, Vec<FieldError>> {
    let fail = |message: String| vec![FieldError::new(collection, message, "")];
    let object = RawObject::parse(body).map_err(|e| fail(e.to_string()))?;
    match object
        .objects(collection)
        .map_err(|e| fail(e.to_string()))?
    {
        Some(records) if !records.is_empty() => Ok(records),
        _ => Err(fail(format!(
            "The body must carry {collection}: a list with at least one record."
        ))),
    }
}

/// Reads a text field, noting a malformed one in `errors` (then `""`).
pub(crate) fn text(record: &RawObject, name: &str, errors: &mut Vec<FieldError>) -> String {
    record.text_or_empty(name).unwrap_or_else(|error| {
        errors.push(FieldError::new(name, error.to_string(), ""));
        String::new()
    })
}

/// Reads an optional text field (absent or `null`: `None`), noting a malformed one.
fn optional_text(record: &RawObject, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    record.text(name).unwrap_or_else(|error| {
        errors.push(FieldError::new(name, error.to_string(), ""));
        None
    })
}

fn mandatory(field: &str, label: &str, value: &str, errors: &mut Vec<FieldError>) -> bool {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, format!("{label} is mandatory."), ""));
        false
    } else {
        true
    }
}

/// A value that must be one of the seeded codes.
fn known(field: &str, label: &str, value: &str, codes: &[String], errors: &mut Vec<FieldError>) {
    if mandatory(field, label, value, errors) && !codes.iter().any(|c| c == value) {
        errors.push(FieldError::new(
            field,
            format!("{label} {value} does not exist."),
            value,
        ));
    }
}

/// The stored record's `concurrencyHash` must be the one sent.
fn check_hash(record: &RawObject, current: &str, errors: &mut Vec<FieldError>) {
    match record.text("concurrencyHash") {
        Ok(Some(sent)) if sent == current => {}
        Ok(Some(sent)) if !sent.is_empty() => errors.push(FieldError::new(
            "concurrencyHash",
            "Record was changed by another user.",
            sent,
        )),
        _ => errors.push(FieldError::new(
            "concurrencyHash",
            "concurrencyHash is mandatory when updating; read the record first.",
            "",
        )),
    }
}
