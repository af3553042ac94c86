//! A tenant's authentication: `POST oauth/token` with the password and refresh grants
//! (parameters in the query string or a form body, no client secret), and the credential
//! check the gate runs on every `/api/` request: an issued bearer token not yet expired on
//! the simulated clock, a static token, or HTTP Basic.
//!
//! Errors follow `docs/qad.md`: wrong credentials 400 `invalid_grant`, an unknown client
//! 401 `invalid_client`, a refresh token used twice 400 `invalid_grant`; a refused API
//! call 401 with `WWW-Authenticate: Bearer error="invalid_token"`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::header::ToStrError;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use serde_json::json;
use time::OffsetDateTime;

use super::answers::json_response;
use super::gate::{Ctx, Identity};
use super::params::{MalformedQuery, Params};
use super::scope::Scope;
use super::{PREFIX, SharedState, TenantState};
use crate::rng::Rng;
use crate::sync::lock;

/// How long a refresh token stays usable (simulated time).
const REFRESH_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The user name writes by a static token are stamped with.
const STATIC_TOKEN_USER: &str = "jwt";

/// An issued token and whom it stands for.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) identity: Identity,
    pub(crate) expires: OffsetDateTime,
}

pub(crate) fn router() -> Router<SharedState> {
    Router::new().route(&format!("{PREFIX}/oauth/token"), post(token))
}

/// An OAuth2 error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// 401 for an API call without valid credentials.
pub(crate) fn unauthorized(message: &str) -> Response {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", message);
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

/// Why a token request's parameters cannot be read.
#[derive(Debug, thiserror::Error)]
enum TokenRequestError {
    #[error("The body must be application/x-www-form-urlencoded.")]
    NotAForm(#[source] std::str::Utf8Error),
    #[error(transparent)]
    Malformed(#[from] MalformedQuery),
}

/// The token request's parameters: the form body's first, then the query string's.
fn token_params(query: Params, body: &Bytes) -> Result<Params, TokenRequestError> {
    let text = std::str::from_utf8(body).map_err(TokenRequestError::NotAForm)?;
    let mut params = Params::parse(text)?;
    params.extend(query);
    Ok(params)
}

async fn token(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    query: Params,
    body: Bytes,
) -> Response {
    let params = match token_params(query, &body) {
        Ok(params) => params,
        Err(error) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &error.to_string(),
            );
        }
    };
    let mut guard = lock(&shared);
    let Some(Scope {
        tenant,
        counters,
        rng,
        now,
        ..
    }) = guard.scope(&ctx.tenant, String::new(), None)
    else {
        return oauth_error(StatusCode::NOT_FOUND, "not_found", "No such tenant.");
    };
    if params.get("client_id") != Some(tenant.account.client_id.as_str()) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    }
    match params.value("grant_type") {
        Some("password") => {
            let username = params.get("username").unwrap_or("");
            let password = params.get("password").unwrap_or("");
            let Some(user) = tenant.account.user(username, password) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad credentials");
            };
            let identity = Identity::from(user);
            counters.logins += 1;
            issue(tenant, rng, identity, now)
        }
        Some("refresh_token") => {
            let Some(refresh) = params.value("refresh_token") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing refresh_token.",
                );
            };
            // Single use: taken out whether or not it is still valid.
            let Some(session) = tenant.refresh_tokens.remove(refresh) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    &format!("Invalid refresh token: {refresh}"),
                );
            };
            if session.expires <= now {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    &format!("Refresh token expired: {refresh}"),
                );
            }
            counters.refreshes += 1;
            issue(tenant, rng, session.identity, now)
        }
        Some(other) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {other}"),
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing grant type",
        ),
    }
}

/// A new access and refresh token pair for `identity`.
fn issue(
    tenant: &mut TenantState,
    rng: &mut Rng,
    identity: Identity,
    now: OffsetDateTime,
) -> Response {
    tenant.tokens.retain(|_, s| s.expires > now);
    tenant.refresh_tokens.retain(|_, s| s.expires > now);
    let access = format!("qad-at-{:016x}{:016x}", rng.next_u64(), rng.next_u64());
    let refresh = format!("qad-rt-{:016x}{:016x}", rng.next_u64(), rng.next_u64());
    let ttl = tenant.account.token_ttl;
    tenant.tokens.insert(
        access.clone(),
        Session {
            identity: identity.clone(),
            expires: now + ttl,
        },
    );
    tenant.refresh_tokens.insert(
        refresh.clone(),
        Session {
            identity,
            expires: now + REFRESH_TTL,
        },
    );
    let mut response = json_response(
        StatusCode::OK,
        &json!({
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": ttl.as_secs(),
            "scope": "read write",
        }),
    );
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The credentials after `scheme ` (case-insensitive), if the header uses that scheme.
fn credentials<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = header.trim().split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest.trim())
}

/// Why an API call's credentials are refused; the text is the 401's description.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthError {
    #[error("Full authentication is required to access this resource")]
    Missing,
    /// An `Authorization` header that is not text reads as none.
    #[error("Full authentication is required to access this resource")]
    NotText(#[source] ToStrError),
    #[error("Access token expired: {0}")]
    Expired(String),
    #[error("Invalid access token: {0}")]
    UnknownToken(String),
    #[error("Malformed Basic credentials")]
    BasicNotBase64(#[source] base64::DecodeError),
    #[error("Malformed Basic credentials")]
    BasicNotUtf8(#[source] std::string::FromUtf8Error),
    #[error("Bad credentials")]
    BadCredentials,
    #[error("Unsupported authorization scheme")]
    UnsupportedScheme,
}

/// Who the request's `Authorization` header identifies, or why it is refused.
pub(crate) fn authenticate(
    tenant: &TenantState,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Result<Identity, AuthError> {
    let header = headers
        .get(AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(AuthError::NotText)?;
    if let Some(token) = credentials(header, "Bearer") {
        if tenant.account.static_tokens.iter().any(|t| t == token) {
            return Ok(Identity {
                username: STATIC_TOKEN_USER.into(),
                can_write: true,
            });
        }
        return match tenant.tokens.get(token) {
            Some(session) if session.expires > now => Ok(session.identity.clone()),
            Some(_) => Err(AuthError::Expired(token.to_string())),
            None => Err(AuthError::UnknownToken(token.to_string())),
        };
    }
    if let Some(encoded) = credentials(header, "Basic") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(AuthError::BasicNotBase64)?;
        let decoded = String::from_utf8(bytes).map_err(AuthError::BasicNotUtf8)?;
        let (username, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
        return tenant
            .account
            .user(username, password)
            .map(Identity::from)
            .ok_or(AuthError::BadCredentials);
    }
    Err(AuthError::UnsupportedScheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_matched_case_insensitively() {
        assert_eq!(credentials("Bearer abc", "Bearer"), Some("abc"));
        assert_eq!(credentials("bearer  abc ", "Bearer"), Some("abc"));
        assert_eq!(credentials("Basic abc", "Bearer"), None);
        assert_eq!(credentials("Bearer", "Bearer"), None);
    }
}
