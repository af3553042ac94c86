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

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::model::{
    ACCOUNT_VIEW, CUSTOMER_VIEW, ITEM_VIEW, JOURNAL_VIEW, MFG_CUSTOMER_VIEW, PERIOD_VIEW,
    PRICE_VIEW, SimCustomer, SimItem, SimMfgCustomer, Stamp, TenantData, parse_day,
};
use super::{
    Ctx, FieldError, PREFIX, Params, Scope, SharedState, SimTenant, data_answer, in_tenant,
    json_response, lock, submit_success,
};
use crate::wire::{RawObject, money_of};

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
        .route(&format!("{PREFIX}/api-docs/openapi.json"), get(openapi))
        .route(&path(CUSTOMERS), get(get_customers).post(post_customers))
        .route(
            &path(MFG_CUSTOMERS),
            get(get_mfg_customers).post(post_mfg_customers),
        )
        .route(
            &path(ITEMS),
            get(get_items).post(post_items).delete(delete_item),
        )
        .route(&path(PRICES), get(get_prices))
        .route(&path(ACCOUNTS), get(get_accounts))
        .route(&path(PERIODS), get(get_periods))
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
    let object = RawObject::parse(body).map_err(fail)?;
    match object.objects(collection).map_err(fail)? {
        Some(records) if !records.is_empty() => Ok(records),
        _ => Err(fail(format!(
            "The body must carry {collection}: a list with at least one record."
        ))),
    }
}

/// Reads a text field, noting a malformed one in `errors` (then `""`).
pub(crate) fn text(record: &RawObject, name: &str, errors: &mut Vec<FieldError>) -> String {
    record.text_or_empty(name).unwrap_or_else(|message| {
        errors.push(FieldError::new(name, message, ""));
        String::new()
    })
}

/// Reads an optional text field (absent or `null`: `None`), noting a malformed one.
fn optional_text(record: &RawObject, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    record.text(name).unwrap_or_else(|message| {
        errors.push(FieldError::new(name, message, ""));
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

// ---- OpenAPI ----

async fn openapi(State(shared): State<SharedState>, Extension(ctx): Extension<Ctx>) -> Response {
    let guard = lock(&shared);
    match guard.tenants.get(&ctx.tenant) {
        Some(tenant) => json_response(StatusCode::OK, &openapi_document(&tenant.account, &ctx)),
        None => super::grounded_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// The platform paths every tenant documents: id, path, summary, query keys.
const BROWSE_PATHS: [(&str, &str, &str, &[&str]); 2] = [
    (
        "browse",
        "/api/qracore/browses",
        "Browse rows (filter, page, pageSize, pageAction, callId)",
        &[
            "browseId",
            "filter",
            "page",
            "pageSize",
            "pageAction",
            "callId",
        ],
    ),
    (
        "browseTotalCount",
        "/api/qracore/browses/totalCount/",
        "Number of rows a browse filter matches",
        &["browseId", "filter"],
    ),
];

/// The tenant's OpenAPI 3.0.3 document: its enabled paths with the methods each supports.
fn openapi_document(account: &SimTenant, ctx: &Ctx) -> Value {
    let mut paths = Map::new();
    paths.insert("/oauth/token".into(), token_path());
    for (id, path, summary, keys) in BROWSE_PATHS {
        if !account.is_disabled(path.trim_end_matches('/')) {
            let get = operation(id, summary, keys, None, false);
            paths.insert(path.into(), json!({ "get": get }));
        }
    }
    for entity in ENTITIES {
        if !account.is_disabled(entity.path) {
            paths.insert(entity.path.into(), entity_operations(&entity));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("QAD Adaptive ERP REST API ({})", ctx.tenant),
            "version": "2026.1-sim",
        },
        "servers": [{"url": format!("/{}/{}", ctx.tenant, ctx.root)}],
        "paths": paths,
        "components": {"securitySchemes": {
            "oauth2": {"type": "oauth2", "flows": {"password": {"tokenUrl": "oauth/token", "scopes": {}}}},
            "basic": {"type": "http", "scheme": "basic"},
        }},
        "security": [{"oauth2": []}, {"basic": []}],
    })
}

/// One operation per method the simulator implements on the collection.
fn entity_operations(entity: &Entity) -> Value {
    let operations: Map<String, Value> = entity
        .methods
        .iter()
        .map(|method| {
            let id = format!("{method}_{}", entity.collection);
            let summary = format!("{} ({method})", entity.summary);
            let post = *method == "post";
            let keys = if post { &[][..] } else { entity.keys };
            let value = operation(&id, &summary, keys, Some(entity.view_uri), post);
            (method.to_string(), value)
        })
        .collect();
    Value::Object(operations)
}

fn token_path() -> Value {
    let form_field = |name: &str| (name.to_string(), json!({"type": "string"}));
    let fields: Map<String, Value> = [
        "grant_type",
        "client_id",
        "username",
        "password",
        "refresh_token",
    ]
    .into_iter()
    .map(form_field)
    .collect();
    json!({"post": {
        "operationId": "token",
        "summary": "OAuth2 password and refresh grants",
        "security": [],
        "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "properties": fields, "required": ["grant_type", "client_id"],
        }}}},
        "responses": {
            "200": {"description": "Tokens"},
            "400": {"description": "invalid_grant"},
            "401": {"description": "invalid_client"},
        },
    }})
}

