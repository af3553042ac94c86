//! The QAD simulator's control side, for tests, the demo and operators trying things out:
//! read a tenant's ledger, customers and items, open or close GL periods, change an item
//! in QAD (add one, rename it, change its list price or a price list row), pick the
//! journal duplicate guard, delete or duplicate a posted journal entry (what
//! reconciliation must find), inject faults and move the clock. Each
//! operation is a method on [`QadSim`] and the same operation over HTTP under `/_sim/qad/`
//! (no credentials), so the standalone binary can be driven with curl:
//!
//! ```text
//! GET  /_sim/qad/counters                      GET|POST /_sim/qad/clock {"seconds": 600}
//! GET  /_sim/qad/{tenant}                      summary
//! GET  /_sim/qad/{tenant}/ledger               posted journal entries, in order
//! GET  /_sim/qad/{tenant}/customers            with their domain records
//! GET  /_sim/qad/{tenant}/items
//! POST /_sim/qad/{tenant}/periods              {"entity", "year", "period", "status"}
//! POST /_sim/qad/{tenant}/items               {"code", "description", "list_price": 12.34}
//! POST /_sim/qad/{tenant}/items/{code}/touch   {"list_price": 12.34, "description": ".."}
//! POST /_sim/qad/{tenant}/prices               {"price_list", "item", "currency",
//!                                               "start": "2026-01-01", "expire": null,
//!                                               "list_price": 9.5}
//! POST /_sim/qad/{tenant}/duplicate-guard      {"mode": "reject"|"return-existing"|"off"}
//! POST /_sim/qad/{tenant}/journals/delete      {"external_reference": "shop1:order:100:r1"}
//! POST /_sim/qad/{tenant}/journals/duplicate   {"external_reference": "shop1:order:100:r1"}
//! POST /_sim/qad/{tenant}/faults               {"action": "drop_after_commit", "count": 1,
//!                                               "path_contains": "journalEntries",
//!                                               "method": "POST", "delay_ms": 0}
//! ```
//!
//! The methods panic on an unknown tenant, item, period or journal reference (a test's typo); over HTTP those
//! are a 404.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use time::OffsetDateTime;

