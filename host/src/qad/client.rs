//! The QAD REST transport for one tenant: authentication (OAuth2 password grant with
//! refresh, a bearer token given directly, or Basic), the workspace header, timeouts,
//! retries, and decoding of every answer into data or a [`QadError`].
//!
//! On a 401 the client renews its token once (refresh grant, or a fresh login when the
//! refresh is refused) and sends the request again; a second 401, or a 401 with a token
//! it cannot renew, is an authentication error. A 403 is a permission error and is never
//! retried. Reads are retried on transient failures with the shared backoff
//! ([`crate::http::retry`]). A write is sent again only when it surely was not processed
//! (no connection was made); when its answer was lost that is reported as
//! [`QadError::Ambiguous`] so the caller can look before trying again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use super::config::{Auth, Entity, TenantConfig};
use super::error::{self, Cause, QadError};
use crate::exchanges::{self, Attempt, Body};
use crate::http::{self, Delivery, Failed, Resend};
use crate::metrics::{self, Spent};

#[derive(Debug, Clone)]
struct Tokens {
    access: String,
    refresh: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// One tenant's client. Cheap to clone; clones share the token and the connections.
#[derive(Clone)]
pub struct QadClient {
    http: reqwest::Client,
    pub(super) config: Arc<TenantConfig>,
    tokens: Arc<Mutex<Option<Tokens>>>,
    /// Set once the configured paths were found in the tenant's OpenAPI document.
    pub(super) verified: Arc<Mutex<bool>>,
}

impl QadClient {
    pub fn new(config: TenantConfig) -> Result<QadClient, QadError> {
        http::check_base_url(&config.base_url)
            .map_err(|e| QadError::Config(Cause::from_error("the tenant's base URL", e)))?;
        let paths = &config.paths;
        for (what, path) in [
            ("the OpenAPI path", &config.openapi_path),
            ("the customers path", &paths.customers.path),
            ("the customer domains path", &paths.customer_domains.path),
            ("the items path", &paths.items.path),
            ("the prices path", &paths.prices.path),
            ("the journals path", &paths.journals.path),
            ("the accounts path", &paths.accounts.path),
            ("the periods path", &paths.periods.path),
            ("the browses path", &paths.browses),
        ] {
            http::check_path(path).map_err(|e| QadError::Config(Cause::from_error(what, e)))?;
        }
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            "application/json".parse().expect("valid header"),
        );
        if let Some(workspace) = &config.workspace {
            let value = workspace.parse().map_err(|_| {
                QadError::Config(
                    format!("the workspace `{workspace}` cannot be sent as a header").into(),
                )
            })?;
            headers.insert("x-qad-workspace-id", value);
        }
        let http = http::client(headers, config.timeout)
            .map_err(|e| QadError::Config(Cause::new(e.to_string(), e)))?;
        Ok(QadClient {
            http,
            config: Arc::new(config),
            tokens: Arc::new(Mutex::new(None)),
            verified: Arc::new(Mutex::new(false)),
        })
    }

    pub fn config(&self) -> &TenantConfig {
        &self.config
    }

    /// Logs in now when the tenant uses the password grant, so a refused login is reported
    /// as one; a bearer token or Basic credentials are checked by the next call.
    pub async fn login(&self) -> Result<(), QadError> {
        self.authorization().await.map(|_| ())
    }

