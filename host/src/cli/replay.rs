//! `ml-connector replay`: runs records again from what the store holds: one record, every
//! parked one, or every one received since a time, optionally with another plugin. With
//! `--dry-run` nothing is posted: each record's next revision is printed, account by
//! account, so a changed mapping can be judged before it reaches the ledger.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use time::OffsetDateTime;

use super::Cli;
use super::connections::{ConnectionArgs, open_connections};
use crate::flows::catalog::CatalogFlow;
use crate::flows::jobs::{JobInput, customer_job, order_job, record_of, refund_job, replayed_with};
use crate::flows::orders::{OrderFlow, Plan};
use crate::flows::worker::Worker;
use crate::money;
use crate::store::{AuditEntry, ByHand, Job, JobState, Store, StoreError};

#[derive(Args)]
pub struct ReplayArgs {
    /// `order:<id>` or `job:<id>`.
    record: Option<String>,
    /// Every parked record.
    #[arg(long)]
    failed: bool,
    /// Every record received since this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Map with this plugin (a name or a `.wasm` path) instead of the configured one.
    #[arg(long, value_name = "FILE")]
    plugin: Option<String>,
    /// Print what would be posted; post nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    connections: ConnectionArgs,
}

/// One record to run again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    connection: String,
    /// The job kind: `order`, `refund`, `customer`, or another flow's.
    kind: String,
    order_id: u64,
    refund_id: Option<u64>,
    customer_id: Option<u64>,
    /// The parked job, when replaying one.
    parked: Option<i64>,
}

fn input_of(job: &Job) -> anyhow::Result<JobInput> {
    serde_json::from_str(&job.payload).with_context(|| format!("job {}", job.id))
}

