//! What the commands that use connections share: choosing connections from
//! `connector.toml` and opening each one's clients, plugin and flow over the store, with
//! credentials from the environment or the secrets file beside the store.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::Cli;
use crate::bigcommerce::{self, Pacer, StoreConfig};
use crate::config::{self, Config, ConnectionConfig, PluginConfig};
use crate::flows::catalog::CatalogFlow;
use crate::flows::orders::OrderFlow;
use crate::plugins::registry::load_one;
use crate::plugins::{Entry, LoadedPlugin, PluginSlot, Registry, RegistryOptions};
use crate::qad::{Auth, Qad, QadClient, QxtendClient, QxtendConfig, TenantConfig};
use crate::secrets::Secrets;
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

/// The store, and one flow per selected connection.
pub type Opened = (Arc<dyn Store>, Vec<Arc<OrderFlow>>);

/// Where a command's flows get their plugins.
pub enum Plugins<'a> {
    /// Each loaded once; `replace` (a name or a `.wasm` path) stands in for every
    /// connection's order plugin, keeping its settings.
    Once { replace: Option<&'a str> },
    /// The slots of a registry that follows the plugin directory (`run`).
    Live(&'a Registry),
}

impl Plugins<'_> {
    /// The slot of `connection`'s plugin in `role` (`order` or `catalog`).
    fn slot(
        &self,
        cli: &Cli,
        connection: &str,
        role: &str,
        config: &PluginConfig,
    ) -> Result<Arc<PluginSlot>, String> {
        match self {
            Plugins::Once { replace } => {
                let name = match (role, replace) {
                    ("order", Some(name)) => name,
                    _ => config.name.as_str(),
                };
                Ok(PluginSlot::fixed(load_plugin(cli, name, config)?))
            }
            Plugins::Live(registry) => {
                let key = entry_key(connection, role);
                registry.slot(&key).ok_or_else(|| {
                    let why = registry
                        .list()
                        .into_iter()
                        .find(|status| status.name == key)
                        .and_then(|status| status.error)
                        .unwrap_or_else(|| format!("plugin `{}` is not loaded", config.name));
                    format!("connections.{connection}: {why}")
                })
            }
        }
    }
}

/// The registry key of `connection`'s plugin in `role`: `main:order`, `main:catalog`.
pub fn entry_key(connection: &str, role: &str) -> String {
    format!("{connection}:{role}")
}

/// The store and the selected connections' flows. `plugin` replaces every connection's
/// configured plugin (a name or a `.wasm` path), keeping its settings.
pub fn open_flows(
    cli: &Cli,
    args: &ConnectionArgs,
    plugin: Option<&str>,
) -> Result<Opened, String> {
    let (store, selected) = open_store(cli, args)?;
    flows_over(cli, store, selected, &Plugins::Once { replace: plugin })
}

/// [`open_flows`] for `run`: every connection's plugins come from one registry over the
/// plugin directory, which the caller watches.
pub fn open_live_flows(
    cli: &Cli,
    args: &ConnectionArgs,
) -> Result<(Opened, Arc<Registry>), String> {
    let (store, selected) = open_store(cli, args)?;
    let mut entries = Vec::new();
    for (name, connection) in &selected {
        let mut roles = vec![("order", &connection.plugin)];
        roles.extend(connection.catalog.iter().map(|c| ("catalog", c)));
        for (role, config) in roles {
            entries.push(Entry {
                key: entry_key(name, role),
                plugin: config.name.clone(),
                settings: config.settings_list(),
                limits: config.limits.limits(),
            });
        }
    }
    let (registry, _) = Registry::open(RegistryOptions {
        dir: cli.plugin_dir.clone(),
        cache: cli.cache(),
        entries,
        ..RegistryOptions::default()
    });
    let opened = flows_over(cli, store, selected, &Plugins::Live(&registry))?;
    Ok((opened, registry))
}

/// Claims the store for the one process that runs its schedules and polls (`run`, `sync`),
/// until the claim is dropped. Holding it proves no other such process is alive, so the
/// leases their workers left (a killed process's) are freed at once.
pub fn claim_store(cli: &Cli, role: &str) -> Result<Claim, String> {
    let claim = SqliteStore::claim(&cli.store, role).map_err(|e| e.to_string())?;
    let store = SqliteStore::open(&cli.store).map_err(|e| e.to_string())?;
    for role in CLAIMING_ROLES {
        let released = store.release_role(role).map_err(|e| e.to_string())?;
        if released > 0 {
            tracing::info!(
                released,
                role,
                "took back jobs a stopped process had leased"
            );
        }
    }
    Ok(claim)
}

/// The commands that claim the store.
const CLAIMING_ROLES: [&str; 2] = ["run", "sync"];

/// [`open_flows`] for a command that only looks (it may run beside `run`).
pub fn open_flows_to_look(cli: &Cli, args: &ConnectionArgs) -> Result<Opened, String> {
    let (store, selected) = open_store(cli, args)?;
    flows_over(cli, store, selected, &Plugins::Once { replace: None })
}

type Selected = Vec<(String, ConnectionConfig)>;

fn open_store(cli: &Cli, args: &ConnectionArgs) -> Result<(Arc<dyn Store>, Selected), String> {
    let selected = selected(args)?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&cli.store).map_err(|e| e.to_string())?);
    Ok((store, selected))
}

fn flows_over(
    cli: &Cli,
    store: Arc<dyn Store>,
    selected: Selected,
    plugins: &Plugins,
) -> Result<Opened, String> {
    let secrets = Secrets::beside(&cli.store);
    let mut flows = Vec::new();
    for (name, connection) in &selected {
        flows.push(open(
            cli,
            name,
            connection,
            plugins,
            store.clone(),
            &secrets,
        )?);
    }
    Ok((store, flows))
}

