//! Keeping a store's webhooks alive: every configured scope has one active hook pointing
//! at the service, with the configured custom headers. Missing hooks are created, hooks
//! BigCommerce deactivated (after 48 hours of failed deliveries) are reactivated, and
//! stale headers are replaced. Hooks for other destinations or scopes are left alone.
//!
//! A hook that had to be created or reactivated means events may have been missed: the
//! caller backfills with the reconciliation poll.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bigcommerce::hooks::{HookUpdate, NewHook};
use crate::bigcommerce::{Client, ClientError};

/// What the check found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HookCheck {
    /// Scopes whose hook was active and right.
    pub healthy: Vec<String>,
    pub created: Vec<String>,
    pub reactivated: Vec<String>,
    /// Scopes whose hook got new headers.
    pub updated: Vec<String>,
}

impl HookCheck {
    /// Events may have been missed (a hook was absent or inactive).
    pub fn had_gap(&self) -> bool {
        !self.created.is_empty() || !self.reactivated.is_empty()
    }
}

/// Makes every scope in `scopes` deliver to `destination` with `headers`.
pub async fn ensure_hooks(
    client: &Client,
    destination: &str,
    scopes: &[String],
    headers: &BTreeMap<String, String>,
) -> Result<HookCheck, ClientError> {
    let hooks = client.hooks().await?;
    let mut check = HookCheck::default();
    for scope in scopes {
        let existing = hooks
            .iter()
            .filter(|h| &h.scope == scope && h.destination == destination)
            // An active one first, should there be several.
            .max_by_key(|h| h.is_active);
        let Some(hook) = existing else {
            client
                .create_hook(&NewHook {
                    scope: scope.clone(),
                    destination: destination.to_string(),
                    is_active: true,
                    headers: headers.clone(),
                })
                .await?;
            check.created.push(scope.clone());
            continue;
        };
        let stale_headers = hook.headers.as_ref().cloned().unwrap_or_default() != *headers;
        if hook.is_active && !stale_headers {
            check.healthy.push(scope.clone());
            continue;
        }
        client
            .update_hook(
                hook.id,
                &HookUpdate {
                    is_active: (!hook.is_active).then_some(true),
                    destination: None,
                    headers: stale_headers.then(|| headers.clone()),
                },
            )
            .await?;
        if hook.is_active {
            check.updated.push(scope.clone());
        } else {
            check.reactivated.push(scope.clone());
        }
    }
    Ok(check)
}
