//! `api/qracore/browses`: QAD's query and paging API over flat, dotted columns.
//!
//! - `filter=<field>,<op>,<value>,literal` (repeatable, all must hold); ops `eq sw ew cn gt
//!   ge lt le`, and `<field>,rg,<from>,literal,<to>,literal` (inclusive). Strings compare
//!   case-sensitively as stored; date columns compare as dates (the value is `yyyy-mm-dd`
//!   or an RFC 3339 time, whose date is used); amounts compare exactly.
//! - `page` (from 1), `pageSize` (default 100, at most 1000: larger is capped),
//!   `pageAction=first|next`, `callId`: the first page asked for with a `callId` snapshots
//!   the matching rows and later pages with that `callId` read the snapshot, so a record
//!   changing mid-scan does not shift pages (`pageAction=first` on page 1 starts over).
//! - Answer `{"data": [rows], "auxillaryData": {"HasMoreParams": "true"|"false"}}`;
//!   `browses/totalCount/` answers `{"data": {"totalCount": n}}`.
//! - An unknown browse, field, operator or malformed parameter is an HTTP 200
//!   `submitResult` error naming `browseId`, `filter`, `page`, `pageSize` or `pageAction`.
//!
//! Browses: customers (`urn:browse:bebrowse:com.qad.erp.base.customerV2s`), the item
//! master (`urn:browse:mfg:gp340`, whose `pt_mod_date` is a date only, while the records
//! keep full times) and price list rows (`urn:browse:bebrowse:com.qad.erp.sales.priceListV2s`,
//! keys and dates but no amounts). Item and price rows are those of the workspace's domain.

use std::cmp::Ordering;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::{Serialize, Serializer};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::answers::{FieldError, json_response};
use super::gate::Ctx;
use super::model::{TenantData, Workspace, day, parse_day};
use super::params::Params;
use super::scope::{Scope, in_tenant};
use super::{PREFIX, SharedState};
use crate::wire::{Number, Object};

/// Snapshots kept per tenant (the oldest goes first).
const SNAPSHOTS: usize = 64;
const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;

pub(crate) fn router() -> Router<SharedState> {
    Router::new()
        .route(&format!("{PREFIX}/api/qracore/browses"), get(browse))
        .route(
            &format!("{PREFIX}/api/qracore/browses/totalCount"),
            get(total_count),
        )
        .route(
            &format!("{PREFIX}/api/qracore/browses/totalCount/"),
            get(total_count),
        )
}

/// What a column holds, which decides how filters compare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Money,
    Date,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    Text(String),
    Money(i64),
    Date(Date),
    Null,
}

impl Cell {
    /// As written on the wire, for `sw`, `ew` and `cn`.
    fn text(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Money(amount) => serde_json::to_string(&Number(*amount)).unwrap_or_default(),
            Cell::Date(date) => day(*date),
            Cell::Null => String::new(),
        }
    }

    /// Ordering between two values of one kind (`None` across kinds or with null).
    fn compare(&self, other: &Cell) -> Option<Ordering> {
        match (self, other) {
            (Cell::Text(a), Cell::Text(b)) => Some(a.cmp(b)),
            (Cell::Money(a), Cell::Money(b)) => Some(a.cmp(b)),
            (Cell::Date(a), Cell::Date(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Text(text) => serializer.serialize_str(text),
            Cell::Money(amount) => Number(*amount).serialize(serializer),
            Cell::Date(date) => serializer.serialize_str(&day(*date)),
            Cell::Null => serializer.serialize_none(),
        }
    }
}

pub(crate) type Row = Vec<Cell>;

/// Pages of one scan, pinned by the client's `callId`.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    call_id: String,
    browse_id: &'static str,
    filters: Vec<String>,
    rows: Vec<Row>,
}

struct Browse {
    id: &'static str,
    columns: &'static [(&'static str, Kind)],
    /// The rows in the browse's order: all of them, or those an index finds for one of
    /// the filters ([`live`] applies every filter after).
    rows: fn(&TenantData, &Workspace, &[Compiled]) -> Vec<Row>,
}

