//! `maintainCustomer`: `dsCustomer/customer` rows added, modified, got or left alone in
//! the tenant's shared set, checked as REST creates are, all or nothing unless
//! `scopeTransaction` is false.

use ml_connector_xml::Element;

use super::super::answers::FieldError;
use super::super::erp::{check_customer, check_customer_fields};
use super::super::model::{SimCustomer, SimMfgCustomer, TenantData};
use super::super::scope::Scope;
use super::reply::{Message, Reply, leaf, may_write};
use super::soap::Admitted;

/// The `customer` fields the simulator stores.
const CUSTOMER_STORED: [&str; 11] = [
    "operation",
    "cmAddr",
    "adName",
    "adLine1",
    "adCity",
    "adZip",
    "adCtry",
    "cmSort",
    "cmCurr",
    "cmCrTerms",
    "cmSite",
];

/// The rest of eB2's `customer` fields: accepted, not stored.
const CUSTOMER_ACCEPTED: [&str; 36] = [
    "adLine2",
    "adLine3",
    "adState",
    "adFormat",
    "adCounty",
    "adAttn",
    "adPhone",
    "adExt",
    "adFax",
    "adAttn2",
    "adPhone2",
    "adExt2",
    "adFax2",
    "cmSlspsn",
    "cmShipvia",
    "cmArAcct",
    "cmArSub",
    "cmArCc",
    "cmResale",
    "cmType",
    "cmRegion",
    "cmLang",
    "cmPrList",
    "cmPrList2",
    "cmFixPr",
    "cmClass",
    "adTaxable",
    "adTaxZone",
    "adTaxc",
    "adTaxUsage",
    "adTaxIn",
    "adGstId",
    "adPstId",
    "cmCrLimit",
    "cmCrHold",
    "bankAccounts",
];

/// A REST customer field and the QDoc field it is reported as.
const CUSTOMER_FIELDS: [(&str, &str); 6] = [
    ("customerCode", "cmAddr"),
    ("businessRelationCode", "cmAddr"),
    ("businessRelationName", "adName"),
    ("AddressSearchName", "cmSort"),
    ("currencyCode", "cmCurr"),
    ("creditTermsCode", "cmCrTerms"),
];

/// What one `customer` row asks for, once checked.
enum Plan {
    Add(Box<SimCustomer>, Option<String>),
    Modify(usize, Box<SimCustomer>, Option<String>),
    Get(usize),
    Nothing,
}

pub(super) fn maintain_customer(scope: &mut Scope, message: &Admitted, reply: &mut Reply) {
    let session = &message.session;
    let data = &scope.tenant.account.data;
    let domain = session
        .get("domain")
        .map_or_else(|| scope.workspace.domain.clone(), str::to_string);
    let Some(workspace) = data.workspaces.iter().find(|w| w.domain == domain) else {
        reply.error("domain", "", format!("Domain {domain} does not exist."));
        return;
    };
    scope.workspace = workspace.clone();
    reply.unused(
        &message.qdoc,
        &["dsSessionContext", "dsCustomer"],
        "maintainCustomer",
    );
    let Some(dataset) = message.qdoc.child("dsCustomer") else {
        reply.error(
            "dsCustomer",
            "maintainCustomer",
            "dsCustomer is missing: maintainCustomer carries dsCustomer/customer.",
        );
        return;
    };
    reply.unused(dataset, &["customer"], "dsCustomer");
    let rows: Vec<&Element> = dataset.all("customer").collect();
    if rows.is_empty() {
        reply.error("customer", "dsCustomer", "dsCustomer carries no customer.");
        return;
    }
    let all_or_nothing = session
        .get("scopeTransaction")
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    let mut plans: Vec<Option<Plan>> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let before = reply.errors();
        let adds: Vec<SimCustomer> = plans
            .iter()
            .filter_map(|p| match p {
                Some(Plan::Add(c, _)) => Some((**c).clone()),
                _ => None,
            })
            .collect();
        let plan = plan_customer(scope, message, row, i, &adds, reply);
        plans.push(plan.filter(|_| reply.errors() == before));
    }
    let failed = plans.iter().any(Option::is_none);
    if failed && all_or_nothing {
        return;
    }
    let mut answered = Vec::new();
    for (i, plan) in plans.into_iter().enumerate() {
        match plan {
            None => {
                let code = rows[i].child_value("cmAddr").unwrap_or_default();
                reply.messages.push(Message {
                    error: true,
                    number: "TransactionException007".into(),
                    description: format!(
                        "customer#{} ({code}) was backed out; the other customers were processed.",
                        i + 1
                    ),
                    field: String::new(),
                    context: format!("customer#{}({code})", i + 1),
                    data: String::new(),
                    keys: code.to_string(),
                });
            }
            Some(Plan::Nothing) => {}
            Some(Plan::Get(index)) => answered.push((index, true)),
            Some(Plan::Add(customer, site)) => {
                let index = add_customer(scope, *customer, site.as_deref());
                answered.push((index, false));
            }
            Some(Plan::Modify(index, customer, site)) => {
                modify_customer(scope, index, *customer, site.as_deref());
                answered.push((index, false));
            }
        }
    }
    let detail: Vec<usize> = answered
        .into_iter()
        .filter(|(_, get)| *get || !message.suppress_detail)
        .map(|(index, _)| index)
        .collect();
    if !detail.is_empty() {
        let data = &scope.tenant.account.data;
        let mut out = String::from("<ns1:dsCustomerResponse>");
        for index in detail {
            customer_row(&mut out, &data.customers[index], &scope.workspace.domain);
        }
        out.push_str("</ns1:dsCustomerResponse>");
        reply.detail = Some(out);
    }
}

