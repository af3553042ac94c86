//! `connector.toml`: the connections ml-connector keeps in step, each a BigCommerce store,
//! a QAD tenant, the plugin that maps between them with its settings, and the posting
//! policy. Unknown keys are errors that name the key.
//!
//! Credentials are never written in the file: a credential is `env:NAME`, read from the
//! environment when the connection is opened.
//!
//! ```toml
//! [connections.main]
//! store_hash = "abc123"
//! bigcommerce_api_root = "https://api.bigcommerce.com/stores/abc123"  # optional
//! bigcommerce_token = "env:BC_TOKEN"
//!
//! [connections.main.qad]
//! base_url = "https://acme.qad.com/clouderp"
//! workspace = "10USA_10USACO"
//! client_id = "env:QAD_CLIENT_ID"
//! username = "env:QAD_USER"
//! password = "env:QAD_PASSWORD"
//!
//! # [connections.main.qad.qxtend]   # writes through QXtend instead
//! # url = "https://erp.example.com:8443/qxi/services/QdocWebService"
//! # receiver = "QADERP"
//! # username = "env:QXTEND_USER"
//! # password = "env:QXTEND_PASSWORD"
//!
//! [connections.main.posting]
//! entity = "10USACO"
//! guest_customer = "GUEST"               # guests without an email (or all, guests = "shared")
//!
//! [connections.main.plugin]
//! name = "order-to-gl"
//! settings = { daybook = "SO", "account.revenue" = "4000" }
//!
//! [connections.main.webhooks]            # for `ml-connector run`
//! public_url = "https://connector.example.com"
//! client_secret = "env:BC_CLIENT_SECRET"
//!
//! [connections.main.schedules]           # `every 15m` or cron (UTC)
//! reconcile = "*/15 * * * *"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::flows::catalog::DriftPolicy;
use crate::flows::orders::{Guests, PostingPolicy};
use crate::plugins::Limits;
use crate::qad::EntityPaths;
use crate::schedule::Schedule;
use crate::secrets::SecretsError;
use crate::sources::webhooks::{PRODUCT_SCOPES, SCOPES};

/// Why a connections file, or a value in it, cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or not the shape of a connections file (`explained` names the key).
    #[error("{}: {explained}", path.display())]
    Parse {
        path: PathBuf,
        explained: String,
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A value the types accept but the connector cannot use; `key` is its full path.
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
    /// A section every connection needs is missing.
    #[error("{key} is missing: give {keys}")]
    Missing { key: String, keys: &'static str },
    /// What the file says, in the file.
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<ConfigError>,
    },
    #[error(
        "{key} must name where the credential is (`env:NAME` or `secret:NAME`), not contain it"
    )]
    LiteralCredential { key: String },
    #[error("{key}: the environment variable {name} is not set")]
    MissingVariable { key: String, name: String },
    #[error("{key}: {source}")]
    Secret {
        key: String,
        #[source]
        source: SecretsError,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `ml-connector run`'s HTTP server.
    #[serde(default)]
    pub server: ServerConfig,
    /// The operator console (`run` serves it only when this section is there).
    #[serde(default)]
    pub console: Option<ConsoleConfig>,
    /// How long the store keeps what it no longer needs.
    #[serde(default)]
    pub retention: RetentionConfig,
    pub connections: BTreeMap<String, ConnectionConfig>,
}

/// `[retention]`: how long finished work is kept in the store (`run` prunes it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days a done job is kept after it ended, 1 to [`MAX_RETENTION_DAYS`]
    /// [default: [`RetentionConfig::DONE_JOBS_DAYS`]]. Its audit entries are kept
    /// whatever this says.
    #[serde(default)]
    pub done_jobs_days: Option<u32>,
}

/// The longest retention a setting may ask for (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;

impl RetentionConfig {
    /// Done jobs are kept this many days unless configured otherwise.
    pub const DONE_JOBS_DAYS: u32 = 30;

    /// How long a done job is kept.
    pub fn done_jobs(&self) -> Duration {
        let days = self.done_jobs_days.unwrap_or(Self::DONE_JOBS_DAYS);
        Duration::from_secs(u64::from(days) * 24 * 3600)
    }
}

/// The operator console: where it listens, and the https address it is reached at when
/// that is not the machine itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The address to listen on [default: 127.0.0.1:8081].
    #[serde(default)]
    pub listen: Option<String>,
    /// The console's https address as operators' browsers see it (a proxy in front ends
    /// TLS): its cookies are then `Secure` and forms must come from it. Needed to listen
    /// on anything but the loopback.
    #[serde(default)]
    pub public_url: Option<String>,
}