const BROWSES: [Browse; 3] = [
    Browse {
        id: "urn:browse:bebrowse:com.qad.erp.base.customerV2s",
        columns: &[
            ("customerV2.customerCode", Kind::Text),
            ("customerV2.sharedSetCode", Kind::Text),
            ("customerV2.EMail", Kind::Text),
            ("customerV2.businessRelationName", Kind::Text),
        ],
        rows: customer_rows,
    },
    Browse {
        id: "urn:browse:mfg:gp340",
        columns: &[
            ("pt_mstr.pt_part", Kind::Text),
            ("pt_mstr.pt_desc1", Kind::Text),
            ("pt_mstr.pt_desc2", Kind::Text),
            ("pt_mstr.pt_um", Kind::Text),
            ("pt_mstr.pt_price", Kind::Money),
            ("pt_mstr.pt_status", Kind::Text),
            ("pt_mstr.pt_mod_date", Kind::Date),
        ],
        rows: item_rows,
    },
    Browse {
        id: "urn:browse:bebrowse:com.qad.erp.sales.priceListV2s",
        columns: &[
            ("priceListV2.domainCode", Kind::Text),
            ("priceListV2.priceListCode", Kind::Text),
            ("priceListV2.itemCode", Kind::Text),
            ("priceListV2.currencyCode", Kind::Text),
            ("priceListV2.unitOfMeasure", Kind::Text),
            ("priceListV2.startDate", Kind::Date),
            ("priceListV2.expireDate", Kind::Date),
            ("priceListV2.lastModifiedDate", Kind::Date),
        ],
        rows: price_rows,
    },
];

fn customer_rows(data: &TenantData, _: &Workspace, filters: &[Compiled]) -> Vec<Row> {
    // A lookup by code or email (one per order) reads the customers' index, as a
    // database would, instead of building and sorting every row.
    let all = &data.customers;
    let indexed = filters.iter().find_map(|f| match f.equal_text()? {
        (0, code) => Some(all.with_code(code)),
        (2, email) => Some(all.with_email(email)),
        _ => None,
    });
    let mut customers: Vec<_> = match indexed {
        Some(places) => places.iter().map(|&i| &all[i]).collect(),
        None => all.iter().collect(),
    };
    customers.sort_by(|a, b| (&a.shared_set, &a.code).cmp(&(&b.shared_set, &b.code)));
    customers
        .into_iter()
        .map(|c| {
            vec![
                Cell::Text(c.code.clone()),
                Cell::Text(c.shared_set.clone()),
                Cell::Text(c.email.clone()),
                Cell::Text(c.business_relation_name.clone()),
            ]
        })
        .collect()
}

fn item_rows(data: &TenantData, workspace: &Workspace, _: &[Compiled]) -> Vec<Row> {
    let mut items: Vec<_> = data
        .items
        .iter()
        .filter(|i| i.domain == workspace.domain)
        .collect();
    items.sort_by(|a, b| a.code.cmp(&b.code));
    items
        .into_iter()
        .map(|i| {
            vec![
                Cell::Text(i.code.clone()),
                Cell::Text(i.description.clone()),
                Cell::Text(i.description2.clone()),
                Cell::Text(i.unit_of_measure.clone()),
                Cell::Money(i.list_price),
                Cell::Text(i.status.clone()),
                Cell::Date(i.stamp.modified.date()),
            ]
        })
        .collect()
}