use super::answers::json_response;
use super::faults::{QadFault, QadFaultAction};
use super::journals::next_voucher;
use super::model::{
    PeriodStatus, PostedJournal, SimCustomer, SimItem, SimPrice, Stamp, TenantData, timestamp,
};
use super::{DuplicateGuard, QadSim, Shared, SharedState, TenantState};
use crate::sync::lock;
use crate::wire::{Object, RawObject, WireError, money_of};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no QAD tenant {0}")]
    NoTenant(String),
    #[error("no item {0}")]
    NoItem(String),
    #[error("no journal entry with external reference {0}")]
    NoJournal(String),
    #[error("entity {entity} has no GL period {year}/{period}")]
    NoPeriod {
        entity: String,
        year: i32,
        period: u32,
    },
    #[error("{0}")]
    Invalid(String),
    /// A control body that is not the JSON it should be.
    #[error("bad body: {0}")]
    Body(#[from] serde_json::Error),
    /// A field of a control body that cannot be read.
    #[error(transparent)]
    Field(#[from] WireError),
}

impl Shared {
    fn tenant(&mut self, name: &str) -> Result<&mut TenantState, ControlError> {
        self.tenants
            .get_mut(name)
            .ok_or_else(|| ControlError::NoTenant(name.to_string()))
    }

    fn set_period_status(
        &mut self,
        tenant: &str,
        entity: &str,
        year: i32,
        period: u32,
        status: PeriodStatus,
    ) -> Result<(), ControlError> {
        let stamp = self.stamp_now();
        let found = self
            .tenant(tenant)?
            .data()
            .periods
            .iter_mut()
            .find(|p| p.entity == entity && p.year == year && p.period == period)
            .ok_or_else(|| ControlError::NoPeriod {
                entity: entity.to_string(),
                year,
                period,
            })?;
        found.status = status;
        found.stamp = stamp;
        Ok(())
    }

    /// A stamp for a change made now.
    fn stamp_now(&mut self) -> Stamp {
        let now = self.clock.now();
        Stamp::new(&mut self.rng, now, "mfg@qad.com")
    }

    /// A change made in QAD: the item's list price and/or description, and its change
    /// stamp to now.
    fn touch_item(
        &mut self,
        tenant: &str,
        item_code: &str,
        list_price: Option<i64>,
        description: Option<&str>,
    ) -> Result<(), ControlError> {
        let stamp = self.stamp_now();
        let item = self
            .tenant(tenant)?
            .data()
            .items
            .iter_mut()
            .find(|i| i.code == item_code)
            .ok_or_else(|| ControlError::NoItem(item_code.to_string()))?;
        if let Some(price) = list_price {
            item.list_price = price;
        }
        if let Some(description) = description {
            item.description = description.to_string();
        }
        item.stamp = stamp;
        Ok(())
    }

    /// A new ACTIVE item (unit EA) in the domain of the tenant's first item, stamped now.
    fn add_item(
        &mut self,
        tenant: &str,
        item_code: &str,
        description: &str,
        list_price: i64,
    ) -> Result<(), ControlError> {
        let stamp = self.stamp_now();
        let items = &mut self.tenant(tenant)?.data().items;
        if items.iter().any(|i| i.code == item_code) {
            return Err(ControlError::Invalid(format!(
                "item {item_code} already exists"
            )));
        }
        let domain = items.first().map_or("10USA", |i| i.domain.as_str());
        items.push(SimItem {
            domain: domain.to_string(),
            code: item_code.to_string(),
            description: description.to_string(),
            description2: String::new(),
            unit_of_measure: "EA".into(),
            product_line: "10".into(),
            site_code: "10-100".into(),
            status: "ACTIVE".into(),
            list_price,
            stamp,
        });
        items.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(())
    }

    /// Sets the amount and expiry of a price list row (unit EA), adding the row when the
    /// list has none for the item, currency and start date; stamped now.
    fn set_price(&mut self, tenant: &str, row: &PriceRow) -> Result<(), ControlError> {
        let stamp = self.stamp_now();
        let data = self.tenant(tenant)?.data();
        let Some(domain) = data
            .items
            .iter()
            .find(|i| i.code == row.item)
            .map(|i| i.domain.clone())
        else {
            return Err(ControlError::NoItem(row.item.clone()));
        };
        let same = |p: &&mut SimPrice| {
            p.price_list == row.price_list
                && p.item == row.item
                && p.currency == row.currency
                && p.unit_of_measure == "EA"
                && p.start == row.start
        };
        match data.prices.iter_mut().find(same) {
            Some(price) => {
                price.list_price = row.list_price;
                price.expire = row.expire;
                price.stamp = stamp;
            }
            None => data.prices.push(SimPrice {
                domain,
                price_list: row.price_list.clone(),
                item: row.item.clone(),
                currency: row.currency.clone(),
                unit_of_measure: "EA".into(),
                start: row.start,
                expire: row.expire,
                list_price: row.list_price,
                stamp,
            }),
        }
        Ok(())
    }

    /// Removes every entry posted under `reference`, as if someone deleted it in QAD;
    /// how many there were.
    fn delete_journals(&mut self, tenant: &str, reference: &str) -> Result<usize, ControlError> {
        let journals = &mut self.tenant(tenant)?.data().journals;
        let before = journals.len();
        journals.retain(|j| j.external_reference != reference);
        match before - journals.len() {
            0 => Err(ControlError::NoJournal(reference.to_string())),
            removed => Ok(removed),
        }
    }

    /// Posts the first entry under `reference` once more under the next voucher, as a
    /// tenant without a duplicate guard would take a repeated post; the new voucher.
    fn duplicate_journal(&mut self, tenant: &str, reference: &str) -> Result<String, ControlError> {
        let stamp = Stamp::new(&mut self.rng, self.clock.now(), "connector");
        let data = self.tenant(tenant)?.data();
        let original = data
            .journals
            .iter()
            .find(|j| j.external_reference == reference)
            .cloned()
            .ok_or_else(|| ControlError::NoJournal(reference.to_string()))?;
        let voucher = next_voucher(data, &original.entity, original.year, &original.daybook);
        data.journals.push(PostedJournal {
            voucher: voucher.clone(),
            stamp,
            ..original
        });
        Ok(voucher)
    }

    fn data(&mut self, tenant: &str) -> Result<TenantData, ControlError> {
        Ok(self.tenant(tenant)?.account.data.clone())
    }

    fn summary(&mut self, tenant: &str) -> Result<serde_json::Value, ControlError> {
        let now = self.clock.now();
        let state = self.tenant(tenant)?;
        let data = &state.account.data;
        Ok(json!({
            "tenant": tenant,
            "client_id": state.account.client_id,
            "now": timestamp(now),
            "journals": data.journals.len(),
            "customers": data.customers.len(),
            "items": data.items.len(),
            "duplicate_guard": format!("{:?}", state.duplicate_guard),
            "faults": state.faults.len(),
            "disabled_paths": state.account.disabled_paths,
        }))
    }
}

impl QadSim {
    fn control<T>(&self, f: impl FnOnce(&mut Shared) -> Result<T, ControlError>) -> T {
        let result = f(&mut lock(&self.shared));
        result.unwrap_or_else(|error| panic!("{error}"))
    }

    /// Every posted journal entry of the tenant, in posting order.
    pub fn ledger(&self, tenant: &str) -> Vec<PostedJournal> {
        self.control(|s| s.data(tenant)).journals.to_vec()
    }

    /// The tenant's customers with their domain records.
    pub fn customers(&self, tenant: &str) -> Vec<SimCustomer> {
        self.control(|s| s.data(tenant)).customers.to_vec()
    }

    pub fn items(&self, tenant: &str) -> Vec<SimItem> {
        self.control(|s| s.data(tenant)).items
    }

    /// All of the tenant's data as it stands.
    pub fn data(&self, tenant: &str) -> TenantData {
        self.control(|s| s.data(tenant))
    }

    /// Opens, closes or locks one GL period of an entity.
    pub fn set_period_status(
        &self,
        tenant: &str,
        entity: &str,
        year: i32,
        period: u32,
        status: PeriodStatus,
    ) {
        self.control(|s| s.set_period_status(tenant, entity, year, period, status));
    }

    /// Changes an item in QAD: its list price (ten-thousandths) and its change stamp, to
    /// now.
    pub fn touch_item(&self, tenant: &str, item_code: &str, list_price: i64) {
        self.control(|s| s.touch_item(tenant, item_code, Some(list_price), None));
    }

    /// Renames an item in QAD (its description), stamped now.
    pub fn rename_item(&self, tenant: &str, item_code: &str, description: &str) {
        self.control(|s| s.touch_item(tenant, item_code, None, Some(description)));
    }

    /// Adds an ACTIVE item with this description and list price (ten-thousandths).
    pub fn add_item(&self, tenant: &str, item_code: &str, description: &str, list_price: i64) {
        self.control(|s| s.add_item(tenant, item_code, description, list_price));
    }

    /// Sets (or adds) a price list row's amount, stamped now.
    pub fn set_price(&self, tenant: &str, row: &PriceRow) {
        self.control(|s| s.set_price(tenant, row));
    }

    pub fn set_duplicate_guard(&self, tenant: &str, mode: DuplicateGuard) {
        self.control(|s| {
            s.tenant(tenant)?.duplicate_guard = mode;
            Ok(())
        });
    }

    /// Deletes every entry posted under `reference`; how many there were.
    pub fn delete_journals(&self, tenant: &str, reference: &str) -> usize {
        self.control(|s| s.delete_journals(tenant, reference))
    }

    /// Posts the entry under `reference` a second time (next voucher); the new voucher.
    pub fn duplicate_journal(&self, tenant: &str, reference: &str) -> String {
        self.control(|s| s.duplicate_journal(tenant, reference))
    }

    /// Injects a fault for the tenant's next matching requests.
    pub fn inject(&self, tenant: &str, fault: QadFault) {
        self.control(|s| {
            s.tenant(tenant)?.faults.push_back(fault);
            Ok(())
        });
    }

    /// Moves the simulated clock forward (tokens expire, change stamps move on).
    pub fn advance(&self, by: Duration) {
        lock(&self.shared).clock.advanced += by;
    }

    /// The simulated time now.
    pub fn now(&self) -> OffsetDateTime {
        lock(&self.shared).clock.now()
    }
}

pub(crate) fn router() -> Router<SharedState> {
    Router::new()
        .route("/_sim/qad/counters", get(counters))
        .route("/_sim/qad/clock", get(clock).post(advance))
        .route("/_sim/qad/{tenant}", get(summary))
        .route("/_sim/qad/{tenant}/ledger", get(ledger))
        .route("/_sim/qad/{tenant}/customers", get(customers))
        .route("/_sim/qad/{tenant}/periods", post(set_period))
        .route("/_sim/qad/{tenant}/items", get(items).post(add_item))
        .route("/_sim/qad/{tenant}/items/{code}/touch", post(touch_item))
        .route("/_sim/qad/{tenant}/prices", post(set_price))
        .route("/_sim/qad/{tenant}/duplicate-guard", post(duplicate_guard))
        .route("/_sim/qad/{tenant}/faults", post(inject))
        .route("/_sim/qad/{tenant}/journals/delete", post(delete_journals))
        .route(
            "/_sim/qad/{tenant}/journals/duplicate",
            post(duplicate_journal),
        )
}

fn answer(result: Result<impl serde::Serialize, ControlError>) -> Response {
    match result {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(
            error @ (ControlError::Invalid(_) | ControlError::Body(_) | ControlError::Field(_)),
        ) => json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"error": error.to_string()}),
        ),
        Err(error) => json_response(StatusCode::NOT_FOUND, &json!({"error": error.to_string()})),
    }
}

