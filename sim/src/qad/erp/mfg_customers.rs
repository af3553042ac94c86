//! `mfgCustomers`: a customer's data in one domain (site and daybook set), read or
//! updated with the record's current `concurrencyHash`.

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::response::Response;

use super::super::SharedState;
use super::super::answers::{FieldError, data_answer, submit_success};
use super::super::gate::Ctx;
use super::super::params::Params;
use super::super::scope::{Scope, in_tenant};
use super::{MFG_CUSTOMERS, check_hash, check_view, optional_text, records};
use crate::wire::RawObject;

/// `domainContext` (or `domainCode`) from the query, else the workspace's domain.
fn domain_of(params: &Params, scope: &Scope) -> String {
    params
        .value("domainContext")
        .or_else(|| params.value("domainCode"))
        .map_or_else(|| scope.workspace.domain.clone(), str::to_string)
}

pub(super) async fn get_mfg_customers(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &MFG_CUSTOMERS)?;
        let domain = domain_of(&params, scope);
        let code = params.value("customerCode");
        let records = scope
            .data()
            .customers
            .coded(code)
            .into_iter()
            .flat_map(|c| {
                c.domains
                    .iter()
                    .filter(|d| d.domain == domain)
                    .map(|d| c.mfg_wire(d))
            })
            .collect();
        Ok(data_answer(MFG_CUSTOMERS.collection, records))
    })
}

/// A validated change to one domain record.
struct MfgChange {
    customer: usize,
    domain: usize,
    site_code: Option<String>,
    daybook_set_code: Option<String>,
}

pub(super) async fn post_mfg_customers(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
    body: Bytes,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &MFG_CUSTOMERS)?;
        let mut changes = Vec::new();
        let mut errors = Vec::new();
        for record in records(&body, MFG_CUSTOMERS.collection)? {
            if let Some(change) = mfg_change(scope, &params, &record, &mut errors) {
                changes.push(change);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut answer = Vec::new();
        for change in changes {
            let stamp = scope.stamp();
            let customers = &mut scope.data().customers;
            let domain = &mut customers.domains_mut(change.customer)[change.domain];
            if let Some(site) = change.site_code {
                domain.site_code = site;
            }
            if let Some(set) = change.daybook_set_code {
                domain.daybook_set_code = set;
            }
            domain.stamp = stamp;
            let customer = &customers[change.customer];
            answer.push(customer.mfg_wire(&customer.domains[change.domain]));
        }
        Ok(submit_success(MFG_CUSTOMERS.collection, answer))
    })
}

fn mfg_change(
    scope: &Scope,
    params: &Params,
    record: &RawObject,
    errors: &mut Vec<FieldError>,
) -> Option<MfgChange> {
    let before = errors.len();
    let domain = optional_text(record, "domainCode", errors)
        .or_else(|| optional_text(record, "domainContext", errors))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| domain_of(params, scope));
    let code = optional_text(record, "customerCode", errors)
        .filter(|c| !c.is_empty())
        .or_else(|| params.value("customerCode").map(str::to_string))
        .unwrap_or_default();
    let data = &scope.tenant.account.data;
    let found = data.customers.with_code(&code).iter().find_map(|&i| {
        let d = data.customers[i]
            .domains
            .iter()
            .position(|d| d.domain == domain)?;
        Some((i, d))
    });
    let Some((customer, index)) = found else {
        errors.push(FieldError::new(
            "customerCode",
            format!("Customer {code} does not exist in domain {domain}."),
            &code,
        ));
        return None;
    };
    check_hash(
        record,
        &data.customers[customer].domains[index].stamp.hash,
        errors,
    );
    let site_code = optional_text(record, "siteCode", errors);
    if let Some(site) = site_code.as_deref().filter(|s| !s.is_empty())
        && !data
            .sites
            .iter()
            .any(|s| s.code == site && s.domain == domain)
    {
        errors.push(FieldError::new(
            "siteCode",
            format!("Site {site} does not exist in domain {domain}."),
            site,
        ));
    }
    let daybook_set_code = optional_text(record, "daybookSetCode", errors);
    if let Some(set) = daybook_set_code.as_deref().filter(|s| !s.is_empty())
        && !data.daybook_sets.iter().any(|s| s == set)
    {
        errors.push(FieldError::new(
            "daybookSetCode",
            format!("Daybook set {set} does not exist."),
            set,
        ));
    }
    (errors.len() == before).then_some(MfgChange {
        customer,
        domain: index,
        site_code,
        daybook_set_code,
    })
}
