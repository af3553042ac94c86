//! `ml-connector audit show|verify|head|export`: what the store's audit log says about one
//! record (its input, the plugin and its output, each request and answer, the outcome),
//! whether the chain is intact (keyed with the master key, and reaching the signed head
//! kept outside the store), the signed head itself, and a record's entries exported with
//! what it takes to check them away from the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Cli;
use crate::store::chain::chain_hash;
use crate::store::{AuditEntry, AuditKey, ChainSummary, SignedHead, Store, millis_text};

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
    /// Check the whole chain: every entry in order, keyed entries with the master key,
    /// and that the log still reaches the signed head (`--head`, else the head file when
    /// there is one). Or, with `--export`, check an export away from the store. Exit code
    /// 1 when an entry was changed, removed or reordered, or the log was cut short.
    Verify {
        /// A signed head to check against (a file holding its line).
        #[arg(long, value_name = "FILE")]
        head: Option<PathBuf>,
        /// Check this export (`audit export`) instead of the store.
        #[arg(long, value_name = "FILE", conflicts_with = "head")]
        export: Option<PathBuf>,
    },
    /// Sign the newest entry as the head and print it (and write it to the head file);
    /// keep the line somewhere the store's administrators cannot change.
    Head,
    /// Every entry about a record, each with the hash before it, and the signed head, as
    /// JSON: `audit verify --export FILE` checks it with the master key alone.
    Export { record: String },
}

/// An exported entry: the record as stored and the hash of the entry before it.
#[derive(Debug, Serialize, Deserialize)]
struct Exported {
    seq: i64,
    at: i64,
    #[serde(flatten)]
    entry: AuditEntry,
    hash: String,
    previous: String,
}

