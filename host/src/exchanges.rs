//! The external requests and answers made while one record is processed, kept for its
//! audit trail with credentials redacted.
//!
//! A worker runs a job inside [`capture_batched`] (a poll runs inside [`capture`]); the
//! clients call [`record`] for every attempt they send (BigCommerce, QAD REST, QXtend),
//! and the flow's own entries ([`audit_entry`]) follow the exchanges made before each, so
//! the trail reads in order. In a batched capture the entries are kept and written
//! together, in the transaction that records a post before it leaves ([`take_kept`]) and
//! in the one that ends the job; elsewhere each entry is written with its exchanges at
//! once. The revision a job posted is kept the same way ([`keep_posted`]), to be
//! confirmed in the transaction that ends the job. Outside a capture, [`record`] does
//! nothing and builds nothing.
//!
//! Redaction: request headers are never kept (the tokens live there); bodies have every
//! value of a credential-like JSON key (`password`, `token`, `secret`, ...) and every
//! known secret string replaced by `[redacted]`; login exchanges keep no body at all.
//! Bodies over [`BODY_LIMIT`] bytes are cut, with their full size and the SHA-256 of the
//! whole redacted text kept (never a digest of the body as sent: with a credential in it,
//! that would confirm a guess of the credential).

use std::cell::RefCell;
use std::future::Future;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::store::{AuditEntry, PostedRevision, Store, StoreError};

/// How much of a body the audit keeps.
pub const BODY_LIMIT: usize = 64 * 1024;

const REDACTED: &str = "[redacted]";

/// JSON keys whose values are credentials, matched case-insensitively as substrings.
const SECRET_KEYS: [&str; 6] = [
    "password",
    "token",
    "secret",
    "authorization",
    "api_key",
    "client_id",
];

tokio::task_local! {
    static CAPTURED: RefCell<Vec<Exchange>>;
    /// What a batched capture keeps, not yet written.
    static PENDING: RefCell<Kept>;
}

/// What a batched capture keeps for the transaction that ends its job.
#[derive(Debug, Default)]
pub struct Kept {
    /// The flow's entries (with the exchanges before each), in order.
    pub audit: Vec<AuditEntry>,
    /// The revision the job posted, to be confirmed.
    pub posted: Option<PostedRevision>,
}

/// One attempt: what was sent and what came back (or why nothing did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// `bigcommerce`, `qad` or `qxtend`.
    pub system: &'static str,
    pub method: String,
    /// The path below the system's root, with the query.
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Body>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Body>,
    /// The transport failure when there was no answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub millis: u64,
}

/// A body as kept: redacted text (cut at [`BODY_LIMIT`]), its size and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Body {
    pub text: String,
    pub bytes: usize,
    /// SHA-256 (hex) of the whole redacted text, before it was cut.
    pub sha256: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Body {
    /// Keeps `bytes` with the credential-like values and `secrets` replaced.
    pub fn redacted(bytes: &[u8], secrets: &[&str]) -> Body {
        let text = String::from_utf8_lossy(bytes);
        let mut text = if may_name_a_secret_key(bytes) {
            match serde_json::from_slice::<Value>(bytes) {
                Ok(mut value) if value.is_object() || value.is_array() => {
                    redact_keys(&mut value);
                    value.to_string()
                }
                _ => text.into_owned(),
            }
        } else {
            // No key can be credential-like: kept as sent, without parsing it.
            text.into_owned()
        };
        for secret in secrets.iter().filter(|s| s.len() >= 4) {
            if text.contains(secret) {
                text = text.replace(secret, REDACTED);
            }
        }
        let sha256 = crate::digest::sha256_hex(text.as_bytes());
        let truncated = text.len() > BODY_LIMIT;
        if truncated {
            let mut cut = BODY_LIMIT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        Body {
            text,
            bytes: bytes.len(),
            sha256,
            truncated,
        }
    }

    /// A body that is not kept at all (a login), only its size.
    pub fn withheld(bytes: &[u8]) -> Body {
        Body {
            text: REDACTED.into(),
            bytes: bytes.len(),
            sha256: String::new(),
            truncated: false,
        }
    }
}

/// Whether a JSON body may have a credential-like key: one of [`SECRET_KEYS`] appears in
/// it (in any case), or a `\u` escape that could spell one. When neither does, no key can
/// match and the body needs no parsing.
fn may_name_a_secret_key(bytes: &[u8]) -> bool {
    let lower = bytes.to_ascii_lowercase();
    memchr::memmem::find(&lower, b"\\u").is_some()
        || SECRET_KEYS
            .iter()
            .any(|key| memchr::memmem::find(&lower, key.as_bytes()).is_some())
}

fn redact_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let key = key.to_ascii_lowercase();
                if SECRET_KEYS.iter().any(|secret| key.contains(secret)) && !value.is_null() {
                    *value = Value::String(REDACTED.into());
                } else {
                    redact_keys(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_keys),
        _ => {}
    }
}

