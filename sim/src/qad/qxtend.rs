//! QXtend Inbound for the simulated tenants: `POST /qxi/services/QdocWebService`, the one
//! SOAP 1.1 operation `processQdocMessage` (document/literal), and its WSDL at `GET
//! …?wsdl`. There is no tenant in the path: the receiver in `wsa:To`
//! (`urn:services-qad-com:<RECEIVER>`) picks the tenant whose
//! [`SimTenant::qxtend_receiver`](super::SimTenant::qxtend_receiver) it is.
//!
//! Errors found before processing are a SOAP 1.1 Fault with HTTP 500 and no other body
//! content (`faultcode` `soapenv:Client`; `soapenv:Server` for the simulator's own
//! failures): a `Content-Type` other than `text/xml` (a charset is allowed), a missing
//! `SOAPAction` header or one other than `""`, a body that is not UTF-8 or not
//! well-formed XML, no SOAP envelope or body, an absent or unknown receiver, a QDoc the
//! receiver has no API for, no session `version`, and a `username`/`password` that is not
//! one of the tenant's users. Then the tenant's injected faults apply, matched against the
//! path followed by `/<qdoc>` (`QdocWebService`, `createJournalEntry`) and `POST`; a
//! `drop_after_commit` processes and commits, then cuts the answer.
//!
//! Answers are `<qdoc>Response` with `result` `success`, `warning` or `error`, the session
//! context echoed (the password blanked), one `dsExceptions` of `temp_err_msg` rows
//! (`tt_msg_nbr`, `tt_msg_desc`, `tt_msg_sev`, `tt_msg_field`, `tt_msg_context` such as
//! `tPosting#1(ref).tPostingLine#2 field(tcGLCode)`, `tt_msg_data`, `tt_msg_keys`, …) and,
//! unless `suppressResponseDetail` is true, `ds<Object>Response`. An element a QDoc does
//! not know is a warning "Field was unused, see context for details." and the rest is
//! still processed. A user without write permission gets `result` `error` for a write.
//!
//! - `maintainCustomer`: `dsCustomer/customer` rows with `operation` A (add; an existing
//!   code is an error), M (modify), G (get, answered in `dsCustomerResponse`), S (add or
//!   modify) or N (nothing); D is refused. `cmAddr`, `adName`, `adLine1`, `adCity`,
//!   `adZip`, `adCtry`, `cmSort`, `cmCurr`, `cmCrTerms` and `cmSite` (in the session's
//!   domain) map onto the tenant's customers in its shared set, checked as REST creates
//!   are, so REST reads see them; the rest of the eB2 customer fields are accepted and not
//!   stored. QXtend's customer has no email element, so a customer added here has an empty
//!   email (and no daybook set) until they are set through REST. Missing codes take the
//!   tenant's defaults: the domain's base currency and the first credit terms, invoice
//!   status and GL profile. `scopeTransaction` true (the default) commits all rows or
//!   none; false commits the rows that pass and reports `TransactionException007` for each
//!   one backed out.
//! - `createJournalEntry`: session `entity` and `action` (`create`) are required; one
//!   `dsJournalEntry/tPosting` per message with `tcJournalCode`, `PostingDate`,
//!   `PostingYear`, `PostingPeriod`, `tcLayerCode`, `PostingText`, `externalReference` and
//!   `tPostingLine` rows (`tcGLCode`, `tcDivisionCode` = sub-account, `tcCostCentreCode`,
//!   `tcProjectCode`, `tcCurrencyCode`, `PostingLineDebitTC`, `PostingLineCreditTC`,
//!   `ExchangeRate`, `tcTaxCode`, `PostingLineText`), mapped onto the REST entry's fields
//!   and posted through [`post_entry`]: the same validations, duplicate guard, vouchers and
//!   ledger. The voucher comes back in `dsJournalEntryResponse/tPosting/voucher`.

use std::fmt::Write as _;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::control::take_fault;
use super::erp::{check_customer, check_customer_fields};
use super::journals::post_entry;
use super::model::{SimCustomer, SimMfgCustomer, TenantData, timestamp};
use super::{
    FieldError, QadFaultAction, QadSim, Scope, Shared, SharedState, drop_body, html_502, lock,
    truncate_body,
};
use crate::wire::RawObject;
use ml_connector_xml::{self as xml, Element, escape};

