//! `POST /webhooks/bigcommerce/{connection}`: BigCommerce deliveries in.
//!
//! A delivery is checked in this order, and the first failure answers:
//! 1. the connection exists (404);
//! 2. the body is at most [`MAX_BODY`] bytes (413);
//! 3. the signature verifies on the raw body (Standard Webhooks headers, five minutes'
//!    tolerance, constant time; and the custom header secret when configured) (401).
//!    Nothing about a refused delivery is written: a forger cannot fill the audit log;
//! 4. the body is the callback object of a scope ml-connector handles, for this store
//!    (400 malformed, 422 unknown scope): these passed the signature, so they are
//!    BigCommerce's own and are kept in the audit log with the reason.
//!
//! An accepted delivery is written to the store with its jobs — in a batch with the
//! deliveries arriving at the same moment, one transaction and one disk sync for all —
//! and only then answered 200. A redelivery (the same `webhook-id`, within the store's
//! retention window of seven days) is answered 200 and adds nothing; the signature covers
//! the id, so a captured body cannot come back under another.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use crate::flows::catalog::product_job;
use crate::flows::jobs::{customer_job, order_job, refund_job};
use crate::metrics::{self, Rejected};
use crate::server::ServerState;
use crate::store::{AuditEntry, IncomingWebhook, Intake, NewJob, Store};

/// The largest body accepted. BigCommerce's callbacks are a few hundred bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// Deliveries written per transaction at most.
const BATCH: usize = 512;

/// The scopes ml-connector subscribes to and handles.
pub const SCOPES: [&str; 7] = [
    "store/order/created",
    "store/order/updated",
    "store/order/statusUpdated",
    "store/order/refund/created",
    "store/customer/created",
    "store/product/updated",
    "store/sku/updated",
];

/// The scopes of [`SCOPES`] that concern the catalog: subscribed to by default only by a
/// connection that checks drift (`catalog_drift`).
pub const PRODUCT_SCOPES: [&str; 2] = ["store/product/updated", "store/sku/updated"];

/// The callback object (`data` varies by scope).
#[derive(Debug, Deserialize)]
struct Callback {
    scope: String,
    #[serde(default)]
    producer: Option<String>,
    data: CallbackData,
}

#[derive(Debug, Deserialize)]
struct CallbackData {
    #[serde(rename = "type")]
    kind: String,
    id: u64,
    #[serde(default)]
    refund: Option<RefundRef>,
    #[serde(default)]
    sku: Option<SkuRef>,
}

#[derive(Debug, Deserialize)]
struct RefundRef {
    refund_id: u64,
}

/// A variant's product, in `store/sku/*` callbacks.
#[derive(Debug, Deserialize)]
struct SkuRef {
    product_id: u64,
}

/// Why an authentic delivery cannot be used.
#[derive(Debug)]
pub(crate) enum Unusable {
    Malformed(String),
    UnknownScope(String),
}

/// The jobs a delivery asks for.
pub(crate) fn jobs_for(
    connection: &str,
    store_hash: &str,
    webhook_id: &str,
    body: &[u8],
) -> Result<(String, Vec<NewJob>), Unusable> {
    let callback: Callback = serde_json::from_slice(body)
        .map_err(|e| Unusable::Malformed(format!("not a BigCommerce callback object: {e}")))?;
    if let Some(producer) = &callback.producer
        && producer != &format!("stores/{store_hash}")
    {
        return Err(Unusable::Malformed(format!(
            "the delivery is from `{producer}`, not this connection's store `stores/{store_hash}`"
        )));
    }
    let data = &callback.data;
    let expect = |kind: &str| {
        if data.kind == kind {
            Ok(())
        } else {
            Err(Unusable::Malformed(format!(
                "{}: data.type is `{}`, expected `{kind}`",
                callback.scope, data.kind
            )))
        }
    };
    let jobs = match callback.scope.as_str() {
        "store/order/created" | "store/order/updated" | "store/order/statusUpdated" => {
            expect("order")?;
            vec![order_job(connection, data.id, webhook_id, "webhook", None)]
        }
        "store/order/refund/created" => {
            expect("order")?;
            let refund = data.refund.as_ref().ok_or_else(|| {
                Unusable::Malformed(
                    "store/order/refund/created without data.refund.refund_id".into(),
                )
            })?;
            vec![refund_job(
                connection,
                data.id,
                refund.refund_id,
                "webhook",
                None,
            )]
        }
        "store/customer/created" => {
            expect("customer")?;
            vec![customer_job(connection, data.id, "webhook")]
        }
        "store/product/updated" => {
            expect("product")?;
            vec![product_job(connection, data.id, webhook_id, "webhook")]
        }
        "store/sku/updated" => {
            expect("sku")?;
            let product = data.sku.as_ref().ok_or_else(|| {
                Unusable::Malformed("store/sku/updated without data.sku.product_id".into())
            })?;
            vec![product_job(
                connection,
                product.product_id,
                webhook_id,
                "webhook",
            )]
        }
        other => {
            return Err(Unusable::UnknownScope(format!(
                "scope `{other}` is not one ml-connector handles ({})",
                SCOPES.join(", ")
            )));
        }
    };
    Ok((callback.scope, jobs))
}

