//! `ml-connector dry-run order <id>`: fetches one order from BigCommerce, maps it with the
//! connection's plugin and prints the journal its next revision would post (the whole
//! journal for an order not yet posted, the difference after an edit), account by
//! account, or as JSON. Nothing is posted and no QAD customer is created.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Cli;
use super::connections::{ConnectionArgs, open_connections};
use super::replay::print_plan;

#[derive(Subcommand)]
pub enum DryRunCommand {
    /// One BigCommerce order. Exit code 1 when it cannot be mapped.
    Order(OrderArgs),
}

#[derive(Args)]
pub struct OrderArgs {
    /// The BigCommerce order id.
    id: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connections: ConnectionArgs,
}

pub fn run(cli: &Cli, command: &DryRunCommand) -> anyhow::Result<ExitCode> {
    let DryRunCommand::Order(args) = command;
    let (_store, connections) = open_connections(cli, &args.connections, None)?;
    let [connection] = connections.as_slice() else {
        let names: Vec<&str> = connections.iter().map(|c| c.name.as_str()).collect();
        return Err(anyhow::anyhow!(
            "an order belongs to one store: choose the connection with --connection ({})",
            names.join(", ")
        ));
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let flow = &connection.orders;
    let record = format!("order:{}", args.id);
    let planned = runtime.block_on(flow.dry_run_order(args.id));
    let (plan, failure) = match planned {
        Ok(plan) => (plan, None),
        Err(error) => (None, Some(error.to_string())),
    };
    if args.json {
        let answer = json!({
            "connection": flow.connection,
            "record": record,
            "error": failure,
            "plan": plan.as_ref().map(|plan| json!({
                "reference": plan.reference,
                "revision": plan.number,
                "entry": plan.entry,
            })),
        });
        println!("{answer}");
    } else {
        match (&plan, &failure) {
            (_, Some(reason)) => println!("{record}: cannot be mapped: {reason}"),
            (Some(plan), None) => print_plan(&record, plan),
            (None, None) => println!("{record}: nothing to post (the ledger matches)"),
        }
    }
    Ok(if failure.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