/// A JSON control body, or why it is not one.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ControlError> {
    serde_json::from_slice(bytes).map_err(ControlError::from)
}

async fn counters(State(shared): State<SharedState>) -> Response {
    json_response(StatusCode::OK, &lock(&shared).counters)
}

async fn clock(State(shared): State<SharedState>) -> Response {
    let now = lock(&shared).clock.now();
    json_response(StatusCode::OK, &json!({ "now": timestamp(now) }))
}

#[derive(Deserialize)]
struct Advance {
    seconds: u64,
}

async fn advance(State(shared): State<SharedState>, bytes: Bytes) -> Response {
    answer(body::<Advance>(&bytes).map(|by| {
        let mut shared = lock(&shared);
        shared.clock.advanced += Duration::from_secs(by.seconds);
        json!({ "now": timestamp(shared.clock.now()) })
    }))
}

async fn summary(State(shared): State<SharedState>, Path(tenant): Path<String>) -> Response {
    answer(lock(&shared).summary(&tenant))
}

async fn ledger(State(shared): State<SharedState>, Path(tenant): Path<String>) -> Response {
    answer(lock(&shared).data(&tenant).map(|data| {
        data.journals
            .iter()
            .map(|j| data.journal_wire(j))
            .collect::<Vec<Object>>()
    }))
}

