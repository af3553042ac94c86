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
//! guest_customer = "GUEST"
//!
//! [connections.main.plugin]
//! name = "order-to-gl"
//! settings = { daybook = "SO", "account.revenue" = "4000" }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::flows::orders::PostingPolicy;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub connections: BTreeMap<String, ConnectionConfig>,
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
    #[serde(default)]
    pub posting: PostingConfig,
    pub plugin: PluginConfig,
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
    /// Writes as QDocs through QXtend (on-premise Enterprise Edition); reads stay on the
    /// REST API above.
    #[serde(default)]
    pub qxtend: Option<QxtendSection>,
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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostingConfig {
    #[serde(default)]
    pub entity: Option<String>,
    #[serde(default)]
    pub layer: Option<String>,
    #[serde(default)]
    pub posted_statuses: Option<Vec<u32>>,
    #[serde(default)]
    pub guest_customer: Option<String>,
    #[serde(default)]
    pub base_currency: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// A plugin name (built-in or in the plugin directory) or a `.wasm` path.
    pub name: String,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Reads a credential reference: `env:NAME` from the environment, `secret:NAME` from the
/// encrypted secrets file (opened with the master key; see [`crate::secrets`]). A literal
/// is refused so that no secret is ever kept in the configuration file; no error carries
/// a value.
pub fn credential(
    value: &str,
    key: &str,
    secrets: &crate::secrets::Secrets,
) -> Result<String, String> {
    if let Some(name) = value.strip_prefix("secret:") {
        return secrets
            .reveal(name)
            .map(|value| value.as_str().to_owned())
            .map_err(|e| format!("{key}: {e}"));
    }
    let Some(name) = value.strip_prefix("env:") else {
        return Err(format!(
            "{key} must name where the credential is (`env:NAME` or `secret:NAME`), not contain it"
        ));
    };
    std::env::var(name).map_err(|_| format!("{key}: the environment variable {name} is not set"))
}

impl PostingConfig {
    pub fn policy(&self) -> PostingPolicy {
        let default = PostingPolicy::default();
        PostingPolicy {
            entity: self.entity.clone().unwrap_or(default.entity),
            layer: self.layer.clone().unwrap_or(default.layer),
            posted_statuses: self
                .posted_statuses
                .clone()
                .unwrap_or(default.posted_statuses),
            guest_customer: self
                .guest_customer
                .clone()
                .unwrap_or(default.guest_customer),
            base_currency: self.base_currency.clone().unwrap_or(default.base_currency),
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

    #[test]
    fn the_example_file_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/connector.toml");
        let config = Config::load(Path::new(path)).unwrap();
        let main = &config.connections["main"];
        assert_eq!(main.plugin.settings["account.revenue"], "4000");
        assert_eq!(main.posting.policy().base_currency, "USD");
    }

    #[test]
    fn credentials_come_from_the_environment_or_the_secrets_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = crate::secrets::Secrets::beside(&dir.path().join("store.db"));
        let literal = credential("s3cret", "qad.password", &secrets).unwrap_err();
        assert!(literal.contains("env:NAME") && literal.contains("secret:NAME"));
        assert!(!literal.contains("s3cret"), "{literal}");
        let missing = credential(
            "env:ML_CONNECTOR_TEST_UNSET_VARIABLE",
            "qad.password",
            &secrets,
        );
        assert!(missing.unwrap_err().contains("is not set"));
        let key = crate::secrets::MasterKey::parse(&[4; 32], "test").unwrap();
        secrets.set("QAD_PASSWORD", b"hunter2", &key).unwrap();
        // Without a master key in the environment the secret is not opened.
        if std::env::var_os(crate::secrets::KEY_VARIABLE).is_none()
            && std::env::var_os(crate::secrets::KEY_FILE_VARIABLE).is_none()
        {
            let error = credential("secret:QAD_PASSWORD", "qad.password", &secrets).unwrap_err();
            assert!(error.starts_with("qad.password: no master key"), "{error}");
        }
        let absent = credential("secret:NOT_THERE", "qad.password", &secrets).unwrap_err();
        assert!(absent.contains("no secret `NOT_THERE`") || absent.contains("master key"));
    }
}
