//! Injected faults: what one does, which of a tenant's requests it hits, and the answers
//! it makes (a cut connection, a truncated body, a load balancer's 502).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::response::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::TenantState;

/// What an injected fault does to the requests it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QadFaultAction {
    /// A 500 with QAD's bare error body.
    Http500,
    /// A 502 with an HTML body, as a load balancer sends.
    Html502,
    /// The request is held this long, then processed and answered; it is processed even
    /// when the client stopped waiting (a late answer, as a slow server gives).
    Delay(Duration),
    /// The request is processed and committed; then the headers go out and the connection
    /// is cut mid-body, so the client never sees the answer.
    DropAfterCommit,
    /// A 401 `invalid_token` as if the token had just expired; the next try succeeds.
    Unauthorized401Once,
    /// The request is processed and committed; only the first half of the JSON answer is
    /// sent.
    TruncateJson,
}

impl QadFaultAction {
    /// `http500`, `html502`, `delay` (with `delay_ms`), `drop_after_commit`,
    /// `unauthorized_401_once` or `truncate_json` (dashes or underscores, any case).
    pub fn parse(name: &str, delay_ms: u64) -> Option<QadFaultAction> {
        Some(match name.to_ascii_lowercase().replace('-', "_").as_str() {
            "http500" | "http_500" => QadFaultAction::Http500,
            "html502" | "html_502" => QadFaultAction::Html502,
            "delay" => QadFaultAction::Delay(Duration::from_millis(delay_ms)),
            "drop_after_commit" => QadFaultAction::DropAfterCommit,
            "unauthorized401once" | "unauthorized_401_once" => QadFaultAction::Unauthorized401Once,
            "truncate_json" => QadFaultAction::TruncateJson,
            _ => return None,
        })
    }
}

/// A fault for a tenant's next `count` admitted requests whose path below the tenant root
/// contains `path_contains` and whose method is `method` (both optional). A QDoc to
/// QXtend is matched as `/qxi/services/QdocWebService/<qdoc>`, once it passed the SOAP
/// checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QadFault {
    pub action: QadFaultAction,
    pub count: u32,
    pub path_contains: Option<String>,
    pub method: Option<String>,
}

impl QadFault {
    /// `action` on the next `count` requests of any path and method.
    pub fn new(action: QadFaultAction, count: u32) -> QadFault {
        QadFault {
            action,
            count,
            path_contains: None,
            method: None,
        }
    }

    /// Only on paths containing `part`.
    pub fn on(mut self, part: &str) -> QadFault {
        self.path_contains = Some(part.to_string());
        self
    }

    /// Only on requests with this method (`POST`).
    pub fn for_method(mut self, method: &str) -> QadFault {
        self.method = Some(method.to_string());
        self
    }

    fn applies_to(&self, path: &str, method: &Method) -> bool {
        self.count > 0
            && self
                .path_contains
                .as_deref()
                .is_none_or(|part| path.contains(part))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
    }
}

/// Uses up one hit of the first fault that applies to the request.
pub(crate) fn take_fault(
    tenant: &mut TenantState,
    path: &str,
    method: &Method,
) -> Option<QadFaultAction> {
    let index = tenant
        .faults
        .iter()
        .position(|f| f.applies_to(path, method))?;
    let fault = &mut tenant.faults[index];
    let action = fault.action;
    fault.count -= 1;
    if fault.count == 0 {
        tenant.faults.remove(index);
    }
    Some(action)
}

/// The answer as processed, its body cut off midway: the client sees the headers, then a
/// broken connection.
pub(crate) async fn drop_body(response: Response) -> Response {
    let (parts, half) = first_half(response).await;
    let cut = futures_util::stream::iter([
        Ok(half),
        Err(std::io::Error::other("connection dropped (injected)")),
    ]);
    Response::from_parts(parts, Body::from_stream(cut))
}

/// The answer as processed, only the first half of its body sent (complete HTTP, broken
/// JSON).
pub(crate) async fn truncate_body(response: Response) -> Response {
    let (parts, half) = first_half(response).await;
    Response::from_parts(parts, Body::from(half))
}

/// The answer's head without its length, and the first half of its body.
async fn first_half(response: Response) -> (Parts, Bytes) {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    parts.headers.remove(CONTENT_LENGTH);
    (parts, bytes.slice(..bytes.len() / 2))
}

/// What a load balancer in front of a tenant says when the application is down.
pub(crate) fn html_502() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        [(CONTENT_TYPE, "text/html")],
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
         <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
         </body>\r\n</html>\r\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_actions_parse_in_either_spelling() {
        assert_eq!(
            QadFaultAction::parse("drop-after-commit", 0),
            Some(QadFaultAction::DropAfterCommit)
        );
        assert_eq!(
            QadFaultAction::parse("Delay", 250),
            Some(QadFaultAction::Delay(Duration::from_millis(250)))
        );
        assert_eq!(
            QadFaultAction::parse("unauthorized_401_once", 0),
            Some(QadFaultAction::Unauthorized401Once)
        );
        assert_eq!(QadFaultAction::parse("explode", 0), None);
    }

    #[test]
    fn faults_match_path_and_method() {
        let fault = QadFault::new(QadFaultAction::Http500, 1)
            .on("journalEntries")
            .for_method("post");
        assert!(fault.applies_to("/api/erp/journalEntries", &Method::POST));
        assert!(!fault.applies_to("/api/erp/journalEntries", &Method::GET));
        assert!(!fault.applies_to("/api/erp/items", &Method::POST));
        assert!(!QadFault::new(QadFaultAction::Http500, 0).applies_to("/", &Method::GET));
    }
}
