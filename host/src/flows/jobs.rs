//! The jobs the flows run, as the sources queue them: one per order change (keyed by the
//! change, so the same change is queued once and a new one again), one per refund (once,
//! in its order's line), one per registered shopper.

use serde::{Deserialize, Serialize};
use serde_json::json;

use time::OffsetDateTime;

use crate::store::{Millis, NewJob};

/// What a job asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInput {
    /// The order (0 for a customer job).
    #[serde(default)]
    pub order_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<u64>,
    /// Where it came from (`poll`, `webhook`, `replay`).
    #[serde(default)]
    pub source: String,
}

/// The job for an order's current state; `version` distinguishes changes (the
/// modification time, or a webhook id).
pub fn order_job(connection: &str, order_id: u64, version: &str, source: &str) -> NewJob {
    NewJob {
        connection: connection.into(),
        kind: "order".into(),
        key: format!("order:{order_id}:{version}"),
        document: format!("order:{order_id}"),
        payload: json!(JobInput {
            order_id,
            refund_id: None,
            customer_id: None,
            source: source.into(),
        })
        .to_string(),
        not_before: None,
    }
}

/// The job for one refund: once per refund, in its order's line.
pub fn refund_job(connection: &str, order_id: u64, refund_id: u64, source: &str) -> NewJob {
    NewJob {
        connection: connection.into(),
        kind: "refund".into(),
        key: format!("refund:{refund_id}"),
        document: format!("order:{order_id}"),
        payload: json!(JobInput {
            order_id,
            refund_id: Some(refund_id),
            customer_id: None,
            source: source.into(),
        })
        .to_string(),
        not_before: None,
    }
}

/// The job for a registered shopper: their QAD customer, once (`store/customer/created`).
pub fn customer_job(connection: &str, customer_id: u64, source: &str) -> NewJob {
    NewJob {
        connection: connection.into(),
        kind: "customer".into(),
        key: format!("customer:{customer_id}"),
        document: format!("customer:{customer_id}"),
        payload: json!(JobInput {
            order_id: 0,
            refund_id: None,
            customer_id: Some(customer_id),
            source: source.into(),
        })
        .to_string(),
        not_before: None,
    }
}

/// Now, in the queue's unit (milliseconds since the Unix epoch).
pub fn now_millis() -> Millis {
    OffsetDateTime::now_utc().unix_timestamp_nanos() as Millis / 1_000_000
}