    /// The `Authorization` header value, logging in first when needed.
    async fn authorization(&self) -> Result<String, QadError> {
        match &self.config.auth {
            Auth::Bearer { token } => Ok(format!("Bearer {token}")),
            Auth::Basic { username, password } => Ok(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Auth::Password { .. } => {
                let mut tokens = self.tokens.lock().await;
                if tokens.is_none() {
                    *tokens = Some(self.token_request(None).await?);
                }
                Ok(format!(
                    "Bearer {}",
                    tokens.as_ref().expect("just set").access
                ))
            }
        }
    }

    /// After a 401 with `rejected`: refreshes (or logs in again) unless another caller
    /// already did. Returns whether there is a new token to try.
    async fn renew(&self, rejected: &str) -> Result<bool, QadError> {
        if !matches!(self.config.auth, Auth::Password { .. }) {
            return Ok(false);
        }
        let mut tokens = self.tokens.lock().await;
        let current = tokens.as_ref().map(|t| format!("Bearer {}", t.access));
        if current.as_deref() != Some(rejected) {
            // Someone renewed it meanwhile.
            return Ok(tokens.is_some());
        }
        let refresh = tokens.as_ref().and_then(|t| t.refresh.clone());
        let renewed = match refresh {
            Some(refresh) => match self.token_request(Some(&refresh)).await {
                Ok(renewed) => renewed,
                // A used or expired refresh token: log in again.
                Err(QadError::Auth(_)) => self.token_request(None).await?,
                Err(other) => return Err(other),
            },
            None => self.token_request(None).await?,
        };
        *tokens = Some(renewed);
        Ok(true)
    }

    /// `POST {base}/oauth/token`: the password grant, or the refresh grant.
    async fn token_request(&self, refresh: Option<&str>) -> Result<Tokens, QadError> {
        let Auth::Password {
            client_id,
            username,
            password,
        } = &self.config.auth
        else {
            return Err(QadError::Auth("no login is configured".into()));
        };
        let form: Vec<(&str, &str)> = match refresh {
            Some(refresh) => vec![
                ("grant_type", "refresh_token"),
                ("client_id", client_id),
                ("refresh_token", refresh),
            ],
            None => vec![
                ("grant_type", "password"),
                ("client_id", client_id),
                ("username", username),
                ("password", password),
            ],
        };
        let url = format!("{}/oauth/token", self.config.base_url);
        // A login's bodies are credentials both ways: only their sizes are kept.
        let audit = Attempt::start(
            "qad",
            "POST",
            || "/oauth/token".into(),
            || Some(Body::withheld(b"")),
        );
        let answer = async {
            let response = self
                .http
                .post(&url)
                .form(&form)
                .send()
                .await
                .map_err(|e| QadError::Transient(Cause::http("login", e)))?;
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map_err(|e| QadError::Transient(Cause::http("login", e)))?;
            Ok::<_, QadError>((status, body))
        }
        .await;
        if let Some(audit) = audit {
            audit.finish(match &answer {
                Ok((status, body)) => Ok((*status, Body::withheld(body))),
                Err(error) => Err(error.to_string()),
            });
        }
        let (status, body) = answer?;
        match status {
            200 => {
                let answer: TokenAnswer = serde_json::from_slice(&body)
                    .map_err(|e| QadError::undecodable("/oauth/token", e))?;
                Ok(Tokens {
                    access: answer.access_token,
                    refresh: answer.refresh_token,
                })
            }
            400 | 401 => {
                let detail = match error::from_status(status, &body, "login") {
                    QadError::Business(messages) => messages
                        .into_iter()
                        .map(|m| m.message)
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                };
                let what = if refresh.is_some() {
                    "token refresh"
                } else {
                    "login"
                };
                Err(QadError::Auth(format!("{what} refused: {detail}").into()))
            }
            _ => Err(error::from_status(status, &body, "/oauth/token")),
        }
    }

    fn secrets(&self) -> Vec<&str> {
        self.config.auth.secrets()
    }

    /// Sends one request to `path` below the base URL and decodes a JSON answer, checking
    /// `submitResult` first. `None` for an empty body.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Option<T>, QadError> {
        let bytes = self.send(method, path, query, body).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| QadError::undecodable(path, e))?;
        if let Some(failure) = error::business_failure(&value) {
            return Err(failure);
        }
        // Typed decoding reads the original text, so amounts stay exact.
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| QadError::undecodable(path, e))
    }

    /// Sends one request; returns a 2xx answer's body. Handles the token, the one resend
    /// after a 401, read retries and ambiguity on writes.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<bytes::Bytes, QadError> {
        let url = format!("{}{path}", self.config.base_url);
        // Every write is sent again only when it surely was not processed.
        let resend = if method == Method::GET {
            Resend::Idempotent
        } else {
            Resend::OnlyIfUnprocessed
        };
        // The token is renewed at most once per request, whichever attempt meets the 401.
        let renewed = AtomicBool::new(false);
        let request = Request {
            method: &method,
            url: &url,
            path,
            query,
            body,
            resend,
        };
        let sent = http::retry(
            self.config.max_attempts,
            || self.attempt(&request, &renewed),
            |error, wait| tracing::debug!(%error, path, ?wait, "QAD request failed; retrying"),
        );
        metrics::global().timed(Spent::Qad, sent).await
    }

    /// One attempt of a request (sent again at once, within the attempt, after renewing a
    /// refused token), and whether a failure may be retried.
    async fn attempt(
        &self,
        request: &Request<'_>,
        renewed: &AtomicBool,
    ) -> Result<bytes::Bytes, Failed<QadError>> {
        let Request {
            method,
            url,
            path,
            query,
            body,
            resend,
        } = *request;
        let doing = || format!("{method} {path}");
        loop {
            let authorization = self.authorization().await.map_err(Failed::Stop)?;
            let mut sending = self
                .http
                .request(method.clone(), url)
                .query(query)
                .header(reqwest::header::AUTHORIZATION, &authorization);
            if let Some(body) = body {
                sending = sending.json(body);
            }
            let audit = Attempt::start(
                "qad",
                method.as_str(),
                || exchanges::path_with_query(path, query),
                || body.map(|b| Body::redacted(b.to_string().as_bytes(), &self.secrets())),
            );
            let response = match sending.send().await {
                Ok(response) => response,
                Err(error) => {
                    let error = error.without_url();
                    if let Some(audit) = audit {
                        audit.finish(Err(error.to_string()));
                    }
                    let delivery = Delivery::of(&error);
                    return Err(retry_if_transient(QadError::unanswered(
                        resend,
                        delivery,
                        Cause::http(&doing(), error),
                    )));
                }
            };
            let status = response.status().as_u16();
            let bytes = response.bytes().await;
            if let Some(audit) = audit {
                audit.answered(status, &bytes, &self.secrets());
            }
            let bytes = match bytes {
                Ok(bytes) => bytes,
                Err(error) => {
                    let error = error.without_url();
                    let cause = if resend.allows(Delivery::MaybeProcessed) {
                        Cause::http(&doing(), error)
                    } else {
                        Cause::new(
                            format!("{}: the answer was cut off ({error})", doing()),
                            error,
                        )
                    };
                    return Err(retry_if_transient(QadError::unanswered(
                        resend,
                        Delivery::MaybeProcessed,
                        cause,
                    )));
                }
            };
            if (200..300).contains(&status) {
                let complete = bytes.iter().all(u8::is_ascii_whitespace)
                    || serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
                if complete {
                    return Ok(bytes);
                }
                // A 2xx whose body is cut: a write may have been committed; a read is
                // simply read again.
                let cause = format!("{}: the answer was not complete JSON", doing());
                return Err(retry_if_transient(QadError::unanswered(
                    resend,
                    Delivery::MaybeProcessed,
                    cause.into(),
                )));
            }
            // A 401 was refused before processing: renew once and send again.
            if status == 401
                && !renewed.load(Ordering::SeqCst)
                && self.renew(&authorization).await.map_err(Failed::Stop)?
            {
                renewed.store(true, Ordering::SeqCst);
                continue;
            }
            return Err(match error::from_status(status, &bytes, path) {
                // A 5xx may have come after the write was applied.
                QadError::Transient(reason) if !resend.allows(Delivery::MaybeProcessed) => {
                    let text = format!("{}: {reason}", doing());
                    Failed::Stop(QadError::Ambiguous(Cause::new(text, reason)))
                }
                other => retry_if_transient(other),
            });
        }
    }
}

