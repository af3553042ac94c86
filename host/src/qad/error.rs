//! One error type for every QAD failure, decoded from what the tenant answered, saying
//! whether trying again can help.
//!
//! QAD answers business failures with HTTP 200 and `submitResult.success = false` and a
//! list of field messages; a permission failure is a 403 with a bare `errors` list; a
//! failed login is a 400 (`invalid_grant`); gateways answer with HTML; and a request
//! whose answer was lost may or may not have been applied.
//!
//! A failure below QAD's answer (the connection, the answer's bytes, a JSON or XML
//! decode) stays attached as the error's source through [`Cause`], so callers can tell
//! a timeout from a refused connection without reading text.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::http::{Delivery, Resend};

/// A message QAD attached to a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMessage {
    /// As QAD spells it (its casing does not reliably match the request's keys).
    pub field: String,
    pub message: String,
}

/// What went wrong, as shown (what was being done and what happened), with the
/// lower-level failure it came from, if any, as its source. Shared (`Arc`) so
/// [`QadError`] stays `Clone`; two causes are equal when they read the same.
#[derive(Clone)]
pub struct Cause {
    text: String,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl Cause {
    /// `text`, caused by `source` (whose message `text` already says).
    pub fn new(text: impl Into<String>, source: impl StdError + Send + Sync + 'static) -> Cause {
        Cause {
            text: text.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// `context: source`, caused by `source`.
    pub fn from_error(context: &str, source: impl StdError + Send + Sync + 'static) -> Cause {
        Cause::new(format!("{context}: {source}"), source)
    }

    /// A failed exchange with QAD (`reqwest`'s error without the URL, whose query may
    /// carry keys): `context: error`.
    pub fn http(context: &str, error: reqwest::Error) -> Cause {
        Cause::from_error(context, error.without_url())
    }

    /// The lower-level failure, when there is one (e.g. a `reqwest::Error` to ask
    /// `is_timeout`).
    pub fn source_error(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Cause");
        debug.field("text", &self.text);
        if let Some(source) = &self.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl StdError for Cause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Cause) -> bool {
        self.text == other.text
    }
}

impl Eq for Cause {}

impl From<String> for Cause {
    fn from(text: String) -> Cause {
        Cause { text, source: None }
    }
}

impl From<&str> for Cause {
    fn from(text: &str) -> Cause {
        Cause::from(text.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QadError {
    /// QAD refused the request for business reasons (HTTP 200, `success: false`).
    #[error("QAD refused it: {}", describe(.0))]
    Business(Vec<FieldMessage>),
    /// 403: the user lacks a permission or the workspace. Never retried.
    #[error("QAD denied access: {0} (check the user's roles and the workspace)")]
    Permission(String),
    /// Login refused, or a token QAD no longer accepts and that cannot be renewed.
    #[error("QAD authentication failed: {0}")]
    Auth(#[source] Cause),
    /// A 5xx, an HTML page, a timeout before sending: trying again may help.
    #[error("QAD is unavailable: {0}")]
    Transient(#[source] Cause),
    /// The request may or may not have been applied (the answer was lost).
    #[error("QAD's answer was lost; the request may have been applied: {0}")]
    Ambiguous(#[source] Cause),
    /// The path does not exist on this tenant (404).
    #[error("QAD has no {0} on this tenant (404); check the entity path")]
    NotFound(String),
    /// The configured paths do not match the tenant's OpenAPI document.
    #[error("QAD's API does not offer what is configured: {0}")]
    Config(#[source] Cause),
    #[error("QAD's answer to {path} could not be read: {reason}")]
    Decode {
        path: String,
        #[source]
        reason: Cause,
    },
}

fn describe(messages: &[FieldMessage]) -> String {
    if messages.is_empty() {
        return "no reason given".into();
    }
    messages
        .iter()
        .map(|m| {
            if m.field.is_empty() {
                m.message.clone()
            } else {
                format!("{}: {}", m.field, m.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl QadError {
    /// A request that got no usable answer (`cause`): [`QadError::Transient`] when it may
    /// be sent again ([`Resend::allows`]), else [`QadError::Ambiguous`] (it may have been
    /// applied; look before trying again).
    pub fn unanswered(resend: Resend, delivery: Delivery, cause: Cause) -> QadError {
        if resend.allows(delivery) {
            QadError::Transient(cause)
        } else {
            QadError::Ambiguous(cause)
        }
    }

    /// An answer to `path` that could not be read, with why.
    pub fn decode(path: impl Into<String>, reason: impl Into<Cause>) -> QadError {
        QadError::Decode {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// An answer to `path` that could not be read, caused by `source`.
    pub fn undecodable(
        path: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> QadError {
        QadError::Decode {
            path: path.into(),
            reason: Cause::new(source.to_string(), source),
        }
    }

    /// Whether the same request may succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, QadError::Transient(_) | QadError::Ambiguous(_))
    }

    /// A business error whose messages contain `text` (case-insensitive).
    pub fn mentions(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        match self {
            QadError::Business(messages) => messages
                .iter()
                .any(|m| m.message.to_lowercase().contains(&text)),
            _ => false,
        }
    }
}

/// The business failure in an answer body, if any: `submitResult.success == false` or a
/// non-empty `submitResult.errors`.
pub fn business_failure(body: &Value) -> Option<QadError> {
    let result = body.get("submitResult")?;
    let success = result.get("success").and_then(Value::as_bool) == Some(true);
    let errors = field_messages(result.get("errors"));
    if success && errors.is_empty() {
        return None;
    }
    Some(QadError::Business(errors))
}

/// `[{fieldName, message}, ...]` as field messages.
pub fn field_messages(errors: Option<&Value>) -> Vec<FieldMessage> {
    errors
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| FieldMessage {
            field: e
                .get("fieldName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            message: e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
        .collect()
}

/// A non-2xx answer as an error.
pub fn from_status(status: u16, body: &[u8], what: &str) -> QadError {
    let text = String::from_utf8_lossy(body);
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let first_message = || {
        json.as_ref()
            .and_then(|v| v.get("errors"))
            .map(|e| describe(&field_messages(Some(e))))
            .or_else(|| {
                json.as_ref()
                    .and_then(|v| v.get("error_description").or_else(|| v.get("error")))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
    };
    match status {
        403 => QadError::Permission(first_message().unwrap_or_else(|| "Access is denied".into())),
        401 => QadError::Auth(
            first_message()
                .unwrap_or_else(|| "the token was not accepted".into())
                .into(),
        ),
        404 => QadError::NotFound(what.to_string()),
        500..=599 => QadError::Transient(
            if text.trim_start().starts_with('<') || json.is_none() {
                format!("HTTP {status} with no details")
            } else {
                format!("HTTP {status}: {}", first_message().unwrap_or_default())
            }
            .into(),
        ),
        _ => QadError::Business(vec![FieldMessage {
            field: String::new(),
            message: first_message().unwrap_or_else(|| {
                format!(
                    "HTTP {status}: {}",
                    text.chars().take(200).collect::<String>()
                )
            }),
        }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_200_with_success_false_is_a_business_error_with_its_fields() {
        let body = serde_json::json!({"submitResult": {"success": false, "errorSeverity": 3,
            "errors": [{"fieldName": "AddressSearchName", "message": "Search Name is mandatory."},
                       {"fieldName": "customerCode", "message": "Customer W1 already exists."}]}});
        let error = business_failure(&body).unwrap();
        assert!(error.mentions("already exist"));
        assert!(!error.is_retryable());
        assert_eq!(
            error.to_string(),
            "QAD refused it: AddressSearchName: Search Name is mandatory.; customerCode: Customer W1 already exists."
        );
        let ok = serde_json::json!({"submitResult": {"success": true, "errorSeverity": 0, "errors": []}});
        assert!(business_failure(&ok).is_none());
        assert!(business_failure(&serde_json::json!({"customerV2s": []})).is_none());
    }

    #[test]
    fn statuses_say_whether_to_retry() {
        let denied = br#"{"errors":[{"severity":1,"code":"403","message":"Access is denied","fieldName":""}]}"#;
        let error = from_status(403, denied, "customers");
        assert_eq!(error, QadError::Permission("Access is denied".into()));
        assert!(!error.is_retryable());
        let html = from_status(502, b"<html><body>Bad Gateway</body></html>", "x");
        assert_eq!(html, QadError::Transient("HTTP 502 with no details".into()));
        assert!(html.is_retryable());
        let login = from_status(
            400,
            br#"{"error":"invalid_grant","error_description":"Bad credentials"}"#,
            "login",
        );
        assert!(login.to_string().contains("Bad credentials"));
    }

    #[test]
    fn lower_level_failures_stay_attached_as_sources() {
        let json = serde_json::from_str::<Value>("{").unwrap_err();
        let shown = json.to_string();
        let error = QadError::undecodable("/api/erp/glAccounts", json);
        assert_eq!(
            error.to_string(),
            format!("QAD's answer to /api/erp/glAccounts could not be read: {shown}")
        );
        let cause = StdError::source(&error).expect("the cause");
        let json = cause.source().expect("the JSON error");
        assert!(json.downcast_ref::<serde_json::Error>().is_some());
        // Clones share the source; equality reads the text.
        assert_eq!(error.clone(), error);
        assert!(
            StdError::source(&QadError::Transient("HTTP 502".into()))
                .is_some_and(|cause| cause.source().is_none())
        );
    }
}
