//! Webhook delivery: every due delivery is POSTed with the Standard Webhooks headers and
//! signature; a failure is retried on BigCommerce's schedule in simulated time, and after
//! the last retry the hook is deactivated and what was waiting for it dropped.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use time::OffsetDateTime;

use super::super::{SharedState, StoreState};
use super::{DeliveryState, drop_pending};
use crate::sync::lock;

/// BigCommerce's retry schedule after a failed delivery, in seconds.
pub const RETRY_SCHEDULE_S: [u64; 11] = [
    60, 180, 300, 600, 900, 1_800, 3_600, 7_200, 21_600, 50_400, 86_400,
];

/// The Standard Webhooks signature header value.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// One attempt, ready to send without the lock.
struct Attempt {
    hash: String,
    delivery_id: String,
    destination: String,
    headers: BTreeMap<String, String>,
    secret: String,
    body: String,
}

/// Sends due deliveries until the simulator stops.
pub(crate) async fn deliver_forever(shared: SharedState) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client builds");
    loop {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let due: Vec<Attempt> = {
            let mut guard = lock(&shared);
            let now = guard.clock.now();
            let mut due = Vec::new();
            for store in guard.stores.values_mut() {
                let secret = store.account.client_secret.clone();
                let hash = store.account.hash.clone();
                for delivery in &mut store.deliveries {
                    if delivery.state != DeliveryState::Pending || delivery.due > now {
                        continue;
                    }
                    let Some(hook) = store.hooks.iter().find(|h| h.id == delivery.hook_id) else {
                        delivery.state = DeliveryState::Dropped;
                        continue;
                    };
                    delivery.state = DeliveryState::InFlight;
                    due.push(Attempt {
                        hash: hash.clone(),
                        delivery_id: delivery.id.clone(),
                        destination: hook.destination.clone(),
                        headers: hook.headers.clone(),
                        secret: secret.clone(),
                        body: delivery.body.clone(),
                    });
                }
            }
            due
        };
        for attempt in due {
            let http = http.clone();
            let shared = shared.clone();
            tokio::spawn(async move {
                let ok = send(&http, &attempt).await;
                record_outcome(&shared, &attempt.hash, &attempt.delivery_id, ok);
            });
        }
    }
}

async fn send(http: &reqwest::Client, attempt: &Attempt) -> bool {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut request = http
        .post(&attempt.destination)
        .header("content-type", "application/json")
        .header("webhook-id", &attempt.delivery_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            sign(
                &attempt.secret,
                &attempt.delivery_id,
                timestamp,
                &attempt.body,
            ),
        )
        .body(attempt.body.clone());
    for (name, value) in &attempt.headers {
        request = request.header(name, value);
    }
    matches!(request.send().await, Ok(response) if response.status().is_success())
}

fn record_outcome(shared: &SharedState, hash: &str, delivery_id: &str, ok: bool) {
    let mut guard = lock(shared);
    let shared = &mut *guard;
    let now = shared.clock.now();
    let Some(store) = shared.stores.get_mut(hash) else {
        return;
    };
    let Some(delivery) = store.deliveries.iter_mut().find(|d| d.id == delivery_id) else {
        return;
    };
    if ok {
        delivery.state = DeliveryState::Delivered;
        delivery.attempts += 1;
        shared.counters.webhooks_delivered += 1;
        return;
    }
    shared.counters.webhooks_failed_attempts += 1;
    delivery.attempts += 1;
    match RETRY_SCHEDULE_S.get(delivery.attempts as usize - 1) {
        Some(wait) => {
            delivery.due = now + Duration::from_secs(*wait);
            delivery.state = DeliveryState::Pending;
        }
        None => {
            delivery.state = DeliveryState::Failed;
            let hook_id = delivery.hook_id;
            deactivate(store, hook_id, now);
        }
    }
}

/// Deactivates a hook and drops what was waiting for it, as BigCommerce does after the
/// final retry.
fn deactivate(store: &mut StoreState, hook_id: u64, now: OffsetDateTime) {
    if let Some(hook) = store.hooks.iter_mut().find(|h| h.id == hook_id) {
        hook.is_active = false;
        hook.updated_at = now.unix_timestamp();
    }
    drop_pending(store, hook_id);
}
