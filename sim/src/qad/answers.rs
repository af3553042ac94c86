//! QAD's answer shapes the endpoints share: JSON written straight to text, the bare error
//! of the gateway and permission failures, and `submitResult` for business failures and
//! writes, `{"data": ...}` for reads.

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::wire::Object;

pub(super) async fn not_found() -> Response {
    grounded_error(StatusCode::NOT_FOUND, "Not Found")
}

/// A JSON answer serialised straight to text (exact numbers stay exact).
pub(crate) fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).expect("answers serialise");
    (status, [(CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// QAD's bare error shape, used for gateway and permission failures.
pub(crate) fn grounded_error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        &json!({"errors": [{
            "severity": 1,
            "code": status.as_str(),
            "message": message,
            "fieldName": "",
        }]}),
    )
}

pub(crate) fn access_denied() -> Response {
    grounded_error(StatusCode::FORBIDDEN, "Access is denied")
}

/// One business error: the field it concerns (`lines[2].glCode`), a message, and the
/// value that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) message: String,
    pub(crate) value: String,
}

impl FieldError {
    pub(crate) fn new(
        field: impl Into<String>,
        message: impl Into<String>,
        value: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
            value: value.into(),
        }
    }
}

/// HTTP 200 with `submitResult.success == false`.
pub(crate) fn submit_failure(errors: &[FieldError]) -> Response {
    let errors: Vec<_> = errors
        .iter()
        .map(|e| {
            json!({
                "fieldName": e.field,
                "message": e.message,
                "fieldValue": e.value,
                "code": null,
                "severity": 3,
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"submitResult": {"success": false, "errorSeverity": 3, "errors": errors}}),
    )
}

/// A successful write: `submitResult` and the records as stored.
pub(crate) fn submit_success(collection: &str, records: Vec<Object>) -> Response {
    let body = Object::new()
        .field(
            "submitResult",
            json!({"success": true, "errorSeverity": 0, "errors": []}),
        )
        .field(collection, records);
    json_response(StatusCode::OK, &body)
}

/// A read: `{"data": {"<collection>": [...]}}`.
pub(crate) fn data_answer(collection: &str, records: Vec<Object>) -> Response {
    let body = Object::new().field("data", Object::new().field(collection, records));
    json_response(StatusCode::OK, &body)
}
