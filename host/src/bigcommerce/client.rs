//! The BigCommerce Management API client, one per store: the transport every resource
//! module (orders, customers, catalog, hooks, store) sends through.
//!
//! Every request carries `X-Auth-Token` (no Bearer prefix) and JSON headers, goes through
//! the store's shared [`Pacer`], and has a timeout. Failures are decoded into
//! [`ClientError`]; transient ones (429, 5xx, timeouts, dropped connections) are retried a
//! bounded number of times with the shared backoff ([`crate::http::retry`]; after a 429
//! the pacer does the waiting), and permanent ones (a wrong token, a missing scope, an
//! invalid request) are returned at once, never looped on. A POST is only sent again when
//! it surely was not processed (a 429, or no connection made): a timeout or a 5xx on a
//! POST is returned to the caller, who can look before trying again, so nothing is
//! created twice.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ApiError, Retry};
use super::pacer::{Pacer, Priority, RateHeaders};
use crate::exchanges::{self, Body};
use crate::http::{self, Delivery, Failed, Resend};
use crate::locks::KeyedLocks;
use crate::metrics::{self, Spent};

/// Where and how to reach one store.
#[derive(Clone)]
pub struct StoreConfig {
    /// The store's API root, `https://api.bigcommerce.com/stores/{store_hash}` for a
    /// real store ([`StoreConfig::for_store`]); a simulator's for tests.
    pub api_root: String,
    pub access_token: String,
    pub timeout: Duration,
    /// Attempts per request for transient failures (the first included).
    pub max_attempts: u32,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("api_root", &self.api_root)
            .field("access_token", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl StoreConfig {
    /// A real store, by its hash.
    pub fn for_store(store_hash: &str, access_token: &str) -> StoreConfig {
        StoreConfig::at(
            &format!("https://api.bigcommerce.com/stores/{store_hash}"),
            access_token,
        )
    }

    /// A store at an explicit API root (a simulator, a proxy).
    pub fn at(api_root: &str, access_token: &str) -> StoreConfig {
        StoreConfig {
            api_root: api_root.trim_end_matches('/').to_string(),
            access_token: access_token.to_string(),
            timeout: Duration::from_secs(30),
            max_attempts: 5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("could not reach BigCommerce: {0}")]
    Transport(String),
    #[error("BigCommerce's answer to {path} could not be read: {reason}")]
    Decode { path: String, reason: String },
}

impl ClientError {
    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Api(error) => error.is_retryable(),
            ClientError::Transport(_) => true,
            ClientError::Decode { .. } => false,
        }
    }
}

impl ClientError {
    /// The HTTP status BigCommerce answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api(error) => Some(error.status),
            _ => None,
        }
    }
}

/// One store's client. Cheap to clone; clones share the pacer, the per-order locks and
/// the connections, so a store should have one client, cloned for each task.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<StoreConfig>,
    pacer: Arc<Pacer>,
    pub(super) order_locks: Arc<KeyedLocks<u64>>,
}

/// One request as [`Client::attempt`] sends it.
struct Request<'a> {
    method: &'a Method,
    url: &'a str,
    path: &'a str,
    query: &'a [(&'a str, String)],
    body: Option<&'a [u8]>,
    /// A POST is sent again only when it surely was not processed (a 429, no connection).
    resend: Resend,
    priority: Priority,
}

/// A decoded answer: `None` for a 204 or an empty body.
pub(super) type Answer<T> = Result<Option<T>, ClientError>;

impl Client {
    /// The store's pacer (its quota, for metrics and `status`).
    pub fn pacer(&self) -> Arc<Pacer> {
        self.pacer.clone()
    }

