//! `ml-connector run`: the service. It receives BigCommerce webhooks and queues them
//! durably, works each connection's queue, runs the reconciliation poll, the QAD item
//! and price poll (with a catalog plugin) and the hook check on their schedules (both also at start, which backfills whatever a downtime
//! missed), and serves `/healthz` and `/metrics`. It watches the plugin directory: a new
//! plugin version serves the next record, a broken one leaves the last good version
//! serving, and `status` and `/metrics` show which version of each plugin is active.
//!
//! SIGTERM or Ctrl-C stops it gracefully: no new deliveries are taken, schedules stop
//! after their current run, each worker finishes the job in hand, and jobs leased but
//! not started are released for the next start.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::sync::{Mutex, Notify, watch};
use tokio::task::JoinSet;

use super::Cli;
use super::connections::{ConnectionArgs, Plugins, claim_store, open_catalog, open_live_flows};
use crate::bigcommerce::WebhookAuth;
use crate::config::{self, Config, ConnectionConfig, WebhooksConfig};
use crate::flows::catalog::CatalogFlow;
use crate::flows::hooks::ensure_hooks;
use crate::flows::orders::OrderFlow;
use crate::flows::worker::{RunStats, Worker, poll};
use crate::metrics;
use crate::plugins::Registry;
use crate::schedule::{Periodic, Schedule};
use crate::secrets::Secrets;
use crate::server::{self, ConnectionHooks, ServerState};
use crate::store::Store;

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    connections: ConnectionArgs,
    /// The address to listen on [default: `server.listen` in the file, else
    /// 127.0.0.1:8080].
    #[arg(long, env = "ML_CONNECTOR_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
}

