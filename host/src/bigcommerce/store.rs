//! Store information (`GET /v2/store`, `/v2/time`): what `check` shows to prove the token
//! reaches the right store, and the store's clock for poll windows.

use serde::Deserialize;
use time::OffsetDateTime;

use super::client::{Client, ClientError};
use super::pacer::Priority;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoreInformation {
    /// The store hash.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub secure_url: String,
    /// The default currency.
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub plan_name: String,
    #[serde(default)]
    pub timezone: Timezone,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Timezone {
    #[serde(default)]
    pub name: String,
}

impl Client {
    pub async fn store_information(&self) -> Result<StoreInformation, ClientError> {
        self.get_json("/v2/store", &[], Priority::Orders)
            .await?
            .ok_or_else(|| ClientError::Decode {
                path: "/v2/store".into(),
                reason: "no store information came back".into(),
            })
    }

    /// The store's current time.
    pub async fn store_time(&self) -> Result<OffsetDateTime, ClientError> {
        #[derive(Deserialize)]
        struct Time {
            time: i64,
        }
        let time: Time = self
            .get_json("/v2/time", &[], Priority::Orders)
            .await?
            .ok_or_else(|| ClientError::Decode {
                path: "/v2/time".into(),
                reason: "no time came back".into(),
            })?;
        OffsetDateTime::from_unix_timestamp(time.time).map_err(|e| ClientError::Decode {
            path: "/v2/time".into(),
            reason: e.to_string(),
        })
    }
}
