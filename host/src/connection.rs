//! One connection assembled from its configuration, in one place: its BigCommerce client,
//! its QAD tenant over its write transport, its plugins, its order flow and (with a
//! catalog plugin) its catalog flow over the durable store, and the checks its webhooks
//! must pass. `run`, `sync`, `replay`, the other commands, the demo and the end-to-end
//! tests all open connections here, so they run the same wiring.

use std::path::Path;
use std::sync::Arc;

use crate::bigcommerce::{self, ClientError, Pacer, StoreConfig, WebhookAuth};
use crate::config::{self, ConfigError, ConnectionConfig, PluginConfig};
use crate::flows::catalog::CatalogFlow;
use crate::flows::orders::OrderFlow;
use crate::plugins::registry::load_one;
use crate::plugins::{CompileCache, Entry, LoadedPlugin, OpenError, PluginSlot, Registry, Shelf};
use crate::qad::{Auth, Qad, QadClient, QadError, QxtendClient, QxtendConfig, TenantConfig};
use crate::secrets::Reveal;
use crate::store::Store;

/// Why a connection cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("connections.{connection}: the BigCommerce client: {source}")]
    BigCommerce {
        connection: String,
        #[source]
        source: ClientError,
    },
    #[error("connections.{connection}: the QAD client: {source}")]
    Qad {
        connection: String,
        #[source]
        source: QadError,
    },
    #[error("connections.{connection}: {source}")]
    Plugin {
        connection: String,
        #[source]
        source: OpenError,
    },
    /// `run`'s registry has no version of the plugin it can serve.
    #[error("connections.{connection}: {reason}")]
    PluginNotLoaded { connection: String, reason: String },
}

/// Where a connection's plugins come from.
pub enum Plugins<'a> {
    /// Each loaded once from the plugin directory (or the built-ins); `replace` (a name or
    /// a `.wasm` path) stands in for the order plugin, keeping its settings.
    Load {
        dir: Option<&'a Path>,
        cache: &'a CompileCache,
        replace: Option<&'a str>,
    },
    /// The slots of a registry that follows the plugin directory (`run`).
    Live(&'a Registry),
    /// Loaded by the caller (tests that try a plugin with other settings).
    Given {
        order: Arc<PluginSlot>,
        catalog: Option<Arc<PluginSlot>>,
    },
}

/// The plugin roles a connection has: `order`, and `catalog` when configured.
pub const ORDER: &str = "order";
pub const CATALOG: &str = "catalog";

/// The registry key of `connection`'s plugin in `role`: `main:order`, `main:catalog`.
pub fn entry_key(connection: &str, role: &str) -> String {
    format!("{connection}:{role}")
}

/// The registry entries of a connection's plugins.
pub fn registry_entries(name: &str, config: &ConnectionConfig) -> Vec<Entry> {
    let mut roles = vec![(ORDER, &config.plugin)];
    roles.extend(config.catalog.iter().map(|c| (CATALOG, c)));
    roles
        .into_iter()
        .map(|(role, plugin)| Entry {
            key: entry_key(name, role),
            plugin: plugin.name.clone(),
            settings: plugin.settings_list(),
            limits: plugin.limits.limits(),
        })
        .collect()
}

impl Plugins<'_> {
    /// Where a record replayed with another plugin version finds it.
    fn shelf(&self) -> Option<Shelf> {
        match self {
            Plugins::Load { dir, cache, .. } => Some(Shelf {
                dir: dir.map(Path::to_path_buf),
                cache: (*cache).clone(),
            }),
            Plugins::Live(registry) => Some(registry.shelf()),
            Plugins::Given { .. } => None,
        }
    }

    /// The slot of `connection`'s plugin in `role`.
    fn slot(
        &self,
        connection: &str,
        role: &str,
        config: &PluginConfig,
    ) -> Result<Arc<PluginSlot>, ConnectionError> {
        match self {
            Plugins::Load {
                dir,
                cache,
                replace,
            } => {
                let name = match (role, replace) {
                    (ORDER, Some(name)) => name,
                    _ => config.name.as_str(),
                };
                let plugin = load_plugin(name, config, *dir, cache).map_err(|source| {
                    ConnectionError::Plugin {
                        connection: connection.into(),
                        source,
                    }
                })?;
                Ok(PluginSlot::fixed(plugin))
            }
            Plugins::Given { order, catalog } => match role {
                ORDER => Ok(order.clone()),
                _ => catalog
                    .clone()
                    .ok_or_else(|| ConnectionError::PluginNotLoaded {
                        connection: connection.into(),
                        reason: format!("no {role} plugin was given"),
                    }),
            },
            Plugins::Live(registry) => {
                let key = entry_key(connection, role);
                registry
                    .slot(&key)
                    .ok_or_else(|| ConnectionError::PluginNotLoaded {
                        connection: connection.into(),
                        reason: registry
                            .list()
                            .into_iter()
                            .find(|status| status.name == key)
                            .and_then(|status| status.error)
                            .unwrap_or_else(|| format!("plugin `{}` is not loaded", config.name)),
                    })
            }
        }
    }
}