fn price_rows(data: &TenantData, workspace: &Workspace, _: &[Compiled]) -> Vec<Row> {
    let mut prices: Vec<_> = data
        .prices
        .iter()
        .filter(|p| p.domain == workspace.domain)
        .collect();
    prices.sort_by(|a, b| {
        let key = |p: &super::SimPrice| {
            (
                p.price_list.clone(),
                p.item.clone(),
                p.currency.clone(),
                p.unit_of_measure.clone(),
                p.start,
            )
        };
        key(a).cmp(&key(b))
    });
    prices
        .into_iter()
        .map(|p| {
            vec![
                Cell::Text(p.domain.clone()),
                Cell::Text(p.price_list.clone()),
                Cell::Text(p.item.clone()),
                Cell::Text(p.currency.clone()),
                Cell::Text(p.unit_of_measure.clone()),
                Cell::Date(p.start),
                p.expire.map_or(Cell::Null, Cell::Date),
                Cell::Date(p.stamp.modified.date()),
            ]
        })
        .collect()
}

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Sw,
    Ew,
    Cn,
    Gt,
    Ge,
    Lt,
    Le,
    Rg,
}

impl Op {
    fn parse(text: &str) -> Option<Op> {
        Some(match text {
            "eq" => Op::Eq,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "cn" => Op::Cn,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            "rg" => Op::Rg,
            _ => return None,
        })
    }
}

/// One `filter` parameter as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) field: String,
    pub(crate) op: Op,
    /// One value, or two for `rg`.
    pub(crate) values: Vec<String>,
}

/// Why a `filter` parameter is refused; the text is the `submitResult` error's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FilterError {
    #[error(
        "Filter {0} must be <field>,<op>,<value>,literal or <field>,rg,<from>,literal,<to>,literal."
    )]
    Malformed(String),
    #[error("Filter operator {0} is not one of eq, sw, ew, cn, gt, ge, lt, le, rg.")]
    UnknownOperator(String),
    #[error("Field {field} is not in browse {browse}.")]
    NotInBrowse { field: String, browse: &'static str },
    #[error("{value} is not a valid value for {field}.")]
    BadValue { value: String, field: String },
}

impl Filter {
    /// `field,op,value,literal` or `field,rg,from,literal,to,literal`; a value may contain
    /// commas.
    pub(crate) fn parse(text: &str) -> Result<Filter, FilterError> {
        let malformed = || FilterError::Malformed(text.to_string());
        let (field, rest) = text.split_once(',').ok_or_else(malformed)?;
        let (op, rest) = rest.split_once(',').ok_or_else(malformed)?;
        if field.is_empty() {
            return Err(malformed());
        }
        let op = Op::parse(op).ok_or_else(|| FilterError::UnknownOperator(op.to_string()))?;
        let body = rest.strip_suffix(",literal").ok_or_else(malformed)?;
        let values = if op == Op::Rg {
            let (from, to) = body.split_once(",literal,").ok_or_else(malformed)?;
            vec![from.to_string(), to.to_string()]
        } else {
            vec![body.to_string()]
        };
        Ok(Filter {
            field: field.to_string(),
            op,
            values,
        })
    }
}

/// A filter bound to a column, its values parsed for the column's kind.
#[derive(Debug)]
struct Compiled {
    column: usize,
    op: Op,
    operands: Vec<Cell>,
    raw: String,
}

impl Compiled {
    /// The column and text of an `eq` filter on a text column (what an index answers).
    fn equal_text(&self) -> Option<(usize, &str)> {
        match (self.op, self.operands.first()) {
            (Op::Eq, Some(Cell::Text(wanted))) => Some((self.column, wanted)),
            _ => None,
        }
    }