/// What [`QadClient::attempt`] sends.
struct Request<'a> {
    method: &'a Method,
    url: &'a str,
    path: &'a str,
    query: &'a [(&'a str, String)],
    body: Option<&'a Value>,
    resend: Resend,
}

/// A transient failure is tried again after the backoff; any other is final.
fn retry_if_transient(error: QadError) -> Failed<QadError> {
    if matches!(error, QadError::Transient(_)) {
        Failed::Backoff(error)
    } else {
        Failed::Stop(error)
    }
}

/// The `viewUri` parameter every `api/erp` call carries.
pub(super) fn view(entity: &Entity) -> (&'static str, String) {
    ("viewUri", entity.view_uri.clone())
}

/// `{"data": {"<collection>": [...]}}`, or the bare `{"<collection>": [...]}`.
pub(super) fn records<T: serde::de::DeserializeOwned>(
    answer: Option<Value>,
    entity: &Entity,
) -> Result<Vec<T>, QadError> {
    let Some(answer) = answer else {
        return Ok(Vec::new());
    };
    let collection = entity.collection();
    let list = answer
        .get("data")
        .and_then(|d| d.get(collection))
        .or_else(|| answer.get(collection))
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    serde_json::from_value(list).map_err(|error| QadError::undecodable(&entity.path, error))
}
