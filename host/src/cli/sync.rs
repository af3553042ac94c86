//! `ml-connector sync`: for each configured connection, poll BigCommerce for orders and
//! refunds changed since the last run, post what the queue holds to QAD, and (with a
//! catalog plugin) send QAD's item and price changes to the catalog, once
//! (`--once`) or every `--interval` seconds. Safe to stop at any moment: the next run
//! picks up where the store says it was.

use anyhow::Context;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::Cli;
use super::connections::{ConnectionArgs, claim_store, open_connections};
use crate::flows::worker::Worker;
use crate::sources::poll::poll;

#[derive(Args)]
pub struct SyncArgs {
    #[command(flatten)]
    connections: ConnectionArgs,
    /// One pass, then exit (non-zero when anything was parked).
    #[arg(long)]
    once: bool,
    /// Seconds between passes.
    #[arg(long, default_value_t = 300)]
    interval: u64,
}

pub fn run(cli: &Cli, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let claim = runtime.block_on(claim_store(cli, "sync"))?;
    let (store, connections) = open_connections(cli, &args.connections, None)?;
    let audit_key = cli.audit_key()?;
    let head_file = cli.audit_head_file();
    let synced = runtime.block_on(async {
        loop {
            let mut parked = 0;
            for connection in &connections {
                let name = &connection.name;
                let polled = poll(&connection.orders)
                    .await
                    .with_context(|| name.clone())?;
                let mut worker = Worker::new(connection.orders.clone(), "sync");
                worker.in_flight = connection.config.jobs_in_flight();
                worker.catalog = connection.catalog.clone();
                let drained = worker.drain(Duration::from_secs(120)).await;
                worker.release().await?;
                let stats = drained?;
                parked += stats.parked;
                let catalog = match &connection.catalog {
                    Some(catalog) => {
                        let stats = catalog
                            .poll()
                            .await
                            .with_context(|| format!("{name}: catalog"))?;
                        parked += stats.parked;
                        Some(stats)
                    }
                    None => None,
                };
                println!(
                    "{}",
                    serde_json::json!({
                        "connection": name,
                        "poll": polled,
                        "run": stats,
                        "catalog": catalog,
                    })
                );
            }
            // Each pass ends with the signed head of what it wrote, outside the store.
            if let Some(key) = &audit_key {
                super::audit::keep_head_or_log(store.as_ref(), key, head_file.as_deref()).await;
            }
            if args.once {
                return Ok(if parked == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            tokio::time::sleep(Duration::from_secs(args.interval)).await;
        }
    });
    // The store's last calls finish before the claim is let go.
    drop(runtime);
    drop(claim);
    synced
}