async fn customers(State(shared): State<SharedState>, Path(tenant): Path<String>) -> Response {
    answer(lock(&shared).data(&tenant).map(|data| {
        data.customers
            .iter()
            .map(|c| {
                let domains: Vec<Object> = c.domains.iter().map(|d| c.mfg_wire(d)).collect();
                c.wire().field("domains", domains)
            })
            .collect::<Vec<Object>>()
    }))
}

async fn items(State(shared): State<SharedState>, Path(tenant): Path<String>) -> Response {
    answer(lock(&shared).data(&tenant).map(|data| {
        data.items
            .iter()
            .map(SimItem::wire)
            .collect::<Vec<Object>>()
    }))
}

#[derive(Deserialize)]
struct PeriodChange {
    entity: String,
    year: i32,
    period: u32,
    status: String,
}

async fn set_period(
    State(shared): State<SharedState>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = body::<PeriodChange>(&bytes).and_then(|change| {
        let status = PeriodStatus::parse(&change.status).ok_or_else(|| {
            ControlError::Invalid(format!(
                "status {} is not Open, Closed or Locked",
                change.status
            ))
        })?;
        lock(&shared).set_period_status(&tenant, &change.entity, change.year, change.period, status)
    });
    answer(result.map(|()| json!({})))
}

async fn touch_item(
    State(shared): State<SharedState>,
    Path((tenant, code)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let change = RawObject::parse(&bytes)
        .map_err(ControlError::from)
        .and_then(|object| {
            let price = match object.raw("list_price") {
                None => None,
                Some(raw) => Some(money_of(raw).ok_or_else(|| {
                    ControlError::Invalid("list_price must be a decimal amount".into())
                })?),
            };
            let description = object.text("description").map_err(ControlError::from)?;
            if price.is_none() && description.is_none() {
                return Err(ControlError::Invalid(
                    "give list_price, description or both".into(),
                ));
            }
            Ok((price, description))
        });
    answer(
        change
            .and_then(|(price, description)| {
                lock(&shared).touch_item(&tenant, &code, price, description.as_deref())
            })
            .map(|()| json!({})),
    )
}

/// Reads the decimal amount `field` of a control body.
fn amount_field(object: &RawObject, field: &str) -> Result<i64, ControlError> {
    object
        .raw(field)
        .and_then(money_of)
        .ok_or_else(|| ControlError::Invalid(format!("{field} must be a decimal amount")))
}

/// Reads the text `field` of a control body, which must be there.
fn text_field(object: &RawObject, field: &str) -> Result<String, ControlError> {
    object
        .text(field)
        .map_err(ControlError::from)?
        .ok_or_else(|| ControlError::Invalid(format!("{field} is required")))
}

async fn add_item(
    State(shared): State<SharedState>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = RawObject::parse(&bytes)
        .map_err(ControlError::from)
        .and_then(|object| {
            let code = text_field(&object, "code")?;
            let description = text_field(&object, "description")?;
            let price = amount_field(&object, "list_price")?;
            lock(&shared).add_item(&tenant, &code, &description, price)
        });
    answer(result.map(|()| json!({})))
}

/// A price list row to set: list, item, currency, start date and amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRow {
    pub price_list: String,
    pub item: String,
    pub currency: String,
    pub start: time::Date,
    /// The last day in effect (`None`: open-ended).
    pub expire: Option<time::Date>,
    /// Ten-thousandths.
    pub list_price: i64,
}

