//! How to reach one QAD tenant: its full base URL, how to log in, the workspace, the
//! entity paths and view URIs (configurable, because QAD publishes none that hold for
//! every instance), where its OpenAPI document is, and the defaults ml-connector uses when
//! it creates customers. See `docs/qad.md` for what is grounded and what is assumed.

use std::time::Duration;

/// How the client authenticates.
#[derive(Clone)]
pub enum Auth {
    /// OAuth2 password grant at `{base}/oauth/token`, refreshed when the token expires.
    Password {
        client_id: String,
        username: String,
        password: String,
    },
    /// A bearer token (e.g. a JWT) issued elsewhere; it cannot be renewed here.
    Bearer { token: String },
    /// HTTP Basic.
    Basic { username: String, password: String },
}

impl Auth {
    /// The values that must never be kept (audit bodies are scrubbed of them).
    pub fn secrets(&self) -> Vec<&str> {
        match self {
            Auth::Password { password, .. } | Auth::Basic { password, .. } => vec![password],
            Auth::Bearer { token } => vec![token],
        }
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Password {
                client_id,
                username,
                ..
            } => f
                .debug_struct("Password")
                .field("client_id", client_id)
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Auth::Bearer { .. } => f
                .debug_struct("Bearer")
                .field("token", &"<redacted>")
                .finish(),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// One entity's REST collection: its path below the base URL and its view URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub path: String,
    pub view_uri: String,
}

impl Entity {
    fn new(path: &str, view_uri: &str) -> Entity {
        Entity {
            path: path.into(),
            view_uri: view_uri.into(),
        }
    }

    /// The collection name: the last path segment (`customerV2s`), which names the list
    /// in request and answer bodies.
    pub fn collection(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// Every entity path the client uses, with QAD's usual defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityPaths {
    pub customers: Entity,
    pub customer_domains: Entity,
    pub items: Entity,
    pub prices: Entity,
    pub journals: Entity,
    pub accounts: Entity,
    pub periods: Entity,
    /// The browse endpoint.
    pub browses: String,
    pub customer_browse: String,
    pub item_browse: String,
    pub price_browse: String,
}

impl Default for EntityPaths {
    fn default() -> Self {
        EntityPaths {
            customers: Entity::new(
                "/api/erp/customerV2s",
                "urn:be:com.qad.base.customer.ICustomerV2",
            ),
            customer_domains: Entity::new(
                "/api/erp/mfgCustomers",
                "urn:be:com.qad.base.customer.IMfgCustomer",
            ),
            items: Entity::new("/api/erp/items", "urn:be:com.qad.base.item.IItem"),
            prices: Entity::new(
                "/api/erp/priceListV2s",
                "urn:be:com.qad.sales.pricing.IPriceListV2",
            ),
            journals: Entity::new(
                "/api/erp/journalEntries",
                "urn:be:com.qad.financials.generalledger.journalentry.IJournalEntry",
            ),
            accounts: Entity::new("/api/erp/glAccounts", "urn:be:com.qad.base.coa.IGLAccount"),
            periods: Entity::new(
                "/api/erp/glPeriods",
                "urn:be:com.qad.financials.generalledger.IGLPeriod",
            ),
            browses: "/api/qracore/browses".into(),
            customer_browse: "urn:browse:bebrowse:com.qad.erp.base.customerV2s".into(),
            item_browse: "urn:browse:mfg:gp340".into(),
            price_browse: "urn:browse:bebrowse:com.qad.erp.sales.priceListV2s".into(),
        }
    }
}

/// What a customer ml-connector creates gets, besides the shopper's own details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerDefaults {
    pub shared_set: String,
    /// The domain whose customer record gets the site and daybook set.
    pub domain: String,
    pub site: String,
    pub daybook_set: String,
    pub currency: String,
    pub credit_terms: String,
    pub invoice_status: String,
    /// The four GL profiles (invoice control, credit note control, prepayment control,
    /// sales account) take this one profile.
    pub gl_profile: String,
    /// Customer codes are this prefix and a hash of the normalised email, 8 characters
    /// in all.
    pub code_prefix: String,
}

impl Default for CustomerDefaults {
    fn default() -> Self {
        CustomerDefaults {
            shared_set: "QMI-CUST".into(),
            domain: "10USA".into(),
            site: "10-100".into(),
            daybook_set: "WEB".into(),
            currency: "USD".into(),
            credit_terms: "NET30".into(),
            invoice_status: "OPEN".into(),
            gl_profile: "DOMESTIC".into(),
            code_prefix: "W".into(),
        }
    }
}

/// One tenant.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// The full base URL, e.g. `https://acme.qad.com/clouderp`.
    pub base_url: String,
    pub auth: Auth,
    /// `<domain>_<entity>`, sent as `x-qad-workspace-id`.
    pub workspace: Option<String>,
    pub paths: EntityPaths,
    /// Where the tenant's OpenAPI document is, below the base URL.
    pub openapi_path: String,
    pub customers: CustomerDefaults,
    /// Rows per browse page.
    pub page_size: u32,
    pub timeout: Duration,
    /// Attempts per read for transient failures (the first included).
    pub max_attempts: u32,
}

impl TenantConfig {
    pub fn new(base_url: &str, auth: Auth) -> TenantConfig {
        TenantConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            auth,
            workspace: None,
            paths: EntityPaths::default(),
            openapi_path: "/api-docs/openapi.json".into(),
            customers: CustomerDefaults::default(),
            page_size: 100,
            timeout: Duration::from_secs(30),
            max_attempts: 4,
        }
    }

    /// The entity code of the workspace (`10USACO` in `10USA_10USACO`).
    pub fn entity_code(&self) -> Option<&str> {
        self.workspace
            .as_deref()
            .and_then(|w| w.split_once('_'))
            .map(|(_, entity)| entity)
    }
}