/// A plugin by name (the configured one, or one given instead) with the configured
/// settings and limits, loaded and its configuration validated.
pub fn load_plugin(
    name: &str,
    config: &PluginConfig,
    dir: Option<&Path>,
    cache: &CompileCache,
) -> Result<LoadedPlugin, OpenError> {
    load_one(
        name,
        dir,
        &config.settings_list(),
        &config.limits.limits(),
        cache,
    )
}

/// One connection's parts.
pub struct Connection {
    pub name: String,
    pub config: ConnectionConfig,
    /// The store's client (its pacer shows the quota; the hook check uses it).
    pub bigcommerce: bigcommerce::Client,
    pub orders: Arc<OrderFlow>,
    /// With a catalog plugin.
    pub catalog: Option<Arc<CatalogFlow>>,
    /// What a webhook delivery must carry, when webhooks are configured.
    pub webhooks: Option<WebhookAuth>,
}

impl Connection {
    /// Opens connection `name` from its configuration over `store`; credentials are
    /// revealed from `secrets` (`secret:NAME`) or the environment (`env:NAME`).
    pub fn open(
        name: &str,
        config: &ConnectionConfig,
        store: Arc<dyn Store>,
        secrets: &dyn Reveal,
        plugins: &Plugins,
    ) -> Result<Connection, ConnectionError> {
        let policy = config.policy(name)?;
        let bigcommerce = bigcommerce_client(name, config, secrets)?;
        let qad = Arc::new(qad_tenant(name, config, secrets)?);
        let (_, settle_after) = config.qad.timing(&format!("connections.{name}.qad"))?;
        let source = Arc::new(bigcommerce.clone());
        let mut orders = OrderFlow::new(
            name,
            &config.store_hash,
            source.clone(),
            qad.clone(),
            plugins.slot(name, ORDER, &config.plugin)?,
            store.clone(),
            policy,
        );
        orders.settle_after = settle_after;
        orders.others = plugins.shelf();
        let orders = Arc::new(orders);
        let catalog = match &config.catalog {
            Some(plugin) => {
                let mut flow = CatalogFlow::new(
                    name.into(),
                    source,
                    qad,
                    plugins.slot(name, CATALOG, plugin)?,
                    store,
                );
                flow.drift = config.catalog_drift.unwrap_or_default();
                Some(Arc::new(flow))
            }
            None => None,
        };
        let webhooks = match &config.webhooks {
            Some(webhooks) => Some(webhook_auth(name, webhooks, secrets)?),
            None => None,
        };
        Ok(Connection {
            name: name.into(),
            config: config.clone(),
            bigcommerce,
            orders,
            catalog,
            webhooks,
        })
    }
}

/// The connection's BigCommerce client.
pub fn bigcommerce_client(
    name: &str,
    connection: &ConnectionConfig,
    secrets: &dyn Reveal,
) -> Result<bigcommerce::Client, ConnectionError> {
    let token = config::credential(
        &connection.bigcommerce_token,
        &format!("connections.{name}.bigcommerce_token"),
        secrets,
    )?;
    let store_config = match &connection.bigcommerce_api_root {
        Some(root) => StoreConfig::at(root, &token),
        None => StoreConfig::for_store(&connection.store_hash, &token),
    };
    bigcommerce::Client::new(store_config, Arc::new(Pacer::new())).map_err(|source| {
        ConnectionError::BigCommerce {
            connection: name.into(),
            source,
        }
    })
}

/// The connection's QAD tenant over its write transport.
pub fn qad_tenant(
    name: &str,
    connection: &ConnectionConfig,
    secrets: &dyn Reveal,
) -> Result<Qad, ConnectionError> {
    let key = |field: &str| format!("connections.{name}.{field}");
    let qad_error = |source| ConnectionError::Qad {
        connection: name.into(),
        source,
    };
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
            return Err(ConfigError::Invalid {
                key: key("qad"),
                reason: "give bearer_token, or client_id, username and password".into(),
            }
            .into());
        }
    };
    let (timeout, _) = q.timing(&key("qad"))?;
    let mut tenant = TenantConfig::new(&q.base_url, auth);
    tenant.timeout = timeout;
    tenant.workspace = q.workspace.clone();
    if let Some(path) = &q.openapi_path {
        tenant.openapi_path = path.clone();
    }
    q.paths.apply(&mut tenant.paths);
    let reads = QadClient::new(tenant).map_err(qad_error)?;
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
            writes.timeout = timeout;
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
                writes: QxtendClient::new(writes).map_err(qad_error)?,
                reads,
            }
        }
    })
}

/// The connection's webhook checks from its configuration.
fn webhook_auth(
    name: &str,
    webhooks: &config::WebhooksConfig,
    secrets: &dyn Reveal,
) -> Result<WebhookAuth, ConfigError> {
    let key = |field: &str| format!("connections.{name}.webhooks.{field}");
    Ok(WebhookAuth {
        client_secret: Some(config::credential(
            &webhooks.client_secret,
            &key("client_secret"),
            secrets,
        )?),
        shared_header: match &webhooks.shared_header {
            Some(header) => Some((
                header.name.clone(),
                config::credential(&header.value, &key("shared_header.value"), secrets)?,
            )),
            None => None,
        },
    })
}