/// Where QXtend listens (`/qxi<instance>/services/QdocWebService` on a real server).
pub const PATH: &str = "/qxi/services/QdocWebService";

/// The warning QXtend gives for an element the QDoc does not use.
pub const UNUSED: &str = "Field was unused, see context for details.";

const RECEIVER_PREFIX: &str = "urn:services-qad-com:";
const QDOC_NS: &str = "urn:schemas-qad-com:xml-services";
const COMMON_NS: &str = "urn:schemas-qad-com:xml-services:common";
const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const WSA_NS: &str = "http://www.w3.org/2005/08/addressing";

/// The QDocs every receiver has an API for.
const QDOCS: [&str; 2] = ["maintainCustomer", "createJournalEntry"];

pub(crate) fn router() -> Router<SharedState> {
    Router::new().route(PATH, get(wsdl).post(qdoc))
}

impl QadSim {
    /// `http://127.0.0.1:PORT/qxi/services/QdocWebService`, for every tenant (the receiver
    /// in `wsa:To` picks one).
    pub fn qxtend_url(&self) -> String {
        format!("{}{PATH}", self.root_url())
    }
}

// ---- faults ----

/// A SOAP 1.1 Fault: `Client` when the message must change, `Server` otherwise.
struct Fault {
    client: bool,
    text: String,
    /// `detail/qdocException`.
    exception: &'static str,
}

impl Fault {
    fn client(exception: &'static str, text: impl Into<String>) -> Fault {
        Fault {
            client: true,
            text: text.into(),
            exception,
        }
    }

    fn server(exception: &'static str, text: impl Into<String>) -> Fault {
        Fault {
            client: false,
            text: text.into(),
            exception,
        }
    }

    fn response(&self) -> Response {
        let code = if self.client { "Client" } else { "Server" };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <soapenv:Envelope xmlns:soapenv=\"{SOAP_NS}\"><soapenv:Body><soapenv:Fault>\
             <faultcode>soapenv:{code}</faultcode><faultstring>{}</faultstring>\
             <detail><qdocException>{}</qdocException></detail>\
             </soapenv:Fault></soapenv:Body></soapenv:Envelope>",
            escape(&self.text),
            escape(self.exception),
        );
        xml_response(StatusCode::INTERNAL_SERVER_ERROR, body)
    }
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

// ---- the message ----

/// The QDoc's `dsSessionContext`: `ttContext` rows of name and value, in order.
#[derive(Debug, Clone, Default)]
struct Session(Vec<(String, String)>);

impl Session {
    fn read(qdoc: &Element) -> Session {
        let rows = qdoc
            .child("dsSessionContext")
            .into_iter()
            .flat_map(|context| context.all("ttContext"))
            .map(|row| {
                let name = row.child_value("propertyName").unwrap_or_default();
                let value = row.child_value("propertyValue").unwrap_or_default();
                (name.to_string(), value.to_string())
            })
            .collect();
        Session(rows)
    }

