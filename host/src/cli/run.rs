//! `ml-connector run`: the service. It receives BigCommerce webhooks and queues them
//! durably, works each connection's queue, runs the reconciliation poll, the QAD item
//! and price poll (with a catalog plugin) and the hook check on their schedules (both also at start, which backfills whatever a downtime
//! missed), and serves `/healthz` and `/metrics`. It watches the plugin directory: a new
//! plugin version serves the next record, a broken one leaves the last good version
//! serving, and `status` and `/metrics` show which version of each plugin is active.
//!
//! SIGTERM or Ctrl-C stops it gracefully and within [`STOP_WITHIN`] whatever the upstreams
//! do: no new deliveries are taken and requests in flight are answered, schedules stop
//! after their current run, each worker finishes the jobs in hand, and jobs leased but not
//! started are released for the next start. Work still in hand near the deadline is
//! dropped and its job released too (a post whose answer was not seen is resolved by
//! lookup before it is tried again, see [`crate::flows::orders`]).

use anyhow::Context;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use tokio::sync::{Mutex, Notify, oneshot, watch};
use tokio::task::JoinSet;

use super::Cli;
use super::connections::{ConnectionArgs, claim_store, open_live_connections};
use crate::config::{Config, WebhooksConfig};
use crate::connection::Connection;
use crate::error::chain;
use crate::flows::catalog::CatalogFlow;
use crate::flows::worker::{RunStats, Worker};
use crate::metrics;
use crate::plugins::Registry;
use crate::schedule::{Periodic, Schedule};
use crate::server::{self, ConnectionHooks, ServerState};
use crate::sources::hooks::ensure_hooks;
use crate::sources::poll::poll;
use crate::sources::webhooks;
use crate::store::{Millis, Store, owner_id, system_clock};

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    connections: ConnectionArgs,
    /// The address to listen on [default: `server.listen` in the file, else
    /// 127.0.0.1:8080].
    #[arg(long, env = "ML_CONNECTOR_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
}

pub fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.connections.config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let claim = runtime.block_on(claim_store(cli, "run"))?;
    let ((store, connections), registry) = open_live_connections(cli, &args.connections)?;
    metrics::global().watch_plugins(registry.clone());
    // New plugin versions dropped into the directory replace the old for the next call;
    // the service publishes what each reload did ([`publish_plugins`]).
    let reloads = Arc::new(Notify::new());
    let _watcher = match &cli.plugin_dir {
        Some(dir) => {
            let reloads = reloads.clone();
            let watcher = registry
                .watch(move |_| reloads.notify_one())
                .with_context(|| format!("cannot watch the plugin directory {}", dir.display()))?;
            Some(watcher)
        }
        None => None,
    };
    let listen = args
        .listen
        .clone()
        .or_else(|| config.server.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let plugins = Plugins { registry, reloads };
    let limits = config.server.limits();
    let head = match cli.audit_key()? {
        Some(key) => Some(HeadKeeping {
            key,
            file: cli.audit_head_file(),
        }),
        None => {
            tracing::warn!(
                "no master key: the audit log is chained but not keyed, and its head is not signed"
            );
            None
        }
    };
    let console = match &config.console {
        Some(section) => Some(super::console::setup(cli, section, None)?),
        None => None,
    };
    let served = runtime.block_on(service(
        store,
        connections,
        plugins,
        Listening {
            listen,
            limits,
            console,
        },
        head,
        config.retention.done_jobs(),
    ));
    // The store's last calls finish before the claim is let go.
    drop(runtime);
    drop(claim);
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Where the signed audit head is kept, with the key that signs it.
struct HeadKeeping {
    key: crate::store::AuditKey,
    file: Option<std::path::PathBuf>,
}

/// How often the service signs and keeps the audit head.
const HEAD_EVERY: Duration = Duration::from_secs(60);

/// Signs and keeps the audit head every [`HEAD_EVERY`] until stopped.
async fn keep_heads(
    head: Arc<HeadKeeping>,
    store: Arc<dyn Store>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(HEAD_EVERY) => {}
            _ = stopped.wait_for(|s| *s) => break,
        }
        super::audit::keep_head_or_log(store.as_ref(), &head.key, head.file.as_deref()).await;
    }
}

/// How often the service deletes the done jobs past their retention.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Done jobs deleted per transaction: a prune holds the store's writer only briefly.
const PRUNE_CHUNK: usize = 2_000;

