//! `items`: a domain's items, read by code, created or updated (with the current
//! `concurrencyHash`), and deleted.

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::response::Response;

use super::super::SharedState;
use super::super::answers::{FieldError, data_answer, submit_success};
use super::super::gate::Ctx;
use super::super::model::SimItem;
use super::super::params::Params;
use super::super::scope::{Scope, in_tenant};
use super::{ITEMS, check_hash, check_view, mandatory, optional_text, records, text};
use crate::wire::{RawObject, money_of};

pub(super) async fn get_items(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &ITEMS)?;
        let domain = params.value_or("domainCode", &scope.workspace.domain);
        let code = params.value("itemCode");
        let records = scope
            .data()
            .items
            .iter()
            .filter(|i| i.domain == domain && code.is_none_or(|c| i.code == c))
            .map(SimItem::wire)
            .collect();
        Ok(data_answer(ITEMS.collection, records))
    })
}

const ITEM_STATUSES: [&str; 3] = ["ACTIVE", "INACTIVE", "OBSOLETE"];

/// Creates items, or updates them (with the current `concurrencyHash`).
pub(super) async fn post_items(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
    body: Bytes,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &ITEMS)?;
        let mut errors = Vec::new();
        let mut planned: Vec<(Option<usize>, SimItem)> = Vec::new();
        for record in records(&body, ITEMS.collection)? {
            if let Some(plan) = item_change(scope, &record, &mut errors) {
                planned.push(plan);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut answer = Vec::new();
        for (index, mut item) in planned {
            item.stamp = scope.stamp();
            answer.push(item.wire());
            let items = &mut scope.data().items;
            match index {
                Some(index) => items[index] = item,
                None => {
                    items.push(item);
                    items.sort_by(|a, b| (&a.domain, &a.code).cmp(&(&b.domain, &b.code)));
                }
            }
        }
        Ok(submit_success(ITEMS.collection, answer))
    })
}

/// The item as it will be stored, and its index when it already exists.
fn item_change(
    scope: &mut Scope,
    record: &RawObject,
    errors: &mut Vec<FieldError>,
) -> Option<(Option<usize>, SimItem)> {
    let before = errors.len();
    let domain = optional_text(record, "domainCode", errors)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| scope.workspace.domain.clone());
    let code = text(record, "itemCode", errors);
    mandatory("itemCode", "Item code", &code, errors);
    let existing = scope
        .tenant
        .account
        .data
        .items
        .iter()
        .position(|i| i.domain == domain && i.code == code);
    let mut item = match existing {
        Some(index) => {
            let item = scope.tenant.account.data.items[index].clone();
            check_hash(record, &item.stamp.hash, errors);
            item
        }
        None => SimItem {
            domain,
            code,
            description: String::new(),
            description2: String::new(),
            unit_of_measure: "EA".into(),
            product_line: String::new(),
            site_code: String::new(),
            status: "ACTIVE".into(),
            list_price: 0,
            stamp: scope.stamp(),
        },
    };
    let set = |name: &str, target: &mut String, errors: &mut Vec<FieldError>| {
        if let Some(value) = optional_text(record, name, errors) {
            *target = value;
        }
    };
    set("description", &mut item.description, errors);
    set("description2", &mut item.description2, errors);
    set("unitOfMeasure", &mut item.unit_of_measure, errors);
    set("productLine", &mut item.product_line, errors);
    set("siteCode", &mut item.site_code, errors);
    set("itemStatus", &mut item.status, errors);
    if !ITEM_STATUSES.contains(&item.status.as_str()) {
        errors.push(FieldError::new(
            "itemStatus",
            format!("Item status {} does not exist.", item.status),
            &item.status,
        ));
    }
    if let Some(raw) = record.raw("listPrice") {
        match money_of(raw) {
            Some(price) if price >= 0 => item.list_price = price,
            _ => errors.push(FieldError::new(
                "listPrice",
                "List price must be a non-negative decimal with at most four decimals.",
                raw.get(),
            )),
        }
    }
    (errors.len() == before).then_some((existing, item))
}

pub(super) async fn delete_item(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &ITEMS)?;
        let domain = params.value_or("domainCode", &scope.workspace.domain);
        let code = params.value("itemCode").unwrap_or_default().to_string();
        let items = &mut scope.data().items;
        let Some(index) = items
            .iter()
            .position(|i| i.domain == domain && i.code == code)
        else {
            return Err(vec![FieldError::new(
                "itemCode",
                format!("Item {code} does not exist in domain {domain}."),
                &code,
            )]);
        };
        items.remove(index);
        Ok(submit_success(ITEMS.collection, Vec::new()))
    })
}