fn operation(id: &str, summary: &str, keys: &[&str], view_uri: Option<&str>, body: bool) -> Value {
    let parameter = |name: &str, place: &str, required: bool| json!({"name": name, "in": place, "required": required, "schema": {"type": "string"}});
    let mut parameters: Vec<Value> = keys
        .iter()
        .map(|key| parameter(key, "query", false))
        .collect();
    if let Some(view) = view_uri {
        let mut view_parameter = parameter("viewUri", "query", true);
        view_parameter["schema"]["enum"] = json!([view]);
        parameters.push(view_parameter);
    }
    parameters.push(parameter("x-qad-workspace-id", "header", false));
    let mut operation = json!({
        "operationId": id,
        "summary": summary,
        "parameters": parameters,
        "responses": {
            "200": {"description": "OK (business errors are a submitResult with success false)"},
            "401": {"description": "Missing, expired or invalid credentials"},
            "403": {"description": "Access is denied"},
        },
    });
    if body {
        operation["requestBody"] =
            json!({"content": {"application/json": {"schema": {"type": "object"}}}});
    }
    operation
}

// ---- customers ----

async fn get_customers(
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
            .iter()
            .filter(|c| shared_set.is_none_or(|s| c.shared_set == s))
            .filter(|c| code.is_none_or(|s| c.code == s))
            .map(SimCustomer::wire)
            .collect();
        Ok(data_answer(CUSTOMERS.collection, records))
    })
}

async fn post_customers(
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
        record.bool(name).unwrap_or_else(|message| {
            errors.push(FieldError::new(name, message, ""));
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
        if data.customers.iter().any(same) || pending.iter().any(same) {
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

// ---- customer domain data ----

/// `domainContext` (or `domainCode`) from the query, else the workspace's domain.
fn domain_of(params: &Params, scope: &Scope) -> String {
    params
        .value("domainContext")
        .or_else(|| params.value("domainCode"))
        .map_or_else(|| scope.workspace.domain.clone(), str::to_string)
}

async fn get_mfg_customers(
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
            .iter()
            .filter(|c| code.is_none_or(|s| c.code == s))
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

async fn post_mfg_customers(
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
            let customer = &mut scope.data().customers[change.customer];
            let domain = &mut customer.domains[change.domain];
            if let Some(site) = change.site_code {
                domain.site_code = site;
            }
            if let Some(set) = change.daybook_set_code {
                domain.daybook_set_code = set;
            }
            domain.stamp = stamp;
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
    let found = data.customers.iter().enumerate().find_map(|(i, c)| {
        let d = c.domains.iter().position(|d| d.domain == domain)?;
        (c.code == code).then_some((i, d))
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

// ---- items ----

async fn get_items(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &ITEMS)?;
        let domain = params
            .value("domainCode")
            .map_or_else(|| scope.workspace.domain.clone(), str::to_string);
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
async fn post_items(
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

async fn delete_item(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &ITEMS)?;
        let domain = params
            .value("domainCode")
            .map_or_else(|| scope.workspace.domain.clone(), str::to_string);
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

// ---- prices, accounts, periods ----

async fn get_prices(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &PRICES)?;
        let domain = params
            .value("domainCode")
            .map_or_else(|| scope.workspace.domain.clone(), str::to_string);
        let start = match params.value("startDate") {
            None => None,
            Some(text) => Some(parse_day(text).ok_or_else(|| {
                vec![FieldError::new(
                    "startDate",
                    "startDate must be a date (yyyy-mm-dd).",
                    text,
                )]
            })?),
        };
        let key = |name: &str| params.value(name);
        let records = scope
            .data()
            .prices
            .iter()
            .filter(|p| p.domain == domain)
            .filter(|p| key("priceListCode").is_none_or(|v| p.price_list == v))
            .filter(|p| key("itemCode").is_none_or(|v| p.item == v))
            .filter(|p| key("currencyCode").is_none_or(|v| p.currency == v))
            .filter(|p| key("unitOfMeasure").is_none_or(|v| p.unit_of_measure == v))
            .filter(|p| start.is_none_or(|d| p.start == d))
            // No seeded row is customer-specific.
            .filter(|_| key("customerCode").is_none())
            .map(|p| p.wire())
            .collect();
        Ok(data_answer(PRICES.collection, records))
    })
}

/// `entityCode` from the query, else the workspace's entity.
fn entity_of(params: &Params, scope: &Scope) -> String {
    params
        .value("entityCode")
        .map_or_else(|| scope.workspace.entity.clone(), str::to_string)
}

async fn get_accounts(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &ACCOUNTS)?;
        let entity = entity_of(&params, scope);
        let code = params.value("glCode");
        let records = scope
            .data()
            .accounts
            .iter()
            .filter(|a| a.entity == entity && code.is_none_or(|c| a.code == c))
            .map(|a| a.wire())
            .collect();
        Ok(data_answer(ACCOUNTS.collection, records))
    })
}

async fn get_periods(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &PERIODS)?;
        let entity = entity_of(&params, scope);
        let number = |name: &str| -> Result<Option<i64>, Vec<FieldError>> {
            params
                .value(name)
                .map(|v| {
                    v.parse().map_err(|_| {
                        vec![FieldError::new(
                            name,
                            format!("{name} must be a number."),
                            v,
                        )]
                    })
                })
                .transpose()
        };
        let (year, period) = (number("postingYear")?, number("postingPeriod")?);
        let records = scope
            .data()
            .periods
            .iter()
            .filter(|p| p.entity == entity)
            .filter(|p| year.is_none_or(|y| i64::from(p.year) == y))
            .filter(|p| period.is_none_or(|n| i64::from(p.period) == n))
            .map(|p| p.wire())
            .collect();
        Ok(data_answer(PERIODS.collection, records))
    })
}