/// Deletes the done jobs that ended more than `keep` ago, a chunk per transaction, at
/// start and every [`PRUNE_EVERY`] until stopped.
async fn prune_done_jobs(
    store: Arc<dyn Store>,
    keep: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let keep = Millis::try_from(keep.as_millis()).unwrap_or(Millis::MAX);
    loop {
        let before = system_clock().saturating_sub(keep);
        let mut pruned = 0;
        while !*stopped.borrow() {
            match store.prune_done_jobs(before, PRUNE_CHUNK).await {
                Ok(deleted) => {
                    pruned += deleted;
                    metrics::global().jobs_pruned.inc_by(deleted);
                    if deleted < PRUNE_CHUNK as u64 {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %chain(&error), "done jobs could not be pruned; trying again later");
                    break;
                }
            }
        }
        if pruned > 0 {
            tracing::info!(pruned, "done jobs past their retention deleted");
        }
        tokio::select! {
            () = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = stopped.wait_for(|s| *s) => break,
        }
    }
}

/// The plugins the connections use, and the signal that the directory was reloaded.
struct Plugins {
    registry: Arc<Registry>,
    reloads: Arc<Notify>,
}

/// One connection at work: its parts, and what its tasks share.
struct Running {
    connection: Connection,
    /// Wakes the worker when webhooks queued jobs.
    wake: Arc<Notify>,
    /// Polls never overlap (the schedule's and a backfill after a hook gap).
    polling: Arc<Mutex<()>>,
}

/// Where the service listens: its own server and, when configured, the console.
struct Listening {
    listen: String,
    limits: server::Limits,
    console: Option<super::console::Setup>,
}

