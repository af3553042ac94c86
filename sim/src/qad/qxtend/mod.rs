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
//!   and posted through [`post_entry`](super::journals::post_entry): the same
//!   validations, duplicate guard, vouchers and ledger. The voucher comes back in
//!   `dsJournalEntryResponse/tPosting/voucher`.
//!
//! The SOAP side (the checks, Faults and the session context) is `soap`; what processing
//! found and the answer written from it, `reply`; the QDocs, `customer` and `journal`;
//! and the WSDL, `wsdl`.

mod customer;
mod journal;
mod reply;
mod soap;
mod wsdl;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::faults::{QadFaultAction, drop_body, html_502, truncate_body};
use super::{QadSim, SharedState};
use crate::sync::lock;
use reply::{Reply, answer};
use soap::{Admitted, Fault, admit};

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
    Router::new().route(PATH, get(wsdl::wsdl).post(qdoc))
}

impl QadSim {
    /// `http://127.0.0.1:PORT/qxi/services/QdocWebService`, for every tenant (the receiver
    /// in `wsa:To` picks one).
    pub fn qxtend_url(&self) -> String {
        format!("{}{PATH}", self.root_url())
    }
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
            // Processed when its time comes even if the client gave up waiting.
            let late = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                process(&shared, &admitted)
            });
            late.await.unwrap_or_else(|_| {
                Fault::server("ServerException", "the request failed").response()
            })
        }
        Some(QadFaultAction::DropAfterCommit) => drop_body(process(&shared, &admitted)).await,
        Some(QadFaultAction::TruncateJson) => truncate_body(process(&shared, &admitted)).await,
    }
}

/// Processes an admitted QDoc under the lock and writes the answer.
fn process(shared: &SharedState, message: &Admitted) -> Response {
    let mut guard = lock(shared);
    let Some(mut scope) = guard.scope(&message.tenant, message.username.clone(), None) else {
        guard.counters.soap_faults += 1;
        return Fault::server("ReceiverException", "The receiver's tenant is gone.").response();
    };
    scope.counters.qdocs += 1;
    let now = scope.now;
    let mut reply = Reply::default();
    match message.qdoc.name.as_str() {
        "maintainCustomer" => customer::maintain_customer(&mut scope, message, &mut reply),
        _ => journal::create_journal_entry(&mut scope, message, &mut reply),
    }
    if reply.errors() > 0 {
        scope.counters.qdoc_errors += 1;
    }
    answer(message, &reply, now)
}
