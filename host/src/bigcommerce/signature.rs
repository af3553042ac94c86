//! Verifying BigCommerce webhook deliveries.
//!
//! BigCommerce signs deliveries the Standard Webhooks way: `webhook-id`,
//! `webhook-timestamp` (unix seconds) and `webhook-signature`, a space-separated list of
//! `v1,<base64 HMAC-SHA256>` over `"{id}.{timestamp}.{raw body}"`, keyed with the raw bytes
//! of the API account's client secret. A timestamp more than five minutes from now, either
//! way, is refused (replay protection). A shared secret in a custom header, set when the
//! hook is created, can be required as well. Every check fails closed, and signatures are
//! compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a delivery's timestamp may be from now.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// What a connection requires of a delivery.
#[derive(Clone, Default)]
pub struct WebhookAuth {
    /// The API account's client secret: Standard Webhooks signatures are required.
    pub client_secret: Option<String>,
    /// `(header name, value)`: this header must carry this value.
    pub shared_header: Option<(String, String)>,
}

impl std::fmt::Debug for WebhookAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookAuth")
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "shared_header",
                &self.shared_header.as_ref().map(|(name, _)| name),
            )
            .finish()
    }
}

/// Why a delivery was refused. The messages name what is wrong, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("no verification is configured for this connection; refusing every delivery")]
    NotConfigured,
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    #[error("header `{0}` is malformed")]
    Malformed(&'static str),
    #[error("timestamp is {0} s away from now, more than the {TOLERANCE_SECONDS} s allowed")]
    Stale(i64),
    #[error("no signature in `webhook-signature` matches")]
    BadSignature,
    #[error("custom header `{0}` is missing or wrong")]
    BadSharedHeader(String),
}

impl WebhookAuth {
    /// Checks one delivery: `header` looks a header up by lowercase name, `body` is the
    /// raw body exactly as received, `now` is unix seconds.
    pub fn verify<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), Rejection> {
        if self.client_secret.is_none() && self.shared_header.is_none() {
            return Err(Rejection::NotConfigured);
        }
        if let Some((name, expected)) = &self.shared_header {
            let given = header(&name.to_ascii_lowercase()).unwrap_or_default();
            if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
                return Err(Rejection::BadSharedHeader(name.clone()));
            }
        }
        if let Some(secret) = &self.client_secret {
            verify_signature(secret.as_bytes(), &header, body, now)?;
        }
        Ok(())
    }
}

fn verify_signature<'h>(
    key: &[u8],
    header: &impl Fn(&str) -> Option<&'h str>,
    body: &[u8],
    now: i64,
) -> Result<(), Rejection> {
    let id = header("webhook-id").ok_or(Rejection::MissingHeader("webhook-id"))?;
    let timestamp =
        header("webhook-timestamp").ok_or(Rejection::MissingHeader("webhook-timestamp"))?;
    let signatures =
        header("webhook-signature").ok_or(Rejection::MissingHeader("webhook-signature"))?;
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Rejection::Malformed("webhook-timestamp"))?;
    let skew = now.saturating_sub(seconds);
    if skew.abs() > TOLERANCE_SECONDS {
        return Err(Rejection::Stale(skew));
    }
    let expected = sign(key, id, timestamp.trim(), body);
    let mut any_v1 = false;
    for candidate in signatures.split_whitespace() {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue;
        };
        any_v1 = true;
        if let Ok(given) = STANDARD.decode(encoded)
            && constant_time_eq(&given, &expected)
        {
            return Ok(());
        }
    }
    if any_v1 {
        Err(Rejection::BadSignature)
    } else {
        Err(Rejection::Malformed("webhook-signature"))
    }
}

/// HMAC-SHA256 of `"{id}.{timestamp}.{body}"` keyed with `key`.
fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The `webhook-signature` value for a delivery: what the simulator sends and tests use.
pub fn signature_header(client_secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1,{}",
        STANDARD.encode(sign(
            client_secret.as_bytes(),
            id,
            &timestamp.to_string(),
            body
        ))
    )
}