/// The connections `args` selects from its file, by name.
pub fn selected(args: &ConnectionArgs) -> Result<Selected, String> {
    let config = Config::load(&args.config)?;
    let selected: Selected = config
        .connections
        .into_iter()
        .filter(|(name, _)| args.connection.as_ref().is_none_or(|wanted| wanted == name))
        .collect();
    if selected.is_empty() {
        return Err(match &args.connection {
            Some(name) => format!("no connection `{name}` in {}", args.config.display()),
            None => format!("{} has no connections", args.config.display()),
        });
    }
    Ok(selected)
}

/// One connection's flow from its configuration.
fn open(
    cli: &Cli,
    name: &str,
    connection: &ConnectionConfig,
    plugins: &Plugins,
    store: Arc<dyn Store>,
    secrets: &Secrets,
) -> Result<Arc<OrderFlow>, String> {
    Ok(Arc::new(OrderFlow::new(
        name,
        &connection.store_hash,
        bigcommerce_client(name, connection, secrets)?,
        qad_tenant(name, connection, secrets)?,
        plugins.slot(cli, name, "order", &connection.plugin)?,
        store,
        connection.posting.policy(),
    )))
}

/// The connection's BigCommerce client.
pub fn bigcommerce_client(
    name: &str,
    connection: &ConnectionConfig,
    secrets: &Secrets,
) -> Result<bigcommerce::Client, String> {
    let key = |field: &str| format!("connections.{name}.{field}");
    let token = config::credential(
        &connection.bigcommerce_token,
        &key("bigcommerce_token"),
        secrets,
    )?;
    let store_config = match &connection.bigcommerce_api_root {
        Some(root) => StoreConfig::at(root, &token),
        None => StoreConfig::for_store(&connection.store_hash, &token),
    };
    bigcommerce::Client::new(store_config, Arc::new(Pacer::new())).map_err(|e| e.to_string())
}

/// The connection's QAD tenant over its write transport.
pub fn qad_tenant(
    name: &str,
    connection: &ConnectionConfig,
    secrets: &Secrets,
) -> Result<Qad, String> {
    let key = |field: &str| format!("connections.{name}.{field}");
    let q = &connection.qad;
    let auth = match (&q.bearer_token, &q.client_id, &q.username, &q.password) {
        (Some(token), ..) => Auth::Bearer {
            token: config::credential(token, &key("qad.bearer_token"), secrets)?,
        },
        (None, Some(client_id), Some(username), Some(password)) => Auth::Password {
            client_id: config::credential(client_id, &key("qad.client_id"), secrets)?,
            username: config::credential(username, &key("qad.username"), secrets)?,
            password: config::credential(password, &key("qad.password"), secrets)?,
        },
        _ => {
            return Err(format!(
                "{}: give bearer_token, or client_id, username and password",
                key("qad")
            ));
        }
    };
    let mut tenant = TenantConfig::new(&q.base_url, auth);
    tenant.workspace = q.workspace.clone();
    if let Some(path) = &q.openapi_path {
        tenant.openapi_path = path.clone();
    }
    q.paths.apply(&mut tenant.paths);
    let reads = QadClient::new(tenant).map_err(|e| e.to_string())?;
    Ok(match &q.qxtend {
        None => Qad::Rest(reads),
        Some(qx) => {
            let mut writes = QxtendConfig::new(
                &qx.url,
                &qx.receiver,
                &config::credential(&qx.username, &key("qad.qxtend.username"), secrets)?,
                &config::credential(&qx.password, &key("qad.qxtend.password"), secrets)?,
            );
            let workspace = q.workspace.as_deref().and_then(|w| w.split_once('_'));
            if let Some(version) = &qx.version {
                writes.version = version.clone();
            }
            writes.domain = qx
                .domain
                .clone()
                .or_else(|| workspace.map(|(domain, _)| domain.to_string()))
                .unwrap_or_default();
            writes.entity = qx
                .entity
                .clone()
                .or_else(|| workspace.map(|(_, entity)| entity.to_string()))
                .unwrap_or_default();
            Qad::Qxtend {
                writes: QxtendClient::new(writes).map_err(|e| e.to_string())?,
                reads,
            }
        }
    })
}

/// A plugin by name (the connection's own, or one given instead) with the configured
/// settings, loaded and its configuration validated.
pub fn load_plugin(cli: &Cli, name: &str, config: &PluginConfig) -> Result<LoadedPlugin, String> {
    load_one(
        name,
        cli.plugin_dir.as_deref(),
        &config.settings_list(),
        &config.limits.limits(),
        &cli.cache(),
    )
}

/// The catalog flow of `flow`'s connection, when its configuration has a `catalog`
/// plugin; it shares the order flow's clients and store.
pub fn open_catalog(
    cli: &Cli,
    args: &ConnectionArgs,
    flow: &OrderFlow,
    plugins: &Plugins,
) -> Result<Option<Arc<CatalogFlow>>, String> {
    let config = Config::load(&args.config)?;
    let Some(plugin) = config
        .connections
        .get(&flow.connection)
        .and_then(|c| c.catalog.as_ref())
    else {
        return Ok(None);
    };
    Ok(Some(Arc::new(CatalogFlow::new(
        flow.connection.clone(),
        Arc::new(flow.bigcommerce.clone()),
        flow.qad.clone(),
        plugins.slot(cli, &flow.connection, "catalog", plugin)?,
        flow.store.clone(),
    ))))
}