    /// A property's value, unless absent or empty.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// A message that passed the SOAP checks, for the tenant its receiver names.
struct Admitted {
    tenant: String,
    username: String,
    can_write: bool,
    message_id: String,
    suppress_detail: bool,
    qdoc: Element,
    session: Session,
    fault: Option<QadFaultAction>,
}

/// The SOAP checks, in the order QXtend meets them; then the tenant's faults.
fn admit(shared: &mut Shared, headers: &HeaderMap, body: &[u8]) -> Result<Admitted, Fault> {
    shared.counters.requests += 1;
    let malformed = |text: String| Fault::client("MalformedMessageException", text);
    let content_type = header(headers, CONTENT_TYPE.as_str());
    let mut parts = content_type.unwrap_or_default().split(';').map(str::trim);
    let media = parts.next().unwrap_or_default();
    let charset = parts
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, value)| value.trim().trim_matches('"'));
    if !media.eq_ignore_ascii_case("text/xml") {
        return Err(malformed(format!(
            "Content-Type must be text/xml for SOAP 1.1; got {}.",
            content_type.unwrap_or("none")
        )));
    }
    if charset.is_some_and(|c| !c.eq_ignore_ascii_case("utf-8")) {
        return Err(malformed("Only UTF-8 messages are accepted.".into()));
    }
    match header(headers, "soapaction").map(str::trim) {
        Some("\"\"" | "") => {}
        Some(other) => {
            return Err(malformed(format!(
                "SOAPAction must be \"\" (processQdocMessage); got {other}."
            )));
        }
        None => return Err(malformed("The SOAPAction header is missing.".into())),
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed("The body is not UTF-8.".into()))?;
    let root = xml::parse(text).map_err(|e| malformed(format!("Malformed XML: {e}.")))?;
    if root.name != "Envelope" {
        return Err(malformed(format!(
            "The message is not a SOAP envelope (its root is {}).",
            root.name
        )));
    }
    let soap_body = root
        .child("Body")
        .ok_or_else(|| malformed("The SOAP envelope has no Body.".into()))?;
    let soap_header = root.child("Header");
    let to = soap_header.and_then(|h| h.child_value("To")).unwrap_or("");
    let receiver = to
        .strip_prefix(RECEIVER_PREFIX)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            Fault::client(
                "ReceiverException",
                format!("wsa:To must name a receiver as {RECEIVER_PREFIX}<receiver>; got `{to}`."),
            )
        })?;
    let Some(tenant) = shared
        .tenants
        .values_mut()
        .find(|t| t.account.qxtend_receiver == receiver)
    else {
        return Err(Fault::client(
            "ReceiverException",
            format!("Receiver {to} is not defined."),
        ));
    };
    let qdoc = soap_body
        .children
        .first()
        .ok_or_else(|| malformed("The SOAP body carries no QDoc.".into()))?;
    if !QDOCS.contains(&qdoc.name.as_str()) {
        return Err(Fault::client(
            "ProcessException001",
            format!("Receiver {receiver} has no API for QDoc {}.", qdoc.name),
        ));
    }
    let session = Session::read(qdoc);
    if session.get("version").is_none() {
        return Err(Fault::client(
            "SessionContextException",
            "The session context property version is mandatory.",
        ));
    }
    let username = session.get("username").unwrap_or_default();
    let password = session
        .0
        .iter()
        .find(|(n, _)| n == "password")
        .map_or("", |(_, v)| v.as_str());
    let Some(user) = tenant
        .account
        .users
        .iter()
        .find(|u| !username.is_empty() && u.username == username && u.password == password)
    else {
        return Err(Fault::client(
            "AuthenticationException",
            format!("User `{username}` could not be authenticated: wrong user name or password."),
        ));
    };
    let (username, can_write) = (user.username.clone(), user.can_write);
    let fault = take_fault(tenant, &format!("{PATH}/{}", qdoc.name), &Method::POST);
    let tenant = tenant.account.name.clone();
    if fault.is_some() {
        shared.counters.faults_injected += 1;
    }
    let suppress_detail = soap_header
        .and_then(|h| h.find("suppressResponseDetail"))
        .is_some_and(|s| s.value().eq_ignore_ascii_case("true"));
    Ok(Admitted {
        tenant,
        username,
        can_write,
        message_id: soap_header
            .and_then(|h| h.child_value("MessageID"))
            .unwrap_or_default()
            .to_string(),
        suppress_detail,
        qdoc: qdoc.clone(),
        session,
        fault,
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn qdoc(State(shared): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    let admitted = {
        let mut guard = lock(&shared);
        match admit(&mut guard, &headers, &body) {
            Ok(admitted) => admitted,
            Err(fault) => {
                guard.counters.soap_faults += 1;
                return fault.response();
            }
        }
    };
    match admitted.fault {
        None => process(&shared, &admitted),
        Some(QadFaultAction::Http500) => {
            lock(&shared).counters.soap_faults += 1;
            Fault::server("ServerException", "Internal error (injected).").response()
        }
        Some(QadFaultAction::Html502) => html_502(),
        Some(QadFaultAction::Unauthorized401Once) => (
            StatusCode::UNAUTHORIZED,
            [(CONTENT_TYPE, "text/plain")],
            "401 Unauthorized (injected)",
        )
            .into_response(),
        Some(QadFaultAction::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            process(&shared, &admitted)
        }
        Some(QadFaultAction::DropAfterCommit) => drop_body(process(&shared, &admitted)).await,
        Some(QadFaultAction::TruncateJson) => truncate_body(process(&shared, &admitted)).await,
    }
}

// ---- processing ----

/// One `temp_err_msg` row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    error: bool,
    number: String,
    description: String,
    field: String,
    context: String,
    data: String,
    keys: String,
}

/// What processing found and what the answer carries besides.
#[derive(Debug, Default)]
struct Reply {
    messages: Vec<Message>,
    /// The `ds<Object>Response` element, written.
    detail: Option<String>,
}

impl Reply {
    fn error(&mut self, field: &str, context: &str, description: impl Into<String>) {
        self.messages.push(Message {
            error: true,
            number: String::new(),
            description: description.into(),
            field: field.into(),
            context: context.into(),
            data: String::new(),
            keys: String::new(),
        });
    }

    fn errors(&self) -> usize {
        self.messages.iter().filter(|m| m.error).count()
    }

    fn result(&self) -> &'static str {
        if self.errors() > 0 {
            "error"
        } else if self.messages.is_empty() {
            "success"
        } else {
            "warning"
        }
    }

    /// A warning for every child of `element` whose name is not in `known`.
    fn unused(&mut self, element: &Element, known: &[&str], context: &str) {
        for child in &element.children {
            if !known.contains(&child.name.as_str()) {
                self.messages.push(Message {
                    error: false,
                    number: String::new(),
                    description: UNUSED.into(),
                    field: child.name.clone(),
                    context: format!("{context} field({})", child.name),
                    data: child.value().to_string(),
                    keys: String::new(),
                });
            }
        }
    }

    /// A validation error found in REST terms, reported in the QDoc's.
    fn field_error(&mut self, error: &FieldError, field: String, context: &str, keys: &str) {
        self.messages.push(Message {
            error: true,
            number: String::new(),
            description: error.message.clone(),
            context: format!("{context} field({field})"),
            field,
            data: error.value.clone(),
            keys: keys.into(),
        });
    }
}