async fn targets(
    store: &dyn Store,
    args: &ReplayArgs,
    connection: &str,
) -> anyhow::Result<Vec<Target>> {
    let from_job = |job: &Job| -> anyhow::Result<Target> {
        let input = input_of(job)?;
        Ok(Target {
            connection: job.connection.clone(),
            kind: job.kind.clone(),
            order_id: input.order_id,
            refund_id: input.refund_id,
            customer_id: input.customer_id,
            parked: (job.state == JobState::Parked).then_some(job.id),
        })
    };
    let mut targets = BTreeSet::new();
    if let Some(record) = &args.record {
        match record.split_once(':') {
            Some(("order", id)) => {
                let order_id = id
                    .parse()
                    .map_err(|_| anyhow::anyhow!("`{record}`: not an order id"))?;
                targets.insert(Target {
                    connection: connection.to_string(),
                    kind: "order".into(),
                    order_id,
                    refund_id: None,
                    customer_id: None,
                    parked: None,
                });
            }
            Some(("job", id)) => {
                let id: i64 = id
                    .parse()
                    .map_err(|_| anyhow::anyhow!("`{record}`: not a job id"))?;
                let job = store
                    .job(id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no job {id}"))?;
                targets.insert(from_job(&job)?);
            }
            _ => {
                return Err(anyhow::anyhow!(
                    "`{record}`: name a record as order:<id> or job:<id>"
                ));
            }
        }
    }
    let all = |state| store.jobs_in(state, 100_000);
    if args.failed {
        for job in all(JobState::Parked).await? {
            targets.insert(from_job(&job)?);
        }
    }
    if let Some(since) = &args.since {
        let since = super::since_millis(since)?;
        for state in [JobState::Done, JobState::Parked, JobState::Ready] {
            for job in all(state).await?.iter().filter(|j| j.created_at >= since) {
                targets.insert(Target {
                    parked: None,
                    ..from_job(job)?
                });
            }
        }
    }
    // A parked job of the same record is replayed itself: a new job would wait behind it.
    let parked = all(JobState::Parked).await?;
    let targets = targets
        .into_iter()
        .filter(|t| t.connection == connection)
        .map(|mut target| {
            if target.parked.is_none() {
                target.parked = parked
                    .iter()
                    .filter(|job| job.connection == target.connection)
                    .find(|job| {
                        job.kind == target.kind
                            && input_of(job).is_ok_and(|input| {
                                input.order_id == target.order_id
                                    && input.refund_id == target.refund_id
                                    && input.customer_id == target.customer_id
                            })
                    })
                    .map(|job| job.id);
            }
            target
        })
        .collect::<BTreeSet<_>>();
    Ok(targets.into_iter().collect())
}

pub fn run(cli: &Cli, args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    if args.record.is_none() && !args.failed && args.since.is_none() {
        return Err(anyhow::anyhow!(
            "name a record, or give --failed or --since"
        ));
    }
    let (store, connections) = open_connections(cli, &args.connections, args.plugin.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut failed = false;
        for connection in &connections {
            let flow = &connection.orders;
            let targets = targets(store.as_ref(), args, &flow.connection).await?;
            if targets.is_empty() {
                println!("{}: nothing to replay", flow.connection);
                continue;
            }
            if args.dry_run {
                for target in &targets {
                    failed |= !dry_run(flow, target).await;
                }
            } else {
                let catalog = connection.catalog.clone();
                let plugin = args.plugin.as_deref();
                failed |= !replay(flow, catalog, store.as_ref(), &targets, plugin).await?;
            }
        }
        Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}

/// Prints one record's next revision; false when it could not be worked out.
async fn dry_run(flow: &OrderFlow, target: &Target) -> bool {
    let (record, planned) = match (target.kind.as_str(), target.refund_id) {
        ("refund", Some(refund)) => (
            format!("refund:{refund}"),
            flow.dry_run_refund(target.order_id, refund).await,
        ),
        ("order", _) => (
            format!("order:{}", target.order_id),
            flow.dry_run_order(target.order_id).await,
        ),
        (kind, _) => {
            println!("{kind} job: posts no journal; a replay runs it again");
            return true;
        }
    };
    match planned {
        Ok(None) => {
            println!("{record}: nothing to post (the ledger matches)");
            true
        }
        Ok(Some(plan)) => {
            print_plan(&record, &plan);
            true
        }
        Err(error) => {
            println!("{record}: cannot be mapped: {error}");
            false
        }
    }
}

/// A planned revision, account by account.
pub(super) fn print_plan(record: &str, plan: &Plan) {
    println!(
        "{record}: would post {} ({} {})",
        plan.reference, plan.entry.currency, plan.entry.effective_date
    );
    for line in &plan.entry.lines {
        let net = line.debit - line.credit;
        let sign = if net >= 0 { "+" } else { "-" };
        println!(
            "    {:<12} {sign}{}  {}",
            line.account,
            money::format(net.abs()),
            line.memo
        );
    }
}

/// Puts the records back in the queue (parked jobs as they are, with an audit entry;
/// others as new jobs) and runs them (with `plugin` when given); false when any was parked
/// again.
async fn replay(
    flow: &Arc<OrderFlow>,
    catalog: Option<Arc<CatalogFlow>>,
    store: &dyn Store,
    targets: &[Target],
    plugin: Option<&str>,
) -> anyhow::Result<bool> {
    let stamp = OffsetDateTime::now_utc().unix_timestamp_nanos().to_string();
    for target in targets {
        match target.parked {
            Some(id) => {
                // Back in line with the connection's plugin (this command's `--plugin`
                // when given), whatever version a console replay named before; audited.
                let Some(job) = store.job(id).await? else {
                    continue;
                };
                let replay = ByHand::Replay {
                    payload: replayed_with(&job, None),
                };
                let said = AuditEntry {
                    connection: job.connection.clone(),
                    subject: record_of(&job),
                    kind: "replay".into(),
                    data: serde_json::json!({"job": id, "by": "ml-connector replay", "plugin": plugin})
                        .to_string(),
                };
                match store.settle_parked(id, &replay, &said).await {
                    Err(StoreError::NoJob(_)) => println!("job {id}: not parked any more; skipped"),
                    other => other?,
                }
            }
            None => {
                let mut job = match (target.kind.as_str(), target.refund_id, target.customer_id) {
                    ("refund", Some(refund), _) => {
                        refund_job(&flow.connection, target.order_id, refund, "replay", None)
                    }
                    ("order", ..) => {
                        order_job(&flow.connection, target.order_id, &stamp, "replay", None)
                    }
                    ("customer", _, Some(customer)) => {
                        customer_job(&flow.connection, customer, "replay")
                    }
                    // Other flows' jobs are replayed when parked (above).
                    (kind, ..) => {
                        println!("{kind} job: replayed only when parked; skipped");
                        continue;
                    }
                };
                job.key = format!("replay:{stamp}:{}", job.key);
                store.enqueue(&job).await?;
            }
        }
    }
    let mut worker = Worker::new(flow.clone(), "replay");
    worker.catalog = catalog;
    // Progress: the connection's queue empties as the records run.
    let bar = super::progress_bar(targets.len(), "records");
    bar.set_message(format!("replaying {}", flow.connection));
    let watching = {
        let (bar, store, connection) = (bar.clone(), flow.store.clone(), flow.connection.clone());
        let total = targets.len() as u64;
        tokio::spawn(async move {
            loop {
                if let Ok(depth) = store.queue_depth(Some(&connection)).await {
                    bar.set_position(total.saturating_sub(depth.ready + depth.leased));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let drained = worker.drain(Duration::from_secs(120)).await;
    worker.release().await?;
    watching.abort();
    bar.finish_and_clear();
    let stats = drained?;
    println!(
        "{}",
        serde_json::json!({"connection": flow.connection, "replayed": targets.len(), "run": stats})
    );
    Ok(stats.parked == 0)
}
