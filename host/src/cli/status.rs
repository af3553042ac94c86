//! `ml-connector status`: what the store says of each connection: the queue by state,
//! the newest parked records with their reasons, the last and next run of each schedule
//! (the last hook check is the hooks' health), the plugin versions `run` has active, the
//! cursors, and the BigCommerce quota last seen. It reads the store only, so it works
//! while `run` is running, or stopped.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};

use super::Cli;
use super::connections::{ConnectionArgs, selected};
use crate::store::{ParkedFilter, Store, millis_text};

#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    connections: ConnectionArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Parked records shown per connection, newest first.
const PARKED_SHOWN: usize = 50;

/// One connection's status as JSON.
pub(crate) async fn connection_status(store: &dyn Store, name: &str) -> anyhow::Result<Value> {
    let depth = store.queue_depth(Some(name)).await?;
    let newest = ParkedFilter {
        connection: Some(name.to_string()),
        kind: None,
        since: None,
        before: None,
        limit: PARKED_SHOWN,
    };
    let parked: Vec<Value> = store
        .parked_jobs(&newest)
        .await?
        .into_iter()
        .map(|job| {
            json!({
                "job": job.id,
                "kind": job.kind,
                "document": job.document,
                "attempts": job.attempts,
                "reason": job.last_error,
            })
        })
        .collect();
    let mut schedules: BTreeMap<String, Value> = BTreeMap::new();
    let mut cursors = BTreeMap::new();
    let mut quota = Value::Null;
    let mut plugins = BTreeMap::new();
    for (cursor, value, at) in store.cursors(name).await? {
        if let Some(rest) = cursor.strip_prefix("schedule.")
            && let Some((schedule, what)) = rest.rsplit_once('.')
        {
            let entry = schedules.entry(schedule.to_string()).or_insert(json!({}));
            entry[what] = serde_json::from_str(&value).unwrap_or(Value::String(value));
        } else if let Some(role) = cursor.strip_prefix("plugin.") {
            let mut plugin: Value = serde_json::from_str(&value).unwrap_or(Value::String(value));
            plugin["seen_at"] = json!(millis_text(at));
            plugins.insert(role.to_string(), plugin);
        } else if cursor == "bigcommerce.quota_left" {
            quota = json!({"left": value.parse::<u64>().ok(), "seen_at": millis_text(at)});
        } else {
            cursors.insert(cursor, json!({"value": value, "set_at": millis_text(at)}));
        }
    }
    Ok(json!({
        "connection": name,
        "queue": depth,
        "parked": parked,
        "schedules": schedules,
        "plugins": plugins,
        "cursors": cursors,
        "bigcommerce_quota": quota,
    }))
}

fn print_text(status: &Value) {
    let q = &status["queue"];
    println!("{}", status["connection"].as_str().unwrap_or_default());
    println!(
        "  queue: {} ready, {} leased, {} done, {} parked",
        q["ready"], q["leased"], q["done"], q["parked"]
    );
    for job in status["parked"].as_array().into_iter().flatten() {
        println!(
            "  parked job {} ({} {}) after {} attempts: {}",
            job["job"],
            job["kind"].as_str().unwrap_or_default(),
            job["document"].as_str().unwrap_or_default(),
            job["attempts"],
            job["reason"].as_str().unwrap_or("no reason recorded"),
        );
    }
    for (name, schedule) in status["schedules"].as_object().into_iter().flatten() {
        let last = &schedule["last"];
        let outcome = match (last["ok"].as_str(), last["error"].as_str()) {
            (Some(ok), _) => format!("ok {ok}"),
            (None, Some(error)) => format!("FAILED {error}"),
            _ => "never ran".into(),
        };
        println!(
            "  {name}: last {} {outcome}; next {}",
            last["at"].as_str().unwrap_or("-"),
            schedule["next"].as_str().unwrap_or("-"),
        );
    }
    for (role, plugin) in status["plugins"].as_object().into_iter().flatten() {
        let text = |key: &str| plugin[key].as_str().unwrap_or("-").to_string();
        let sha = text("sha256");
        println!(
            "  {role} plugin: {} {} ({}) {}{}",
            text("plugin"),
            text("version"),
            &sha[..sha.floor_char_boundary(12)],
            text("status"),
            plugin["error"]
                .as_str()
                .map(|e| format!("; newest version not loaded: {e}"))
                .unwrap_or_default()
        );
    }
    for (name, cursor) in status["cursors"].as_object().into_iter().flatten() {
        let value = cursor["value"].as_str().unwrap_or_default();
        let shown = if value.len() > 80 {
            format!("{}…", &value[..value.floor_char_boundary(80)])
        } else {
            value.to_string()
        };
        println!("  cursor {name}: {shown}");
    }
    if let Some(left) = status["bigcommerce_quota"]["left"].as_u64() {
        println!(
            "  BigCommerce quota: {left} requests left (seen {})",
            status["bigcommerce_quota"]["seen_at"]
                .as_str()
                .unwrap_or("-")
        );
    }
}

pub fn run(cli: &Cli, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let selected = selected(&args.connections)?;
    let store = cli.existing_store()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let statuses = runtime.block_on(async {
        let mut statuses = Vec::new();
        for (name, _) in &selected {
            statuses.push(connection_status(store.as_ref(), name).await?);
        }
        anyhow::Ok(statuses)
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&statuses).unwrap_or_default()
        );
    } else {
        for status in &statuses {
            print_text(status);
        }
    }
    Ok(ExitCode::SUCCESS)
}