    fn new(browse: &Browse, filter: &Filter) -> Result<Compiled, FilterError> {
        let column = browse
            .columns
            .iter()
            .position(|(name, _)| *name == filter.field)
            .ok_or_else(|| FilterError::NotInBrowse {
                field: filter.field.clone(),
                browse: browse.id,
            })?;
        let kind = browse.columns[column].1;
        let text_op = matches!(filter.op, Op::Sw | Op::Ew | Op::Cn);
        let operands = filter
            .values
            .iter()
            .map(|value| {
                if text_op {
                    Ok(Cell::Text(value.clone()))
                } else {
                    operand(kind, value).ok_or_else(|| FilterError::BadValue {
                        value: value.clone(),
                        field: filter.field.clone(),
                    })
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Compiled {
            column,
            op: filter.op,
            operands,
            raw: filter.values[0].clone(),
        })
    }

    fn matches(&self, row: &Row) -> bool {
        let cell = &row[self.column];
        if *cell == Cell::Null {
            return false;
        }
        let against = |i: usize| cell.compare(&self.operands[i]);
        match self.op {
            Op::Sw => cell.text().starts_with(&self.raw),
            Op::Ew => cell.text().ends_with(&self.raw),
            Op::Cn => cell.text().contains(&self.raw),
            Op::Eq => against(0) == Some(Ordering::Equal),
            Op::Gt => against(0) == Some(Ordering::Greater),
            Op::Ge => matches!(against(0), Some(Ordering::Greater | Ordering::Equal)),
            Op::Lt => against(0) == Some(Ordering::Less),
            Op::Le => matches!(against(0), Some(Ordering::Less | Ordering::Equal)),
            Op::Rg => {
                matches!(against(0), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(against(1), Some(Ordering::Less | Ordering::Equal))
            }
        }
    }
}

/// A filter value read as the column's kind.
fn operand(kind: Kind, value: &str) -> Option<Cell> {
    match kind {
        Kind::Text => Some(Cell::Text(value.to_string())),
        Kind::Money => ml_connector_money::parse(value).map(Cell::Money),
        Kind::Date => parse_day(value)
            .or_else(|| {
                OffsetDateTime::parse(value.trim(), &Rfc3339)
                    .ok()
                    .map(|t| t.date())
            })
            .map(Cell::Date),
    }
}

fn browse_error(field: &str, message: impl Into<String>, value: &str) -> Vec<FieldError> {
    vec![FieldError::new(field, message, value)]
}

/// What a browse request asks for: the browse and its filters.
struct Query {
    browse: &'static Browse,
    filters: Vec<Compiled>,
    /// The filters as written, to recognise a snapshot's.
    texts: Vec<String>,
}

/// The browse `browseId` names and its compiled filters.
fn query(params: &Params) -> Result<Query, Vec<FieldError>> {
    let id = params.value("browseId").unwrap_or_default();
    let browse = BROWSES
        .iter()
        .find(|b| b.id == id)
        .ok_or_else(|| browse_error("browseId", format!("Browse {id} does not exist."), id))?;
    let texts: Vec<String> = params.all("filter").map(str::to_string).collect();
    let filters = texts
        .iter()
        .map(|text| {
            Filter::parse(text)
                .and_then(|filter| Compiled::new(browse, &filter))
                .map_err(|error| browse_error("filter", error.to_string(), text))
        })
        .collect::<Result<_, _>>()?;
    Ok(Query {
        browse,
        filters,
        texts,
    })
}

/// The rows matching every filter, as the tenant holds them now.
fn live(scope: &mut Scope, browse: &Browse, filters: &[Compiled]) -> Vec<Row> {
    let workspace = scope.workspace.clone();
    (browse.rows)(scope.data(), &workspace, filters)
        .into_iter()
        .filter(|row| filters.iter().all(|f| f.matches(row)))
        .collect()
}

/// A positive number parameter (`default` when absent).
fn positive(params: &Params, name: &str, default: usize) -> Result<usize, Vec<FieldError>> {
    match params.value(name) {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| browse_error(name, format!("{name} must be a positive number."), text)),
    }
}

async fn browse(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        let Query {
            browse,
            filters,
            texts,
        } = query(&params)?;
        let page = positive(&params, "page", 1)?;
        let size = positive(&params, "pageSize", DEFAULT_PAGE_SIZE)?.min(MAX_PAGE_SIZE);
        let action = params.value("pageAction").unwrap_or("first");
        if !matches!(action, "first" | "next") {
            return Err(browse_error(
                "pageAction",
                format!("pageAction {action} is not first or next."),
                action,
            ));
        }
        let rows = match params.value("callId") {
            None => live(scope, browse, &filters),
            Some(call_id) => {
                let restart = action == "first" && page == 1;
                snapshot(scope, call_id, browse, &filters, texts, restart)
            }
        };
        let start = (page - 1).saturating_mul(size);
        let has_more = start.saturating_add(size) < rows.len();
        let data: Vec<Object> = rows
            .iter()
            .skip(start)
            .take(size)
            .map(|row| {
                browse
                    .columns
                    .iter()
                    .zip(row)
                    .fold(Object::new(), |object, ((name, _), cell)| {
                        object.field(name, cell)
                    })
            })
            .collect();
        let body = Object::new().field("data", data).field(
            "auxillaryData",
            json!({"HasMoreParams": if has_more { "true" } else { "false" }}),
        );
        Ok(json_response(StatusCode::OK, &body))
    })
}