impl ConsoleConfig {
    pub const DEFAULT_LISTEN: &str = "127.0.0.1:8081";

    /// Where the console listens, and the origin its forms come from (`None`: the
    /// request's own host, on the loopback). A console other machines can reach must be
    /// reached over https: listening beyond the loopback needs an https `public_url`.
    pub fn address(&self, listen: Option<&str>) -> Result<(String, Option<String>), ConfigError> {
        let listen = listen
            .or(self.listen.as_deref())
            .unwrap_or(Self::DEFAULT_LISTEN)
            .to_string();
        let origin = match &self.public_url {
            Some(text) => {
                let url = url::Url::parse(text).map_err(|e| ConfigError::Invalid {
                    key: "console.public_url".into(),
                    reason: format!("not a URL: {e}"),
                })?;
                if url.scheme() != "https" {
                    return Err(ConfigError::Invalid {
                        key: "console.public_url".into(),
                        reason:
                            "the console is reached over https (its session cookies are Secure)"
                                .into(),
                    });
                }
                Some(url.origin().ascii_serialization())
            }
            None => None,
        };
        let loopback = listen
            .parse::<std::net::SocketAddr>()
            .map(|a| a.ip().is_loopback())
            .unwrap_or_else(|_| listen.starts_with("localhost:"));
        if !loopback && origin.is_none() {
            return Err(ConfigError::Invalid {
                key: "console.listen".into(),
                reason: format!(
                    "{listen} is reachable from other machines: give console.public_url, the https address a proxy serves the console at, or listen on 127.0.0.1"
                ),
            });
        }
        Ok((listen, origin))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The address to listen on [default: 127.0.0.1:8080].
    #[serde(default)]
    pub listen: Option<String>,
    /// Seconds a client has to send a request head, and a request to be read and
    /// answered [default: 10].
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// Connections open at once; more wait to be accepted [default: 256].
    #[serde(default)]
    pub max_connections: Option<usize>,
}

impl ServerConfig {
    /// The server's limits, the defaults where the file is silent.
    pub fn limits(&self) -> crate::server::Limits {
        let default = crate::server::Limits::default();
        crate::server::Limits {
            timeout: self
                .timeout_seconds
                .map_or(default.timeout, |s| Duration::from_secs(s.max(1))),
            max_connections: self.max_connections.unwrap_or(default.max_connections),
        }
    }
}

/// How BigCommerce reaches the service (`ml-connector run`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// The service's public base URL; hooks deliver to
    /// `{public_url}/webhooks/bigcommerce/{connection}`.
    pub public_url: String,
    /// `env:NAME`: the API account's client secret, which signs deliveries.
    pub client_secret: String,
    /// A custom header BigCommerce sends with every delivery, checked as a second secret.
    #[serde(default)]
    pub shared_header: Option<SharedHeader>,
    /// The scopes subscribed to [default: every scope ml-connector handles, the product
    /// ones only when `catalog_drift` is set].
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedHeader {
    pub name: String,
    /// `env:NAME`.
    pub value: String,
}

/// When the periodic work runs: `every <n><s|m|h|d>` or a cron expression (UTC).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulesConfig {
    /// The reconciliation poll of BigCommerce orders and refunds.
    #[serde(default = "default_reconcile")]
    pub reconcile: String,
    /// The check that the store's hooks exist and are active.
    #[serde(default = "default_hooks")]
    pub hooks: String,
    /// The QAD item and price poll (with a `catalog` plugin).
    #[serde(default = "default_catalog")]
    pub catalog: String,
}

fn default_reconcile() -> String {
    "every 15m".into()
}
fn default_hooks() -> String {
    "every 1h".into()
}
fn default_catalog() -> String {
    "every 10m".into()
}

