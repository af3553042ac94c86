//! The service's HTTP server: BigCommerce webhooks in (`POST
//! /webhooks/bigcommerce/{connection}`, see [`crate::sources::webhooks`]), `GET /healthz`
//! and `GET /metrics` (Prometheus text, see [`crate::metrics`]).
//!
//! Every edge is bounded ([`Limits`]): a request head must arrive within the timeout (an
//! idle kept-alive connection is closed after it too), a request must be read and answered
//! within it, at most `max_connections` are open at once (the rest wait in the listen
//! backlog; the last quarter of them answer one request each and close, so idle kept-alive
//! connections do not keep the waiting out), and a stop closes whatever is still open at
//! its deadline.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower_service::Service;

use crate::bigcommerce::WebhookAuth;
use crate::sources::webhooks::{self, WebhookIntake};
use crate::store::{QueueDepth, Store};

/// What the server knows of one connection.
#[derive(Debug, Clone)]
pub struct ConnectionHooks {
    pub store_hash: String,
    pub auth: WebhookAuth,
}

/// Shared by every request.
pub struct ServerState {
    pub connections: BTreeMap<String, ConnectionHooks>,
    pub store: Arc<dyn Store>,
    pub intake: WebhookIntake,
    /// The queue depth `/metrics` last counted.
    pub queue: QueueGauge,
}

/// The queue depth for `/metrics`: the open jobs counted at each scrape (from an index of
/// the open jobs only), the done ones at most once per [`QueueGauge::DONE_FRESH`] (that
/// count reads every done job; scrapes arriving while it runs wait for it rather than
/// start their own).
#[derive(Default)]
pub struct QueueGauge(tokio::sync::Mutex<Option<(Instant, u64)>>);

impl QueueGauge {
    pub const DONE_FRESH: Duration = Duration::from_secs(30);

    /// The depth by state (`None` when the store cannot say).
    async fn read(&self, store: &dyn Store) -> Option<QueueDepth> {
        let unavailable = |error: crate::store::StoreError| {
            tracing::warn!(%error, "queue depth unavailable for /metrics");
        };
        let mut depth = store.open_jobs().await.map_err(unavailable).ok()?;
        let mut done = self.0.lock().await;
        if let Some((at, count)) = done.as_ref()
            && at.elapsed() < Self::DONE_FRESH
        {
            depth.done = *count;
            return Some(depth);
        }
        let count = store
            .queue_depth(None)
            .await
            .map_err(unavailable)
            .ok()?
            .done;
        *done = Some((Instant::now(), count));
        depth.done = count;
        Some(depth)
    }
}

/// The routes.
pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route(
            "/webhooks/bigcommerce/{connection}",
            post(webhooks::receive),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        // The handler answers an oversized body itself (413, counted); axum only stops
        // reading well past it.
        .layer(DefaultBodyLimit::max(webhooks::MAX_BODY * 2))
        .with_state(state)
}

async fn metrics(State(state): State<Arc<ServerState>>) -> impl IntoResponse {
    let queue = state.queue.read(state.store.as_ref()).await;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::global().render(queue.as_ref()),
    )
}

/// How far a client can hold the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request head must arrive, and a request be read and answered, within this.
    pub timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// Serves `router` (the service's [`router`], or the operator console's) until
/// `shutdown` gives a deadline: no connection is accepted after it, requests in flight
/// are finished, and whatever is still open at the deadline is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = Instant> + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    let deadline = loop {
        // A slot first, then a connection: past the cap, clients wait in the backlog.
        let slot = tokio::select! {
            slot = open.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            deadline = &mut shutdown => break deadline,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors or a connection reset before it was taken: not
                    // the listener's end; wait a little rather than spin.
                    tracing::warn!(%error, "a connection could not be accepted");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            deadline = &mut shutdown => break deadline,
        };
        while connections.try_join_next().is_some() {}
        let router = router.clone();
        let timeout = limits.timeout;
        let service = hyper::service::service_fn(move |request| {
            let mut router = router.clone();
            async move {
                let answered = tokio::time::timeout(timeout, router.call(request)).await;
                Ok::<Response, Infallible>(match answered {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => (
                        StatusCode::REQUEST_TIMEOUT,
                        format!("the request was not read and answered within {timeout:?}"),
                    )
                        .into_response(),
                })
            }
        });
        // Near the cap a connection answers one request and closes: a client's idle
        // kept-alive connections must not hold the last slots (until the timeout) while
        // others wait in the backlog, as a burst of webhook deliveries does.
        let keep_alive = open.available_permits() >= limits.max_connections / 4;
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .keep_alive(keep_alive)
            .header_read_timeout(limits.timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended");
            }
            drop(slot);
        });
    };
    drop(listener);
    let left = deadline.saturating_duration_since(Instant::now());
    if tokio::time::timeout(left, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "connections still open at the stop's deadline are closed"
        );
    }
    connections.shutdown().await;
    Ok(())
}
