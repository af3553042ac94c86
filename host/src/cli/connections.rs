//! What `sync` and `replay` share: choosing connections from `connector.toml` and
//! opening each one's clients, plugin and flow over the store.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::Cli;
use crate::bigcommerce::{self, Pacer, StoreConfig};
use crate::config::{self, Config, ConnectionConfig, PluginConfig};
use crate::flows::catalog::CatalogFlow;
use crate::flows::orders::OrderFlow;
use crate::plugins::registry::load_one;
use crate::plugins::{Limits, LoadedPlugin};
use crate::qad::{Auth, Qad, QadClient, QxtendClient, QxtendConfig, TenantConfig};
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

/// The store and the selected connections' flows. `plugin` replaces every connection's
/// configured plugin (a name or a `.wasm` path), keeping its settings.
pub fn open_flows(
    cli: &Cli,
    args: &ConnectionArgs,
    plugin: Option<&str>,
) -> Result<Opened, String> {
    let config = Config::load(&args.config)?;
    let selected: Vec<(&String, &ConnectionConfig)> = config
        .connections
        .iter()
        .filter(|(name, _)| {
            args.connection
                .as_ref()
                .is_none_or(|wanted| wanted == *name)
        })
        .collect();
    if selected.is_empty() {
        return Err(match &args.connection {
            Some(name) => format!("no connection `{name}` in {}", args.config.display()),
            None => format!("{} has no connections", args.config.display()),
        });
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&cli.store).map_err(|e| e.to_string())?);
    // One process works a SQLite store: leases left by a stopped run are free again.
    let released = store.release_leases().map_err(|e| e.to_string())?;
    if released > 0 {
        tracing::info!(released, "took back jobs a stopped run had leased");
    }
    let mut flows = Vec::new();
    for (name, connection) in selected {
        flows.push(open(cli, name, connection, plugin, store.clone())?);
    }
    Ok((store, flows))
}

/// One connection's flow from its configuration.
fn open(
    cli: &Cli,
    name: &str,
    connection: &ConnectionConfig,
    plugin: Option<&str>,
    store: Arc<dyn Store>,
) -> Result<Arc<OrderFlow>, String> {
    let key = |field: &str| format!("connections.{name}.{field}");
    let token = config::credential(&connection.bigcommerce_token, &key("bigcommerce_token"))?;
    let store_config = match &connection.bigcommerce_api_root {
        Some(root) => StoreConfig::at(root, &token),
        None => StoreConfig::for_store(&connection.store_hash, &token),
    };
    let bigcommerce = bigcommerce::Client::new(store_config, Arc::new(Pacer::new()))
        .map_err(|e| e.to_string())?;
    let q = &connection.qad;
    let auth = match (&q.bearer_token, &q.client_id, &q.username, &q.password) {
        (Some(token), ..) => Auth::Bearer {
            token: config::credential(token, &key("qad.bearer_token"))?,
        },
        (None, Some(client_id), Some(username), Some(password)) => Auth::Password {
            client_id: config::credential(client_id, &key("qad.client_id"))?,
            username: config::credential(username, &key("qad.username"))?,
            password: config::credential(password, &key("qad.password"))?,
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
    let reads = QadClient::new(tenant).map_err(|e| e.to_string())?;
    let qad = match &q.qxtend {
        None => Qad::Rest(reads),
        Some(qx) => {
            let mut writes = QxtendConfig::new(
                &qx.url,
                &qx.receiver,
                &config::credential(&qx.username, &key("qad.qxtend.username"))?,
                &config::credential(&qx.password, &key("qad.qxtend.password"))?,
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
    };
    let plugin = load_plugin(
        cli,
        plugin.unwrap_or(&connection.plugin.name),
        &connection.plugin,
    )?;
    Ok(Arc::new(OrderFlow::new(
        name,
        &connection.store_hash,
        bigcommerce,
        qad,
        Arc::new(plugin),
        store,
        connection.posting.policy(),
    )))
}

/// A connection's plugin (`name` may replace the configured one), with its settings.
fn load_plugin(cli: &Cli, name: &str, config: &PluginConfig) -> Result<LoadedPlugin, String> {
    let settings: Vec<(String, String)> = config
        .settings
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    load_one(
        name,
        cli.plugin_dir.as_deref(),
        &settings,
        &Limits::default(),
        &cli.cache(),
    )
}

/// The catalog flow of `flow`'s connection, when its configuration has a `catalog`
/// plugin; it shares the order flow's clients and store.
pub fn open_catalog(
    cli: &Cli,
    args: &ConnectionArgs,
    flow: &OrderFlow,
) -> Result<Option<Arc<CatalogFlow>>, String> {
    let config = Config::load(&args.config)?;
    let Some(plugin) = config
        .connections
        .get(&flow.connection)
        .and_then(|c| c.catalog.as_ref())
    else {
        return Ok(None);
    };
    let loaded = load_plugin(cli, &plugin.name, plugin)?;
    Ok(Some(Arc::new(CatalogFlow::new(
        flow.connection.clone(),
        Arc::new(flow.bigcommerce.clone()),
        flow.qad.clone(),
        Arc::new(loaded),
        flow.store.clone(),
    ))))
}