async fn set_price(
    State(shared): State<SharedState>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = RawObject::parse(&bytes)
        .map_err(ControlError::from)
        .and_then(|object| {
            let start = text_field(&object, "start")?;
            let day = |text: &str, field: &str| {
                super::model::parse_day(text).ok_or_else(|| {
                    ControlError::Invalid(format!("{field} `{text}` is not a yyyy-mm-dd date"))
                })
            };
            let expire = match object.text("expire").map_err(ControlError::from)? {
                Some(text) => Some(day(&text, "expire")?),
                None => None,
            };
            let row = PriceRow {
                price_list: text_field(&object, "price_list")?,
                item: text_field(&object, "item")?,
                currency: text_field(&object, "currency")?,
                start: day(&start, "start")?,
                expire,
                list_price: amount_field(&object, "list_price")?,
            };
            lock(&shared).set_price(&tenant, &row)
        });
    answer(result.map(|()| json!({})))
}

#[derive(Deserialize)]
struct GuardChange {
    mode: String,
}

async fn duplicate_guard(
    State(shared): State<SharedState>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = body::<GuardChange>(&bytes).and_then(|change| {
        let mode = DuplicateGuard::parse(&change.mode).ok_or_else(|| {
            ControlError::Invalid(format!(
                "mode {} is not reject, return-existing or off",
                change.mode
            ))
        })?;
        lock(&shared).tenant(&tenant)?.duplicate_guard = mode;
        Ok(json!({}))
    });
    answer(result)
}

#[derive(Deserialize)]
struct JournalReference {
    external_reference: String,
}

async fn delete_journals(
    State(shared): State<SharedState>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Response {
    answer(body::<JournalReference>(&bytes).and_then(|j| {
        let removed = lock(&shared).delete_journals(&tenant, &j.external_reference)?;
        Ok(json!({ "deleted": removed }))
    }))
}

async fn duplicate_journal(
    State(shared): State<SharedState>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Response {
    answer(body::<JournalReference>(&bytes).and_then(|j| {
        let voucher = lock(&shared).duplicate_journal(&tenant, &j.external_reference)?;
        Ok(json!({ "voucher": voucher }))
    }))
}

#[derive(Deserialize)]
struct FaultRequest {
    action: String,
    #[serde(default = "one")]
    count: u32,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default)]
    path_contains: Option<String>,
    #[serde(default)]
    method: Option<String>,
}

fn one() -> u32 {
    1
}

async fn inject(
    State(shared): State<SharedState>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = body::<FaultRequest>(&bytes).and_then(|request| {
        let action = QadFaultAction::parse(&request.action, request.delay_ms).ok_or_else(|| {
            ControlError::Invalid(format!("unknown fault action {}", request.action))
        })?;
        let fault = QadFault {
            action,
            count: request.count,
            path_contains: request.path_contains,
            method: request.method,
        };
        lock(&shared).tenant(&tenant)?.faults.push_back(fault);
        Ok(json!({}))
    });
    answer(result)
}
