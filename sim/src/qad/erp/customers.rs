//! `customerV2s`: customers of a shared set, read by key or created with QAD's mandatory
//! set (and a record in every domain); the checks QXtend's `maintainCustomer` shares.

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::response::Response;

use super::super::SharedState;
use super::super::answers::{FieldError, data_answer, submit_success};
use super::super::gate::Ctx;
use super::super::model::{SimCustomer, SimMfgCustomer, Stamp, TenantData};
use super::super::params::Params;
use super::super::scope::{Scope, in_tenant};
use super::{CUSTOMERS, check_view, known, mandatory, records, text};
use crate::wire::RawObject;

pub(super) async fn get_customers(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &CUSTOMERS)?;
        let shared_set = params.value("sharedSetCode");
        let code = params.value("customerCode");
        let records = scope
            .data()
            .customers
            .coded(code)
            .into_iter()
            .filter(|c| shared_set.is_none_or(|s| c.shared_set == s))
            .map(SimCustomer::wire)
            .collect();
        Ok(data_answer(CUSTOMERS.collection, records))
    })
}

pub(super) async fn post_customers(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
    body: Bytes,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &CUSTOMERS)?;
        let mut created: Vec<SimCustomer> = Vec::new();
        let mut errors = Vec::new();
        for record in records(&body, CUSTOMERS.collection)? {
            if let Some(customer) = new_customer(scope, &record, &created, &mut errors) {
                created.push(customer);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let answer = created.iter().map(SimCustomer::wire).collect();
        scope.data().customers.extend(created);
        Ok(submit_success(CUSTOMERS.collection, answer))
    })
}

/// The four GL profiles a customer names, in record order.
const GL_PROFILES: [&str; 4] = [
    "invoiceControlGLProfileCode",
    "creditNoteControlGLProfileCode",
    "prePaymentControlGLProfileCode",
    "salesAccountGLProfileCode",
];

/// A new customer as stored, or `None` after noting why it cannot be created.
fn new_customer(
    scope: &mut Scope,
    record: &RawObject,
    pending: &[SimCustomer],
    errors: &mut Vec<FieldError>,
) -> Option<SimCustomer> {
    let before = errors.len();
    let mut customer = read_customer(record, errors, scope.stamp());
    let mut flag = |name: &str| {
        record.bool(name).unwrap_or_else(|error| {
            errors.push(FieldError::new(name, error.to_string(), ""));
            None
        })
    };
    let create_relation = flag("isCreateBusinessRelationRequired").unwrap_or(true);
    customer.is_active = flag("isActive").unwrap_or(true);
    let data = &scope.tenant.account.data;
    check_customer(data, &customer, create_relation, pending, errors);
    if errors.len() > before {
        return None;
    }
    customer.domains = data
        .domains()
        .into_iter()
        .map(|domain| SimMfgCustomer {
            domain,
            site_code: String::new(),
            daybook_set_code: String::new(),
            stamp: scope.stamp(),
        })
        .collect();
    Some(customer)
}

/// The customer a create record describes (without its domain records yet).
fn read_customer(record: &RawObject, errors: &mut Vec<FieldError>, stamp: Stamp) -> SimCustomer {
    let mut field = |name: &str| text(record, name, errors);
    SimCustomer {
        code: field("customerCode"),
        shared_set: field("sharedSetCode"),
        business_relation_code: field("businessRelationCode"),
        business_relation_name: field("businessRelationName"),
        email: field("EMail"),
        is_active: true,
        currency: field("currencyCode"),
        credit_terms: field("creditTermsCode"),
        invoice_status: field("invoiceStatusCode"),
        invoice_control_profile: field(GL_PROFILES[0]),
        credit_note_control_profile: field(GL_PROFILES[1]),
        prepayment_control_profile: field(GL_PROFILES[2]),
        sales_account_profile: field(GL_PROFILES[3]),
        address_search_name: field("addressSearchName"),
        street1: field("street1"),
        city: field("city"),
        zip_code: field("zipCode"),
        country_code: field("countryCode"),
        stamp,
        domains: Vec::new(),
    }
}

/// QAD's mandatory set, the seeded codes, and a unique customer code. QXtend's
/// `maintainCustomer` checks the customers it adds with this too.
pub(crate) fn check_customer(
    data: &TenantData,
    customer: &SimCustomer,
    create_relation: bool,
    pending: &[SimCustomer],
    errors: &mut Vec<FieldError>,
) {
    let code = &customer.code;
    if mandatory("customerCode", "Customer code", code, errors) {
        let same = |c: &SimCustomer| c.code == *code && c.shared_set == customer.shared_set;
        let stored = data.customers.with_code(code).iter();
        if stored.map(|&i| &data.customers[i]).any(same) || pending.iter().any(same) {
            let message = format!("Customer {code} already exists.");
            errors.push(FieldError::new("customerCode", message, code));
        }
    }
    check_customer_fields(data, customer, create_relation, errors);
}

/// Every check of [`check_customer`] but the code's uniqueness (for a changed customer).
pub(crate) fn check_customer_fields(
    data: &TenantData,
    customer: &SimCustomer,
    create_relation: bool,
    errors: &mut Vec<FieldError>,
) {
    let shared_set = &customer.shared_set;
    known(
        "sharedSetCode",
        "Shared set",
        shared_set,
        &data.shared_sets,
        errors,
    );
    let relation = &customer.business_relation_code;
    mandatory(
        "businessRelationCode",
        "Business relation",
        relation,
        errors,
    );
    let name = &customer.business_relation_name;
    mandatory(
        "businessRelationName",
        "Business relation name",
        name,
        errors,
    );
    // QAD reports this one in PascalCase (a grounded quirk).
    let search_name = &customer.address_search_name;
    mandatory("AddressSearchName", "Search Name", search_name, errors);
    let currencies: Vec<String> = data.currencies.iter().map(|c| c.code.clone()).collect();
    known(
        "currencyCode",
        "Currency",
        &customer.currency,
        &currencies,
        errors,
    );
    let terms = &customer.credit_terms;
    known(
        "creditTermsCode",
        "Credit terms",
        terms,
        &data.credit_terms,
        errors,
    );
    let status = &customer.invoice_status;
    let statuses = &data.invoice_statuses;
    known(
        "invoiceStatusCode",
        "Invoice status",
        status,
        statuses,
        errors,
    );
    let profiles = [
        &customer.invoice_control_profile,
        &customer.credit_note_control_profile,
        &customer.prepayment_control_profile,
        &customer.sales_account_profile,
    ];
    for (name, value) in GL_PROFILES.into_iter().zip(profiles) {
        known(name, "GL profile", value, &data.gl_profiles, errors);
    }
    let relation_exists = data
        .customers
        .iter()
        .any(|c| c.business_relation_code == *relation);
    if !create_relation && !relation.is_empty() && !relation_exists {
        errors.push(FieldError::new(
            "businessRelationCode",
            format!(
                "Business relation {relation} does not exist; set isCreateBusinessRelationRequired to create it."
            ),
            relation,
        ));
    }
}