/// Why a delivery was not written (it is answered 503, and BigCommerce delivers it again).
#[derive(Debug, Clone, thiserror::Error)]
pub enum IntakeError {
    #[error("the intake has stopped")]
    Stopped,
    /// The batch the delivery was in could not be written.
    #[error("{0}")]
    Store(#[source] Arc<crate::store::StoreError>),
}

type Pending = (
    IncomingWebhook,
    oneshot::Sender<Result<Intake, IntakeError>>,
);

/// The queue's door: deliveries are handed to one writer task that commits whatever
/// has arrived (while it was writing the last batch) as one transaction.
#[derive(Clone)]
pub struct WebhookIntake {
    sender: mpsc::Sender<Pending>,
}

/// The writer side of [`WebhookIntake`], a task on the current tokio runtime (so it is
/// called within one); `on_accepted` is called with each batch's connections that got
/// new jobs (to wake their workers). The task ends when every [`WebhookIntake`] is gone.
pub fn intake(
    store: Arc<dyn Store>,
    on_accepted: impl Fn(&[String]) + Send + 'static,
) -> WebhookIntake {
    let (sender, mut receiver) = mpsc::channel::<Pending>(4 * BATCH);
    tokio::spawn(async move {
        while let Some(first) = receiver.recv().await {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let (events, replies): (Vec<IncomingWebhook>, Vec<_>) = batch.into_iter().unzip();
            match store.accept_webhooks(&events).await {
                Ok(outcomes) => {
                    let woken: Vec<String> = events
                        .iter()
                        .zip(&outcomes)
                        .filter(|(_, o)| matches!(o, Intake::Accepted { .. }))
                        .map(|(e, _)| e.connection.clone())
                        .collect();
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                    if !woken.is_empty() {
                        on_accepted(&woken);
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "webhooks could not be written");
                    let error = IntakeError::Store(Arc::new(error));
                    for reply in replies {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        }
    });
    WebhookIntake { sender }
}

impl WebhookIntake {
    async fn submit(&self, event: IncomingWebhook) -> Result<Intake, IntakeError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((event, reply))
            .await
            .map_err(|_| IntakeError::Stopped)?;
        answer.await.map_err(|_| IntakeError::Stopped)?
    }
}

fn now_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Keeps an authentic but unusable delivery in the audit log.
async fn audit_refusal(store: &dyn Store, connection: &str, reason: &str, body: &Bytes) {
    let entry = AuditEntry {
        connection: connection.to_string(),
        subject: "webhook".into(),
        kind: "refused".into(),
        data: serde_json::json!({
            "reason": reason,
            "body": String::from_utf8_lossy(body),
        })
        .to_string(),
    };
    if let Err(error) = store.audit(&entry).await {
        tracing::error!(%error, "a refused webhook could not be audited");
    }
}

pub async fn receive(
    State(state): State<Arc<ServerState>>,
    Path(connection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let metrics = metrics::global();
    let Some(hooks) = state.connections.get(&connection) else {
        metrics.rejected(Rejected::UnknownConnection);
        return (
            StatusCode::NOT_FOUND,
            format!("no connection `{connection}`"),
        );
    };
    if body.len() > MAX_BODY {
        metrics.rejected(Rejected::TooLarge);
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {MAX_BODY} bytes"),
        );
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(rejection) = hooks.auth.verify(header, &body, now_seconds()) {
        metrics.rejected(Rejected::Signature);
        tracing::warn!(%connection, %rejection, "webhook refused");
        return (StatusCode::UNAUTHORIZED, rejection.to_string());
    }
    let webhook_id = header("webhook-id").unwrap_or_default().to_string();
    let (scope, jobs) = match jobs_for(&connection, &hooks.store_hash, &webhook_id, &body) {
        Ok(found) => found,
        Err(unusable) => {
            let (status, why, reason) = match unusable {
                Unusable::Malformed(reason) => {
                    (StatusCode::BAD_REQUEST, Rejected::Malformed, reason)
                }
                Unusable::UnknownScope(reason) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Rejected::UnknownScope,
                    reason,
                ),
            };
            metrics.rejected(why);
            tracing::warn!(%connection, %reason, "webhook unusable");
            audit_refusal(state.store.as_ref(), &connection, &reason, &body).await;
            return (status, reason);
        }
    };
    let event = IncomingWebhook {
        connection: connection.clone(),
        body_sha256: crate::digest::sha256_hex(&body),
        webhook_id,
        scope,
        body: String::from_utf8_lossy(&body).into_owned(),
        jobs,
    };
    match state.intake.submit(event).await {
        Ok(Intake::Accepted { .. }) => {
            metrics.webhooks_accepted.inc();
            (StatusCode::OK, "queued".into())
        }
        Ok(Intake::Duplicate) => {
            metrics.webhooks_duplicate.inc();
            (StatusCode::OK, "already received".into())
        }
        // BigCommerce retries: nothing is lost while the store is unavailable.
        Err(error) => {
            metrics.rejected(Rejected::StoreError);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the delivery could not be stored ({error}); send it again"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scope_becomes_its_job() {
        let body = |scope: &str, data: &str| {
            format!(
                r#"{{"scope":"{scope}","producer":"stores/abc","data":{data},"hash":"x","created_at":1}}"#
            )
        };
        let (_, jobs) = jobs_for(
            "main",
            "abc",
            "msg_1",
            body("store/order/created", r#"{"type":"order","id":7}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            (jobs[0].kind.as_str(), jobs[0].key.as_str()),
            ("order", "order:7:msg_1")
        );
        let (_, jobs) = jobs_for(
            "main",
            "abc",
            "msg_2",
            body(
                "store/order/refund/created",
                r#"{"type":"order","id":7,"refund":{"refund_id":3}}"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            (jobs[0].kind.as_str(), jobs[0].document.as_str()),
            ("refund", "order:7")
        );
        let (_, jobs) = jobs_for(
            "main",
            "abc",
            "msg_3",
            body("store/customer/created", r#"{"type":"customer","id":12}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(jobs[0].key, "customer:12");
        // A product, and a variant by its product (BigCommerce's published examples).
        let (_, jobs) = jobs_for(
            "main",
            "abc",
            "msg_4",
            body("store/product/updated", r#"{"type":"product","id":205}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            (jobs[0].kind.as_str(), jobs[0].document.as_str()),
            ("product", "product:205")
        );
        let (_, jobs) = jobs_for(
            "main",
            "abc",
            "msg_5",
            body(
                "store/sku/updated",
                r#"{"type":"sku","id":461,"sku":{"product_id":206,"variant_id":509}}"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(jobs[0].document, "product:206");
        let refused = jobs_for(
            "main",
            "abc",
            "msg_6",
            body("store/sku/updated", r#"{"type":"sku","id":461}"#).as_bytes(),
        );
        assert!(matches!(refused, Err(Unusable::Malformed(_))));
    }

    #[test]
    fn unusable_deliveries_say_why() {
        let cases = [
            (r#"{"scope":"store/order/created"}"#, "callback object"),
            (
                r#"{"scope":"store/order/created","producer":"stores/other","data":{"type":"order","id":1}}"#,
                "stores/other",
            ),
            (
                r#"{"scope":"store/order/refund/created","data":{"type":"order","id":1}}"#,
                "refund_id",
            ),
            (
                r#"{"scope":"store/order/created","data":{"type":"customer","id":1}}"#,
                "expected `order`",
            ),
            (
                r#"{"scope":"store/cart/created","data":{"type":"cart","id":1}}"#,
                "not one ml-connector handles",
            ),
        ];
        for (body, says) in cases {
            let error = match jobs_for("main", "abc", "m", body.as_bytes()) {
                Err(Unusable::Malformed(e) | Unusable::UnknownScope(e)) => e,
                Ok(_) => panic!("{body} was accepted"),
            };
            assert!(error.contains(says), "{body}: {error}");
        }
    }
}
