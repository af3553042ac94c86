//! `ml-connector audit show <record>` and `ml-connector audit verify`: what the store's
//! audit log says about one record (its input, the plugin and its output, each request
//! and answer, the outcome), and whether the hash chain is intact.

use std::process::ExitCode;

use clap::Subcommand;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Cli;
use crate::store::Store;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Every audit entry about a record, oldest first: `order:<id>`, `refund:<id>`,
    /// `customer:<id>`, `job:<id>`, or `webhook` (deliveries received and refused).
    /// Exit code 1 when there is none.
    Show {
        record: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check the whole hash chain. Exit code 1 when an entry was changed or removed.
    Verify,
}

pub fn run(cli: &Cli, command: &AuditCommand) -> anyhow::Result<ExitCode> {
    let store = cli.existing_store()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match command {
        AuditCommand::Show { record, json } => {
            runtime.block_on(show(store.as_ref(), record, *json))
        }
        AuditCommand::Verify => match runtime.block_on(store.verify_audit()) {
            Ok(count) => {
                println!("audit chain intact: {count} entries");
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => {
                println!("{}", crate::error::chain(&error));
                Ok(ExitCode::from(1))
            }
        },
    }
}

async fn show(store: &dyn Store, record: &str, json: bool) -> anyhow::Result<ExitCode> {
    let entries = store.audit_for(record).await?;
    if entries.is_empty() {
        eprintln!(
            "no audit entries for `{record}` (records are named like order:123, refund:45, customer:9, job:7, webhook)"
        );
        return Ok(ExitCode::from(1));
    }
    if json {
        let list: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "seq": e.seq,
                    "at": e.at,
                    "connection": e.entry.connection,
                    "kind": e.entry.kind,
                    "data": serde_json::from_str::<serde_json::Value>(&e.entry.data)
                        .unwrap_or_else(|_| serde_json::Value::String(e.entry.data.clone())),
                    "hash": e.hash,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for entry in &entries {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(entry.at) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| entry.at.to_string());
        println!(
            "#{} {at} [{}] {}",
            entry.seq, entry.entry.connection, entry.entry.kind
        );
        let value = serde_json::from_str::<serde_json::Value>(&entry.entry.data).ok();
        if entry.entry.kind == "request"
            && let Some(exchange) = &value
        {
            print_exchange(exchange);
            continue;
        }
        let data = value
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| entry.entry.data.clone());
        for line in data.lines() {
            println!("    {line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `system METHOD url -> status (ms)`, then the bodies as kept.
fn print_exchange(exchange: &serde_json::Value) {
    let text = |key: &str| exchange[key].as_str().unwrap_or_default().to_string();
    let outcome = match (exchange["status"].as_u64(), exchange["error"].as_str()) {
        (Some(status), _) => status.to_string(),
        (None, Some(error)) => format!("no answer: {error}"),
        (None, None) => "no answer".into(),
    };
    println!(
        "    {} {} {} -> {outcome} ({} ms)",
        text("system"),
        text("method"),
        text("url"),
        exchange["millis"]
    );
    for (label, key) in [("sent", "request"), ("answer", "response")] {
        let body = &exchange[key];
        let Some(body_text) = body["text"].as_str() else {
            continue;
        };
        let cut = if body["truncated"] == true {
            format!(", cut from {} bytes", body["bytes"])
        } else {
            String::new()
        };
        println!("    {label}{cut}: {body_text}");
    }
}
