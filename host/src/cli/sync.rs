//! `ml-connector sync`: for each configured connection, poll BigCommerce for orders and
//! refunds changed since the last run, post what the queue holds to QAD, and (with a
//! catalog plugin) send QAD's item and price changes to the catalog, once
//! (`--once`) or every `--interval` seconds. Safe to stop at any moment: the next run
//! picks up where the store says it was.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::Cli;
use super::connections::{ConnectionArgs, Plugins, claim_store, open_catalog, open_flows};
use crate::flows::worker::{Worker, poll};

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

pub fn run(cli: &Cli, args: &SyncArgs) -> Result<ExitCode, String> {
    let _claim = claim_store(cli, "sync")?;
    let (_store, flows) = open_flows(cli, &args.connections, None)?;
    let catalogs = flows
        .iter()
        .map(|flow| {
            open_catalog(
                cli,
                &args.connections,
                flow,
                &Plugins::Once { replace: None },
            )
        })
        .collect::<Result<Vec<_>, String>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        loop {
            let mut parked = 0;
            for (flow, catalog) in flows.iter().zip(&catalogs) {
                let polled = poll(flow)
                    .await
                    .map_err(|e| format!("{}: {e}", flow.connection))?;
                let mut worker = Worker::new(flow.clone(), "sync");
                worker.catalog = catalog.clone();
                let drained = worker.drain(Duration::from_secs(120)).await;
                worker.release().map_err(|e| e.to_string())?;
                let stats = drained.map_err(|e| e.to_string())?;
                parked += stats.parked;
                let catalog = match catalog {
                    Some(catalog) => {
                        let stats = catalog
                            .poll()
                            .await
                            .map_err(|e| format!("{}: catalog: {e}", flow.connection))?;
                        parked += stats.parked;
                        Some(stats)
                    }
                    None => None,
                };
                println!(
                    "{}",
                    serde_json::json!({
                        "connection": flow.connection,
                        "poll": polled,
                        "run": stats,
                        "catalog": catalog,
                    })
                );
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
    })
}