async fn service(
    store: Arc<dyn Store>,
    connections: Vec<Connection>,
    plugins: Plugins,
    listening: Listening,
    head: Option<HeadKeeping>,
    keep_done_jobs: Duration,
) -> anyhow::Result<()> {
    let Listening {
        listen,
        limits,
        console,
    } = listening;
    let head = head.map(Arc::new);
    publish_plugins(&plugins.registry, store.as_ref()).await;
    let mut hooks = BTreeMap::new();
    let mut running = Vec::new();
    for connection in connections {
        metrics::global().watch_pacer(&connection.name, connection.bigcommerce.pacer());
        if let Some(auth) = &connection.webhooks {
            hooks.insert(
                connection.name.clone(),
                ConnectionHooks {
                    store_hash: connection.config.store_hash.clone(),
                    auth: auth.clone(),
                },
            );
        }
        running.push(Arc::new(Running {
            connection,
            wake: Arc::new(Notify::new()),
            polling: Arc::new(Mutex::new(())),
        }));
    }
    let wakes: BTreeMap<String, Arc<Notify>> = running
        .iter()
        .map(|r| (r.connection.name.clone(), r.wake.clone()))
        .collect();
    let woken_by_console = wakes.clone();
    let intake = webhooks::intake(store.clone(), move |woken| {
        for name in woken {
            if let Some(wake) = wakes.get(name) {
                wake.notify_one();
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    println!("listening on http://{address}");

    let (stop, stopped) = watch::channel(false);
    let (abandon, abandoned) = watch::channel(false);
    let mut tasks = JoinSet::new();
    if let Some(setup) = console {
        let flows = running
            .iter()
            .map(|r| (r.connection.name.clone(), r.connection.orders.clone()))
            .collect();
        let replayed: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(move |name: &str| {
            if let Some(wake) = woken_by_console.get(name) {
                wake.notify_one();
            }
        });
        let console_listen = setup.listen.clone();
        let registry = plugins.registry.clone();
        let console = setup.console(store.clone(), flows, replayed, Some(registry));
        let listener = tokio::net::TcpListener::bind(&console_listen)
            .await
            .with_context(|| format!("cannot listen on {console_listen} (the console)"))?;
        let address = listener.local_addr()?;
        tracing::info!(%address, "console listening");
        println!("console on http://{address}");
        let mut stopped = stopped.clone();
        tasks.spawn(async move {
            let stops = async move {
                let _ = stopped.wait_for(|s| *s).await;
                Instant::now() + SERVER_GRACE
            };
            if let Err(error) =
                server::serve(listener, crate::console::router(console), limits, stops).await
            {
                tracing::error!(%error, "the console stopped");
            }
        });
    }
    tasks.spawn(publish_reloads(plugins, store.clone(), stopped.clone()));
    if let Some(head) = &head {
        tasks.spawn(keep_heads(head.clone(), store.clone(), stopped.clone()));
    }
    tasks.spawn(prune_done_jobs(
        store.clone(),
        keep_done_jobs,
        stopped.clone(),
    ));
    for running in &running {
        tasks.spawn(work(running.clone(), stopped.clone(), abandoned.clone()));
        let connection = &running.connection;
        let schedules = &connection.config.schedules;
        let periodic = |name: &'static str, text: &str| -> anyhow::Result<Periodic> {
            Ok(Periodic {
                connection: connection.name.clone(),
                name,
                schedule: text
                    .parse::<Schedule>()
                    .with_context(|| format!("connections.{}.schedules.{name}", connection.name))?,
                at_start: true,
                owner: owner_id("run"),
            })
        };
        let reconcile = {
            let running = running.clone();
            move || {
                let running = running.clone();
                async move { reconcile(&running).await.map_err(|e| chain(e.as_ref())) }
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
                async move { catalog_poll(&catalog).await.map_err(|e| chain(e.as_ref())) }
            };
            tasks.spawn(periodic("catalog", &schedules.catalog)?.run_until(
                store.clone(),
                poll,
                stopped.clone(),
            ));
        }
        if let Some(webhooks) = connection.config.webhooks.clone() {
            let check = {
                let running = running.clone();
                move || {
                    let (running, webhooks) = (running.clone(), webhooks.clone());
                    async move {
                        check_hooks(&running, &webhooks)
                            .await
                            .map_err(|e| chain(e.as_ref()))
                    }
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
        queue: Default::default(),
    });
    let (server_deadline, server_stops) = oneshot::channel::<Instant>();
    let served = server::serve(listener, server::router(state), limits, async move {
        server_stops.await.unwrap_or_else(|_| Instant::now())
    });
    tokio::pin!(served);
    let stopping = tokio::select! {
        result = &mut served => {
            result.context("the server stopped")?;
            Instant::now()
        }
        () = shutdown_signal() => {
            tracing::info!("stopping: finishing the work in hand");
            let stopping = Instant::now();
            let _ = stop.send(true);
            let _ = server_deadline.send(stopping + SERVER_GRACE);
            served.await.context("the server stopped")?;
            stopping
        }
    };
    let _ = stop.send(true);
    let work_deadline = tokio::time::Instant::from_std(stopping + WORK_GRACE);
    if tokio::time::timeout_at(work_deadline, drain(&mut tasks))
        .await
        .is_err()
    {
        tracing::warn!(
            "work still in hand at the stop's deadline is dropped; its jobs are released"
        );
        let _ = abandon.send(true);
        let release_deadline =
            tokio::time::Instant::from_std(stopping + STOP_WITHIN - RELEASE_MARGIN);
        if tokio::time::timeout_at(release_deadline, drain(&mut tasks))
            .await
            .is_err()
        {
            tasks.abort_all();
            drain(&mut tasks).await;
        }
    }
    if let Some(head) = &head {
        super::audit::keep_head_or_log(store.as_ref(), &head.key, head.file.as_deref()).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// A stop ends within this, whatever the upstreams do.
pub const STOP_WITHIN: Duration = Duration::from_secs(10);
/// Requests in flight have this long to be answered after a stop.
const SERVER_GRACE: Duration = Duration::from_secs(5);
/// Jobs and schedule runs in hand have this long to finish after a stop.
const WORK_GRACE: Duration = Duration::from_secs(7);
/// Kept free before the deadline for the process to end.
const RELEASE_MARGIN: Duration = Duration::from_secs(1);

/// Waits for every task to end.
async fn drain(tasks: &mut JoinSet<()>) {
    while tasks.join_next().await.is_some() {}
}

/// Writes each entry's active plugin version (or why it has none) to its connection's
/// `plugin.<role>` cursor, for `status`.
async fn publish_plugins(registry: &Registry, store: &dyn Store) {
    for status in registry.list() {
        let Some((connection, role)) = status.name.split_once(':') else {
            continue;
        };
        let text = serde_json::to_string(&status).unwrap_or_default();
        let published = store
            .set_cursor(connection, &format!("plugin.{role}"), &text)
            .await;
        if let Err(error) = published {
            tracing::warn!(%error, plugin = %status.name, "the plugin status cannot be stored");
        }
    }
}

/// Publishes the plugins again after each reload of the plugin directory, until stopped
/// (reloads while one is being published are published together next).
async fn publish_reloads(
    plugins: Plugins,
    store: Arc<dyn Store>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let reloaded = tokio::select! {
            () = plugins.reloads.notified() => true,
            _ = stopped.wait_for(|s| *s) => false,
        };
        if !reloaded {
            break;
        }
        publish_plugins(&plugins.registry, store.as_ref()).await;
    }
}

/// SIGTERM or Ctrl-C.
pub(super) async fn shutdown_signal() {
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
/// the intake, and when a retry falls due. Stopping, it frees the leases it still holds;
/// `abandoned`, it drops the jobs in hand first.
async fn work(
    running: Arc<Running>,
    mut stopped: watch::Receiver<bool>,
    mut abandoned: watch::Receiver<bool>,
) {
    let connection = &running.connection;
    let mut worker = Worker::new(connection.orders.clone(), "run");
    worker.in_flight = connection.config.jobs_in_flight();
    // Every job leased starts at once: a stop waits only for the jobs in hand.
    worker.batch = worker.in_flight;
    worker.catalog = connection.catalog.clone();
    let mut stats = RunStats::default();
    let name = &connection.name;
    loop {
        if *stopped.borrow() {
            break;
        }
        // Leasing more as slots free, until stopped.
        let go_on = || !*stopped.borrow();
        let ran = tokio::select! {
            ran = worker.run_refilling(&mut stats, go_on) => ran,
            _ = abandoned.wait_for(|a| *a) => break,
        };
        match ran {
            Ok(0) => {}
            Ok(_) => continue,
            Err(error) => {
                tracing::error!(connection = %name, %error, "the queue cannot be read");
            }
        }
        let retry_in = worker
            .next_retry_in()
            .await
            .ok()
            .flatten()
            .unwrap_or(Duration::from_secs(5))
            .clamp(Duration::from_millis(10), Duration::from_secs(5));
        tokio::select! {
            () = running.wake.notified() => {}
            () = tokio::time::sleep(retry_in) => {}
            _ = stopped.wait_for(|s| *s) => break,
        }
    }
    match worker.release().await {
        Ok(released) => tracing::info!(connection = %name, released, "worker stopped"),
        Err(error) => {
            tracing::error!(connection = %name, %error, "leases not released; they run out by themselves")
        }
    }
}

/// The reconciliation poll: whatever changed since the cursor is queued.
async fn reconcile(running: &Running) -> anyhow::Result<String> {
    let _one_at_a_time = running.polling.lock().await;
    let connection = &running.connection;
    let stats = poll(&connection.orders).await?;
    if stats.enqueued > 0 {
        running.wake.notify_one();
    }
    // What BigCommerce last said of the quota, for `status`.
    if let Some(left) = connection.bigcommerce.pacer().requests_left() {
        connection
            .orders
            .store
            .set_cursor(
                &connection.name,
                "bigcommerce.quota_left",
                &left.to_string(),
            )
            .await?;
    }
    Ok(serde_json::to_string(&stats)?)
}

/// The QAD item and price poll: changes go to the catalog, failures are parked.
async fn catalog_poll(catalog: &CatalogFlow) -> anyhow::Result<String> {
    let stats = catalog.poll().await?;
    let metrics = metrics::global();
    metrics.catalog_sent.inc_by(stats.sent);
    metrics.catalog_parked.inc_by(stats.parked);
    Ok(serde_json::to_string(&stats)?)
}

/// The hook check; a created or reactivated hook means a gap, backfilled by a poll.
async fn check_hooks(running: &Running, webhooks: &WebhooksConfig) -> anyhow::Result<String> {
    let connection = &running.connection;
    let name = &connection.name;
    let headers: BTreeMap<String, String> = connection
        .webhooks
        .iter()
        .flat_map(|auth| auth.shared_header.clone())
        .collect();
    let check = ensure_hooks(
        &connection.bigcommerce,
        &webhooks.destination(name),
        &webhooks.scopes(connection.config.catalog_drift.is_some()),
        &headers,
    )
    .await
    .context("hook check")?;
    if check.had_gap() {
        tracing::info!(connection = %name, created = ?check.created, reactivated = ?check.reactivated, "hooks restored; backfilling");
        let backfill = reconcile(running).await?;
        return Ok(format!(
            "{}; backfill {backfill}",
            serde_json::to_string(&check).unwrap_or_default()
        ));
    }
    Ok(serde_json::to_string(&check)?)
}