/// The rows pinned for `call_id`, taken now when there are none yet (or on a restart).
fn snapshot(
    scope: &mut Scope,
    call_id: &str,
    browse: &Browse,
    filters: &[Compiled],
    texts: Vec<String>,
    restart: bool,
) -> Vec<Row> {
    let pinned = scope
        .tenant
        .snapshots
        .iter()
        .find(|s| s.call_id == call_id && s.browse_id == browse.id && s.filters == texts);
    if let Some(pinned) = pinned.filter(|_| !restart) {
        return pinned.rows.clone();
    }
    let rows = live(scope, browse, filters);
    let snapshots = &mut scope.tenant.snapshots;
    snapshots.retain(|s| s.call_id != call_id);
    if snapshots.len() >= SNAPSHOTS {
        snapshots.pop_front();
    }
    snapshots.push_back(Snapshot {
        call_id: call_id.to_string(),
        browse_id: browse.id,
        filters: texts,
        rows: rows.clone(),
    });
    rows
}

async fn total_count(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        let Query {
            browse, filters, ..
        } = query(&params)?;
        let count = live(scope, browse, &filters).len();
        Ok(json_response(
            StatusCode::OK,
            &json!({"data": {"totalCount": count}}),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn filter(text: &str) -> Filter {
        Filter::parse(text).unwrap()
    }

    #[test]
    fn filters_parse_single_values_ranges_and_commas() {
        assert_eq!(
            filter("customerV2.EMail,eq,ada@example.com,literal"),
            Filter {
                field: "customerV2.EMail".into(),
                op: Op::Eq,
                values: vec!["ada@example.com".into()],
            }
        );
        let range = filter("pt_mstr.pt_mod_date,rg,2026-11-01,literal,2026-11-30,literal");
        assert_eq!(range.op, Op::Rg);
        assert_eq!(range.values, ["2026-11-01", "2026-11-30"]);
        assert_eq!(filter("a,cn,Doe, Jane,literal").values, ["Doe, Jane"]);
        assert_eq!(filter("a,eq,,literal").values, [""]);
        for op in ["eq", "sw", "ew", "cn", "gt", "ge", "lt", "le"] {
            assert!(Filter::parse(&format!("a,{op},x,literal")).is_ok(), "{op}");
        }
    }

    #[test]
    fn malformed_filters_say_why() {
        for bad in [
            "",
            "a",
            "a,eq",
            "a,eq,x",
            ",eq,x,literal",
            "a,rg,1,literal",
            "a,rg,1,2,literal",
        ] {
            let error = Filter::parse(bad).unwrap_err().to_string();
            assert!(error.contains("must be"), "{bad}");
        }
        assert!(
            Filter::parse("a,like,x,literal")
                .unwrap_err()
                .to_string()
                .contains("operator like")
        );
    }

    #[test]
    fn filter_errors_read_as_the_answers_give_them() {
        assert_eq!(
            Filter::parse("a,eq").unwrap_err().to_string(),
            "Filter a,eq must be <field>,<op>,<value>,literal or <field>,rg,<from>,literal,<to>,literal."
        );
        assert_eq!(
            Filter::parse("a,like,x,literal").unwrap_err().to_string(),
            "Filter operator like is not one of eq, sw, ew, cn, gt, ge, lt, le, rg."
        );
        let compile = |text: &str| {
            Compiled::new(items(), &filter(text))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            compile("pt_mstr.pt_nope,eq,x,literal"),
            "Field pt_mstr.pt_nope is not in browse urn:browse:mfg:gp340."
        );
        assert_eq!(
            compile("pt_mstr.pt_price,gt,1e3,literal"),
            "1e3 is not a valid value for pt_mstr.pt_price."
        );
    }

    fn items() -> &'static Browse {
        &BROWSES[1]
    }

    fn row(part: &str, price: i64, modified: Date) -> Row {
        vec![
            Cell::Text(part.into()),
            Cell::Text(String::new()),
            Cell::Text(String::new()),
            Cell::Text("EA".into()),
            Cell::Money(price),
            Cell::Text("ACTIVE".into()),
            Cell::Date(modified),
        ]
    }

    fn keep(text: &str, row: &Row) -> bool {
        Compiled::new(items(), &filter(text)).unwrap().matches(row)
    }

    #[test]
    fn compiled_filters_compare_by_kind() {
        let r = row("SKU-0101", 123_400, date!(2026 - 11 - 14));
        assert!(keep("pt_mstr.pt_part,eq,SKU-0101,literal", &r));
        assert!(
            !keep("pt_mstr.pt_part,eq,sku-0101,literal", &r),
            "case-sensitive"
        );
        assert!(keep("pt_mstr.pt_part,sw,SKU-01,literal", &r));
        assert!(keep("pt_mstr.pt_part,ew,0101,literal", &r));
        assert!(keep("pt_mstr.pt_part,cn,U-0,literal", &r));
        assert!(keep("pt_mstr.pt_part,gt,SKU-0100,literal", &r));
        assert!(keep("pt_mstr.pt_mod_date,ge,2026-11-14,literal", &r));
        assert!(!keep("pt_mstr.pt_mod_date,gt,2026-11-14,literal", &r));
        assert!(keep(
            "pt_mstr.pt_mod_date,ge,2026-11-14T23:59:00Z,literal",
            &r
        ));
        assert!(keep(
            "pt_mstr.pt_mod_date,rg,2026-11-01,literal,2026-11-14,literal",
            &r
        ));
        assert!(!keep(
            "pt_mstr.pt_mod_date,rg,2026-11-15,literal,2026-11-30,literal",
            &r
        ));
        // Amounts compare as numbers, not text: 12.34 > 9.5.
        assert!(keep("pt_mstr.pt_price,gt,9.5,literal", &r));
        assert!(keep("pt_mstr.pt_price,eq,12.3400,literal", &r));
        assert!(keep("pt_mstr.pt_price,le,12.34,literal", &r));
        assert!(keep("pt_mstr.pt_price,sw,12.3,literal", &r));
    }

    #[test]
    fn filters_on_unknown_fields_or_bad_values_are_refused() {
        let unknown = Compiled::new(items(), &filter("pt_mstr.pt_nope,eq,x,literal"));
        assert!(unknown.unwrap_err().to_string().contains("not in browse"));
        for bad in [
            "pt_mstr.pt_mod_date,ge,14/11/2026,literal",
            "pt_mstr.pt_price,gt,1e3,literal",
            "pt_mstr.pt_price,rg,1,literal,x,literal",
        ] {
            let compiled = Compiled::new(items(), &filter(bad));
            let error = compiled.unwrap_err().to_string();
            assert!(error.contains("not a valid value"), "{bad}");
        }
    }

    #[test]
    fn nulls_match_nothing() {
        let prices = &BROWSES[2];
        let compiled = Compiled::new(
            prices,
            &filter("priceListV2.expireDate,le,2030-01-01,literal"),
        )
        .unwrap();
        let mut r: Row = vec![Cell::Text(String::new()); 8];
        r[6] = Cell::Null;
        assert!(!compiled.matches(&r));
        r[6] = Cell::Date(date!(2025 - 12 - 31));
        assert!(compiled.matches(&r));
    }
}
