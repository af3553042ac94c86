//! One error type for every BigCommerce failure, decoded from whichever body shape the
//! endpoint uses, and saying whether trying again can help.
//!
//! Shapes: V2 returns a list of `{status, message}`; V3 returns
//! `{status, title, type, instance?, errors?}` with `errors` a free-form map; refunds wrap
//! either in `{data: [...]}`; and some answers carry no JSON at all.

use std::time::Duration;

use serde_json::Value;

/// Whether and when a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Sending it again cannot help (bad credentials, missing scope, invalid body).
    Never,
    /// A transient failure: back off and try again.
    Backoff,
    /// The store's quota is spent: wait at least this long.
    After(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BigCommerce answered {status}: {message}{}", fields_suffix(.fields))]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    /// Field-level messages (`field: message`), when the body has them.
    pub fields: Vec<(String, String)>,
    pub retry: Retry,
}

fn fields_suffix(fields: &[(String, String)]) -> String {
    if fields.is_empty() {
        return String::new();
    }
    let list: Vec<String> = fields
        .iter()
        .map(|(field, message)| format!("{field}: {message}"))
        .collect();
    format!(" ({})", list.join("; "))
}

impl ApiError {
    /// Decodes a failed response. `quota_wait` is what the rate-limit headers say to wait
    /// (for a 429); `None` when the headers were absent.
    pub fn decode(status: u16, body: &[u8], quota_wait: Option<Duration>) -> ApiError {
        let (message, fields) = match serde_json::from_slice::<Value>(body) {
            Ok(value) => describe(&value),
            Err(_) => (String::new(), Vec::new()),
        };
        let message = if message.is_empty() {
            default_message(status, body)
        } else {
            message
        };
        let retry = match status {
            429 => quota_wait.map(Retry::After).unwrap_or(Retry::Backoff),
            408 | 423 | 500..=599 => Retry::Backoff,
            _ => Retry::Never,
        };
        ApiError {
            status,
            message,
            fields,
            retry,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.retry != Retry::Never
    }
}

/// The message and field errors of any of the three body shapes.
fn describe(value: &Value) -> (String, Vec<(String, String)>) {
    match value {
        // Refunds: `{data: [...]}`, or `{data: {...}}`.
        Value::Object(map) if map.contains_key("data") && !map.contains_key("title") => {
            describe(&map["data"])
        }
        // Variant batches: `{batch_errors: [{status, title, errors, ...}]}`.
        Value::Object(map) if map.contains_key("batch_errors") => {
            let items = map["batch_errors"].as_array().cloned().unwrap_or_default();
            let mut titles = Vec::new();
            let mut fields = Vec::new();
            for item in &items {
                let (title, item_fields) = describe(item);
                let instance = item.get("instance").and_then(Value::as_str).unwrap_or("");
                if !titles.contains(&title) {
                    titles.push(title);
                }
                fields.extend(item_fields.into_iter().map(|(field, message)| {
                    let field = if instance.is_empty() {
                        field
                    } else {
                        format!("{instance}.{field}")
                    };
                    (field, message)
                }));
            }
            (titles.join("; "), fields)
        }
        // V2: `[{status, message}, ...]`.
        Value::Array(items) => {
            let messages: Vec<String> = items
                .iter()
                .filter_map(|item| match item {
                    Value::Object(_) => item
                        .get("message")
                        .or_else(|| item.get("error"))
                        .or_else(|| item.get("title"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    Value::String(text) => Some(text.clone()),
                    _ => None,
                })
                .collect();
            (messages.join("; "), Vec::new())
        }
        // V3: `{status, title, type, errors?}`.
        Value::Object(map) => {
            let title = ["title", "message", "error"]
                .iter()
                .find_map(|key| map.get(*key).and_then(Value::as_str))
                .unwrap_or_default()
                .to_string();
            let mut fields = Vec::new();
            if let Some(errors) = map.get("errors").and_then(Value::as_object) {
                for (field, message) in errors {
                    let text = message
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| message.to_string());
                    fields.push((field.clone(), text));
                }
            }
            (title, fields)
        }
        _ => (String::new(), Vec::new()),
    }
}

fn default_message(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let looks_like_html = text.trim_start().starts_with('<');
    match status {
        401 => "the access token is not valid for this store (check the X-Auth-Token)".into(),
        403 => "the API account lacks a scope this request needs".into(),
        429 => "the store's API quota is used up".into(),
        _ if looks_like_html || text.trim().is_empty() => {
            format!("HTTP {status} with no error details")
        }
        _ => text.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v2_error_list_is_decoded() {
        let body = br#"[{"status":404,"message":"The requested resource was not found."}]"#;
        let error = ApiError::decode(404, body, None);
        assert_eq!(error.message, "The requested resource was not found.");
        assert_eq!(error.retry, Retry::Never);
        assert_eq!(
            error.to_string(),
            "BigCommerce answered 404: The requested resource was not found."
        );
    }

    #[test]
    fn a_v3_error_with_field_messages_is_decoded() {
        let body = br#"{"status":422,"title":"JSON data is missing or invalid","type":"https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes","errors":{"destination":"error.path.missing."}}"#;
        let error = ApiError::decode(422, body, None);
        assert_eq!(error.message, "JSON data is missing or invalid");
        assert_eq!(
            error.fields,
            vec![("destination".to_string(), "error.path.missing.".to_string())]
        );
        assert!(!error.is_retryable());
        assert!(
            error
                .to_string()
                .ends_with("(destination: error.path.missing.)")
        );
    }

    #[test]
    fn a_refund_error_wrapped_in_data_is_decoded() {
        let body = br#"{"data":[{"status":422,"title":"A refund is already being processed for this order","type":"/api-docs/getting-started/api-status-codes"}]}"#;
        let error = ApiError::decode(422, body, None);
        assert_eq!(
            error.message,
            "A refund is already being processed for this order"
        );
    }

    #[test]
    fn quota_and_server_errors_say_when_to_retry() {
        let wait = Duration::from_millis(1500);
        assert_eq!(
            ApiError::decode(429, b"", Some(wait)).retry,
            Retry::After(wait)
        );
        assert_eq!(ApiError::decode(429, b"", None).retry, Retry::Backoff);
        let html = ApiError::decode(502, b"<html><body>Bad Gateway</body></html>", None);
        assert_eq!(html.retry, Retry::Backoff);
        assert_eq!(html.message, "HTTP 502 with no error details");
        let unauthorized = ApiError::decode(401, b"", None);
        assert_eq!(unauthorized.retry, Retry::Never);
        assert!(unauthorized.message.contains("X-Auth-Token"));
    }
}
