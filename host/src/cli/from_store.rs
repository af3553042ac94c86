//! `ml-connector plugins test <plugin> --from-store RECORD | --since TIME`: records the
//! service has mapped, run again through a plugin under development, each answer printed
//! beside what was mapped then and what became of it (posted, sent, parked...). The input
//! is the record as the plugin received it, from the audit trail (`mapped` and
//! `mapping-failed` entries): nothing is fetched from the store or QAD, nothing is posted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::ExitCode;

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Cli;
use super::connections::ConnectionArgs;
use crate::config::Config;
use crate::flows::ledger::{self, Place};
use crate::plugins::fixture::{Expectation, Fixture, Function, json_diff};
use crate::plugins::registry::load_one;
use crate::plugins::types::JournalEntry;
use crate::plugins::{Limits, LoadedPlugin, Settings, World};
use crate::store::{AuditRecord, Millis, Store};

/// The most records `--since` runs.
const SINCE_LIMIT: usize = 10_000;

/// Which recorded mappings to run again.
pub enum Selection<'a> {
    /// The newest mapping of one record (`order:123`, `refund:7`, `item:MUG-01`).
    Record(&'a str),
    /// The newest mapping of every record mapped at or after a time (RFC 3339).
    Since(&'a str),
}

/// Runs the selected records of the connections `connections` names through `plugin`
/// with each record's connection's settings and prints them; exit code 1 when any maps
/// differently now.
pub fn run(
    cli: &Cli,
    plugin: &str,
    selection: Selection<'_>,
    connections: &ConnectionArgs,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(&connections.config).with_context(|| {
        "the records are mapped again with their connection's plugin settings: give the \
         connections file with --config"
    })?;
    let store = cli.existing_store()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut recorded, cut) = runtime.block_on(recorded(store.as_ref(), &selection))?;
    if let Some(only) = &connections.connection {
        recorded.retain(|record| record.mapping.entry.connection == *only);
    }
    if cut {
        println!("more than {SINCE_LIMIT} mappings since then: the first {SINCE_LIMIT} are run\n");
    }

    let mut plugins: HashMap<(String, World), LoadedPlugin> = HashMap::new();
    let (mut same, mut differ, mut skipped) = (0, 0, Vec::new());
    // Records the other world's plugin maps, by that world: counted, not run.
    let mut elsewhere: BTreeMap<&str, usize> = BTreeMap::new();
    for record in &recorded {
        let Some(function) = function_of(&record.mapping.entry.subject) else {
            continue;
        };
        let world = function.world();
        let connection = &record.mapping.entry.connection;
        let key = (connection.clone(), world);
        if !plugins.contains_key(&key) {
            let Some(settings) = settings_of(&config, connection, world) else {
                skipped.push(format!(
                    "{} (connection `{connection}` is not in the connections file, or has no {} plugin)",
                    record.mapping.entry.subject,
                    world.name()
                ));
                continue;
            };
            let loaded = load_one(
                plugin,
                cli.plugin_dir.as_deref(),
                &settings,
                &Limits::default(),
                &cli.cache(),
            )?;
            plugins.insert(key.clone(), loaded);
        }
        let loaded = &plugins[&key];
        if loaded.world() != world {
            *elsewhere.entry(world.name()).or_default() += 1;
            continue;
        }
        if print_one(loaded, function, record)? {
            same += 1;
        } else {
            differ += 1;
        }
    }
    for why in &skipped {
        println!("skipped {why}");
    }
    for (world, count) in &elsewhere {
        println!("skipped {count} records an {world} plugin maps (`{plugin}` is not one)");
    }
    if recorded.is_empty() {
        println!("no mapped records found in the audit trail");
    }
    println!(
        "{same} the same, {differ} different, {} skipped",
        skipped.len() + elsewhere.values().sum::<usize>()
    );
    Ok(if differ == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A record's newest mapping in the audit trail, and what followed it.
struct Recorded {
    mapping: AuditRecord,
    /// What became of it: `posted as JV-1`, `sent`, `parked`... (`-` when nothing did).
    then: String,
}

/// The recorded mappings selected, and whether `--since` found more than it runs.
async fn recorded(
    store: &dyn Store,
    selection: &Selection<'_>,
) -> anyhow::Result<(Vec<Recorded>, bool)> {
    let mut cut = false;
    let (subjects, since): (BTreeSet<(String, String)>, Millis) = match selection {
        Selection::Record(subject) => {
            if function_of(subject).is_none() {
                anyhow::bail!(
                    "`{subject}`: name a record as order:<id>, refund:<id> or item:<sku>"
                );
            }
            let found = store.audit_for(subject).await?;
            let subjects = found
                .iter()
                .filter(|r| is_mapping(r))
                .map(|r| (r.entry.connection.clone(), subject.to_string()))
                .collect();
            (subjects, 0)
        }
        Selection::Since(time) => {
            let since = super::since_millis(time)?;
            let mut subjects = BTreeSet::new();
            for kind in ["mapped", "mapping-failed"] {
                let found = store.audit_of_kind(kind, since, SINCE_LIMIT).await?;
                cut |= found.len() == SINCE_LIMIT;
                for r in found {
                    subjects.insert((r.entry.connection, r.entry.subject));
                }
            }
            (subjects, since)
        }
    };
    let mut out = Vec::new();
    for (connection, subject) in subjects {
        let trail: Vec<AuditRecord> = store
            .audit_for(&subject)
            .await?
            .into_iter()
            .filter(|r| r.entry.connection == connection)
            .collect();
        let Some(at) = trail.iter().rposition(|r| is_mapping(r) && r.at >= since) else {
            continue;
        };
        // What followed, up to the next mapping: the posting or sending, else the last
        // word on it (parked, unchanged...).
        let after: Vec<&AuditRecord> = trail[at + 1..]
            .iter()
            .take_while(|r| !is_mapping(r))
            .filter(|r| r.entry.kind != "request")
            .collect();
        let then = after
            .iter()
            .find(|r| matches!(r.entry.kind.as_str(), "posted" | "sent"))
            .or(after.last())
            .map(|r| outcome(r))
            .unwrap_or_else(|| "-".to_string());
        out.push(Recorded {
            mapping: trail[at].clone(),
            then,
        });
        if out.len() >= SINCE_LIMIT {
            cut = true;
            break;
        }
    }
    Ok((out, cut))
}

fn is_mapping(record: &AuditRecord) -> bool {
    matches!(record.entry.kind.as_str(), "mapped" | "mapping-failed")
}

/// What an entry after a mapping says became of it.
fn outcome(record: &AuditRecord) -> String {
    let data: Value = serde_json::from_str(&record.entry.data).unwrap_or_default();
    match (record.entry.kind.as_str(), data["voucher"].as_str()) {
        ("posted", Some(voucher)) => format!("posted as {voucher}"),
        (kind, _) => kind.to_string(),
    }
}

/// The call that maps a record, by its subject's kind.
fn function_of(subject: &str) -> Option<Function> {
    match subject.split_once(':')?.0 {
        "order" => Some(Function::MapOrder),
        "refund" => Some(Function::MapRefund),
        "item" => Some(Function::MapItem),
        _ => None,
    }
}

/// The settings the connection gives its plugin of `world`.
fn settings_of(config: &Config, connection: &str, world: World) -> Option<Settings> {
    let connection = config.connections.get(connection)?;
    let plugin = match world {
        World::OrderToGl => Some(&connection.plugin),
        World::ItemToCatalog => connection.catalog.as_ref(),
    }?;
    Some(plugin.settings_list())
}

/// Maps one recorded input again and prints it beside the recorded answer; true when
/// the plugin answers the same.
fn print_one(plugin: &LoadedPlugin, function: Function, record: &Recorded) -> anyhow::Result<bool> {
    let entry = &record.mapping.entry;
    let data: Value = serde_json::from_str(&entry.data)
        .with_context(|| format!("audit entry {} is not JSON", record.mapping.seq))?;
    let fixture = Fixture {
        description: entry.subject.clone(),
        function,
        config: BTreeMap::new(),
        input: data["input"].clone(),
        expectation: Expectation::Maps,
        case: None,
    };
    let run = fixture.run(plugin).with_context(|| {
        format!(
            "{} as recorded (audit entry {})",
            entry.subject, record.mapping.seq
        )
    })?;
    let by = &data["plugin"];
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(record.mapping.at) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    println!(
        "{} ({}): mapped {at} by {} {} ({}), then {}",
        entry.subject,
        entry.connection,
        by["name"].as_str().unwrap_or("?"),
        by["version"].as_str().unwrap_or("?"),
        by["sha256"].as_str().map_or("?", |h| &h[..12.min(h.len())]),
        record.then
    );
    // A catalog plugin may answer no update (`null`); a failure is recorded as `error`.
    let before = match data.get("error") {
        Some(error) => Err(error.as_str().unwrap_or_default().to_string()),
        None => Ok(&data["output"]),
    };
    let same = match (&before, &run.output) {
        (Ok(before), Ok(now)) => {
            let same = *before == now;
            match function {
                Function::MapItem => print_updates(before, now),
                _ => print_journals(before, now),
            }
            same
        }
        (Err(before), Ok(now)) => {
            println!("    then: error: {before}");
            println!("    now:  maps to");
            for line in pretty(now).lines() {
                println!("      {line}");
            }
            false
        }
        (Ok(before), Err(now)) => {
            println!("    then: mapped to");
            for line in pretty(before).lines() {
                println!("      {line}");
            }
            println!("    now:  error `{}`: {now}", now.code());
            false
        }
        (Err(before), Err(now)) => {
            println!("    then: error: {before}");
            println!("    now:  error `{}`: {now}", now.code());
            *before == now.to_string()
        }
    };
    println!("    {}\n", if same { "same" } else { "DIFFERENT" });
    Ok(same)
}

/// Net amount per ledger place (account, sub-account, cost centre) then and now, with the
/// line diff when only memos, dates or descriptions changed.
fn print_journals(before: &Value, now: &Value) {
    let net = |entry: &Value| {
        JournalEntry::deserialize(entry)
            .map(|entry| ledger::net_of(&entry))
            .unwrap_or_default()
    };
    let (then, now_net) = (net(before), net(now));
    println!("    {:<14} {:>18} {:>18}", "account", "then", "now");
    let places: BTreeSet<&Place> = then.keys().chain(now_net.keys()).collect();
    for place in places {
        let (_, account, sub_account, cost_centre) = place;
        let mut shown = account.clone();
        for part in [sub_account, cost_centre]
            .into_iter()
            .filter(|p| !p.is_empty())
        {
            shown = format!("{shown}/{part}");
        }
        let (a, b) = (then.get(place), now_net.get(place));
        let show = |net: Option<&i128>| net.map_or("-".to_string(), |n| ledger::amount_text(*n));
        println!(
            "    {shown:<14} {:>18} {:>18}{}",
            show(a),
            show(b),
            if a == b { "" } else { "  *" }
        );
    }
    if then == now_net && before != now {
        println!("    the same per account; the entry differs (- then, + now):");
        for line in json_diff(before, now).lines() {
            println!("    {line}");
        }
    }
}

/// A catalog update's fields, then and now.
fn print_updates(before: &Value, now: &Value) {
    println!("    {:<14} {:>18} {:>18}", "field", "then", "now");
    let fields: BTreeSet<&String> = before
        .as_object()
        .into_iter()
        .chain(now.as_object())
        .flat_map(|o| o.keys())
        .collect();
    for field in fields {
        let show = |v: &Value| match v {
            Value::Null => "-".to_string(),
            Value::String(s) => s.clone(),
            Value::Number(n) if field.ends_with("price") => {
                n.as_i64().map_or(n.to_string(), crate::money::format)
            }
            other => other.to_string(),
        };
        let (a, b) = (&before[field.as_str()], &now[field.as_str()]);
        println!(
            "    {field:<14} {:>18} {:>18}{}",
            show(a),
            show(b),
            if a == b { "" } else { "  *" }
        );
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialise")
}