/// Runs `future`, capturing every exchange recorded inside it (the exchanges not yet
/// taken by [`take`] are returned with its output).
pub async fn capture<F: Future>(future: F) -> (F::Output, Vec<Exchange>) {
    CAPTURED
        .scope(RefCell::new(Vec::new()), async move {
            let output = future.await;
            (output, take())
        })
        .await
}

/// Runs `future` as [`capture`] does, keeping the audit entries made inside it and the
/// revision it posted: they come back (with the exchanges made after the last entry) for
/// the caller to write, but for the entries [`take_kept`] took meanwhile.
pub async fn capture_batched<F: Future>(future: F) -> (F::Output, Kept, Vec<Exchange>) {
    // A job's future is large; kept on the heap, not on the stack of whoever awaits it.
    let future = Box::pin(future);
    PENDING
        .scope(RefCell::new(Kept::default()), async move {
            let ((output, pending), rest) = capture(async move {
                let output = future.await;
                let pending = PENDING
                    .try_with(|pending| std::mem::take(&mut *pending.borrow_mut()))
                    .unwrap_or_default();
                (output, pending)
            })
            .await;
            (output, pending, rest)
        })
        .await
}

/// Takes the entries a batched capture keeps, for the caller to write in its own
/// transaction (none outside one); [`keep`] gives them back if it could not.
pub fn take_kept() -> Vec<AuditEntry> {
    PENDING
        .try_with(|pending| std::mem::take(&mut pending.borrow_mut().audit))
        .unwrap_or_default()
}

/// Gives back entries [`take_kept`] took, ahead of any kept since.
pub fn keep(mut entries: Vec<AuditEntry>) {
    let _ = PENDING.try_with(|pending| {
        let audit = &mut pending.borrow_mut().audit;
        entries.append(audit);
        *audit = entries;
    });
}

/// Keeps a posted revision to be confirmed with the job's end; given back, for the caller
/// to confirm now, outside a batched capture or when the capture already keeps one.
pub fn keep_posted(posted: PostedRevision) -> Option<PostedRevision> {
    let mut posted = Some(posted);
    let _ = PENDING.try_with(|pending| {
        let kept = &mut pending.borrow_mut().posted;
        if kept.is_none() {
            *kept = posted.take();
        }
    });
    posted
}

/// Whether the current task is capturing (so a client can skip building the record).
pub fn capturing() -> bool {
    CAPTURED.try_with(|_| ()).is_ok()
}

/// Adds an exchange to the current capture; nothing outside one.
pub fn record(exchange: impl FnOnce() -> Exchange) {
    let _ = CAPTURED.try_with(|captured| captured.borrow_mut().push(exchange()));
}

/// The exchanges captured so far, leaving the capture empty.
pub fn take() -> Vec<Exchange> {
    CAPTURED
        .try_with(|captured| std::mem::take(&mut *captured.borrow_mut()))
        .unwrap_or_default()
}

/// One `request` entry about `subject` per exchange.
pub fn entries(connection: &str, subject: &str, exchanges: Vec<Exchange>) -> Vec<AuditEntry> {
    exchanges
        .into_iter()
        .map(|exchange| AuditEntry {
            connection: connection.into(),
            subject: subject.into(),
            kind: "request".into(),
            data: serde_json::to_string(&exchange).expect("an exchange serialises"),
        })
        .collect()
}

/// Writes exchanges to the audit log about `subject`, one `request` entry each, in one
/// transaction.
pub async fn audit(
    store: &dyn Store,
    connection: &str,
    subject: &str,
    exchanges: Vec<Exchange>,
) -> Result<(), StoreError> {
    store
        .audit_batch(&entries(connection, subject, exchanges))
        .await
}

/// Appends an entry about `subject`, after the requests and answers captured since the
/// last one (so the trail reads in order): kept for later in a batched capture, else
/// written at once, with those exchanges, in one transaction.
///
/// `data` is written as its JSON text, serialized here (not built as a JSON tree first):
/// the flows' data, a record as it was read included, goes into the entry as it is.
pub fn audit_entry<'a, T: Serialize + ?Sized>(
    store: &'a dyn Store,
    connection: &'a str,
    subject: &'a str,
    kind: &'a str,
    data: &T,
) -> impl Future<Output = Result<(), StoreError>> + Send + use<'a, T> {
    // The flows' types serialize without fail; one that did not is kept as what it said.
    let data = serde_json::to_string(data).unwrap_or_else(|error| {
        serde_json::json!({"unserializable": error.to_string()}).to_string()
    });
    async move {
        let mut batch = entries(connection, subject, take());
        batch.push(AuditEntry {
            connection: connection.into(),
            subject: subject.into(),
            kind: kind.into(),
            data,
        });
        let kept = PENDING.try_with(|pending| pending.borrow_mut().audit.append(&mut batch));
        match kept {
            Ok(()) => Ok(()),
            Err(_) => store.audit_batch(&batch).await,
        }
    }
}