    /// A client for one store; `pacer` is shared by every client of that store.
    pub fn new(config: StoreConfig, pacer: Arc<Pacer>) -> Result<Client, ClientError> {
        crate::http::check_base_url(&config.api_root)
            .map_err(|e| ClientError::Transport(format!("the store's API root: {e}")))?;
        let mut headers = reqwest::header::HeaderMap::new();
        let mut token =
            reqwest::header::HeaderValue::from_str(&config.access_token).map_err(|_| {
                ClientError::Transport(
                    "the access token has characters a header cannot carry".into(),
                )
            })?;
        token.set_sensitive(true);
        headers.insert("x-auth-token", token);
        headers.insert(
            reqwest::header::ACCEPT,
            "application/json".parse().expect("valid header"),
        );
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            "application/json".parse().expect("valid header"),
        );
        let http = crate::http::client(headers, config.timeout)
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Client {
            http,
            config: Arc::new(config),
            pacer,
            order_locks: Arc::new(KeyedLocks::new()),
        })
    }

    /// GETs `path` (below the store's API root) and decodes the JSON answer; `None` for
    /// a 204 (BigCommerce's empty list).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        priority: Priority,
    ) -> Answer<T> {
        self.send(Method::GET, path, query, None::<&()>, priority)
            .await
    }

    /// Sends one request with a JSON body (or none) and decodes the answer. Retries as the
    /// module documentation says.
    pub(super) async fn send<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        priority: Priority,
    ) -> Answer<T> {
        let (status, bytes) = self.exchange(method, path, query, body, priority).await?;
        if status == 204 || bytes.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ClientError::Decode {
                path: path.to_string(),
                reason: e.to_string(),
            })
    }

    /// Sends one request and returns a 2xx answer's status and body; any other status is
    /// an error. Pacing, retries and error decoding happen here.
    pub(super) async fn exchange<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        priority: Priority,
    ) -> Result<(u16, bytes::Bytes), ClientError> {
        let url = format!("{}{path}", self.config.api_root);
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ClientError::Decode {
                path: path.to_string(),
                reason: format!("the request body could not be written: {e}"),
            })?;
        let resend = if method == Method::POST {
            Resend::OnlyIfUnprocessed
        } else {
            Resend::Idempotent
        };
        let request = Request {
            method: &method,
            url: &url,
            path,
            query,
            body: body.as_deref(),
            resend,
            priority,
        };
        let sent = http::retry(
            self.config.max_attempts,
            || self.attempt(&request),
            |error, wait| tracing::debug!(%error, path, ?wait, "BigCommerce request failed; retrying"),
        );
        metrics::global().timed(Spent::BigCommerce, sent).await
    }

    /// One attempt: paced, sent, its answer read and decoded, and whether a failure may
    /// be sent again (and after which wait).
    async fn attempt(
        &self,
        request: &Request<'_>,
    ) -> Result<(u16, bytes::Bytes), Failed<ClientError>> {
        let Request {
            method,
            url,
            path,
            query,
            body,
            resend,
            priority,
        } = *request;
        self.pacer.acquire(priority).await;
        let mut sending = self.http.request(method.clone(), url).query(query);
        if let Some(body) = body {
            sending = sending.body(body.to_vec());
        }
        let audit = exchanges::Attempt::start(
            "bigcommerce",
            method.as_str(),
            || exchanges::path_with_query(path, query),
            || body.map(|b| Body::redacted(b, &[])),
        );
        let response = match sending.send().await {
            Ok(response) => response,
            Err(error) => {
                let error = error.without_url();
                if let Some(audit) = audit {
                    audit.finish(Err(error.to_string()));
                }
                self.pacer.observe(0, &RateHeaders::default());
                let delivery = Delivery::of(&error);
                let error = ClientError::Transport(error.to_string());
                return Err(after_backoff_if(resend.allows(delivery), error));
            }
        };
        let status = response.status().as_u16();
        let rate =
            RateHeaders::read(|name| response.headers().get(name).and_then(|v| v.to_str().ok()));
        self.pacer.observe(status, &rate);
        let bytes = response.bytes().await;
        if let Some(audit) = audit {
            audit.answered(status, &bytes, &[]);
        }
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(error) => {
                let error = ClientError::Transport(error.without_url().to_string());
                return Err(after_backoff_if(
                    resend.allows(Delivery::MaybeProcessed),
                    error,
                ));
            }
        };
        if (200..300).contains(&status) {
            return Ok((status, bytes));
        }
        let quota_wait = [
            rate.time_reset_ms.map(Duration::from_millis),
            rate.retry_after_s.map(Duration::from_secs),
        ]
        .into_iter()
        .flatten()
        .max();
        let error = ApiError::decode(status, &bytes, quota_wait);
        // A 429 was refused before any processing; anything else may have been applied.
        let delivery = if status == 429 {
            Delivery::Unprocessed
        } else {
            Delivery::MaybeProcessed
        };
        Err(match error.retry {
            Retry::Never => Failed::Stop(error.into()),
            _ if !resend.allows(delivery) => Failed::Stop(error.into()),
            // The pacer holds every caller of the store until the quota is back (a 429
            // without headers included: it backs off exponentially with jitter).
            Retry::After(_) => Failed::Now(error.into()),
            Retry::Backoff if status == 429 => Failed::Now(error.into()),
            Retry::Backoff => Failed::Backoff(error.into()),
        })
    }

    /// Every page of a V3 collection (`{data, meta.pagination}`), in order.
    pub(super) async fn get_all_v3<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        priority: Priority,
    ) -> Result<Vec<T>, ClientError> {
        let mut all = Vec::new();
        for page in 1.. {
            let mut paged: Vec<(&str, String)> = query.to_vec();
            paged.push(("page", page.to_string()));
            paged.push(("limit", MAX_PAGE.to_string()));
            let Some(answer) = self
                .get_json::<Collection<T>>(path, &paged, priority)
                .await?
            else {
                break;
            };
            let count = answer.data.len();
            all.extend(answer.data);
            let total_pages = answer
                .meta
                .and_then(|m| m.pagination)
                .map_or(1, |p| p.total_pages);
            if page >= total_pages || count == 0 {
                break;
            }
        }
        Ok(all)
    }
}

/// Largest page BigCommerce lists allow.
pub const MAX_PAGE: u32 = 250;

/// A V3 collection answer.
#[derive(Debug, serde::Deserialize)]
pub(super) struct Collection<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub meta: Option<Meta>,
}

/// A V3 single-object answer (`{data, meta}`).
#[derive(Debug, serde::Deserialize)]
pub(super) struct Single<T> {
    pub data: T,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Meta {
    #[serde(default)]
    pub pagination: Option<Pagination>,
    #[serde(default)]
    pub cursor_pagination: Option<CursorPagination>,
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct Pagination {
    pub total_pages: u32,
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct CursorPagination {
    #[serde(default)]
    pub end_cursor: Option<String>,
    #[serde(default)]
    pub links: Option<CursorLinks>,
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct CursorLinks {
    #[serde(default)]
    pub next: Option<String>,
}

/// A failure sent again after the backoff when `resend`, else final.
fn after_backoff_if(resend: bool, error: ClientError) -> Failed<ClientError> {
    if resend {
        Failed::Backoff(error)
    } else {
        Failed::Stop(error)
    }
}
