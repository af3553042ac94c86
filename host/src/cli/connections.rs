//! What the commands that use connections share: choosing connections from
//! `connector.toml`, opening each one over the store ([`crate::connection`]) with
//! credentials from the environment or the secrets file beside the store, and claiming
//! the store for the one process that runs its schedules.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::{Cli, StoreAt};
use crate::config::{Config, ConnectionConfig};
use crate::connection::{self, Connection, Plugins};
use crate::plugins::{Registry, RegistryOptions};
use crate::store::sqlite::Claim;
use crate::store::{SqliteStore, Store};

#[derive(Args)]
pub struct ConnectionArgs {
    /// The connections file.
    #[arg(
        long,
        env = "ML_CONNECTOR_CONFIG",
        value_name = "FILE",
        default_value = "connector.toml"
    )]
    pub config: PathBuf,
    /// Only this connection.
    #[arg(long, value_name = "NAME")]
    pub connection: Option<String>,
}

/// The store, and the selected connections opened over it.
pub type Opened = (Arc<dyn Store>, Vec<Connection>);

/// The store and the selected connections, each plugin loaded once. `plugin` replaces
/// every connection's order plugin (a name or a `.wasm` path), keeping its settings.
pub fn open_connections(
    cli: &Cli,
    args: &ConnectionArgs,
    plugin: Option<&str>,
) -> anyhow::Result<Opened> {
    let cache = cli.cache();
    let plugins = Plugins::Load {
        dir: cli.plugin_dir.as_deref(),
        cache: &cache,
        replace: plugin,
    };
    open_with(cli, selected(args)?, &plugins)
}

/// [`open_connections`] for `run`: every connection's plugins come from one registry over
/// the plugin directory, which the caller watches.
pub fn open_live_connections(
    cli: &Cli,
    args: &ConnectionArgs,
) -> anyhow::Result<(Opened, Arc<Registry>)> {
    let selected = selected(args)?;
    let entries = selected
        .iter()
        .flat_map(|(name, config)| connection::registry_entries(name, config))
        .collect();
    let (registry, _) = Registry::open(RegistryOptions {
        dir: cli.plugin_dir.clone(),
        cache: cli.cache(),
        entries,
        ..RegistryOptions::default()
    });
    let opened = open_with(cli, selected, &Plugins::Live(&registry))?;
    Ok((opened, registry))
}

fn open_with(cli: &Cli, selected: Selected, plugins: &Plugins) -> anyhow::Result<Opened> {
    let store = cli.open_store()?;
    let secrets = cli.secrets();
    let connections = selected
        .iter()
        .map(|(name, config)| Connection::open(name, config, store.clone(), &secrets, plugins))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((store, connections))
}

/// Claims a SQLite store for the one process that runs its schedules and polls (`run`,
/// `sync`), until the claim is dropped. Holding it proves no other such process is alive,
/// so the leases and schedule claims they left (a killed process's) are freed at once. A
/// PostgreSQL store is shared by replicas and not claimed (`None`): a killed replica's
/// leases and claims are taken again once its sessions close (its presence lock).
pub async fn claim_store(cli: &Cli, role: &str) -> anyhow::Result<Option<Claim>> {
    let StoreAt::File(path) = cli.store_at() else {
        return Ok(None);
    };
    let claim = SqliteStore::claim(path, role)?;
    let store = SqliteStore::open(path)?;
    for role in CLAIMING_ROLES {
        let released = store.release_role(role).await?;
        if released > 0 {
            tracing::info!(
                released,
                role,
                "took back jobs a stopped process had leased"
            );
        }
    }
    Ok(Some(claim))
}

/// The commands that claim the store.
const CLAIMING_ROLES: [&str; 2] = ["run", "sync"];

type Selected = Vec<(String, ConnectionConfig)>;

/// The connections `args` selects from its file, by name.
pub fn selected(args: &ConnectionArgs) -> anyhow::Result<Selected> {
    let config = Config::load(&args.config)?;
    let selected: Selected = config
        .connections
        .into_iter()
        .filter(|(name, _)| args.connection.as_ref().is_none_or(|wanted| wanted == name))
        .collect();
    if selected.is_empty() {
        return Err(match &args.connection {
            Some(name) => anyhow::anyhow!("no connection `{name}` in {}", args.config.display()),
            None => anyhow::anyhow!("{} has no connections", args.config.display()),
        });
    }
    Ok(selected)
}
