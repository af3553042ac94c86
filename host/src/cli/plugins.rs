//! `ml-connector plugins list|new|test|check`.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Subcommand;

use super::Cli;
use super::connections::ConnectionArgs;
use super::from_store::{self, Selection};
use crate::error::chain;
use crate::plugins::builtin::builtin;
use crate::plugins::fixture::{
    Fixture, FixtureRun, Outcome, Verdict, load_folder, record_answer, run_all,
};
use crate::plugins::inspect::inspect;
use crate::plugins::registry::{name_from_path, read_binary};
use crate::plugins::scaffold::{self, Language};
use crate::plugins::{Limits, LoadedPlugin, Registry, RegistryOptions, World};

#[derive(Subcommand)]
pub enum PluginsCommand {
    /// Every plugin found (built-in and in the plugin directory): name, version, world,
    /// hash and status, with the reason for any that is not active.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write a new plugin project: the mapping in Rust, JavaScript or Python, its build
    /// (one command, to dist/plugin.wasm), the contract's WIT, and fixtures on the shared
    /// cases with the answers it gives, so that `plugins test` and `plugins check` pass on
    /// its first build.
    New {
        /// The plugin's name: lowercase letters, digits and dashes.
        name: String,
        /// What it maps: orders, refunds and shoppers to QAD (order-to-gl), or QAD items to
        /// the store's catalog (item-to-catalog).
        #[arg(long, value_enum)]
        world: World,
        /// The language its mapping is written in.
        #[arg(long, value_enum)]
        lang: Language,
        /// Where to write it [default: ./<name>]; must not exist or be empty.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Run fixtures on a plugin and compare each answer with the fixture's expected
    /// output, printing a diff for each that differs. With one fixture file, print the
    /// result, fuel used, memory, time and any error. Exit code 1 when any fixture fails.
    ///
    /// With --from-store or --since, run records the service has mapped instead, as the
    /// plugin then received them (from the store's audit trail), with their connection's
    /// settings, and print each answer beside the one recorded and what became of it.
    /// Nothing is posted. Exit code 1 when any maps differently.
    Test {
        /// A plugin name (in the plugin directory or built-in) or a path to a .wasm file.
        plugin: String,
        /// A fixture file ({"function": "map-order", "config": {...}, "input": {...},
        /// "expected": {...}}) or a folder of them [default: the plugin folder's
        /// `fixtures/`].
        fixture: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Write each answer into its fixture as what it expects (`expected`, or
        /// `expected_error` with the error's code), after a change made on purpose;
        /// review the difference before keeping it.
        #[arg(long, conflicts_with = "json")]
        update: bool,
        /// The newest recorded mapping of one record: `order:<id>`, `refund:<id>` or
        /// `item:<sku>`.
        #[arg(long, value_name = "RECORD", conflicts_with_all = ["fixture", "json", "update", "since"])]
        from_store: Option<String>,
        /// The newest recorded mapping of every record mapped at or after this time
        /// (RFC 3339).
        #[arg(long, value_name = "TIME", conflicts_with_all = ["fixture", "json", "update"])]
        since: Option<String>,
        /// The connections file gives each record's connection's plugin settings (with
        /// --from-store or --since).
        #[command(flatten)]
        connections: ConnectionArgs,
    },
    /// Inspect a plugin file without installing it: world, contract version, imports,
    /// size, and for each fixture the fuel, memory and time it takes against the limits.
    /// Exit code 1 when the plugin would not load or a fixture fails.
    Check {
        /// A path to a .wasm file, or the name of a built-in plugin.
        plugin: String,
        /// A folder of fixtures [default: the plugin folder's `fixtures/`, if any].
        #[arg(long, value_name = "DIR")]
        fixtures: Option<PathBuf>,
    },
}

pub fn run(cli: &Cli, command: &PluginsCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginsCommand::List { json } => list(cli, *json),
        PluginsCommand::New {
            name,
            world,
            lang,
            dir,
        } => new(name, *world, *lang, dir.as_deref()),
        PluginsCommand::Test {
            plugin,
            from_store,
            since,
            connections,
            ..
        } if from_store.is_some() || since.is_some() => {
            let selection = match (from_store, since) {
                (Some(record), _) => Selection::Record(record),
                (None, Some(time)) => Selection::Since(time),
                (None, None) => unreachable!("guarded"),
            };
            from_store::run(cli, plugin, selection, connections)
        }
        PluginsCommand::Test {
            plugin,
            fixture: Some(fixture),
            json,
            update,
            ..
        } if fixture.is_file() => test_one(cli, plugin, fixture, *json, *update),
        PluginsCommand::Test {
            plugin,
            fixture,
            json,
            update,
            ..
        } => {
            let dir = match fixture {
                Some(dir) => dir.clone(),
                None => fixture_folder(cli, plugin).ok_or_else(|| {
                    anyhow::anyhow!(
                        "plugin `{plugin}` has no fixtures/ folder beside it; give a fixture file or folder"
                    )
                })?,
            };
            test_all(cli, plugin, &dir, *json, *update)
        }
        PluginsCommand::Check { plugin, fixtures } => check(cli, plugin, fixtures.as_deref()),
    }
}

fn list(cli: &Cli, json: bool) -> anyhow::Result<ExitCode> {
    let options = RegistryOptions {
        dir: cli.plugin_dir.clone(),
        cache: cli.cache(),
        limits: Limits::default(),
        settings: cli.plugin_settings()?,
        entries: Vec::new(),
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

/// The `fixtures/` folder of a plugin: beside a `.wasm` file or in the folder above it
/// (a build's output folder), or in `<plugin-dir>/<name>/`.
fn fixture_folder(cli: &Cli, plugin: &str) -> Option<PathBuf> {
    let path = Path::new(plugin);
    let folders: Vec<PathBuf> = if path.is_file() {
        path.parent()
            .map(|dir| dir.ancestors().take(2).map(Path::to_path_buf).collect())
            .unwrap_or_default()
    } else {
        cli.plugin_dir.iter().map(|dir| dir.join(plugin)).collect()
    };
    folders
        .into_iter()
        .map(|dir| dir.join("fixtures"))
        .find(|dir| dir.is_dir())
}

fn new(
    name: &str,
    world: World,
    language: Language,
    dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    let project = scaffold::create(&dir, name, world, language)?;
    println!(
        "wrote {} ({} files: {} plugin in {}, {} fixtures)",
        project.dir.display(),
        project.files.len(),
        world.name(),
        language.title(),
        project.fixtures
    );
    println!("next:");
    for (command, what) in [
        (format!("cd {}", project.dir.display()), ""),
        (
            language.build_command().to_string(),
            "writes dist/plugin.wasm",
        ),
        (
            "ml-connector plugins test dist/plugin.wasm".into(),
            "runs its fixtures",
        ),
        (
            "ml-connector plugins check dist/plugin.wasm".into(),
            "size, imports, limits",
        ),
    ] {
        match what {
            "" => println!("  {command}"),
            what => println!("  {command:<44} # {what}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn test_one(
    cli: &Cli,
    plugin: &str,
    fixture_path: &Path,
    json: bool,
    update: bool,
) -> anyhow::Result<ExitCode> {
    let fixture = Fixture::load(fixture_path)?;
    let loaded = cli.load_for_fixture(plugin, &fixture)?;
    let run = fixture.run(&loaded)?;
    if update {
        let changed = record_answer(fixture_path, &run)?;
        println!(
            "{} {}",
            if changed { "updated  " } else { "unchanged" },
            fixture_path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let verdict = fixture.verdict(&run);
    let report = &run.report;
    let limits = loaded.limits();
    if json {
        let mut out = run_json(&fixture_path.display().to_string(), &run, &verdict, limits);
        out["plugin"] = loaded.name().into();
        out["version"] = loaded.info().version.clone().into();
        out["world"] = loaded.world().name().into();
        out["sha256"] = loaded.inspection().sha256.clone().into();
        out["function"] = serde_json::to_value(fixture.function).expect("functions serialise");
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
        match &verdict {
            Verdict::Pass => println!("verdict  pass"),
            Verdict::Fail(why) => println!("verdict  FAIL: {why}"),
        }
    }
    Ok(exit_code(verdict == Verdict::Pass))
}

/// Runs every fixture in `dir` on `plugin`. The plugin is compiled once and given each
/// fixture's settings in turn.
fn test_all(
    cli: &Cli,
    plugin: &str,
    dir: &Path,
    json: bool,
    update: bool,
) -> anyhow::Result<ExitCode> {
    let (paths, fixtures) = load_folder(dir)?;
    let base = cli.load_for_fixture(plugin, &fixtures[0])?;
    let runs = run_all(&base, &paths, &fixtures);
    if update {
        return update_all(&runs);
    }
    let failed = runs.iter().filter(|r| !r.passed()).count();
    if json {
        let out: Vec<serde_json::Value> = runs.iter().map(|r| r.json(base.limits())).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("report serialises")
        );
    } else {
        println!(
            "plugin   {} {} ({}, sha256 {}), fixtures in {}",
            base.name(),
            base.info().version,
            base.world(),
            &base.inspection().sha256[..12],
            dir.display()
        );
        for run in &runs {
            run.print(base.limits());
        }
        println!("{} passed, {failed} failed", runs.len() - failed);
    }
    Ok(exit_code(failed == 0))
}

/// Records each run's answer in its fixture; exit code 1 when a fixture could not run.
fn update_all(runs: &[Outcome]) -> anyhow::Result<ExitCode> {
    let (mut changed, mut failed) = (0, 0);
    for outcome in runs {
        match &outcome.run {
            Ok((run, _)) => {
                let updated = record_answer(&outcome.path, run)?;
                changed += usize::from(updated);
                let status = if updated { "updated" } else { "same" };
                println!("{status:<8} {}", outcome.name);
            }
            Err(why) => {
                failed += 1;
                println!("FAIL     {:<40} {}", outcome.name, chain(why));
            }
        }
    }
    println!(
        "{changed} updated, {} unchanged, {failed} could not run",
        runs.len() - changed - failed
    );
    Ok(exit_code(failed == 0))
}

/// How `plugins test` and `plugins check` print a fixture's run.
trait Printed {
    fn print(&self, limits: &Limits);
    fn json(&self, limits: &Limits) -> serde_json::Value;
}

impl Printed for Outcome {
    fn print(&self, limits: &Limits) {
        match &self.run {
            Ok((run, verdict)) => {
                let r = &run.report;
                let status = if *verdict == Verdict::Pass {
                    "PASS"
                } else {
                    "FAIL"
                };
                println!(
                    "{status:<4} {:<40} fuel {:>11} ({:>6})  memory {:>6} KiB ({:>6})  time {:>7} us ({:>6})",
                    self.name,
                    group(r.fuel_consumed),
                    percent(r.fuel_consumed as u128, limits.fuel_per_record as u128),
                    r.memory_peak / 1024,
                    percent(r.memory_peak as u128, limits.memory_bytes as u128),
                    r.elapsed.as_micros(),
                    percent(r.elapsed.as_micros(), limits.time_per_call().as_micros()),
                );
                if let Verdict::Fail(why) = verdict {
                    println!("     {}", self.description);
                    for line in why.lines() {
                        println!("     {line}");
                    }
                }
            }
            Err(why) => {
                println!("FAIL {:<40} {}", self.name, chain(why));
            }
        }
    }

    fn json(&self, limits: &Limits) -> serde_json::Value {
        match &self.run {
            Ok((run, verdict)) => run_json(&self.name, run, verdict, limits),
            Err(why) => {
                serde_json::json!({"fixture": self.name, "pass": false, "failure": chain(why)})
            }
        }
    }
}

fn run_json(name: &str, run: &FixtureRun, verdict: &Verdict, limits: &Limits) -> serde_json::Value {
    let report = &run.report;
    let (output, error) = match &run.output {
        Ok(value) => (Some(value.clone()), None),
        Err(error) => (
            None,
            Some(serde_json::json!({"code": error.code(), "message": error.to_string()})),
        ),
    };
    serde_json::json!({
        "fixture": name,
        "pass": *verdict == Verdict::Pass,
        "failure": match verdict { Verdict::Pass => None, Verdict::Fail(why) => Some(why) },
        "output": output,
        "error": error,
        "fuel_consumed": report.fuel_consumed,
        "fuel_limit": limits.fuel_per_record,
        "memory_peak_bytes": report.memory_peak,
        "memory_limit_bytes": limits.memory_bytes,
        "elapsed_us": report.elapsed.as_micros() as u64,
        "time_limit_us": limits.time_per_call().as_micros() as u64,
        "logs": report.logs,
    })
}

/// `plugins check`: what the binary is, then its fixtures against the limits.
fn check(cli: &Cli, plugin: &str, fixtures: Option<&Path>) -> anyhow::Result<ExitCode> {
    let path = Path::new(plugin);
    let bytes = if path.exists() {
        read_binary(path).with_context(|| format!("cannot read {plugin}"))?
    } else {
        builtin(plugin)
            .ok_or_else(|| {
                anyhow::anyhow!("no file {plugin}, and no built-in plugin of that name (order-to-gl, item-to-catalog)")
            })?
            .to_vec()
    };
    let limits = Limits::default();
    println!("file      {plugin}");
    let inspection = match inspect(&bytes, limits.max_plugin_bytes) {
        Ok(inspection) => inspection,
        Err(error) => {
            println!("refused   {error}");
            return Ok(exit_code(false));
        }
    };
    println!(
        "size      {} bytes ({} of the {} allowed)",
        group(inspection.size),
        percent(inspection.size as u128, limits.max_plugin_bytes as u128),
        group(limits.max_plugin_bytes)
    );
    println!("sha256    {}", inspection.sha256);
    println!("world     {}", inspection.world);
    let contract = inspection.contract;
    println!(
        "contract  {}@{}{}",
        crate::plugins::bindings::PACKAGE,
        inspection.api_version,
        if contract == crate::plugins::bindings::Contract::NEWEST {
            String::new()
        } else {
            format!(
                " (served as {contract}; the newest is {})",
                crate::plugins::bindings::Contract::NEWEST
            )
        }
    );
    for (i, import) in inspection.imports.iter().enumerate() {
        println!("{:<9} {import}", if i == 0 { "imports" } else { "" });
    }
    for (i, export) in inspection.exports.iter().enumerate() {
        println!("{:<9} {export}", if i == 0 { "exports" } else { "" });
    }

    let folder = match fixtures {
        Some(dir) => Some(dir.to_path_buf()),
        None => fixture_folder(cli, plugin),
    };
    let (paths, fixtures) = match &folder {
        Some(dir) => load_folder(dir)?,
        None => (Vec::new(), Vec::new()),
    };
    // Settings to load with: the first fixture's, else the `--settings` file's.
    let name = name_from_path(Path::new(plugin));
    let settings = match fixtures.first() {
        Some(fixture) => fixture.settings(),
        None => cli.plugin_settings()?.remove(&name).unwrap_or_default(),
    };
    let started = Instant::now();
    let cache = cli.cache();
    let loaded = match LoadedPlugin::load(&name, &bytes, limits.clone(), settings, &cache) {
        Ok(loaded) => loaded,
        Err(error) => {
            println!("refused   {error}");
            return Ok(exit_code(false));
        }
    };
    println!(
        "load      {} ms (compile or compile cache, type check, describe, validate-config)",
        started.elapsed().as_millis()
    );
    println!(
        "plugin    {} {}: {}",
        loaded.info().name,
        loaded.info().version,
        loaded.info().description
    );
    let Some(dir) = folder else {
        println!("fixtures  none (no fixtures/ folder beside the plugin; use --fixtures DIR)");
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "limits    per record: fuel {}, memory {} KiB, time {} ms",
        group(limits.fuel_per_record),
        limits.memory_bytes / 1024,
        limits.time_per_call().as_millis()
    );
    println!("fixtures  {}", dir.display());
    let runs = run_all(&loaded, &paths, &fixtures);
    for run in &runs {
        run.print(&limits);
    }
    let failed = runs.iter().filter(|r| !r.passed()).count();
    println!("{} passed, {failed} failed", runs.len() - failed);
    Ok(exit_code(failed == 0))
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `part` as a percentage of `whole` with one decimal, e.g. `12.5%`.
fn percent(part: u128, whole: u128) -> String {
    let tenths = (part * 1000).checked_div(whole).unwrap_or(0);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// `12345678` as `12,345,678`.
fn group(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