impl Default for SchedulesConfig {
    fn default() -> Self {
        SchedulesConfig {
            reconcile: default_reconcile(),
            hooks: default_hooks(),
            catalog: default_catalog(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    pub store_hash: String,
    /// Overrides `https://api.bigcommerce.com/stores/{store_hash}` (a proxy, a simulator).
    #[serde(default)]
    pub bigcommerce_api_root: Option<String>,
    /// `env:NAME`.
    pub bigcommerce_token: String,
    pub qad: QadConfig,
    /// Required (no entity, currency or customer is guessed); see [`PostingConfig`].
    #[serde(default)]
    pub posting: Option<PostingConfig>,
    pub plugin: PluginConfig,
    /// The `item-to-catalog` plugin that maps QAD items to catalog updates (without it,
    /// the catalog is left alone).
    #[serde(default)]
    pub catalog: Option<PluginConfig>,
    /// Products edited in the store are checked against the item master (their webhooks
    /// subscribed to) when set: `report` parks the product's job with the differences,
    /// `restore` sends QAD's values again. Only with `catalog`. Each check reads the
    /// product, and the connector's own updates come back as webhooks too: the reads
    /// are the price of the check, hence opt-in.
    #[serde(default)]
    pub catalog_drift: Option<DriftPolicy>,
    /// Webhook delivery to `ml-connector run` (without it, `run` only polls).
    #[serde(default)]
    pub webhooks: Option<WebhooksConfig>,
    #[serde(default)]
    pub schedules: SchedulesConfig,
    /// Jobs of the connection that `run` and `sync` work at once, each of another
    /// document: 1 to [`MAX_JOBS_IN_FLIGHT`], [`crate::flows::worker::IN_FLIGHT`] when
    /// unset. It bounds the connection's requests in flight to QAD too.
    #[serde(default)]
    pub jobs_in_flight: Option<usize>,
}

/// The most jobs of one connection worked at once.
pub const MAX_JOBS_IN_FLIGHT: usize = 64;

impl ConnectionConfig {
    /// How many of the connection's jobs are worked at once.
    pub fn jobs_in_flight(&self) -> usize {
        self.jobs_in_flight
            .unwrap_or(crate::flows::worker::IN_FLIGHT)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QadConfig {
    pub base_url: String,
    #[serde(default)]
    pub workspace: Option<String>,
    /// With `username` and `password`: the OAuth2 password grant.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Instead: a bearer token issued elsewhere.
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// Where the tenant's OpenAPI document is, below the base URL.
    #[serde(default)]
    pub openapi_path: Option<String>,
    /// Entity paths that differ from the defaults.
    #[serde(default)]
    pub paths: PathsConfig,
    /// Writes as QDocs through QXtend (on-premise Enterprise Edition); reads stay on the
    /// REST API above.
    #[serde(default)]
    pub qxtend: Option<QxtendSection>,
    /// Seconds to wait for QAD's answer to a request [default: 30].
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// Seconds from a post whose answer was not seen (a timeout, a cut connection) until
    /// it is looked up to learn whether it landed; until then the document waits. Longer
    /// than the tenant (and any proxy before it) takes at most to finish a request, which
    /// makes the lookup conclusive [default: 120].
    #[serde(default)]
    pub settle_after_seconds: Option<u64>,
    /// Whether the tenant refuses a second journal entry under an external reference it
    /// already holds, as far as its operator knows (QAD documents no such guard;
    /// `check` warns unless this says `true`).
    #[serde(default)]
    pub duplicate_guard: Option<bool>,
}

impl QadConfig {
    /// The answer timeout and the time after which an unanswered post is looked up;
    /// `key` names the section in errors.
    pub fn timing(&self, key: &str) -> Result<(Duration, Duration), ConfigError> {
        let timeout = self.timeout_seconds.unwrap_or(30);
        let settle_after = self.settle_after_seconds.unwrap_or(120);
        if timeout == 0 {
            return Err(ConfigError::Invalid {
                key: format!("{key}.timeout_seconds"),
                reason: "give at least 1".into(),
            });
        }
        if settle_after <= timeout {
            return Err(ConfigError::Invalid {
                key: format!("{key}.settle_after_seconds"),
                reason: format!(
                    "{settle_after} s is not longer than the timeout ({timeout} s): a post that timed out could still land after its lookup found nothing, and be posted twice"
                ),
            });
        }
        Ok((
            Duration::from_secs(timeout),
            Duration::from_secs(settle_after),
        ))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QxtendSection {
    /// `http(s)://host:port/qxi<instance>/services/QdocWebService`.
    pub url: String,
    /// The QXI receiver (`wsa:To` = `urn:services-qad-com:<receiver>`).
    pub receiver: String,
    /// The session `version`, e.g. `ERP3_2`.
    #[serde(default)]
    pub version: Option<String>,
    /// The session `domain` and `entity` (default: the workspace's).
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub entity: Option<String>,
    /// `env:NAME`.
    pub username: String,
    /// `env:NAME`.
    pub password: String,
}

/// `[connections.NAME.posting]`: where entries go. The entity, its base currency and the
/// guest customer are the tenant's own and must be given; the layer (QAD's official one),
/// the posted statuses (BigCommerce's sale statuses) and how guests are matched (by email)
/// have defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostingConfig {
    pub entity: String,
    pub base_currency: String,
    pub guest_customer: String,
    #[serde(default)]
    pub layer: Option<String>,
    #[serde(default)]
    pub posted_statuses: Option<Vec<u32>>,
    /// `by-email` (default): each guest email is a QAD customer, as a registered shopper
    /// is; `shared`: every guest order goes to `guest_customer`.
    #[serde(default)]
    pub guests: Guests,
}

/// The keys of `[posting]` that must be given.
const POSTING_KEYS: &str = "entity, base_currency and guest_customer";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// A plugin name (built-in or in the plugin directory) or a `.wasm` path.
    pub name: String,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// The sandbox's limits for this plugin, where the defaults do not suit.
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// Sandbox limits the operator sets: each raises or lowers the default, up to the hard
/// ceiling ([`Limits::CEILING`]); a plugin's own `plugin.toml` can only lower them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    #[serde(default)]
    pub fuel_per_record: Option<u64>,
    #[serde(default)]
    pub memory_mib: Option<usize>,
    #[serde(default)]
    pub time_per_record_ms: Option<u64>,
}

impl PluginConfig {
    /// The settings as every plugin call takes them.
    pub fn settings_list(&self) -> crate::plugins::Settings {
        self.settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl LimitsConfig {
    /// The defaults with the operator's settings in place of theirs.
    pub fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        if let Some(fuel) = self.fuel_per_record {
            limits.fuel_per_record = fuel;
        }
        if let Some(mib) = self.memory_mib {
            limits.memory_bytes = mib.saturating_mul(1024 * 1024);
        }
        if let Some(ms) = self.time_per_record_ms {
            limits.time_per_record_ms = ms;
        }
        limits
    }

    /// Each setting is above zero and at most the ceiling; `key` is the table's path.
    fn check(&self, key: &str) -> Result<(), ConfigError> {
        let ceiling = Limits::CEILING;
        for (field, value, max) in [
            (
                "fuel_per_record",
                self.fuel_per_record,
                ceiling.fuel_per_record,
            ),
            (
                "memory_mib",
                self.memory_mib.map(|m| m as u64),
                (ceiling.memory_bytes / (1024 * 1024)) as u64,
            ),
            (
                "time_per_record_ms",
                self.time_per_record_ms,
                ceiling.time_per_record_ms,
            ),
        ] {
            match value {
                Some(0) => {
                    return Err(ConfigError::Invalid {
                        key: format!("{key}.{field}"),
                        reason: "must be above zero".into(),
                    });
                }
                Some(value) if value > max => {
                    return Err(ConfigError::Invalid {
                        key: format!("{key}.{field}"),
                        reason: format!("{value} is over the ceiling of {max}"),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }
}
/// Where the tenant's entities are, where they differ from the defaults
/// (see docs/qad.md): each an API path below the base URL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsConfig {
    #[serde(default)]
    pub customers: Option<String>,
    #[serde(default)]
    pub customer_domains: Option<String>,
    #[serde(default)]
    pub items: Option<String>,
    #[serde(default)]
    pub prices: Option<String>,
    #[serde(default)]
    pub journals: Option<String>,
    #[serde(default)]
    pub accounts: Option<String>,
    #[serde(default)]
    pub periods: Option<String>,
    #[serde(default)]
    pub browses: Option<String>,
}

impl PathsConfig {
    pub fn apply(&self, paths: &mut EntityPaths) {
        for (given, entity) in [
            (&self.customers, &mut paths.customers),
            (&self.customer_domains, &mut paths.customer_domains),
            (&self.items, &mut paths.items),
            (&self.prices, &mut paths.prices),
            (&self.journals, &mut paths.journals),
            (&self.accounts, &mut paths.accounts),
            (&self.periods, &mut paths.periods),
        ] {
            if let Some(path) = given {
                entity.path = path.clone();
            }
        }
        if let Some(browses) = &self.browses {
            paths.browses = browses.clone();
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Config::from_text(&text, path)
    }

    /// Parses and checks a connections file's text (`path` names it in errors).
    pub fn from_text(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            explained: explain(text, &e),
            source: Box::new(e),
        })?;
        config.check().map_err(|e| ConfigError::InFile {
            path: path.into(),
            source: Box::new(e),
        })?;
        Ok(config)
    }

    /// What the types cannot say: `[posting]` is there, schedules parse, scopes are
    /// known, URLs are URLs.
    fn check(&self) -> Result<(), ConfigError> {
        if let Some(console) = &self.console {
            console.address(None)?;
        }
        if let Some(days) = self.retention.done_jobs_days
            && !(1..=MAX_RETENTION_DAYS).contains(&days)
        {
            return Err(ConfigError::Invalid {
                key: "retention.done_jobs_days".into(),
                reason: format!("{days} is not between 1 and {MAX_RETENTION_DAYS}"),
            });
        }
        for (name, connection) in &self.connections {
            let key = |field: &str| format!("connections.{name}.{field}");
            if connection.posting.is_none() {
                return Err(ConfigError::Missing {
                    key: format!("[{}]", key("posting")),
                    keys: POSTING_KEYS,
                });
            }
            let schedules = &connection.schedules;
            for (field, text) in [
                ("reconcile", &schedules.reconcile),
                ("hooks", &schedules.hooks),
                ("catalog", &schedules.catalog),
            ] {
                text.parse::<Schedule>().map_err(|e| ConfigError::Invalid {
                    key: key(&format!("schedules.{field}")),
                    reason: crate::error::chain(&e),
                })?;
            }
            connection.plugin.limits.check(&key("plugin.limits"))?;
            connection.qad.timing(&key("qad"))?;
            if let Some(n) = connection.jobs_in_flight
                && !(1..=MAX_JOBS_IN_FLIGHT).contains(&n)
            {
                return Err(ConfigError::Invalid {
                    key: key("jobs_in_flight"),
                    reason: format!("{n} is not between 1 and {MAX_JOBS_IN_FLIGHT}"),
                });
            }
            if let Some(catalog) = &connection.catalog {
                catalog.limits.check(&key("catalog.limits"))?;
            } else if connection.catalog_drift.is_some() {
                return Err(ConfigError::Invalid {
                    key: key("catalog_drift"),
                    reason: "drift is judged by the catalog plugin: add [catalog] or remove it"
                        .into(),
                });
            }
            if let Some(webhooks) = &connection.webhooks {
                if !webhooks.public_url.starts_with("https://")
                    && !webhooks.public_url.starts_with("http://")
                {
                    return Err(ConfigError::Invalid {
                        key: key("webhooks.public_url"),
                        reason: format!(
                            "`{}` is not a URL (BigCommerce delivers to https on port 443)",
                            webhooks.public_url
                        ),
                    });
                }
                for scope in webhooks.scopes.iter().flatten() {
                    if !SCOPES.contains(&scope.as_str()) {
                        return Err(ConfigError::Invalid {
                            key: key("webhooks.scopes"),
                            reason: format!(
                                "`{scope}` is not a scope ml-connector handles (one of {})",
                                SCOPES.join(", ")
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// A TOML error with the full key path of an unknown key and the nearest known one.
fn explain(text: &str, error: &toml::de::Error) -> String {
    let message = error.to_string();
    let Some(span) = error.span() else {
        return message;
    };
    let detail = error.message();
    let Some(rest) = detail.strip_prefix("unknown field `") else {
        return message;
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message;
    };
    // The table the key is in: the last `[header]` before it.
    let table = text[..span.start.min(text.len())]
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.starts_with('[') && line.ends_with(']'))
        .map(|line| {
            line.trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string()
        });
    let key = match table {
        Some(table) => format!("{table}.{unknown}"),
        None => unknown.to_string(),
    };
    let nearest = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|known| (edit_distance(unknown, known), known))
        .min()
        .filter(|(distance, known)| *distance <= 2.max(known.len() / 3));
    match nearest {
        Some((_, known)) => format!("unknown key `{key}`; did you mean `{known}`?\n{message}"),
        None => format!("unknown key `{key}`\n{message}"),
    }
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

impl WebhooksConfig {
    /// The subscribed scopes: as configured, else every scope ml-connector handles (the
    /// product ones only for a connection that checks drift, `checks_drift`).
    pub fn scopes(&self, checks_drift: bool) -> Vec<String> {
        match &self.scopes {
            Some(scopes) => scopes.clone(),
            None => SCOPES
                .iter()
                .filter(|scope| checks_drift || !PRODUCT_SCOPES.contains(scope))
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// Where `connection`'s deliveries go.
    pub fn destination(&self, connection: &str) -> String {
        format!(
            "{}/webhooks/bigcommerce/{connection}",
            self.public_url.trim_end_matches('/')
        )
    }
}

/// Reads a credential reference: `env:NAME` from the environment, `secret:NAME` from the
/// encrypted secrets file (opened with the master key; see [`crate::secrets`]). A literal
/// is refused so that no secret is ever kept in the configuration file; no error carries
/// a value.
pub fn credential(
    value: &str,
    key: &str,
    secrets: &dyn crate::secrets::Reveal,
) -> Result<String, ConfigError> {
    if let Some(name) = value.strip_prefix("secret:") {
        return secrets
            .reveal(name)
            .map(|value| value.as_str().to_owned())
            .map_err(|source| ConfigError::Secret {
                key: key.into(),
                source,
            });
    }
    let Some(name) = value.strip_prefix("env:") else {
        return Err(ConfigError::LiteralCredential { key: key.into() });
    };
    std::env::var(name).map_err(|_| ConfigError::MissingVariable {
        key: key.into(),
        name: name.into(),
    })
}

impl PostingConfig {
    pub fn policy(&self) -> PostingPolicy {
        PostingPolicy {
            entity: self.entity.clone(),
            layer: self
                .layer
                .clone()
                .unwrap_or_else(|| PostingPolicy::OFFICIAL_LAYER.into()),
            posted_statuses: self
                .posted_statuses
                .clone()
                .unwrap_or_else(|| PostingPolicy::SALE_STATUSES.to_vec()),
            guest_customer: self.guest_customer.clone(),
            guests: self.guests,
            base_currency: self.base_currency.clone(),
        }
    }
}

impl ConnectionConfig {
    /// The posting policy (`[posting]`, which [`Config::load`] has checked is there).
    pub fn policy(&self, name: &str) -> Result<PostingPolicy, ConfigError> {
        match &self.posting {
            Some(posting) => Ok(posting.policy()),
            None => Err(ConfigError::Missing {
                key: format!("[connections.{name}.posting]"),
                keys: POSTING_KEYS,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let error = toml::from_str::<Config>(
            "[connections.main]\nstore_hash = \"a\"\nbigcommerce_token = \"env:X\"\nstorehash = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("storehash"), "{error}");
    }

    /// Loads a one-connection file whose schedules section is `schedules`.
    fn load_with_schedules(schedules: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connector.toml");
        std::fs::write(
            &path,
            format!(
                "[connections.main]\nstore_hash = \"a\"\nbigcommerce_token = \"env:X\"\n\
                 [connections.main.qad]\nbase_url = \"https://q\"\n\
                 [connections.main.posting]\nentity = \"E\"\nbase_currency = \"USD\"\nguest_customer = \"G\"\n\
                 [connections.main.plugin]\nname = \"order-to-gl\"\n\
                 [connections.main.schedules]\n{schedules}\n"
            ),
        )
        .unwrap();
        Config::load(&path).map_err(|e| crate::error::chain(&e))
    }

    #[test]
    fn an_unknown_key_gets_its_path_and_the_nearest_known_key() {
        let error = load_with_schedules("reconcil = \"every 5m\"").unwrap_err();
        assert!(
            error.contains(
                "unknown key `connections.main.schedules.reconcil`; did you mean `reconcile`?"
            ),
            "{error}"
        );
        let error = load_with_schedules("reconcile = \"every 5 weeks\"").unwrap_err();
        assert!(
            error.contains("connections.main.schedules.reconcile"),
            "{error}"
        );
        assert!(error.contains("unknown unit"), "{error}");
        assert!(load_with_schedules("reconcile = \"*/5 * * * *\"").is_ok());
    }

    /// `Config::load` of one connection `main` with the required keys, `connection` added
    /// to its table, `qad` to its QAD table and `tail` after (more tables).
    fn load_main(connection: &str, qad: &str, tail: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connector.toml");
        std::fs::write(
            &path,
            format!(
                "[connections.main]\nstore_hash = \"a\"\nbigcommerce_token = \"env:X\"\n{connection}\n\
                 [connections.main.qad]\nbase_url = \"https://q\"\n{qad}\n\
                 [connections.main.posting]\nentity = \"E\"\nbase_currency = \"USD\"\nguest_customer = \"G\"\n\
                 [connections.main.plugin]\nname = \"order-to-gl\"\n{tail}"
            ),
        )
        .unwrap();
        Config::load(&path).map_err(|e| crate::error::chain(&e))
    }

    #[test]
    fn a_settle_time_not_longer_than_the_timeout_is_refused() {
        let load = |qad: &str| load_main("", qad, "");
        let error = load("timeout_seconds = 150").unwrap_err();
        assert!(
            error.contains("connections.main.qad.settle_after_seconds")
                && error.contains("posted twice"),
            "{error}"
        );
        let config = load("timeout_seconds = 5\nsettle_after_seconds = 20").unwrap();
        assert_eq!(
            config.connections["main"].qad.timing("q").unwrap(),
            (Duration::from_secs(5), Duration::from_secs(20))
        );
        assert!(load("timeout_seconds = 0").is_err());
    }

    #[test]
    fn product_webhooks_and_drift_go_with_a_catalog() {
        let load = |extra: &str| {
            load_main(
                extra,
                "",
                "[connections.main.webhooks]\npublic_url = \"https://c\"\nclient_secret = \"env:S\"\n",
            )
        };
        let error = load("catalog_drift = \"restore\"").unwrap_err();
        assert!(error.contains("catalog_drift"), "{error}");
        assert!(load("catalog_drift = \"sometimes\"").is_err());
        let with_catalog = load_main(
            "catalog_drift = \"restore\"",
            "",
            "[connections.main.catalog]\nname = \"item-to-catalog\"\n",
        )
        .unwrap();
        assert_eq!(
            with_catalog.connections["main"].catalog_drift,
            Some(DriftPolicy::Restore)
        );
        let config = load("").unwrap();
        let webhooks = config.connections["main"].webhooks.clone().unwrap();
        assert!(
            !webhooks
                .scopes(false)
                .contains(&"store/product/updated".to_string())
        );
        assert_eq!(webhooks.scopes(true).len(), SCOPES.len());
        assert!(
            webhooks
                .scopes(true)
                .contains(&"store/sku/updated".to_string())
        );
    }

    #[test]
    fn paths_and_limits_override_the_defaults() {
        let text = "[connections.main]\nstore_hash = \"a\"\nbigcommerce_token = \"env:X\"\n\
                    [connections.main.qad]\nbase_url = \"https://q\"\n\
                    paths = { journals = \"/api/custom/journals\" }\n\
                    [connections.main.posting]\nentity = \"E\"\nbase_currency = \"USD\"\n\
                    guest_customer = \"G\"\n\
                    [connections.main.plugin]\nname = \"order-to-gl\"\n\
                    limits = { fuel_per_record = 5000, memory_mib = 8 }\n";
        let config: Config = toml::from_str(text).unwrap();
        let main = &config.connections["main"];
        let mut paths = EntityPaths::default();
        main.qad.paths.apply(&mut paths);
        assert_eq!(paths.journals.path, "/api/custom/journals");
        assert_eq!(paths.customers.path, EntityPaths::default().customers.path);
        let limits = main.plugin.limits.limits();
        assert_eq!(
            (limits.fuel_per_record, limits.memory_bytes),
            (5000, 8 << 20)
        );
        assert_eq!(
            limits.time_per_record_ms,
            Limits::default().time_per_record_ms
        );
        // Above the defaults is allowed, above the ceiling is not.
        let raised = text.replace("fuel_per_record = 5000", "fuel_per_record = 1000000000");
        let config: Config = toml::from_str(&raised).unwrap();
        assert!(config.check().is_ok());
        assert_eq!(
            config.connections["main"]
                .plugin
                .limits
                .limits()
                .fuel_per_record,
            1_000_000_000
        );
        let over = text.replace("fuel_per_record = 5000", "fuel_per_record = 99000000000");
        let error = toml::from_str::<Config>(&over)
            .unwrap()
            .check()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "connections.main.plugin.limits.fuel_per_record: 99000000000 is over the ceiling of 20000000000"
        );
        let bad = toml::from_str::<Config>(&text.replace("journals =", "journal =")).unwrap_err();
        assert!(bad.to_string().contains("journal"), "{bad}");
    }

    /// A file with one connection and only what it must say.
    const MINIMAL: &str = "[connections.main]\nstore_hash = \"a\"\nbigcommerce_token = \"env:X\"\n\
                           [connections.main.qad]\nbase_url = \"https://q\"\n\
                           [connections.main.posting]\nentity = \"E\"\nbase_currency = \"USD\"\n\
                           guest_customer = \"G\"\n\
                           [connections.main.plugin]\nname = \"order-to-gl\"\n";

    #[test]
    fn jobs_in_flight_defaults_to_eight_and_is_bounded() {
        let text = MINIMAL;
        let config: Config = toml::from_str(text).unwrap();
        assert_eq!(config.connections["main"].jobs_in_flight(), 8);
        let with = |n: &str| {
            let text = text.replace(
                "bigcommerce_token = \"env:X\"\n",
                &format!("bigcommerce_token = \"env:X\"\njobs_in_flight = {n}\n"),
            );
            toml::from_str::<Config>(&text).unwrap()
        };
        let sixteen = with("16");
        assert!(sixteen.check().is_ok());
        assert_eq!(sixteen.connections["main"].jobs_in_flight(), 16);
        for refused in ["0", "65"] {
            assert_eq!(
                with(refused).check().unwrap_err().to_string(),
                format!("connections.main.jobs_in_flight: {refused} is not between 1 and 64")
            );
        }
    }

    #[test]
    fn done_jobs_are_kept_thirty_days_unless_configured_within_bounds() {
        let text = MINIMAL;
        let config: Config = toml::from_str(text).unwrap();
        assert_eq!(
            config.retention.done_jobs(),
            Duration::from_secs(30 * 24 * 3600)
        );
        let with = |n: &str| {
            toml::from_str::<Config>(&format!("[retention]\ndone_jobs_days = {n}\n{text}")).unwrap()
        };
        let week = with("7");
        assert!(week.check().is_ok());
        assert_eq!(
            week.retention.done_jobs(),
            Duration::from_secs(7 * 24 * 3600)
        );
        for refused in ["0", "3651"] {
            assert_eq!(
                with(refused).check().unwrap_err().to_string(),
                format!("retention.done_jobs_days: {refused} is not between 1 and 3650")
            );
        }
        let unknown = toml::from_str::<Config>(&format!("[retention]\naudit_days = 1\n{text}"));
        assert!(unknown.unwrap_err().to_string().contains("audit_days"));
    }

    #[test]
    fn the_example_file_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/connector.toml");
        let config = Config::load(Path::new(path)).unwrap();
        let main = &config.connections["main"];
        assert_eq!(main.plugin.settings["account.revenue"], "4000");
        assert_eq!(main.policy("main").unwrap().base_currency, "USD");
    }

    #[test]
    fn a_connection_without_posting_names_the_keys_it_needs() {
        let given = load_with_schedules("").unwrap();
        assert!(given.connections["main"].posting.is_some());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connector.toml");
        std::fs::write(
            &path,
            "[connections.main]\nstore_hash = \"a\"\nbigcommerce_token = \"env:X\"\n\
             [connections.main.qad]\nbase_url = \"https://q\"\n\
             [connections.main.plugin]\nname = \"order-to-gl\"\n",
        )
        .unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("[connections.main.posting] is missing")
                && error.contains("entity, base_currency and guest_customer"),
            "{error}"
        );
    }

    #[test]
    fn credentials_come_from_the_environment_or_the_secrets_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = crate::secrets::Secrets::beside(&dir.path().join("store.db"));
        let literal = credential("s3cret", "qad.password", &secrets)
            .unwrap_err()
            .to_string();
        assert!(literal.contains("env:NAME") && literal.contains("secret:NAME"));
        assert!(!literal.contains("s3cret"), "{literal}");
        let missing = credential(
            "env:ML_CONNECTOR_TEST_UNSET_VARIABLE",
            "qad.password",
            &secrets,
        );
        assert!(missing.unwrap_err().to_string().contains("is not set"));
        let key =
            crate::secrets::MasterKey::parse(hex::encode([4u8; 32]).as_bytes(), "test").unwrap();
        secrets.set("QAD_PASSWORD", b"hunter2", &key).unwrap();
        // Without a master key in the environment the secret is not opened.
        if std::env::var_os(crate::secrets::KEY_VARIABLE).is_none()
            && std::env::var_os(crate::secrets::KEY_FILE_VARIABLE).is_none()
        {
            let error = credential("secret:QAD_PASSWORD", "qad.password", &secrets)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("qad.password: no master key"), "{error}");
        }
        let absent = credential("secret:NOT_THERE", "qad.password", &secrets)
            .unwrap_err()
            .to_string();
        assert!(absent.contains("no secret `NOT_THERE`") || absent.contains("master key"));
    }
}