/// Compares without an early exit, so the time taken says nothing about where two
/// values differ (only, at most, whether their lengths do).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0_u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SECRET: &str = "client-secret-of-the-api-account";
    const BODY: &[u8] =
        br#"{"scope":"store/order/created","store_id":"1025646","data":{"type":"order","id":250}}"#;
    const NOW: i64 = 1_764_000_000;

    fn signed(id: &str, timestamp: i64, body: &[u8]) -> HashMap<String, String> {
        HashMap::from([
            ("webhook-id".to_string(), id.to_string()),
            ("webhook-timestamp".to_string(), timestamp.to_string()),
            (
                "webhook-signature".to_string(),
                signature_header(SECRET, id, timestamp, body),
            ),
        ])
    }

    fn check(
        auth: &WebhookAuth,
        headers: &HashMap<String, String>,
        body: &[u8],
    ) -> Result<(), Rejection> {
        auth.verify(|name| headers.get(name).map(String::as_str), body, NOW)
    }

    fn auth() -> WebhookAuth {
        WebhookAuth {
            client_secret: Some(SECRET.into()),
            shared_header: None,
        }
    }

    #[test]
    fn a_correctly_signed_delivery_is_accepted() {
        assert_eq!(
            check(&auth(), &signed("msg_1", NOW - 30, BODY), BODY),
            Ok(())
        );
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_reference_vector() {
        // From the Standard Webhooks spec's test vectors: secret
        // "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" (base64 of the key bytes).
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let mac = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body);
        assert_eq!(
            STANDARD.encode(mac),
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let headers = signed("msg_1", NOW, BODY);
        let tampered = String::from_utf8_lossy(BODY).replace("250", "251");
        assert_eq!(
            check(&auth(), &headers, tampered.as_bytes()),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn a_signature_made_with_another_secret_is_refused() {
        let mut headers = signed("msg_1", NOW, BODY);
        headers.insert(
            "webhook-signature".into(),
            signature_header("another-secret", "msg_1", NOW, BODY),
        );
        assert_eq!(check(&auth(), &headers, BODY), Err(Rejection::BadSignature));
    }

    #[test]
    fn old_and_future_timestamps_are_refused() {
        assert_eq!(
            check(&auth(), &signed("msg_1", NOW - 301, BODY), BODY),
            Err(Rejection::Stale(301))
        );
        assert_eq!(
            check(&auth(), &signed("msg_1", NOW + 600, BODY), BODY),
            Err(Rejection::Stale(-600))
        );
        assert_eq!(
            check(&auth(), &signed("msg_1", NOW - 300, BODY), BODY),
            Ok(())
        );
    }

    #[test]
    fn missing_or_malformed_headers_are_refused_by_name() {
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            let mut headers = signed("msg_1", NOW, BODY);
            headers.remove(name);
            assert_eq!(
                check(&auth(), &headers, BODY),
                Err(Rejection::MissingHeader(name)),
                "{name}"
            );
        }
        let mut headers = signed("msg_1", NOW, BODY);
        headers.insert("webhook-timestamp".into(), "yesterday".into());
        assert_eq!(
            check(&auth(), &headers, BODY),
            Err(Rejection::Malformed("webhook-timestamp"))
        );
        headers = signed("msg_1", NOW, BODY);
        headers.insert("webhook-signature".into(), "deadbeef".into());
        assert_eq!(
            check(&auth(), &headers, BODY),
            Err(Rejection::Malformed("webhook-signature"))
        );
    }

    #[test]
    fn one_matching_signature_among_several_is_enough() {
        let mut headers = signed("msg_1", NOW, BODY);
        let good = headers["webhook-signature"].clone();
        headers.insert(
            "webhook-signature".into(),
            format!("v1,AAAA v2,whatever {good}"),
        );
        assert_eq!(check(&auth(), &headers, BODY), Ok(()));
    }

    #[test]
    fn the_shared_header_is_required_when_configured_and_nothing_passes_unconfigured() {
        let both = WebhookAuth {
            client_secret: Some(SECRET.into()),
            shared_header: Some(("X-Connector-Secret".into(), "s3cret".into())),
        };
        let mut headers = signed("msg_1", NOW, BODY);
        assert_eq!(
            check(&both, &headers, BODY),
            Err(Rejection::BadSharedHeader("X-Connector-Secret".into()))
        );
        headers.insert("x-connector-secret".into(), "s3cret".into());
        assert_eq!(check(&both, &headers, BODY), Ok(()));
        headers.insert("x-connector-secret".into(), "s3creT".into());
        assert!(check(&both, &headers, BODY).is_err());
        assert_eq!(
            check(&WebhookAuth::default(), &headers, BODY),
            Err(Rejection::NotConfigured)
        );
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let both = WebhookAuth {
            client_secret: Some(SECRET.into()),
            shared_header: Some(("X-Connector-Secret".into(), "s3cret".into())),
        };
        let shown = format!("{both:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
