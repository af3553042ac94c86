//! The service's HTTP server: BigCommerce webhooks in (`POST
//! /webhooks/bigcommerce/{connection}`, see [`crate::sources::webhooks`]), `GET /healthz`
//! and `GET /metrics` (Prometheus text, see [`crate::metrics`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::bigcommerce::WebhookAuth;
use crate::sources::webhooks::{self, WebhookIntake};
use crate::store::Store;

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
    let queue = match state.store.queue_depth(None).await {
        Ok(depth) => Some(depth),
        Err(error) => {
            tracing::warn!(%error, "queue depth unavailable for /metrics");
            None
        }
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::global().render(queue.as_ref()),
    )
}

/// Serves until `shutdown` completes; requests in flight are finished first.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