/// What `audit export` writes.
#[derive(Debug, Serialize, Deserialize)]
struct Export {
    record: String,
    entries: Vec<Exported>,
    /// The signed head when exported (its line).
    head: String,
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
        AuditCommand::Verify {
            export: Some(file), ..
        } => verify_export(file, cli.audit_key()?.as_ref()),
        AuditCommand::Verify { head, .. } => {
            let key = cli.audit_key()?;
            let file = head
                .clone()
                .or_else(|| cli.audit_head_file().filter(|f| f.exists()));
            let head = match &file {
                Some(file) => Some(read_head(file)?),
                None => None,
            };
            match runtime.block_on(store.verify_audit(head.as_ref())) {
                Ok(summary) => {
                    println!("{}", intact(&summary, key.as_ref(), head.as_ref()));
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    println!("{}", crate::error::chain(&error));
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCommand::Head => {
            let key = cli.audit_key()?.context(
                "the head is signed with the master key: set ML_CONNECTOR_MASTER_KEY or ML_CONNECTOR_MASTER_KEY_FILE",
            )?;
            let head = runtime.block_on(keep_head(
                store.as_ref(),
                &key,
                cli.audit_head_file().as_deref(),
            ))?;
            match head {
                Some(head) => println!("{}", head.to_line()),
                None => println!("the audit log is empty"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { record } => {
            let key = cli.audit_key()?.context(
                "an export is checked with the master key: set ML_CONNECTOR_MASTER_KEY or ML_CONNECTOR_MASTER_KEY_FILE",
            )?;
            runtime.block_on(export(store.as_ref(), &key, record))
        }
    }
}

/// What an intact chain is, in a sentence.
fn intact(summary: &ChainSummary, key: Option<&AuditKey>, head: Option<&SignedHead>) -> String {
    let mut text = format!("audit chain intact: {} entries", summary.entries);
    let unkeyed = summary.entries - summary.keyed;
    match key {
        Some(key) if summary.keyed > 0 => {
            text.push_str(&format!(
                ", {} keyed under key id {} and checked with it",
                summary.keyed,
                key.id()
            ));
            if unkeyed > 0 {
                text.push_str(&format!(
                    "; the first {unkeyed} were written before a master key was set, so a rewrite of them with every later hash recomputed would show only against a signed head"
                ));
            }
        }
        Some(_) => text.push_str(
            "; none is keyed yet: entries are keyed from the next one written with the master key",
        ),
        None => {
            text.push_str(
                "; the log is not keyed, so a rewrite with every later hash recomputed would not show: set the master key to key it and sign its head",
            );
            return text;
        }
    }
    match head {
        Some(head) => text.push_str(&format!(
            "; it reaches the signed head (entry {} of {})",
            head.seq,
            millis_text(head.at)
        )),
        None => text.push_str("; no signed head to check against (see `audit head`)"),
    }
    text
}

fn read_head(file: &Path) -> anyhow::Result<SignedHead> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the audit head {}", file.display()))?;
    SignedHead::parse(&text).with_context(|| format!("the audit head {}", file.display()))
}

/// Signs the newest entry as the head, writes it to `file` (replacing the last, never
/// half-written) and logs it; `None` when the log is empty.
pub(super) async fn keep_head(
    store: &dyn Store,
    key: &AuditKey,
    file: Option<&Path>,
) -> anyhow::Result<Option<SignedHead>> {
    let Some((seq, hash)) = store.audit_head().await? else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let head = SignedHead::sign(key, seq, &hash, now);
    if let Some(file) = file {
        let partial = file.with_extension("audit-head.partial");
        std::fs::write(&partial, format!("{}\n", head.to_line()))
            .and_then(|()| std::fs::rename(&partial, file))
            .with_context(|| format!("cannot write the audit head {}", file.display()))?;
    }
    tracing::info!(head = %head.to_line(), "audit head");
    Ok(Some(head))
}

/// [`keep_head`] for work that goes on whatever happens to the head (`run`, `sync`): a
/// head that cannot be kept is logged.
pub(super) async fn keep_head_or_log(store: &dyn Store, key: &AuditKey, file: Option<&Path>) {
    if let Err(error) = keep_head(store, key, file).await {
        tracing::error!(error = %crate::error::chain(error.as_ref()), "the audit head was not kept");
    }
}

/// Writes the record's entries with the hash before each, and a fresh signed head.
async fn export(store: &dyn Store, key: &AuditKey, record: &str) -> anyhow::Result<ExitCode> {
    let records = store.audit_for(record).await?;
    if records.is_empty() {
        eprintln!("no audit entries for `{record}`");
        return Ok(ExitCode::from(1));
    }
    let mut entries = Vec::new();
    for r in records {
        let previous = match r.seq {
            1 => String::new(),
            seq => store
                .audit_hash(seq - 1)
                .await?
                .with_context(|| format!("the audit log has no entry {}", seq - 1))?,
        };
        entries.push(Exported {
            seq: r.seq,
            at: r.at,
            entry: r.entry,
            hash: r.hash,
            previous,
        });
    }
    let (seq, hash) = store
        .audit_head()
        .await?
        .context("the audit log is empty")?;
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let export = Export {
        record: record.to_string(),
        entries,
        head: SignedHead::sign(key, seq, &hash, now).to_line(),
    };
    println!("{}", serde_json::to_string_pretty(&export)?);
    Ok(ExitCode::SUCCESS)
}

/// Checks an export with the master key alone: each entry's hash covers its content and
/// the hash before it, consecutive entries link, and the head is signed with the key.
fn verify_export(file: &Path, key: Option<&AuditKey>) -> anyhow::Result<ExitCode> {
    let key = key.context(
        "an export is checked with the master key: set ML_CONNECTOR_MASTER_KEY or ML_CONNECTOR_MASTER_KEY_FILE",
    )?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let export: Export = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an audit export", file.display()))?;
    let head = SignedHead::parse(&export.head)?;
    let mut problems = Vec::new();
    if !head.signed_by(key) {
        problems.push("the head is not signed with this master key".to_string());
    }
    for (i, e) in export.entries.iter().enumerate() {
        let keyed = e.hash.starts_with("k1:");
        let expected = chain_hash(keyed.then_some(key), &e.previous, e.seq, e.at, &e.entry);
        if expected != e.hash {
            problems.push(format!(
                "entry {}: its content does not match its hash (or it was keyed under another key)",
                e.seq
            ));
        }
        if let Some(before) = i.checked_sub(1).map(|b| &export.entries[b])
            && before.seq + 1 == e.seq
            && before.hash != e.previous
        {
            problems.push(format!(
                "entry {}: it does not follow entry {}",
                e.seq, before.seq
            ));
        }
        if e.seq > head.seq || (e.seq == head.seq && e.hash != head.hash) {
            problems.push(format!("entry {}: not covered by the head", e.seq));
        }
    }
    if problems.is_empty() {
        println!(
            "export intact: {} entries about {}, keyed ones checked with key id {}, head entry {} of {}",
            export.entries.len(),
            export.record,
            key.id(),
            head.seq,
            millis_text(head.at)
        );
        return Ok(ExitCode::SUCCESS);
    }
    for problem in problems {
        println!("{problem}");
    }
    Ok(ExitCode::from(1))
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
        let at = millis_text(entry.at);
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
