//! Checks the configured entity paths against the tenant's own OpenAPI document before
//! anything is posted: every path ml-connector uses, with each method it uses on it,
//! must be there. A missing one is reported by entity, path and method.

use reqwest::Method;
use serde_json::Value;

use super::client::QadClient;
use super::error::QadError;

/// One configured path the tenant's API does not offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPath {
    /// What ml-connector uses it for (`journal entries`).
    pub entity: &'static str,
    pub path: String,
    pub method: &'static str,
}

impl std::fmt::Display for MissingPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.method, self.path, self.entity)
    }
}

/// What a path is for, the path, and the methods ml-connector uses on it.
type Required = (&'static str, String, &'static [&'static str]);

impl QadClient {
    /// What ml-connector needs; with `writes` false only the reads (every path's GET).
    fn required_paths(&self, writes: bool) -> Vec<Required> {
        let p = &self.config.paths;
        let all: Vec<Required> = vec![
            ("customers", p.customers.path.clone(), &["GET", "POST"]),
            (
                "customer domain data",
                p.customer_domains.path.clone(),
                &["GET", "POST"],
            ),
            ("items", p.items.path.clone(), &["GET"]),
            ("price lists", p.prices.path.clone(), &["GET"]),
            ("journal entries", p.journals.path.clone(), &["GET", "POST"]),
            ("chart of accounts", p.accounts.path.clone(), &["GET"]),
            ("periods", p.periods.path.clone(), &["GET"]),
            ("browses", p.browses.clone(), &["GET"]),
        ];
        if writes {
            return all;
        }
        let read_only = |(entity, path, _): Required| -> Required { (entity, path, &["GET"]) };
        all.into_iter().map(read_only).collect()
    }

    /// Reads the tenant's OpenAPI document and lists every configured path or method it
    /// lacks (empty when all are there).
    pub async fn missing_paths(&self) -> Result<Vec<MissingPath>, QadError> {
        self.missing(true).await
    }

    /// [`Self::missing_paths`] for the reads only (every path's GET), for a tenant whose
    /// writes go through QXtend.
    pub async fn missing_read_paths(&self) -> Result<Vec<MissingPath>, QadError> {
        self.missing(false).await
    }

    async fn missing(&self, writes: bool) -> Result<Vec<MissingPath>, QadError> {
        let document: Option<Value> = self
            .call(Method::GET, &self.config.openapi_path, &[], None)
            .await
            .map_err(|error| match error {
                QadError::NotFound(_) => QadError::Config(
                    format!(
                        "no OpenAPI document at {}{} (set the tenant's OpenAPI location)",
                        self.config.base_url, self.config.openapi_path
                    )
                    .into(),
                ),
                other => other,
            })?;
        let paths = document
            .as_ref()
            .and_then(|d| d.get("paths"))
            .and_then(Value::as_object)
            .ok_or_else(|| QadError::Config("the OpenAPI document has no paths".into()))?;
        let mut missing = Vec::new();
        for (entity, path, methods) in self.required_paths(writes) {
            let item = paths.get(&path);
            for method in methods {
                let offered = item.and_then(|i| i.get(method.to_lowercase())).is_some();
                if !offered {
                    missing.push(MissingPath {
                        entity,
                        path: path.clone(),
                        method,
                    });
                }
            }
        }
        Ok(missing)
    }

    /// Fails with every missing path named unless the tenant offers them all; checked
    /// once per client, before the first write.
    pub async fn verify_paths(&self) -> Result<(), QadError> {
        let mut verified = self.verified.lock().await;
        if *verified {
            return Ok(());
        }
        refuse_missing(
            &self.missing_paths().await?,
            "the tenant's OpenAPI document lacks",
        )?;
        *verified = true;
        Ok(())
    }
}

/// A configuration error naming everything missing (`what` says where), or `Ok` when
/// nothing is.
pub(super) fn refuse_missing(missing: &[MissingPath], what: &str) -> Result<(), QadError> {
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
    Err(QadError::Config(
        format!("{what} {}", list.join(", ")).into(),
    ))
}
