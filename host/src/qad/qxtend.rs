//! QXtend Inbound, the write transport of on-premise Enterprise Edition tenants: QDocs in
//! SOAP 1.1 envelopes (`processQdocMessage`, document/literal, `Content-Type: text/xml`,
//! `SOAPAction: ""`, `wsa:To = urn:services-qad-com:<receiver>`, a `dsSessionContext`
//! with `domain`, `entity`, `action`, `version`, `scopeTransaction`, `username`,
//! `password`) posted to `http(s)://<host>:<port>/qxi<instance>/services/QdocWebService`.
//! See `docs/qad.md`.
//!
//! - customers: `maintainCustomer` with `operation` A to add and G to get. QXtend's
//!   customer has no email element, so whether an existing code is this shopper's is
//!   decided by its name;
//! - journal entries: `createJournalEntry` with `dsJournalEntry/tPosting/tPostingLine`,
//!   amounts written as the REST client writes them; the voucher is read from
//!   `dsJournalEntryResponse/tPosting/voucher`.
//!
//! Answers: a SOAP Fault (found before processing, nothing applied) is a
//! [`QadError::Auth`] for the session's credentials, [`QadError::Config`] for any other
//! `Client` fault (a wrong receiver, a missing `version`: the configuration must change)
//! and [`QadError::Transient`] for a `Server` fault. `result` `error` is a
//! [`QadError::Business`] of the `temp_err_msg` rows (field, description and context);
//! `warning` is a success whose messages are logged. A lost or cut answer to a write, or
//! an HTTP 5xx without a SOAP answer to one, is [`QadError::Ambiguous`] (it may have
//! been applied); to a read, [`QadError::Transient`]. Lookups by external reference are
//! not QXtend's: [`super::transport::Qad`] settles a post through the REST client.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::browse;
use super::config::CustomerDefaults;
use super::error::{FieldMessage, QadError};
use super::operations::{CustomerRef, JournalEntry, NewCustomer, Posted, PostedJournal, decimal};
use crate::exchanges::{Attempt, Body};
use ml_connector_xml::{self as xml, Element, escape};

/// Reads (a `G`) are sent at most this often on transient failures.
const READ_ATTEMPTS: u32 = 3;

/// How to reach one tenant's QXtend Inbound.
#[derive(Clone)]
pub struct QxtendConfig {
    /// The endpoint in full: `http(s)://<host>:<port>/qxi<instance>/services/QdocWebService`.
    pub url: String,
    /// The QXI receiver; `wsa:To` is `urn:services-qad-com:<receiver>`.
    pub receiver: String,
    /// The session's `version` (mandatory), e.g. `ERP3_2` or `eB2_2`.
    pub version: String,
    /// The session's `domain` (left out when empty).
    pub domain: String,
    /// The session's `entity` for a journal entry that names none.
    pub entity: String,
    pub username: String,
    pub password: String,
    pub timeout: Duration,
}

