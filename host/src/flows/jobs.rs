//! The jobs the flows run, as the sources queue them: one per order change (keyed by the
//! change, so the same change is queued once and a new one again), one per refund (once,
//! in its order's line), one per registered shopper. The poll's jobs carry the order as
//! its list gave it ([`Listing`]), so that the poll need not hold its read in memory and
//! a job's first attempt reads only what the list lacks.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use time::OffsetDateTime;

use crate::store::{Millis, NewJob};

/// The job kinds whose input is a [`JobInput`], mapped by the connection's `order-to-gl`
/// plugin.
pub const MAPPED_KINDS: [&str; 3] = ["order", "refund", "customer"];

/// What a job asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The order as the poll that queued the job listed it: only the first attempt reads
    /// it, and the store drops it as that attempt ends (its member is
    /// [`crate::store::FIRST_ATTEMPT_ONLY`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<Listing>,
    /// The plugin an operator's replay named to map the record with, in place of the
    /// connection's (by name: from the plugin directory or built in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
}

/// An order as a poll's list gave it (V2, with its lines), and when that poll began
/// reading. Only a job's first attempt uses it: a retry or a replayed job reads
/// the order anew.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listing {
    pub read_at: Millis,
    pub order: Box<RawValue>,
}

impl Listing {
    /// `order` as listed by a read that began at `read_at`.
    pub fn of(order: &crate::bigcommerce::Order, read_at: Millis) -> Listing {
        Listing {
            read_at,
            // The list's text was JSON when read; were it not, the job reads the order.
            order: RawValue::from_string(order.raw.to_string())
                .unwrap_or_else(|_| RawValue::NULL.to_owned()),
        }
    }
}

impl JobInput {
    /// [`record_of`] `job`, whose input this is, without reading its payload again.
    pub fn record(&self, job: &crate::store::Job) -> String {
        match (job.kind.as_str(), self.refund_id, self.customer_id) {
            ("refund", Some(refund), _) => format!("refund:{refund}"),
            ("customer", _, Some(customer)) => format!("customer:{customer}"),
            _ => job.document.clone(),
        }
    }

    /// The listing a run of `job` may use: on its first attempt only.
    pub fn listing_for(&self, job: &crate::store::Job) -> Option<&Listing> {
        self.listed.as_ref().filter(|_| job.attempts <= 1)
    }
}

/// The job for an order's current state; `version` distinguishes changes (the
/// modification time, or a webhook id).
/// `listed`: the order as a poll listed it.
pub fn order_job(
    connection: &str,
    order_id: u64,
    version: &str,
    source: &str,
    listed: Option<&Listing>,
) -> NewJob {
    NewJob {
        connection: connection.into(),
        kind: "order".into(),
        key: format!("order:{order_id}:{version}"),
        document: format!("order:{order_id}"),
        payload: payload(&JobInput {
            order_id,
            refund_id: None,
            customer_id: None,
            source: source.into(),
            listed: listed.cloned(),
            plugin: None,
        }),
        not_before: None,
    }
}

/// The job for one refund: once per refund, in its order's line (`listed`: its order as a
/// poll listed it).
pub fn refund_job(
    connection: &str,
    order_id: u64,
    refund_id: u64,
    source: &str,
    listed: Option<&Listing>,
) -> NewJob {
    NewJob {
        connection: connection.into(),
        kind: "refund".into(),
        key: format!("refund:{refund_id}"),
        document: format!("order:{order_id}"),
        payload: payload(&JobInput {
            order_id,
            refund_id: Some(refund_id),
            customer_id: None,
            source: source.into(),
            listed: listed.cloned(),
            plugin: None,
        }),
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
        payload: payload(&JobInput {
            order_id: 0,
            refund_id: None,
            customer_id: Some(customer_id),
            source: source.into(),
            listed: None,
            plugin: None,
        }),
        not_before: None,
    }
}

/// The payload of `job` replayed with plugin `plugin` (`None`: the connection's own),
/// when that differs from what it names now; `None` when it stays as it is, or `job` is
/// not an order, refund or shopper job.
pub fn replayed_with(job: &crate::store::Job, plugin: Option<&str>) -> Option<String> {
    if !MAPPED_KINDS.contains(&job.kind.as_str()) {
        return None;
    }
    let mut input: JobInput = serde_json::from_str(&job.payload).ok()?;
    if input.plugin.as_deref() == plugin {
        return None;
    }
    input.plugin = plugin.map(str::to_string);
    Some(self::payload(&input))
}

/// The record a job is about, as the audit trail names it (`order:1`, `refund:2`,
/// `customer:3`; another flow's job: its document).
pub fn record_of(job: &crate::store::Job) -> String {
    match serde_json::from_str::<JobInput>(&job.payload) {
        Ok(input) => input.record(job),
        Err(_) => job.document.clone(),
    }
}

/// A job's input as stored: its listing kept as the list's text.
fn payload(input: &JobInput) -> String {
    // Nothing in a `JobInput` fails to serialise (its listing is JSON already).
    serde_json::to_string(input).unwrap_or_default()
}

/// Now, in the queue's unit (milliseconds since the Unix epoch).
pub fn now_millis() -> Millis {
    OffsetDateTime::now_utc().unix_timestamp_nanos() as Millis / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_is_the_member_the_store_drops_after_the_first_attempt() {
        let listing = Listing {
            read_at: 5,
            order: RawValue::from_string(r#"{"id":1}"#.into()).unwrap(),
        };
        let job = order_job("main", 1, "v1", "poll", Some(&listing));
        let value: serde_json::Value = serde_json::from_str(&job.payload).unwrap();
        assert!(
            value.get(crate::store::FIRST_ATTEMPT_ONLY).is_some(),
            "{value}"
        );
        // Without it, the input still reads.
        let mut value = value;
        value
            .as_object_mut()
            .unwrap()
            .remove(crate::store::FIRST_ATTEMPT_ONLY);
        let input: JobInput = serde_json::from_value(value).unwrap();
        assert_eq!((input.order_id, input.listed.is_none()), (1, true));
    }
}