/// Processes an admitted QDoc under the lock and writes the answer.
fn process(shared: &SharedState, message: &Admitted) -> Response {
    let mut guard = lock(shared);
    let Shared {
        tenants,
        counters,
        clock,
        rng,
    } = &mut *guard;
    let Some(tenant) = tenants.get_mut(&message.tenant) else {
        counters.soap_faults += 1;
        return Fault::server("ReceiverException", "The receiver's tenant is gone.").response();
    };
    counters.qdocs += 1;
    let now = clock.now();
    let workspace = tenant
        .account
        .data
        .workspaces
        .first()
        .cloned()
        .unwrap_or_default();
    let mut scope = Scope {
        tenant,
        rng,
        counters,
        now,
        user: message.username.clone(),
        workspace,
    };
    let mut reply = Reply::default();
    match message.qdoc.name.as_str() {
        "maintainCustomer" => maintain_customer(&mut scope, message, &mut reply),
        _ => create_journal_entry(&mut scope, message, &mut reply),
    }
    if reply.errors() > 0 {
        scope.counters.qdoc_errors += 1;
    }
    answer(message, &reply, now)
}

/// `<qdoc>Response`: the result, the session echoed, the exceptions and the detail.
fn answer(message: &Admitted, reply: &Reply, now: OffsetDateTime) -> Response {
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"{SOAP_NS}\" xmlns:wsa=\"{WSA_NS}\"><soapenv:Header>"
    );
    if !message.message_id.is_empty() {
        leaf(&mut out, "wsa:RelatesTo", &message.message_id);
    }
    let name = format!("ns1:{}Response", message.qdoc.name);
    let _ = write!(
        out,
        "</soapenv:Header><soapenv:Body>\
         <{name} xmlns:ns1=\"{QDOC_NS}\" xmlns:ns2=\"{COMMON_NS}\">"
    );
    leaf(&mut out, "ns1:result", reply.result());
    out.push_str("<ns2:dsSessionContext>");
    for (property, value) in &message.session.0 {
        let value = if property == "password" { "" } else { value };
        out.push_str("<ns2:ttContext>");
        leaf(&mut out, "ns2:propertyQualifier", "QAD");
        leaf(&mut out, "ns2:propertyName", property);
        leaf(&mut out, "ns2:propertyValue", value);
        out.push_str("</ns2:ttContext>");
    }
    out.push_str("</ns2:dsSessionContext><ns2:dsExceptions>");
    let datetime = timestamp(now);
    for (index, m) in reply.messages.iter().enumerate() {
        out.push_str("<ns2:temp_err_msg>");
        leaf(&mut out, "ns2:tt_level", "");
        leaf(&mut out, "ns2:tt_msg_context", &m.context);
        leaf(&mut out, "ns2:tt_msg_data", &m.data);
        leaf(&mut out, "ns2:tt_msg_datetime", &datetime);
        leaf(&mut out, "ns2:tt_msg_desc", &m.description);
        leaf(&mut out, "ns2:tt_msg_field", &m.field);
        leaf(&mut out, "ns2:tt_msg_index", &index.to_string());
        leaf(&mut out, "ns2:tt_msg_keys", &m.keys);
        leaf(&mut out, "ns2:tt_msg_nbr", &m.number);
        leaf(&mut out, "ns2:tt_msg_processed", "false");
        let severity = if m.error { "error" } else { "warning" };
        leaf(&mut out, "ns2:tt_msg_sev", severity);
        out.push_str("</ns2:temp_err_msg>");
    }
    out.push_str("</ns2:dsExceptions>");
    if let Some(detail) = &reply.detail {
        out.push_str(detail);
    }
    let _ = write!(out, "</{name}></soapenv:Body></soapenv:Envelope>");
    xml_response(StatusCode::OK, out)
}