impl QxtendConfig {
    /// Version `ERP3_2`, no domain or entity, a 30 s timeout.
    pub fn new(url: &str, receiver: &str, username: &str, password: &str) -> QxtendConfig {
        QxtendConfig {
            url: url.trim_end_matches('/').to_string(),
            receiver: receiver.into(),
            version: "ERP3_2".into(),
            domain: String::new(),
            entity: String::new(),
            username: username.into(),
            password: password.into(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for QxtendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QxtendConfig")
            .field("url", &self.url)
            .field("receiver", &self.receiver)
            .field("version", &self.version)
            .field("domain", &self.domain)
            .field("entity", &self.entity)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A customer to add through `maintainCustomer`, with the code to give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QxtendCustomer {
    /// `cmAddr`.
    pub code: String,
    /// `adName`.
    pub name: String,
    /// `adLine1`.
    pub street: String,
    /// `adCity`.
    pub city: String,
    /// `adZip`.
    pub zip: String,
    /// `adCtry`.
    pub country: String,
    /// `cmCurr`.
    pub currency: String,
    /// `cmSite`.
    pub site: String,
    /// `cmCrTerms`.
    pub credit_terms: String,
}

impl QxtendCustomer {
    /// The shopper under `code`, with the tenant's currency, site and credit terms.
    pub fn new(code: &str, shopper: &NewCustomer, defaults: &CustomerDefaults) -> QxtendCustomer {
        QxtendCustomer {
            code: code.into(),
            name: shopper.name.clone(),
            street: shopper.street.clone(),
            city: shopper.city.clone(),
            zip: shopper.zip.clone(),
            country: shopper.country.clone(),
            currency: defaults.currency.clone(),
            site: defaults.site.clone(),
            credit_terms: defaults.credit_terms.clone(),
        }
    }
}

/// What adding a customer came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Added {
    /// Added now, or found already added for the same customer.
    Ours(CustomerRef),
    /// The code belongs to another customer.
    Taken,
}

/// One tenant's QXtend client. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct QxtendClient {
    http: reqwest::Client,
    config: Arc<QxtendConfig>,
    /// Set once the transport found everything it needs (see `Qad::verify_paths`).
    pub(super) verified: Arc<Mutex<bool>>,
}

impl QxtendClient {
    pub fn new(config: QxtendConfig) -> Result<QxtendClient, QadError> {
        if config.version.trim().is_empty() {
            return Err(QadError::Config(
                "QXtend needs the session version (e.g. ERP3_2)".into(),
            ));
        }
        crate::http::check_base_url(&config.url)
            .map_err(|e| QadError::Config(format!("the QXtend URL: {e}")))?;
        let http = crate::http::client(reqwest::header::HeaderMap::new(), config.timeout)
            .map_err(|e| QadError::Config(e.to_string()))?;
        Ok(QxtendClient {
            http,
            config: Arc::new(config),
            verified: Arc::new(Mutex::new(false)),
        })
    }

    pub fn config(&self) -> &QxtendConfig {
        &self.config
    }

    /// Adds the customer (`operation` A). A code that already exists is looked at (G):
    /// the same name means an earlier attempt added it; another name is a business error
    /// on `cmAddr`.
    pub async fn create_customer(
        &self,
        customer: &QxtendCustomer,
    ) -> Result<CustomerRef, QadError> {
        match self.add_customer(customer).await? {
            Added::Ours(found) => Ok(found),
            Added::Taken => Err(QadError::Business(vec![FieldMessage {
                field: "cmAddr".into(),
                message: format!(
                    "customer code {} already belongs to another customer",
                    customer.code
                ),
            }])),
        }
    }

    /// [`Self::create_customer`], telling a taken code apart.
    pub(super) async fn add_customer(&self, customer: &QxtendCustomer) -> Result<Added, QadError> {
        let mut row = String::new();
        for (tag, value) in [
            ("operation", "A"),
            ("cmAddr", customer.code.as_str()),
            ("adName", &customer.name),
            ("adLine1", &customer.street),
            ("adCity", &customer.city),
            ("adZip", &customer.zip),
            ("adCtry", &customer.country),
            ("cmCurr", &customer.currency),
            ("cmSite", &customer.site),
            ("cmCrTerms", &customer.credit_terms),
        ] {
            leaf(&mut row, tag, value);
        }
        let dataset = format!("<dsCustomer><customer>{row}</customer></dsCustomer>");
        let body = self.envelope("maintainCustomer", &self.session(None), &dataset);
        let ours = |found: &CustomerRef| same_name(&found.name, &customer.name);
        match self.exchange("maintainCustomer", body, true).await {
            Ok(_) => Ok(Added::Ours(CustomerRef {
                code: customer.code.clone(),
                shared_set: String::new(),
                email: String::new(),
                name: customer.name.clone(),
            })),
            Err(error) if error.mentions("already exist") => {
                match self.customer_by_code(&customer.code).await? {
                    Some(found) if ours(&found) => Ok(Added::Ours(found)),
                    _ => Ok(Added::Taken),
                }
            }
            // Look before trying again: ours if it is there under our name.
            Err(QadError::Ambiguous(reason)) => {
                match self.customer_by_code(&customer.code).await? {
                    Some(found) if ours(&found) => Ok(Added::Ours(found)),
                    Some(_) => Ok(Added::Taken),
                    None => Err(QadError::Ambiguous(reason)),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// One customer by code (`operation` G); `None` when QAD says it does not exist.
    pub async fn customer_by_code(&self, code: &str) -> Result<Option<CustomerRef>, QadError> {
        let mut row = String::new();
        leaf(&mut row, "operation", "G");
        leaf(&mut row, "cmAddr", code);
        let dataset = format!("<dsCustomer><customer>{row}</customer></dsCustomer>");
        let body = self.envelope("maintainCustomer", &self.session(None), &dataset);
        let response = match self.exchange("maintainCustomer", body, false).await {
            Ok(response) => response,
            Err(error) if error.mentions("not exist") || error.mentions("not found") => {
                return Ok(None);
            }
            Err(other) => return Err(other),
        };
        let found = response
            .find("dsCustomerResponse")
            .and_then(|d| d.child("customer"))
            .map(|c| CustomerRef {
                code: c.child_value("cmAddr").unwrap_or(code).to_string(),
                shared_set: String::new(),
                email: String::new(),
                name: c.child_value("adName").unwrap_or_default().to_string(),
            });
        Ok(found)
    }

    /// Posts the entry once (`createJournalEntry`). A refusal because its external
    /// reference exists, or a lost answer, is left to the caller to resolve: QXtend cannot
    /// look entries up (`Qad::post_journal` does it through REST).
    pub async fn post_journal(&self, entry: &JournalEntry) -> Result<Posted, QadError> {
        match self.submit_journal(entry).await? {
            Some(journal) => Ok(Posted::New(journal)),
            None => Err(QadError::Decode {
                path: self.config.url.clone(),
                reason: "QXtend accepted the entry but returned no voucher".into(),
            }),
        }
    }

    /// One post of the entry: the entry as QXtend answered, or `None` when the answer
    /// carries no voucher.
    pub(super) async fn submit_journal(
        &self,
        entry: &JournalEntry,
    ) -> Result<Option<PostedJournal>, QadError> {
        let entity = if entry.entity.is_empty() {
            self.config.entity.as_str()
        } else {
            entry.entity.as_str()
        };
        let mut posting = String::new();
        for (tag, value) in [
            ("tcJournalCode", entry.daybook.clone()),
            ("PostingDate", browse::format_date(entry.posting_date)),
            ("PostingYear", entry.year.to_string()),
            ("PostingPeriod", entry.period.to_string()),
            ("tcLayerCode", entry.layer.clone()),
            ("PostingText", entry.description.clone()),
            ("externalReference", entry.external_reference.clone()),
        ] {
            leaf(&mut posting, tag, &value);
        }
        for line in &entry.lines {
            posting.push_str("<tPostingLine>");
            for (tag, value) in [
                ("tcGLCode", line.account.as_str()),
                ("tcDivisionCode", &line.sub_account),
                ("tcCostCentreCode", &line.cost_center),
                ("tcProjectCode", &line.project),
                ("tcCurrencyCode", &line.currency),
                ("PostingLineDebitTC", &decimal(line.debit)),
                ("PostingLineCreditTC", &decimal(line.credit)),
            ] {
                leaf(&mut posting, tag, value);
            }
            if let Some(rate) = &line.exchange_rate {
                leaf(&mut posting, "ExchangeRate", rate);
            }
            if let Some(tax) = &line.tax_code {
                leaf(&mut posting, "tcTaxCode", tax);
            }
            leaf(&mut posting, "PostingLineText", &line.description);
            posting.push_str("</tPostingLine>");
        }
        let dataset = format!("<dsJournalEntry><tPosting>{posting}</tPosting></dsJournalEntry>");
        let session = self.session(Some((entity, "create")));
        let body = self.envelope("createJournalEntry", &session, &dataset);
        let response = self.exchange("createJournalEntry", body, true).await?;
        let Some(posted) = response
            .find("dsJournalEntryResponse")
            .and_then(|d| d.child("tPosting"))
            .filter(|p| p.child_value("voucher").is_some_and(|v| !v.is_empty()))
        else {
            return Ok(None);
        };
        let value = |name: &str, otherwise: &str| {
            posted
                .child_value(name)
                .filter(|v| !v.is_empty())
                .unwrap_or(otherwise)
                .to_string()
        };
        Ok(Some(PostedJournal {
            voucher: value("voucher", ""),
            external_reference: value("externalReference", &entry.external_reference),
            entity_code: value("tcEntityCode", entity),
            daybook_code: value("tcJournalCode", &entry.daybook),
            posting_date: value("PostingDate", &browse::format_date(entry.posting_date)),
            lines: Vec::new(),
        }))
    }

    /// Whether the endpoint's WSDL (`?wsdl`) offers `processQdocMessage`.
    pub async fn offers_qdoc_service(&self) -> Result<bool, QadError> {
        let url = format!("{}?wsdl", self.config.url);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| QadError::Transient(format!("QXtend WSDL: {}", e.without_url())))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| QadError::Transient(format!("QXtend WSDL: {}", e.without_url())))?;
        match status {
            200..=299 => Ok(xml::parse(&text).is_ok() && text.contains("processQdocMessage")),
            404 => Ok(false),
            500..=599 => Err(QadError::Transient(format!("QXtend WSDL: HTTP {status}"))),
            _ => Ok(false),
        }
    }

    /// The session context rows; `financials` adds `entity` and `action`.
    fn session<'a>(&'a self, financials: Option<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
        let config = &self.config;
        let mut rows = Vec::new();
        if !config.domain.is_empty() {
            rows.push(("domain", config.domain.as_str()));
        }
        if let Some((entity, action)) = financials {
            rows.push(("entity", entity));
            rows.push(("action", action));
        }
        rows.extend([
            ("version", config.version.as_str()),
            ("scopeTransaction", "true"),
            ("username", config.username.as_str()),
            ("password", config.password.as_str()),
        ]);
        rows
    }

    /// The SOAP envelope of one QDoc, every value escaped.
    fn envelope(&self, qdoc: &str, session: &[(&str, &str)], dataset: &str) -> String {
        let receiver = escape(&self.config.receiver);
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <soapenv:Envelope xmlns=\"urn:schemas-qad-com:xml-services\" \
             xmlns:qcom=\"urn:schemas-qad-com:xml-services:common\" \
             xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">\
             <soapenv:Header><wsa:Action/>\
             <wsa:To>urn:services-qad-com:{receiver}</wsa:To>\
             <wsa:MessageID>urn:services-qad-com::{receiver}</wsa:MessageID>\
             <wsa:ReferenceParameters><qcom:suppressResponseDetail>false</qcom:suppressResponseDetail></wsa:ReferenceParameters>\
             <wsa:ReplyTo><wsa:Address>urn:services-qad-com:</wsa:Address></wsa:ReplyTo>\
             </soapenv:Header><soapenv:Body><{qdoc}><qcom:dsSessionContext>"
        );
        for (name, value) in session {
            out.push_str("<qcom:ttContext>");
            leaf(&mut out, "qcom:propertyQualifier", "QAD");
            leaf(&mut out, "qcom:propertyName", name);
            leaf(&mut out, "qcom:propertyValue", value);
            out.push_str("</qcom:ttContext>");
        }
        let _ = write!(
            out,
            "</qcom:dsSessionContext>{dataset}</{qdoc}></soapenv:Body></soapenv:Envelope>"
        );
        out
    }

    /// Sends a QDoc and decodes the answer into its `<qdoc>Response`. A read is sent
    /// again on transient failures; a write never is.
    async fn exchange(&self, qdoc: &str, body: String, write: bool) -> Result<Element, QadError> {
        let attempts = if write { 1 } else { READ_ATTEMPTS };
        let mut attempt = 1;
        loop {
            match self.exchange_once(qdoc, body.clone(), write).await {
                Err(QadError::Transient(reason)) if attempt < attempts => {
                    tracing::debug!(qdoc, %reason, "QXtend read failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200) * attempt).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn exchange_once(
        &self,
        qdoc: &str,
        body: String,
        write: bool,
    ) -> Result<Element, QadError> {
        let what = format!("QXtend {qdoc}");
        // The password travels in the session context, escaped as XML text.
        let escaped = escape(&self.config.password);
        let secrets = [self.config.password.as_str(), escaped.as_ref()];
        let audit = Attempt::start(
            "qxtend",
            "POST",
            || qdoc.to_string(),
            || Some(Body::redacted(body.as_bytes(), &secrets)),
        );
        let sent = self
            .http
            .post(&self.config.url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(body)
            .send()
            .await
            .map_err(reqwest::Error::without_url);
        let audit = match (&sent, audit) {
            (Err(error), Some(audit)) => {
                audit.finish(Err(error.to_string()));
                None
            }
            (_, audit) => audit,
        };
        let response = match sent {
            Ok(response) => response,
            // Nothing reached QXtend.
            Err(error) if error.is_connect() => {
                return Err(QadError::Transient(format!(
                    "{what}: {}",
                    error.without_url()
                )));
            }
            Err(error) if write => {
                return Err(QadError::Ambiguous(format!(
                    "{what}: {}",
                    error.without_url()
                )));
            }
            Err(error) => {
                return Err(QadError::Transient(format!(
                    "{what}: {}",
                    error.without_url()
                )));
            }
        };
        let status = response.status().as_u16();
        let bytes = response.bytes().await;
        if let Some(audit) = audit {
            audit.answered(status, &bytes, &secrets);
        }
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(error) if write => {
                return Err(QadError::Ambiguous(format!(
                    "{what}: the answer was cut off ({})",
                    error.without_url()
                )));
            }
            Err(error) => {
                return Err(QadError::Transient(format!(
                    "{what}: {}",
                    error.without_url()
                )));
            }
        };
        decode(qdoc, &self.config.url, status, &bytes, write)
    }
}

/// `<tag>value</tag>`, the value escaped.
fn leaf(out: &mut String, tag: &str, value: &str) {
    let _ = write!(out, "<{tag}>{}</{tag}>", escape(value));
}

/// Names compared as people write them: case and spacing aside.
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

/// One answer as the `<qdoc>Response`, or the error it stands for.
fn decode(
    qdoc: &str,
    url: &str,
    status: u16,
    body: &[u8],
    write: bool,
) -> Result<Element, QadError> {
    let what = format!("QXtend {qdoc}");
    let envelope = std::str::from_utf8(body)
        .ok()
        .and_then(|text| xml::parse(text).ok())
        .filter(|root| root.name == "Envelope");
    let soap_body = envelope.as_ref().and_then(|e| e.child("Body"));
    if let Some(fault) = soap_body.and_then(|b| b.child("Fault")) {
        return Err(fault_error(&what, fault));
    }
    let answer = soap_body
        .and_then(|b| b.children.first())
        .filter(|_| (200..300).contains(&status));
    let Some(answer) = answer else {
        return Err(match status {
            // A 2xx whose answer is cut or unreadable: a write may have been applied.
            200..=299 if write => QadError::Ambiguous(format!(
                "{what}: the answer was not a complete SOAP envelope"
            )),
            200..=299 => QadError::Transient(format!(
                "{what}: the answer was not a complete SOAP envelope"
            )),
            401 => QadError::Auth(format!("{what}: HTTP 401 from {url}")),
            403 => QadError::Permission(format!("{what}: HTTP 403 from {url}")),
            404 => QadError::Config(format!(
                "no QXtend endpoint at {url} (404); check its URL and instance"
            )),
            // A gateway's page: a write may have reached QXtend before it failed.
            500..=599 if write => {
                QadError::Ambiguous(format!("{what}: HTTP {status} with no SOAP answer"))
            }
            500..=599 => QadError::Transient(format!("{what}: HTTP {status} with no SOAP answer")),
            _ => QadError::Decode {
                path: url.to_string(),
                reason: format!("{what}: HTTP {status} with no SOAP answer"),
            },
        });
    };
    let expected = format!("{qdoc}Response");
    if answer.name != expected {
        return Err(QadError::Decode {
            path: url.to_string(),
            reason: format!("expected {expected}, got {}", answer.name),
        });
    }
    let messages = exceptions(answer);
    match answer.child_value("result").unwrap_or_default() {
        "success" => Ok(answer.clone()),
        "warning" => {
            for m in &messages {
                tracing::warn!(qdoc, field = %m.field, message = %m.message, "QXtend accepted the QDoc with a warning");
            }
            Ok(answer.clone())
        }
        "error" => {
            let errors: Vec<&Exception> = messages.iter().filter(|m| m.error).collect();
            let chosen = if errors.is_empty() {
                messages.iter().collect()
            } else {
                errors
            };
            Err(QadError::Business(
                chosen
                    .into_iter()
                    .map(|m| FieldMessage {
                        field: m.field.clone(),
                        message: m.message.clone(),
                    })
                    .collect(),
            ))
        }
        other => Err(QadError::Decode {
            path: url.to_string(),
            reason: format!("{expected} has result `{other}`, not success, warning or error"),
        }),
    }
}

/// One `temp_err_msg`.
struct Exception {
    error: bool,
    field: String,
    /// The description, with its context when there is one.
    message: String,
}

fn exceptions(answer: &Element) -> Vec<Exception> {
    answer
        .find("dsExceptions")
        .into_iter()
        .flat_map(|e| e.all("temp_err_msg"))
        .map(|row| {
            let text = |name: &str| row.child_value(name).unwrap_or_default();
            let description = text("tt_msg_desc");
            let context = text("tt_msg_context");
            Exception {
                error: text("tt_msg_sev").eq_ignore_ascii_case("error"),
                field: text("tt_msg_field").to_string(),
                message: if context.is_empty() {
                    description.to_string()
                } else {
                    format!("{description} (at {context})")
                },
            }
        })
        .collect()
}

/// A SOAP Fault: QXtend refused the message before processing it.
fn fault_error(what: &str, fault: &Element) -> QadError {
    let code = fault.child_value("faultcode").unwrap_or_default();
    let text = fault.child_value("faultstring").unwrap_or_default();
    let exception = fault
        .child("detail")
        .and_then(|d| d.find("qdocException"))
        .map(Element::value)
        .unwrap_or_default();
    let side = code.rsplit(':').next().unwrap_or_default();
    if side.starts_with("Server") {
        return QadError::Transient(format!("{what}: SOAP Fault {code}: {text}"));
    }
    let credentials = exception.contains("Authentication")
        || text.to_lowercase().contains("authenticat")
        || text.to_lowercase().contains("password");
    if credentials {
        return QadError::Auth(format!("{what}: QXtend refused the session's user: {text}"));
    }
    QadError::Config(format!(
        "{what}: QXtend refused the message (SOAP Fault {code}): {text}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> String {
        format!(
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
        )
    }

    fn message(severity: &str, field: &str, description: &str) -> String {
        format!(
            "<ns2:temp_err_msg><ns2:tt_msg_context>customer#1(W1) field({field})</ns2:tt_msg_context>\
             <ns2:tt_msg_desc>{description}</ns2:tt_msg_desc><ns2:tt_msg_field>{field}</ns2:tt_msg_field>\
             <ns2:tt_msg_sev>{severity}</ns2:tt_msg_sev></ns2:temp_err_msg>"
        )
    }

    fn response(result: &str, messages: &str) -> String {
        answer(&format!(
            "<ns1:maintainCustomerResponse xmlns:ns1=\"urn:schemas-qad-com:xml-services\" \
             xmlns:ns2=\"urn:schemas-qad-com:xml-services:common\"><ns1:result>{result}</ns1:result>\
             <ns2:dsExceptions>{messages}</ns2:dsExceptions></ns1:maintainCustomerResponse>"
        ))
    }

    fn decoded(status: u16, body: &str, write: bool) -> Result<Element, QadError> {
        decode(
            "maintainCustomer",
            "http://q/qxi",
            status,
            body.as_bytes(),
            write,
        )
    }

    #[test]
    fn results_decode_by_local_name() {
        let ok = decoded(200, &response("success", ""), true).unwrap();
        assert_eq!(ok.name, "maintainCustomerResponse");
        let warned = response(
            "warning",
            &message(
                "warning",
                "adEmail",
                "Field was unused, see context for details.",
            ),
        );
        assert!(decoded(200, &warned, true).is_ok());
        let refused = response(
            "error",
            &[
                message("warning", "adEmail", "Field was unused."),
                message("error", "cmCurr", "ERROR: Currency does not exist."),
            ]
            .concat(),
        );
        let error = decoded(200, &refused, true).unwrap_err();
        assert_eq!(
            error,
            QadError::Business(vec![FieldMessage {
                field: "cmCurr".into(),
                message: "ERROR: Currency does not exist. (at customer#1(W1) field(cmCurr))".into(),
            }])
        );
        assert!(matches!(
            decoded(200, &response("maybe", ""), true),
            Err(QadError::Decode { .. })
        ));
    }

    #[test]
    fn faults_and_bare_statuses_say_what_to_do() {
        let fault = |code: &str, text: &str, exception: &str| {
            answer(&format!(
                "<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{text}</faultstring>\
                 <detail><qdocException>{exception}</qdocException></detail></soapenv:Fault>"
            ))
        };
        let receiver = decoded(
            500,
            &fault(
                "soapenv:Client",
                "Receiver urn:services-qad-com:X is not defined.",
                "ReceiverException",
            ),
            true,
        )
        .unwrap_err();
        assert!(
            matches!(&receiver, QadError::Config(t) if t.contains("is not defined")),
            "{receiver}"
        );
        let login = decoded(
            500,
            &fault(
                "soapenv:Client",
                "User x could not be authenticated.",
                "AuthenticationException",
            ),
            true,
        )
        .unwrap_err();
        assert!(matches!(login, QadError::Auth(_)), "{login}");
        let server =
            decoded(500, &fault("soapenv:Server", "Internal error.", ""), true).unwrap_err();
        assert!(matches!(server, QadError::Transient(_)), "{server}");

        let html = "<html><body>502 Bad Gateway</body></html>";
        assert!(matches!(
            decoded(502, html, false),
            Err(QadError::Transient(_))
        ));
        assert!(matches!(
            decoded(502, html, true),
            Err(QadError::Ambiguous(_))
        ));
        let cut = &response("success", "")[..60];
        assert!(matches!(
            decoded(200, cut, true),
            Err(QadError::Ambiguous(_))
        ));
        assert!(matches!(decoded(404, "", true), Err(QadError::Config(_))));
        assert!(matches!(decoded(401, "", false), Err(QadError::Auth(_))));
    }

    #[test]
    fn envelopes_escape_every_value_and_the_password_stays_out_of_debug() {
        let mut config = QxtendConfig::new(
            "https://q/qxi/services/QdocWebService",
            "QAD<ERP>",
            "u&me",
            "p\"w",
        );
        config.domain = "10USA".into();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("p\\\"w") && debug.contains("<redacted>"),
            "{debug}"
        );
        let client = QxtendClient::new(config).unwrap();
        let text = client.envelope("maintainCustomer", &client.session(None), "<dsCustomer/>");
        let root = xml::parse(&text).unwrap();
        assert_eq!(
            root.find("To").unwrap().value(),
            "urn:services-qad-com:QAD<ERP>"
        );
        let values: Vec<&str> = root
            .find("dsSessionContext")
            .unwrap()
            .all("ttContext")
            .map(|row| row.child_value("propertyValue").unwrap())
            .collect();
        assert_eq!(values, ["10USA", "ERP3_2", "true", "u&me", "p\"w"]);
        assert!(same_name(" Jane  DOE", "jane doe"));
    }
}
