//! QXtend's transport: one QDoc per SOAP POST (`Content-Type: text/xml`,
//! `SOAPAction: ""`) to the endpoint, the password kept out of the exchange log, and
//! what a failed exchange means: a lost or cut answer to a write may have been applied
//! ([`QadError::Ambiguous`]); a read (a G) is sent again on transient failures, a write
//! never is (see [`crate::http`]). Also the endpoint's WSDL, read before the first write.

use ml_connector_xml::{self as xml, Element, escape};

use super::super::error::{Cause, QadError};
use super::QxtendClient;
use super::answer::{decode, resend};
use crate::exchanges::{Attempt, Body};
use crate::http::{self, Delivery, Failed};

/// Reads (a `G`) are sent at most this often on transient failures.
const READ_ATTEMPTS: u32 = 3;

impl QxtendClient {
    /// Whether the endpoint's WSDL (`?wsdl`) offers `processQdocMessage`.
    pub async fn offers_qdoc_service(&self) -> Result<bool, QadError> {
        let url = format!("{}?wsdl", self.config.url);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| QadError::Transient(Cause::http("QXtend WSDL", e)))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| QadError::Transient(Cause::http("QXtend WSDL", e)))?;
        match status {
            200..=299 => Ok(xml::parse(&text).is_ok() && text.contains("processQdocMessage")),
            404 => Ok(false),
            500..=599 => Err(QadError::Transient(
                format!("QXtend WSDL: HTTP {status}").into(),
            )),
            _ => Ok(false),
        }
    }

    /// Sends a QDoc and decodes the answer into its `<qdoc>Response`. A read is sent
    /// again on transient failures (up to [`READ_ATTEMPTS`] in all); a write never is.
    pub(super) async fn exchange(
        &self,
        qdoc: &str,
        body: String,
        write: bool,
    ) -> Result<Element, QadError> {
        let attempts = if write { 1 } else { READ_ATTEMPTS };
        http::retry(
            attempts,
            || async {
                match self.exchange_once(qdoc, body.clone(), write).await {
                    Err(error @ QadError::Transient(_)) => Err(Failed::Backoff(error)),
                    other => other.map_err(Failed::Stop),
                }
            },
            |error, wait| tracing::debug!(qdoc, %error, ?wait, "QXtend read failed; retrying"),
        )
        .await
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
            // Nothing reached QXtend when no connection was made.
            Err(error) => {
                let delivery = Delivery::of(&error);
                return Err(QadError::unanswered(
                    resend(write),
                    delivery,
                    Cause::http(&what, error),
                ));
            }
        };
        let status = response.status().as_u16();
        let bytes = response.bytes().await;
        if let Some(audit) = audit {
            audit.answered(status, &bytes, &secrets);
        }
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(error) => {
                let error = error.without_url();
                let cause = if write {
                    Cause::new(format!("{what}: the answer was cut off ({error})"), error)
                } else {
                    Cause::http(&what, error)
                };
                return Err(QadError::unanswered(
                    resend(write),
                    Delivery::MaybeProcessed,
                    cause,
                ));
            }
        };
        decode(qdoc, &self.config.url, status, &bytes, write)
    }
}