/// Checks one `customer` row against the tenant (and the rows before it).
fn plan_customer(
    scope: &mut Scope,
    message: &Admitted,
    row: &Element,
    i: usize,
    pending: &[SimCustomer],
    reply: &mut Reply,
) -> Option<Plan> {
    let code = row.child_value("cmAddr").unwrap_or_default().to_string();
    let context = format!("customer#{}({code})", i + 1);
    let known: Vec<&str> = CUSTOMER_STORED
        .iter()
        .chain(CUSTOMER_ACCEPTED.iter())
        .copied()
        .collect();
    reply.unused(row, &known, &context);
    let given = |name: &str| {
        row.child_value(name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let shared_set = scope
        .tenant
        .account
        .data
        .shared_sets
        .first()
        .cloned()
        .unwrap_or_default();
    let customers = &scope.tenant.account.data.customers;
    let existing = customers
        .with_code(&code)
        .iter()
        .copied()
        .find(|&i| customers[i].shared_set == shared_set);
    let operation = row
        .child_value("operation")
        .unwrap_or_default()
        .to_ascii_uppercase();
    let operation = match (operation.as_str(), existing) {
        ("S", Some(_)) => "M",
        ("S", None) => "A",
        (other, _) => other,
    };
    let field = |name: &str| format!("{context} field({name})");
    match operation {
        "G" | "M" if existing.is_none() => {
            reply.error(
                "cmAddr",
                &field("cmAddr"),
                format!("Customer {code} does not exist."),
            );
            None
        }
        "G" => existing.map(Plan::Get),
        "N" => Some(Plan::Nothing),
        "A" | "M" if !may_write(message, reply, &context) => None,
        "A" => {
            let stamp = scope.stamp();
            let data = &scope.tenant.account.data;
            let name = given("adName").unwrap_or_default();
            let first = |codes: &[String]| codes.first().cloned().unwrap_or_default();
            let profile = first(&data.gl_profiles);
            let customer = SimCustomer {
                code: code.clone(),
                shared_set,
                business_relation_code: code.clone(),
                business_relation_name: name.clone(),
                email: String::new(),
                is_active: true,
                currency: given("cmCurr").unwrap_or_else(|| scope.workspace.base_currency.clone()),
                credit_terms: given("cmCrTerms").unwrap_or_else(|| first(&data.credit_terms)),
                invoice_status: first(&data.invoice_statuses),
                invoice_control_profile: profile.clone(),
                credit_note_control_profile: profile.clone(),
                prepayment_control_profile: profile.clone(),
                sales_account_profile: profile,
                address_search_name: given("cmSort")
                    .unwrap_or_else(|| name.chars().take(30).collect()),
                street1: given("adLine1").unwrap_or_default(),
                city: given("adCity").unwrap_or_default(),
                zip_code: given("adZip").unwrap_or_default(),
                country_code: given("adCtry").unwrap_or_default(),
                stamp,
                domains: Vec::new(),
            };
            let mut errors = Vec::new();
            check_customer(data, &customer, true, pending, &mut errors);
            let site = given("cmSite");
            check_site(data, &scope.workspace.domain, site.as_deref(), &mut errors);
            report_customer_errors(reply, &errors, &context, &code);
            errors
                .is_empty()
                .then(|| Plan::Add(Box::new(customer), site))
        }
        "M" => {
            let index = existing?;
            let data = &scope.tenant.account.data;
            let mut customer = data.customers[index].clone();
            let set = |name: &str, target: &mut String| {
                if let Some(value) = given(name) {
                    *target = value;
                }
            };
            set("adName", &mut customer.business_relation_name);
            set("cmSort", &mut customer.address_search_name);
            set("adLine1", &mut customer.street1);
            set("adCity", &mut customer.city);
            set("adZip", &mut customer.zip_code);
            set("adCtry", &mut customer.country_code);
            set("cmCurr", &mut customer.currency);
            set("cmCrTerms", &mut customer.credit_terms);
            let mut errors = Vec::new();
            check_customer_fields(data, &customer, true, &mut errors);
            let site = given("cmSite");
            check_site(data, &scope.workspace.domain, site.as_deref(), &mut errors);
            report_customer_errors(reply, &errors, &context, &code);
            errors
                .is_empty()
                .then(|| Plan::Modify(index, Box::new(customer), site))
        }
        "D" => {
            reply.error(
                "operation",
                &field("operation"),
                "Deleting customers (operation D) is not supported.",
            );
            None
        }
        "" => {
            reply.error(
                "operation",
                &field("operation"),
                "operation is mandatory: A, M, D, G, S or N.",
            );
            None
        }
        other => {
            reply.error(
                "operation",
                &field("operation"),
                format!("Operation {other} is not A, M, D, G, S or N."),
            );
            None
        }
    }
}

/// A site given for the customer must be one of the domain's.
fn check_site(data: &TenantData, domain: &str, site: Option<&str>, errors: &mut Vec<FieldError>) {
    if let Some(site) = site
        && !data
            .sites
            .iter()
            .any(|s| s.code == site && s.domain == domain)
    {
        errors.push(FieldError::new(
            "cmSite",
            format!("Site {site} does not exist in domain {domain}."),
            site,
        ));
    }
}

fn report_customer_errors(reply: &mut Reply, errors: &[FieldError], context: &str, code: &str) {
    for error in errors {
        let field = CUSTOMER_FIELDS
            .iter()
            .find(|(rest, _)| *rest == error.field)
            .map_or(error.field.as_str(), |(_, qdoc)| qdoc);
        reply.field_error(error, field.to_string(), context, code);
    }
}

/// Stores a new customer with a record in every domain; the session's domain gets the
/// site. Returns its index.
fn add_customer(scope: &mut Scope, mut customer: SimCustomer, site: Option<&str>) -> usize {
    let domains = scope.tenant.account.data.domains();
    for domain in domains {
        let site_code = if domain == scope.workspace.domain {
            site.unwrap_or_default().to_string()
        } else {
            String::new()
        };
        let stamp = scope.stamp();
        customer.domains.push(SimMfgCustomer {
            domain,
            site_code,
            daybook_set_code: String::new(),
            stamp,
        });
    }
    let customers = &mut scope.data().customers;
    customers.push(customer);
    customers.len() - 1
}

/// Stores a modified customer; a site goes to the session's domain record.
fn modify_customer(scope: &mut Scope, index: usize, mut customer: SimCustomer, site: Option<&str>) {
    customer.stamp = scope.stamp();
    if let Some(site) = site {
        let stamp = scope.stamp();
        let domain = scope.workspace.domain.clone();
        match customer.domains.iter_mut().find(|d| d.domain == domain) {
            Some(record) => {
                record.site_code = site.to_string();
                record.stamp = stamp;
            }
            None => customer.domains.push(SimMfgCustomer {
                domain,
                site_code: site.to_string(),
                daybook_set_code: String::new(),
                stamp,
            }),
        }
    }
    scope.data().customers.replace(index, customer);
}

/// One `customer` of `dsCustomerResponse`.
fn customer_row(out: &mut String, customer: &SimCustomer, domain: &str) {
    let site = customer
        .domains
        .iter()
        .find(|d| d.domain == domain)
        .map_or("", |d| d.site_code.as_str());
    out.push_str("<ns1:customer>");
    for (tag, value) in [
        ("cmAddr", customer.code.as_str()),
        ("adName", &customer.business_relation_name),
        ("adLine1", &customer.street1),
        ("adCity", &customer.city),
        ("adZip", &customer.zip_code),
        ("adCtry", &customer.country_code),
        ("cmSort", &customer.address_search_name),
        ("cmCurr", &customer.currency),
        ("cmCrTerms", &customer.credit_terms),
        ("cmSite", site),
    ] {
        leaf(out, &format!("ns1:{tag}"), value);
    }
    out.push_str("</ns1:customer>");
}
