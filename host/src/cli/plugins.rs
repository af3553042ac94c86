//! `ml-connector plugins list|test`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::Cli;
use crate::plugins::fixture::Fixture;
use crate::plugins::{Limits, Registry, RegistryOptions};

#[derive(Subcommand)]
pub enum PluginsCommand {
    /// Every plugin found (built-in and in the plugin directory): name, version, world,
    /// hash and status, with the reason for any that is not active.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run one mapping from a fixture file and print the result, fuel used, memory, time
    /// and any error. Exit code 1 when the record does not map.
    Test {
        /// A plugin name (in the plugin directory or built-in) or a path to a .wasm file.
        plugin: String,
        /// A fixture: {"function": "map-order", "config": {...}, "input": {...}}.
        fixture: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cli: &Cli, command: &PluginsCommand) -> Result<ExitCode, String> {
    match command {
        PluginsCommand::List { json } => list(cli, *json),
        PluginsCommand::Test {
            plugin,
            fixture,
            json,
        } => test(cli, plugin, fixture, *json),
    }
}

fn list(cli: &Cli, json: bool) -> Result<ExitCode, String> {
    let options = RegistryOptions {
        dir: cli.plugin_dir.clone(),
        cache: cli.cache(),
        limits: Limits::default(),
        settings: cli.plugin_settings()?,
    };
    let (registry, _) = Registry::open(options);
    let statuses = registry.list();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&statuses).expect("statuses serialise")
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<20} {:<10} {:<16} {:<14} {:<12} SOURCE",
        "NAME", "VERSION", "WORLD", "SHA256", "STATUS"
    );
    for s in &statuses {
        let sha = s
            .sha256
            .as_deref()
            .map(|h| &h[..12.min(h.len())])
            .unwrap_or("-");
        println!(
            "{:<20} {:<10} {:<16} {:<14} {:<12} {}",
            s.name,
            s.version.as_deref().unwrap_or("-"),
            s.world.as_deref().unwrap_or("-"),
            sha,
            s.status,
            s.source
        );
        if let Some(error) = &s.error {
            println!("  └ {error}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn test(cli: &Cli, plugin: &str, fixture_path: &PathBuf, json: bool) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(fixture_path)
        .map_err(|e| format!("cannot read {}: {e}", fixture_path.display()))?;
    let fixture = Fixture::parse(&text).map_err(|e| format!("{}: {e}", fixture_path.display()))?;
    let loaded = cli.load_for_fixture(plugin, &fixture)?;
    let run = fixture.run(&loaded)?;
    let report = &run.report;
    let limits = loaded.limits();
    if json {
        let (ok, error) = match &run.output {
            Ok(value) => (Some(value.clone()), None),
            Err(error) => (
                None,
                Some(serde_json::json!({"code": error.code(), "message": error.to_string()})),
            ),
        };
        let out = serde_json::json!({
            "plugin": loaded.name(),
            "version": loaded.info().version,
            "world": loaded.world(),
            "sha256": loaded.inspection().sha256,
            "function": fixture.function,
            "output": ok,
            "error": error,
            "fuel_consumed": report.fuel_consumed,
            "fuel_limit": limits.fuel_per_record,
            "memory_peak_bytes": report.memory_peak,
            "memory_limit_bytes": limits.memory_bytes,
            "elapsed_us": report.elapsed.as_micros() as u64,
            "logs": report.logs,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("report serialises")
        );
    } else {
        println!(
            "plugin   {} {} ({}, sha256 {})",
            loaded.name(),
            loaded.info().version,
            loaded.world(),
            &loaded.inspection().sha256[..12]
        );
        match &run.output {
            Ok(value) => println!(
                "result\n{}",
                serde_json::to_string_pretty(value).expect("output serialises")
            ),
            Err(error) => println!("error    {error}"),
        }
        println!(
            "fuel     {} of {} per record",
            report.fuel_consumed, limits.fuel_per_record
        );
        println!(
            "memory   {} KiB peak of {} KiB",
            report.memory_peak / 1024,
            limits.memory_bytes / 1024
        );
        println!(
            "time     {} us (fresh instance, one call)",
            report.elapsed.as_micros()
        );
        for line in &report.logs {
            println!("log      {line}");
        }
    }
    Ok(if run.output.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