/// Times one attempt and records it when the current task is capturing.
pub struct Attempt {
    started: Instant,
    system: &'static str,
    method: String,
    url: String,
    request: Option<Body>,
}

impl Attempt {
    /// Starts timing; `request` is only built when capturing.
    pub fn start(
        system: &'static str,
        method: &str,
        url: impl FnOnce() -> String,
        request: impl FnOnce() -> Option<Body>,
    ) -> Option<Attempt> {
        capturing().then(|| Attempt {
            started: Instant::now(),
            system,
            method: method.to_string(),
            url: url(),
            request: request(),
        })
    }

    /// Records an answer as it was read: its body with `secrets` redacted, or how
    /// reading it failed.
    pub fn answered(
        self,
        status: u16,
        body: &Result<bytes::Bytes, reqwest::Error>,
        secrets: &[&str],
    ) {
        self.finish(match body {
            Ok(bytes) => Ok((status, Body::redacted(bytes, secrets))),
            Err(error) => Err(format!("HTTP {status}, answer cut off: {error}")),
        });
    }

    /// Records the answer (`status` and `body`) or the failure.
    pub fn finish(self, outcome: Result<(u16, Body), String>) {
        let millis = self.started.elapsed().as_millis() as u64;
        let (status, response, error) = match outcome {
            Ok((status, body)) => (Some(status), Some(body), None),
            Err(error) => (None, None, Some(error)),
        };
        record(|| Exchange {
            system: self.system,
            method: self.method,
            url: self.url,
            request: self.request,
            status,
            response,
            error,
            millis,
        });
    }
}

/// `path?query` as sent (query values are not credentials in either API).
pub fn path_with_query(path: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_keys_and_known_secrets_are_redacted() {
        let body = br#"{"user":{"name":"a","password":"hunter22"},"access_token":"t0k3n","note":"key sk_live_1234 here"}"#;
        let kept = Body::redacted(body, &["sk_live_1234"]);
        assert!(!kept.text.contains("hunter22"), "{}", kept.text);
        assert!(!kept.text.contains("t0k3n"), "{}", kept.text);
        assert!(!kept.text.contains("sk_live_1234"), "{}", kept.text);
        assert!(kept.text.contains("\"name\":\"a\""), "{}", kept.text);
        assert_eq!(kept.bytes, body.len());
        assert_eq!(kept.sha256.len(), 64);
    }

    #[test]
    fn a_credential_key_spelled_with_escapes_is_redacted_too() {
        let body = br#"{"Pass\u0077ord":"hunter22","n":1}"#;
        let kept = Body::redacted(body, &[]);
        assert!(!kept.text.contains("hunter22"), "{}", kept.text);
    }

    #[test]
    fn a_body_without_credential_keys_is_kept_as_sent() {
        let body = br#"{ "id": 7, "items": [ {"sku": "A-1"} ] }"#;
        let kept = Body::redacted(body, &[]);
        assert_eq!(kept.text.as_bytes(), body);
        assert_eq!(kept.sha256, crate::digest::sha256_hex(body));
    }

    #[test]
    fn xml_bodies_lose_the_known_secrets() {
        let body = b"<propertyName>password</propertyName><propertyValue>s3cr3t!</propertyValue>";
        let kept = Body::redacted(body, &["s3cr3t!"]);
        assert!(!kept.text.contains("s3cr3t!"));
        assert!(kept.text.contains("[redacted]"));
        // The digest is of what is kept: it cannot confirm a guess of the password.
        assert_eq!(kept.sha256, crate::digest::sha256_hex(kept.text.as_bytes()));
        assert_ne!(kept.sha256, crate::digest::sha256_hex(body));
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let body = "é".repeat(BODY_LIMIT);
        let kept = Body::redacted(body.as_bytes(), &[]);
        assert!(kept.truncated);
        assert!(kept.text.len() <= BODY_LIMIT);
        assert_eq!(kept.bytes, body.len());
    }

    #[tokio::test]
    async fn only_a_capturing_task_records() {
        record(|| unreachable!("nothing is built outside a capture"));
        let ((), captured) = capture(async {
            assert!(capturing());
            let attempt = Attempt::start("qad", "GET", || "/x".into(), || None).unwrap();
            attempt.finish(Ok((200, Body::redacted(b"{}", &[]))));
        })
        .await;
        assert_eq!(captured.len(), 1);
        assert_eq!(captured[0].status, Some(200));
        assert!(!capturing());
    }
}