pub fn run(cli: &Cli, args: &RunArgs) -> Result<ExitCode, String> {
    let config = Config::load(&args.connections.config)?;
    let _claim = claim_store(cli, "run")?;
    let ((store, flows), registry) = open_live_flows(cli, &args.connections)?;
    let flows = flows
        .into_iter()
        .map(|flow| {
            let catalog = open_catalog(cli, &args.connections, &flow, &Plugins::Live(&registry))?;
            Ok((catalog, flow))
        })
        .collect::<Result<Vec<_>, String>>()?;
    // New plugin versions dropped into the directory replace the old for the next call.
    publish_plugins(&registry, store.as_ref());
    metrics::global().watch_plugins(registry.clone());
    let _watcher = match &cli.plugin_dir {
        Some(dir) => {
            let published = (registry.clone(), store.clone());
            let watcher = registry
                .watch(move |_| publish_plugins(&published.0, published.1.as_ref()))
                .map_err(|e| format!("cannot watch the plugin directory {}: {e}", dir.display()))?;
            Some(watcher)
        }
        None => None,
    };
    let listen = args
        .listen
        .clone()
        .or_else(|| config.server.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let secrets = Secrets::beside(&cli.store);
    runtime.block_on(service(config, store, flows, listen, &secrets))?;
    Ok(ExitCode::SUCCESS)
}

/// One connection's running parts.
struct Connection {
    flow: Arc<OrderFlow>,
    /// When the connection has a catalog plugin.
    catalog: Option<Arc<CatalogFlow>>,
    /// The custom headers its hooks carry (the shared secret, when configured).
    hook_headers: BTreeMap<String, String>,
    config: ConnectionConfig,
    /// Wakes the worker when webhooks queued jobs.
    wake: Arc<Notify>,
    /// Polls never overlap (the schedule's and a backfill after a hook gap).
    polling: Arc<Mutex<()>>,
}

async fn service(
    config: Config,
    store: Arc<dyn Store>,
    flows: Vec<(Option<Arc<CatalogFlow>>, Arc<OrderFlow>)>,
    listen: String,
    secrets: &Secrets,
) -> Result<(), String> {
    let mut connections = Vec::new();
    let mut hooks = BTreeMap::new();
    for (catalog, flow) in flows {
        let name = flow.connection.clone();
        let connection = config.connections[&name].clone();
        metrics::global().watch_pacer(&name, flow.bigcommerce.pacer());
        let mut hook_headers = BTreeMap::new();
        if let Some(webhooks) = &connection.webhooks {
            let auth = webhook_auth(&name, webhooks, secrets)?;
            hook_headers.extend(auth.shared_header.clone());
            hooks.insert(
                name.clone(),
                ConnectionHooks {
                    store_hash: connection.store_hash.clone(),
                    auth,
                },
            );
        }
        connections.push(Arc::new(Connection {
            flow,
            catalog,
            hook_headers,
            config: connection,
            wake: Arc::new(Notify::new()),
            polling: Arc::new(Mutex::new(())),
        }));
    }
    let wakes: BTreeMap<String, Arc<Notify>> = connections
        .iter()
        .map(|c| (c.flow.connection.clone(), c.wake.clone()))
        .collect();
    let intake = server::intake(store.clone(), move |woken| {
        for name in woken {
            if let Some(wake) = wakes.get(name) {
                wake.notify_one();
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%address, "listening");
    println!("listening on http://{address}");

    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for connection in &connections {
        tasks.spawn(work(connection.clone(), stopped.clone()));
        let schedules = &connection.config.schedules;
        let periodic = |name: &'static str, text: &str| -> Result<Periodic, String> {
            Ok(Periodic {
                connection: connection.flow.connection.clone(),
                name,
                schedule: text.parse::<Schedule>()?,
                at_start: true,
            })
        };
        let reconcile = {
            let connection = connection.clone();
            move || {
                let connection = connection.clone();
                async move { reconcile(&connection).await }
            }
        };
        tasks.spawn(periodic("reconcile", &schedules.reconcile)?.run_until(
            store.clone(),
            reconcile,
            stopped.clone(),
        ));
        if let Some(catalog) = connection.catalog.clone() {
            let poll = move || {
                let catalog = catalog.clone();
                async move { catalog_poll(&catalog).await }
            };
            tasks.spawn(periodic("catalog", &schedules.catalog)?.run_until(
                store.clone(),
                poll,
                stopped.clone(),
            ));
        }
        if let Some(webhooks) = connection.config.webhooks.clone() {
            let check = {
                let connection = connection.clone();
                move || {
                    let (connection, webhooks) = (connection.clone(), webhooks.clone());
                    async move { check_hooks(&connection, &webhooks).await }
                }
            };
            tasks.spawn(periodic("hooks", &schedules.hooks)?.run_until(
                store.clone(),
                check,
                stopped.clone(),
            ));
        }
    }

    let state = Arc::new(ServerState {
        connections: hooks,
        store: store.clone(),
        intake,
    });
    let mut server_stopped = stopped.clone();
    let served = server::serve(listener, state, async move {
        let _ = server_stopped.wait_for(|s| *s).await;
    });
    tokio::pin!(served);
    tokio::select! {
        result = &mut served => result.map_err(|e| format!("the server stopped: {e}"))?,
        () = shutdown_signal() => {
            tracing::info!("stopping: finishing the work in hand");
            let _ = stop.send(true);
            served.await.map_err(|e| format!("the server stopped: {e}"))?;
        }
    }
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    tracing::info!("stopped");
    Ok(())
}

/// Writes each entry's active plugin version (or why it has none) to its connection's
/// `plugin.<role>` cursor, for `status`.
fn publish_plugins(registry: &Registry, store: &dyn Store) {
    for status in registry.list() {
        let Some((connection, role)) = status.name.split_once(':') else {
            continue;
        };
        let text = serde_json::to_string(&status).unwrap_or_default();
        if let Err(error) = store.set_cursor(connection, &format!("plugin.{role}"), &text) {
            tracing::warn!(%error, plugin = %status.name, "the plugin status cannot be stored");
        }
    }
}

/// The connection's webhook checks from its configuration.
fn webhook_auth(
    name: &str,
    webhooks: &WebhooksConfig,
    secrets: &Secrets,
) -> Result<WebhookAuth, String> {
    let key = |field: &str| format!("connections.{name}.webhooks.{field}");
    Ok(WebhookAuth {
        client_secret: Some(config::credential(
            &webhooks.client_secret,
            &key("client_secret"),
            secrets,
        )?),
        shared_header: match &webhooks.shared_header {
            Some(header) => Some((
                header.name.clone(),
                config::credential(&header.value, &key("shared_header.value"), secrets)?,
            )),
            None => None,
        },
    })
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "SIGTERM cannot be caught; stop with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Works the connection's queue until stopped: whenever jobs are ready, when woken by
/// the intake, and when a retry falls due. Stopping, it frees the leases it still holds.
async fn work(connection: Arc<Connection>, mut stopped: watch::Receiver<bool>) {
    let mut worker = Worker::new(connection.flow.clone(), "run");
    // Small leases: a stop waits for at most a few jobs.
    worker.batch = 4;
    worker.catalog = connection.catalog.clone();
    let mut stats = RunStats::default();
    let name = &connection.flow.connection;
    loop {
        if *stopped.borrow() {
            break;
        }
        match worker.run_batch(&mut stats).await {
            Ok(0) => {}
            Ok(_) => continue,
            Err(error) => {
                tracing::error!(connection = %name, %error, "the queue cannot be read");
            }
        }
        let retry_in = worker
            .next_retry_in()
            .ok()
            .flatten()
            .unwrap_or(Duration::from_secs(5))
            .clamp(Duration::from_millis(10), Duration::from_secs(5));
        tokio::select! {
            () = connection.wake.notified() => {}
            () = tokio::time::sleep(retry_in) => {}
            _ = stopped.wait_for(|s| *s) => break,
        }
    }
    match worker.release() {
        Ok(released) => tracing::info!(connection = %name, released, "worker stopped"),
        Err(error) => {
            tracing::error!(connection = %name, %error, "leases not released; they run out by themselves")
        }
    }
}

/// The reconciliation poll: whatever changed since the cursor is queued.
async fn reconcile(connection: &Connection) -> Result<String, String> {
    let _one_at_a_time = connection.polling.lock().await;
    let stats = poll(&connection.flow).await.map_err(|e| e.to_string())?;
    if stats.enqueued > 0 {
        connection.wake.notify_one();
    }
    // What BigCommerce last said of the quota, for `status`.
    if let Some(left) = connection.flow.bigcommerce.pacer().requests_left() {
        let store = &connection.flow.store;
        store
            .set_cursor(
                &connection.flow.connection,
                "bigcommerce.quota_left",
                &left.to_string(),
            )
            .map_err(|e| e.to_string())?;
    }
    serde_json::to_string(&stats).map_err(|e| e.to_string())
}

/// The QAD item and price poll: changes go to the catalog, failures are parked.
async fn catalog_poll(catalog: &CatalogFlow) -> Result<String, String> {
    let stats = catalog.poll().await.map_err(|e| e.to_string())?;
    let metrics = metrics::global();
    metrics
        .catalog_sent
        .fetch_add(stats.sent, std::sync::atomic::Ordering::Relaxed);
    metrics
        .catalog_parked
        .fetch_add(stats.parked, std::sync::atomic::Ordering::Relaxed);
    serde_json::to_string(&stats).map_err(|e| e.to_string())
}

/// The hook check; a created or reactivated hook means a gap, backfilled by a poll.
async fn check_hooks(connection: &Connection, webhooks: &WebhooksConfig) -> Result<String, String> {
    let name = &connection.flow.connection;
    let check = ensure_hooks(
        &connection.flow.bigcommerce,
        &webhooks.destination(name),
        &webhooks.scopes(),
        &connection.hook_headers,
    )
    .await
    .map_err(|e| format!("hook check: {e}"))?;
    if check.had_gap() {
        tracing::info!(connection = %name, created = ?check.created, reactivated = ?check.reactivated, "hooks restored; backfilling");
        let backfill = reconcile(connection).await?;
        return Ok(format!(
            "{}; backfill {backfill}",
            serde_json::to_string(&check).unwrap_or_default()
        ));
    }
    serde_json::to_string(&check).map_err(|e| e.to_string())
}
