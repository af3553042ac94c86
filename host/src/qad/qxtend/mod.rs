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
//!
//! Here: the client and its operations. [`qdoc`] writes the messages, [`soap`] sends them
//! (and reads the WSDL), [`answer`] decodes what comes back.

pub(crate) mod answer;
mod qdoc;
mod soap;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::browse;
use super::config::CustomerDefaults;
use super::error::{Cause, FieldMessage, QadError};
use super::model::{CustomerRef, JournalEntry, NewCustomer, Posted, PostedJournal};

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
            .map_err(|e| QadError::Config(Cause::from_error("the QXtend URL", e)))?;
        let http = crate::http::client(reqwest::header::HeaderMap::new(), config.timeout)
            .map_err(|e| QadError::Config(Cause::new(e.to_string(), e)))?;
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
        let body = qdoc::add_customer(&self.config, customer);
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
        let body = qdoc::get_customer(&self.config, code);
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
            None => Err(QadError::decode(
                &self.config.url,
                "QXtend accepted the entry but returned no voucher",
            )),
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
        let body = qdoc::create_journal_entry(&self.config, entity, entry);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_stays_out_of_debug_and_names_compare_as_written() {
        let config = QxtendConfig::new(
            "https://q/qxi/services/QdocWebService",
            "QAD<ERP>",
            "u&me",
            "p\"w",
        );
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("p\\\"w") && debug.contains("<redacted>"),
            "{debug}"
        );
        assert!(same_name(" Jane  DOE", "jane doe"));
    }
}