/// `<tag>text</tag>`, the text escaped.
fn leaf(out: &mut String, tag: &str, text: &str) {
    let _ = write!(out, "<{tag}>{}</{tag}>", escape(text));
}

/// The write permission a QDoc's changes need.
fn may_write(message: &Admitted, reply: &mut Reply, context: &str) -> bool {
    if !message.can_write {
        reply.error(
            "",
            context,
            format!(
                "User {} has no access to {} (menu access is required to change data).",
                message.username, message.qdoc.name
            ),
        );
    }
    message.can_write
}

// ---- maintainCustomer ----

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

fn maintain_customer(scope: &mut Scope, message: &Admitted, reply: &mut Reply) {
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
    let existing = scope
        .tenant
        .account
        .data
        .customers
        .iter()
        .position(|c| c.code == code && c.shared_set == shared_set);
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
    scope.data().customers[index] = customer;
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

// ---- createJournalEntry ----

/// `tPosting` elements and the REST entry fields they map to.
const POSTING_FIELDS: [(&str, &str); 7] = [
    ("tcJournalCode", "daybookCode"),
    ("PostingDate", "postingDate"),
    ("PostingYear", "postingYear"),
    ("PostingPeriod", "postingPeriod"),
    ("tcLayerCode", "layerCode"),
    ("PostingText", "description"),
    ("externalReference", "externalReference"),
];

/// `tPostingLine` elements and the REST line fields they map to.
const LINE_FIELDS: [(&str, &str); 10] = [
    ("tcGLCode", "glCode"),
    ("tcDivisionCode", "subAccountCode"),
    ("tcCostCentreCode", "costCenterCode"),
    ("tcProjectCode", "projectCode"),
    ("tcCurrencyCode", "currencyCode"),
    ("PostingLineDebitTC", "debitTC"),
    ("PostingLineCreditTC", "creditTC"),
    ("ExchangeRate", "exchangeRate"),
    ("tcTaxCode", "taxCode"),
    ("PostingLineText", "description"),
];

fn create_journal_entry(scope: &mut Scope, message: &Admitted, reply: &mut Reply) {
    let session = &message.session;
    for property in ["entity", "action"] {
        if session.get(property).is_none() {
            reply.error(
                property,
                "dsSessionContext",
                format!(
                    "The session context property {property} is mandatory for Financials QDocs."
                ),
            );
        }
    }
    if let Some(action) = session.get("action")
        && !action.eq_ignore_ascii_case("create")
    {
        reply.error(
            "action",
            "dsSessionContext",
            format!("createJournalEntry takes the action create; got {action}."),
        );
    }
    reply.unused(
        &message.qdoc,
        &["dsSessionContext", "dsJournalEntry"],
        "createJournalEntry",
    );
    let postings: Vec<&Element> = match message.qdoc.child("dsJournalEntry") {
        Some(dataset) => {
            reply.unused(dataset, &["tPosting"], "dsJournalEntry");
            dataset.all("tPosting").collect()
        }
        None => Vec::new(),
    };
    if postings.len() != 1 {
        reply.error(
            "tPosting",
            "dsJournalEntry",
            format!(
                "Send one journal entry (dsJournalEntry/tPosting) per createJournalEntry; got {}.",
                postings.len()
            ),
        );
    }
    if reply.errors() > 0 || !may_write(message, reply, "createJournalEntry") {
        return;
    }
    let posting = postings[0];
    let entity = session.get("entity").unwrap_or_default();
    let reference = posting.child_value("externalReference").unwrap_or_default();
    let context = format!("tPosting#1({reference})");
    let mut known: Vec<&str> = POSTING_FIELDS.iter().map(|(x, _)| *x).collect();
    known.push("tPostingLine");
    reply.unused(posting, &known, &context);
    let data = &scope.tenant.account.data;
    let domain = session.get("domain");
    scope.workspace = match data.workspace_for_entity(entity) {
        Some(workspace) if domain.is_some_and(|d| d != workspace.domain) => {
            let domain = domain.unwrap_or_default();
            reply.error(
                "domain",
                "dsSessionContext",
                format!("Entity {entity} is not in domain {domain}."),
            );
            return;
        }
        Some(workspace) => workspace.clone(),
        // The entry's checks report the unknown entity, as REST's do for an entity
        // outside the request's workspace.
        None => data
            .workspaces
            .iter()
            .find(|w| domain.is_none_or(|d| d == w.domain))
            .cloned()
            .unwrap_or_default(),
    };
    let mut record = Map::new();
    record.insert("entityCode".into(), Value::String(entity.into()));
    copy_fields(posting, &POSTING_FIELDS, &mut record);
    let lines: Vec<Value> = posting
        .all("tPostingLine")
        .enumerate()
        .map(|(i, line)| {
            let known: Vec<&str> = LINE_FIELDS.iter().map(|(x, _)| *x).collect();
            reply.unused(line, &known, &format!("{context}.tPostingLine#{}", i + 1));
            let mut fields = Map::new();
            copy_fields(line, &LINE_FIELDS, &mut fields);
            Value::Object(fields)
        })
        .collect();
    record.insert("lines".into(), Value::Array(lines));
    // Only strings went in, so the text is the QDoc's exactly.
    let text = Value::Object(record).to_string();
    let entry = match RawObject::parse(text.as_bytes()) {
        Ok(entry) => entry,
        Err(problem) => {
            reply.error("tPosting", &context, problem);
            return;
        }
    };
    match post_entry(scope, &entry) {
        Ok(posted) => {
            if !message.suppress_detail {
                let journal = &scope.tenant.account.data.journals[posted.index];
                let mut out = String::from("<ns1:dsJournalEntryResponse><ns1:tPosting>");
                for (tag, value) in [
                    ("voucher", journal.voucher.clone()),
                    ("tcEntityCode", journal.entity.clone()),
                    ("tcJournalCode", journal.daybook.clone()),
                    ("PostingDate", super::model::day(journal.posting_date)),
                    ("PostingYear", journal.year.to_string()),
                    ("PostingPeriod", journal.period.to_string()),
                    ("externalReference", journal.external_reference.clone()),
                ] {
                    leaf(&mut out, &format!("ns1:{tag}"), &value);
                }
                out.push_str("</ns1:tPosting></ns1:dsJournalEntryResponse>");
                reply.detail = Some(out);
            }
        }
        Err(errors) => {
            for error in &errors {
                let (field, at) = journal_field(&error.field, &context);
                reply.field_error(error, field, &at, reference);
            }
        }
    }
}

/// The mapped elements of `element` as JSON strings (absent elements stay absent).
fn copy_fields(element: &Element, fields: &[(&str, &str)], into: &mut Map<String, Value>) {
    for (qdoc, rest) in fields {
        if let Some(child) = element.child(qdoc) {
            into.insert((*rest).into(), Value::String(child.value().into()));
        }
    }
}

/// A REST entry field (`lines[2].glCode`) as the QDoc field and the context it is in
/// (`tcGLCode`, `tPosting#1(ref).tPostingLine#3`).
fn journal_field(rest: &str, context: &str) -> (String, String) {
    let qdoc_name = |fields: &[(&str, &str)], name: &str| {
        fields
            .iter()
            .find(|(_, r)| *r == name)
            .map_or(name.to_string(), |(q, _)| (*q).to_string())
    };
    if let Some((index, name)) = rest.strip_prefix("lines[").and_then(|r| r.split_once("]."))
        && let Ok(index) = index.parse::<usize>()
    {
        let at = format!("{context}.tPostingLine#{}", index + 1);
        return (qdoc_name(&LINE_FIELDS, name), at);
    }
    let field = match rest {
        "entityCode" => "entity".to_string(),
        "lines" => "tPostingLine".to_string(),
        other => qdoc_name(&POSTING_FIELDS, other),
    };
    (field, context.to_string())
}

// ---- WSDL ----

/// `?wsdl`: a minimal WSDL naming the one operation and its WS-Addressing header.
async fn wsdl(headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let asked = query.is_some_and(|q| {
        q.split('&').any(|p| {
            p.split('=')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("wsdl"))
        })
    });
    if !asked {
        return (
            StatusCode::OK,
            [(CONTENT_TYPE, "text/plain; charset=utf-8")],
            "QdocWebService: POST QDocs here (processQdocMessage); ?wsdl for its WSDL.\n",
        )
            .into_response();
    }
    let host = header(&headers, HOST.as_str()).unwrap_or("127.0.0.1");
    let location = format!("http://{host}{PATH}");
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="QdocWebService" targetNamespace="urn:services-qad-com:"
  xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:tns="urn:services-qad-com:" xmlns:qdoc="{QDOC_NS}" xmlns:wsa="{WSA_NS}">
  <wsdl:message name="processQdocMessageRequest">
    <wsdl:part name="qdoc" element="qdoc:qdocRequest"/>
    <wsdl:part name="To" element="wsa:To"/>
    <wsdl:part name="MessageID" element="wsa:MessageID"/>
  </wsdl:message>
  <wsdl:message name="processQdocMessageResponse">
    <wsdl:part name="qdoc" element="qdoc:qdocResponse"/>
  </wsdl:message>
  <wsdl:portType name="QdocWebService">
    <wsdl:operation name="processQdocMessage">
      <wsdl:input message="tns:processQdocMessageRequest"/>
      <wsdl:output message="tns:processQdocMessageResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="QdocWebServiceSoapBinding" type="tns:QdocWebService">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="processQdocMessage">
      <soap:operation soapAction=""/>
      <wsdl:input>
        <soap:header message="tns:processQdocMessageRequest" part="To" use="literal"/>
        <soap:header message="tns:processQdocMessageRequest" part="MessageID" use="literal"/>
        <soap:body use="literal" parts="qdoc"/>
      </wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="QdocWebService">
    <wsdl:port name="QdocWebService" binding="tns:QdocWebServiceSoapBinding">
      <soap:address location="{}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"#,
        escape(&location)
    );
    xml_response(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_fields_map_back_to_qdoc_fields() {
        let at = "tPosting#1(r)";
        assert_eq!(
            journal_field("lines[2].glCode", at),
            ("tcGLCode".into(), "tPosting#1(r).tPostingLine#3".into())
        );
        assert_eq!(
            journal_field("postingPeriod", at),
            ("PostingPeriod".into(), at.into())
        );
        assert_eq!(journal_field("entityCode", at).0, "entity");
        assert_eq!(journal_field("balance.base", at).0, "balance.base");
        assert_eq!(
            journal_field("lines[0].subAccountCode", at).0,
            "tcDivisionCode"
        );
    }

    #[test]
    fn session_properties_are_read_by_name() {
        let qdoc = xml::parse(
            "<q><dsSessionContext>\
             <ttContext><propertyName>version</propertyName><propertyValue>eB2_2</propertyValue></ttContext>\
             <ttContext><propertyName>password</propertyName><propertyValue/></ttContext>\
             </dsSessionContext></q>",
        )
        .unwrap();
        let session = Session::read(&qdoc);
        assert_eq!(session.get("version"), Some("eB2_2"));
        assert_eq!(session.get("password"), None);
        assert_eq!(session.0.len(), 2);
    }
}
