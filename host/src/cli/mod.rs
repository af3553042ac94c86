//! The command line: global options here, one file per command.

mod audit;
mod check;
mod connections;
mod console;
#[cfg(feature = "demo")]
mod demo;
mod dry_run;
mod from_store;
mod init;
mod plugins;
pub(crate) mod reconcile;
mod replay;
mod run;
mod secrets;
pub(crate) mod status;
mod sync;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::plugins::fixture::Fixture;
use crate::plugins::registry::load_one;
use crate::plugins::{CompileCache, Limits, LoadedPlugin, Settings};
use crate::secrets::{MasterKey, Secrets, SecretsError};
use crate::store::{AuditKey, PostgresStore, SqliteStore, Store};

#[derive(Parser)]
#[command(
    name = "ml-connector",
    version,
    about = "Keeps a QAD ERP ledger in step with a BigCommerce store."
)]
pub struct Cli {
    /// Directory of operator plugins (`<name>.wasm` or `<name>/plugin.wasm`); they
    /// replace the built-in plugins of the same name.
    #[arg(
        long,
        global = true,
        env = "ML_CONNECTOR_PLUGIN_DIR",
        value_name = "DIR"
    )]
    plugin_dir: Option<PathBuf>,

    /// Where compiled plugins are cached [default: $XDG_CACHE_HOME/ml-connector/compiled].
    #[arg(
        long,
        global = true,
        env = "ML_CONNECTOR_CACHE_DIR",
        value_name = "DIR"
    )]
    cache_dir: Option<PathBuf>,

    /// Plugin settings: a TOML file with one table per plugin name, e.g.
    /// `[order-to-gl]` then `"account.revenue" = "4000"`.
    #[arg(
        long,
        global = true,
        env = "ML_CONNECTOR_SETTINGS",
        value_name = "FILE"
    )]
    settings: Option<PathBuf>,

    /// The store: queue, posted revisions and audit log. A SQLite file (one process runs
    /// the service), or a PostgreSQL URL (`postgres://user:password@host/db`) that several
    /// replicas of the service share; add `?sslmode=require` for TLS, the server's
    /// certificate checked against the public roots and the CA file PGSSLROOTCERT names.
    #[arg(
        long,
        global = true,
        env = "ML_CONNECTOR_STORE",
        value_name = "FILE|URL",
        default_value = "ml-connector.db"
    )]
    store: String,

    /// The encrypted secrets file. Default: beside a SQLite store (`<name>.secrets.db`),
    /// or `ml-connector.secrets.db` in the working directory with a PostgreSQL store.
    #[arg(long, global = true, env = "ML_CONNECTOR_SECRETS", value_name = "FILE")]
    secrets: Option<PathBuf>,

    /// Where the signed head of the audit log is kept (outside the store: it shows
    /// entries removed from the end of the log, or a log rewritten since). Default:
    /// beside a SQLite store (`<name>.audit-head`); none with a PostgreSQL store (the head
    /// is still logged). Written by `run` every minute and when it stops, and by `sync`.
    #[arg(
        long,
        global = true,
        env = "ML_CONNECTOR_AUDIT_HEAD",
        value_name = "FILE"
    )]
    audit_head: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// List, test and check mapping plugins.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// The whole flow on built-in simulators: seeded orders through the real pipeline,
    /// the catalog, and a check that the ledger reconciles.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Write a commented connector.toml to start from.
    Init(init::InitArgs),
    /// Poll BigCommerce and post what changed to QAD, for each configured connection.
    Sync(sync::SyncArgs),
    /// The service: BigCommerce webhooks in, queues worked, polls and hook checks on
    /// their schedules, /healthz and /metrics; plugins dropped into the plugin directory
    /// serve the next record; the operator console too, with a `[console]` section.
    Run(run::RunArgs),
    /// Each connection's queue, parked records, schedules, active plugins, cursors and
    /// quota.
    Status(status::StatusArgs),
    /// Run records again from the store (one, the parked ones, or those since a time),
    /// optionally with another plugin; `--dry-run` prints what would be posted.
    Replay(replay::ReplayArgs),
    /// Read the audit log: one record's history, or a check of the whole chain.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Keep credentials encrypted for `connector.toml` (`secret:NAME`).
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Try each connection against BigCommerce and QAD: one line per check, with what to
    /// do on failure.
    Check(check::CheckArgs),
    /// Fetch and map a record and print the journal it would post; post nothing.
    #[command(subcommand)]
    DryRun(dry_run::DryRunCommand),
    /// Compare the orders and refunds of a window with what QAD holds: missing,
    /// duplicated, or differing amounts, with totals per account.
    Reconcile(reconcile::ReconcileArgs),
    /// The operator console in the browser (served by `run` too, with a `[console]`
    /// section), and its operator accounts.
    #[command(subcommand)]
    Console(console::ConsoleCommand),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match &cli.command {
        Command::Plugins(command) => plugins::run(&cli, command),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(&cli, args),
        Command::Audit(command) => audit::run(&cli, command),
        Command::Init(args) => init::run(args),
        Command::Sync(args) => sync::run(&cli, args),
        Command::Run(args) => run::run(&cli, args),
        Command::Status(args) => status::run(&cli, args),
        Command::Replay(args) => replay::run(&cli, args),
        Command::Secrets(command) => secrets::run(&cli, command),
        Command::Check(args) => check::run(&cli, args),
        Command::DryRun(command) => dry_run::run(&cli, command),
        Command::Reconcile(args) => reconcile::run(&cli, args),
        Command::Console(command) => console::run(&cli, command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", crate::error::chain(error.as_ref()));
            ExitCode::from(2)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ML_CONNECTOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Where the store is, as `--store` names it.
#[derive(Debug, Clone, Copy)]
enum StoreAt<'a> {
    File(&'a Path),
    Postgres(&'a str),
}

impl Cli {
    fn store_at(&self) -> StoreAt<'_> {
        if crate::store::postgres::is_url(&self.store) {
            StoreAt::Postgres(&self.store)
        } else {
            StoreAt::File(Path::new(&self.store))
        }
    }

    /// The store, a SQLite file created if missing (a PostgreSQL store connects on its
    /// first use).
    fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        let store: Arc<dyn Store> = match self.store_at() {
            StoreAt::File(path) => Arc::new(SqliteStore::open(path)?),
            StoreAt::Postgres(url) => Arc::new(PostgresStore::open(url)?),
        };
        if let Some(key) = self.audit_key()? {
            store.key_audit(key);
        }
        Ok(store)
    }

    /// The audit key, from the master key when one is set (`None` without one: the log is
    /// then chained but not keyed).
    fn audit_key(&self) -> anyhow::Result<Option<AuditKey>> {
        match MasterKey::from_environment() {
            Ok(key) => Ok(Some(key.audit_key())),
            Err(SecretsError::NoKey) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Where the signed audit head is kept: `--audit-head`, else beside a SQLite store.
    fn audit_head_file(&self) -> Option<PathBuf> {
        match (&self.audit_head, self.store_at()) {
            (Some(path), _) => Some(path.clone()),
            (None, StoreAt::File(path)) => Some(path.with_extension("audit-head")),
            (None, StoreAt::Postgres(_)) => None,
        }
    }

    /// The store for a command that only reads it: a SQLite file must exist.
    fn existing_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        if let StoreAt::File(path) = self.store_at()
            && !path.exists()
        {
            anyhow::bail!(
                "no store at {} (set --store or ML_CONNECTOR_STORE)",
                path.display()
            );
        }
        self.open_store()
    }

    /// The secrets file: `--secrets`, else beside a SQLite store, else in the working
    /// directory.
    fn secrets(&self) -> Secrets {
        match (&self.secrets, self.store_at()) {
            (Some(path), _) => Secrets::at(path),
            (None, StoreAt::File(path)) => Secrets::beside(path),
            (None, StoreAt::Postgres(_)) => Secrets::at(Path::new("ml-connector.secrets.db")),
        }
    }

    /// The compile cache: the configured directory, else the user's cache directory,
    /// else none (every load compiles).
    fn cache(&self) -> CompileCache {
        let dir = self.cache_dir.clone().or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
                .map(|base| base.join("ml-connector").join("compiled"))
        });
        match dir.map(|dir| (CompileCache::at(&dir), dir)) {
            Some((Ok(cache), _)) => cache,
            Some((Err(error), dir)) => {
                tracing::warn!(dir = %dir.display(), %error, "compile cache unavailable; compiling every load");
                CompileCache::none()
            }
            None => CompileCache::none(),
        }
    }

    /// Loads `plugin` (a name or a path) with the fixture's settings, outside any registry.
    fn load_for_fixture(&self, plugin: &str, fixture: &Fixture) -> anyhow::Result<LoadedPlugin> {
        Ok(load_one(
            plugin,
            self.plugin_dir.as_deref(),
            &fixture.settings(),
            &Limits::default(),
            &self.cache(),
        )?)
    }

    /// Settings per plugin name from `--settings`.
    fn plugin_settings(&self) -> anyhow::Result<BTreeMap<String, Settings>> {
        let Some(path) = &self.settings else {
            return Ok(BTreeMap::new());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let tables: BTreeMap<String, BTreeMap<String, String>> =
            toml::from_str(&text).with_context(|| path.display().to_string())?;
        Ok(tables
            .into_iter()
            .map(|(name, table)| (name, table.into_iter().collect()))
            .collect())
    }
}

/// A progress bar on stderr when it is a terminal (hidden otherwise), counting `unit`.
/// The time a `--since TIME` option gives (RFC 3339), in milliseconds since the epoch.
pub(crate) fn since_millis(text: &str) -> anyhow::Result<crate::store::Millis> {
    let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| anyhow::anyhow!("--since `{text}` is not an RFC 3339 time"))?;
    Ok((time.unix_timestamp_nanos() / 1_000_000) as crate::store::Millis)
}

pub(crate) fn progress_bar(length: usize, unit: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(length as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{{msg}} [{{bar:40}}] {{pos}}/{{len}} {unit}"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
