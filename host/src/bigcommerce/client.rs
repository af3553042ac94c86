//! The BigCommerce Management API client, one per store.
//!
//! Every request carries `X-Auth-Token` (no Bearer prefix) and JSON headers, goes through
//! the store's shared [`Pacer`], and has a timeout. Failures are decoded into
//! [`ClientError`]; transient ones (429, 5xx, timeouts, dropped connections) are retried a
//! bounded number of times with exponential backoff, and permanent ones (a wrong token, a
//! missing scope, an invalid request) are returned at once, never looped on.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::error::{ApiError, Retry};
use super::pacer::{Pacer, Priority, RateHeaders};
use super::wire;
use crate::money::Amount;

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

/// The first backoff after a transient failure; it doubles on every further attempt.
const FIRST_RETRY: Duration = Duration::from_millis(200);

/// One store's client. Cheap to clone; clones share the pacer and connections.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<StoreConfig>,
    pacer: Arc<Pacer>,
}

/// An order as the V2 list returns it: enough to decide what to fetch and post.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderSummary {
    pub id: u64,
    pub status_id: u32,
    pub status: String,
    #[serde(deserialize_with = "wire::date")]
    pub date_modified: OffsetDateTime,
    pub currency_code: String,
    #[serde(deserialize_with = "wire::amount")]
    pub total_inc_tax: Amount,
}

/// Largest page V2 order lists allow.
pub const MAX_PAGE: u32 = 250;

impl Client {
    /// A client for one store; `pacer` is shared by every client of that store.
    pub fn new(config: StoreConfig, pacer: Arc<Pacer>) -> Result<Client, ClientError> {
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
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Client {
            http,
            config: Arc::new(config),
            pacer,
        })
    }

    /// GETs `path` (below the store's API root) and decodes the JSON answer; `None` for
    /// a 204 (BigCommerce's empty list).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        priority: Priority,
    ) -> Result<Option<T>, ClientError> {
        let url = format!("{}{path}", self.config.api_root);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pacer.acquire(priority).await;
            let outcome = self.http.get(&url).query(query).send().await;
            let response = match outcome {
                Ok(response) => response,
                Err(error) => {
                    self.pacer.observe(0, &RateHeaders::default());
                    if attempt >= self.config.max_attempts {
                        return Err(ClientError::Transport(error.without_url().to_string()));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            };
            let status = response.status().as_u16();
            let rate = RateHeaders::read(|name| {
                response.headers().get(name).and_then(|v| v.to_str().ok())
            });
            self.pacer.observe(status, &rate);
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(error) if attempt < self.config.max_attempts => {
                    tracing::debug!(%error, "answer cut off; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(error) => return Err(ClientError::Transport(error.without_url().to_string())),
            };
            if (200..300).contains(&status) {
                if status == 204 || body.is_empty() {
                    return Ok(None);
                }
                return serde_json::from_slice(&body)
                    .map(Some)
                    .map_err(|e| ClientError::Decode {
                        path: path.to_string(),
                        reason: e.to_string(),
                    });
            }
            let quota_wait = [
                rate.time_reset_ms.map(Duration::from_millis),
                rate.retry_after_s.map(Duration::from_secs),
            ]
            .into_iter()
            .flatten()
            .max();
            let error = ApiError::decode(status, &body, quota_wait);
            match error.retry {
                Retry::Never => return Err(error.into()),
                _ if attempt >= self.config.max_attempts => return Err(error.into()),
                // The pacer holds every caller of the store until the quota is back.
                Retry::After(_) => continue,
                Retry::Backoff => tokio::time::sleep(backoff(attempt)).await,
            }
        }
    }

    /// One page of orders modified at or after `since` (all when `None`), oldest change
    /// first; an empty list past the end.
    pub async fn orders_page(
        &self,
        since: Option<OffsetDateTime>,
        page: u32,
        limit: u32,
    ) -> Result<Vec<OrderSummary>, ClientError> {
        let mut query = vec![
            ("page", page.to_string()),
            ("limit", limit.clamp(1, MAX_PAGE).to_string()),
            ("sort", "date_modified:asc".to_string()),
        ];
        if let Some(since) = since {
            query.push(("min_date_modified", wire::to_rfc3339(since)));
        }
        Ok(self
            .get_json("/v2/orders", &query, Priority::Orders)
            .await?
            .unwrap_or_default())
    }

    /// Every order modified at or after `since`, page by page (a short or empty page ends
    /// the list).
    pub async fn orders_modified_since(
        &self,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<OrderSummary>, ClientError> {
        let mut all = Vec::new();
        for page in 1.. {
            let orders = self.orders_page(since, page, MAX_PAGE).await?;
            let last = orders.len() < MAX_PAGE as usize;
            all.extend(orders);
            if last {
                break;
            }
        }
        Ok(all)
    }

    /// One order's summary by id; `None` when the store has no such order.
    pub async fn order(&self, id: u64) -> Result<Option<OrderSummary>, ClientError> {
        match self
            .get_json(&format!("/v2/orders/{id}"), &[], Priority::Orders)
            .await
        {
            Err(ClientError::Api(error)) if error.status == 404 => Ok(None),
            other => other,
        }
    }
}

/// Exponential backoff: 200 ms, 400 ms, 800 ms, ... capped at 10 s.
fn backoff(attempt: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1 << attempt.saturating_sub(1).min(6))
        .min(Duration::from_secs(10))
}
