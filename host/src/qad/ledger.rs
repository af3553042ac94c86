//! The ledger's frame over REST: an entity's chart of accounts and its GL periods, which
//! the order flow and `check` validate journals against.

use reqwest::Method;
use serde_json::Value;

use super::client::{QadClient, records, view};
use super::error::QadError;
use super::model::{GlAccount, Period};

impl QadClient {
    /// The entity's chart of accounts.
    pub async fn chart_of_accounts(&self, entity_code: &str) -> Result<Vec<GlAccount>, QadError> {
        let entity = &self.config.paths.accounts;
        let query = [("entityCode", entity_code.to_string()), view(entity)];
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        records(answer, entity)
    }

    /// The entity's GL periods.
    pub async fn periods(&self, entity_code: &str) -> Result<Vec<Period>, QadError> {
        let entity = &self.config.paths.periods;
        let query = [("entityCode", entity_code.to_string()), view(entity)];
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        records(answer, entity)
    }
}
