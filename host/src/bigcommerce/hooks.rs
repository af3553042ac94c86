//! Webhook subscriptions (`/v3/hooks`): list, create with scope, destination and custom
//! headers, update (`is_active: true` reactivates a hook BigCommerce deactivated), delete.
//! The create and update answers are read whether wrapped in `{data}` (as the spec says)
//! or not (as the guide shows).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::{Client, ClientError};
use super::pacer::Priority;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Hook {
    pub id: u64,
    pub scope: String,
    pub destination: String,
    #[serde(default)]
    pub is_active: bool,
    /// Custom headers BigCommerce sends with every delivery. Values are secrets when used
    /// as a shared-secret check; never log them.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewHook {
    pub scope: String,
    pub destination: String,
    pub is_active: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// What to change; at least one field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HookUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeWrapped {
    Wrapped { data: Hook },
    Bare(Hook),
}

fn unwrap_hook(answer: Option<MaybeWrapped>, path: &str) -> Result<Hook, ClientError> {
    match answer {
        Some(MaybeWrapped::Wrapped { data } | MaybeWrapped::Bare(data)) => Ok(data),
        None => Err(ClientError::Decode {
            path: path.to_string(),
            reason: "no webhook came back".into(),
        }),
    }
}

impl Client {
    /// Every hook this API account owns (BigCommerce shows no others).
    pub async fn hooks(&self) -> Result<Vec<Hook>, ClientError> {
        self.get_all_v3("/v3/hooks", &[], Priority::Orders).await
    }

    /// Creates a hook. Not re-sent after an ambiguous failure: list the hooks first.
    pub async fn create_hook(&self, hook: &NewHook) -> Result<Hook, ClientError> {
        let answer = self
            .send(Method::POST, "/v3/hooks", &[], Some(hook), Priority::Orders)
            .await?;
        unwrap_hook(answer, "/v3/hooks")
    }

    pub async fn update_hook(&self, id: u64, update: &HookUpdate) -> Result<Hook, ClientError> {
        let path = format!("/v3/hooks/{id}");
        let answer = self
            .send(Method::PUT, &path, &[], Some(update), Priority::Orders)
            .await?;
        unwrap_hook(answer, &path)
    }

    /// Deletes a hook; one already gone counts as deleted.
    pub async fn delete_hook(&self, id: u64) -> Result<(), ClientError> {
        let path = format!("/v3/hooks/{id}");
        match self
            .send::<serde_json::Value, ()>(Method::DELETE, &path, &[], None, Priority::Orders)
            .await
        {
            Ok(_) => Ok(()),
            Err(ClientError::Api(error)) if error.status == 404 => Ok(()),
            Err(error) => Err(error),
        }
    }
}
