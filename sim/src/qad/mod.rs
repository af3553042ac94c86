//! A QAD Adaptive ERP simulator, served over real HTTP on 127.0.0.1, following the contract
//! in `docs/qad.md`.
//!
//! Several tenants, each at `/<tenant>/clouderp` and identically at `/<tenant>/qad-central`,
//! with an OAuth client id, users, static bearer tokens, a token lifetime, optionally
//! disabled entity paths, and seeded data ([`model`]). Every tenant request passes one gate
//! ([`gate`]): under `/api/` the credentials (a bearer token issued by `oauth/token` and
//! not expired on the simulated clock, a static token, or HTTP Basic; else 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"`), the `x-qad-workspace-id` header
//! (absent: the tenant's first workspace; unknown: 403), write permission (a read-only
//! user's POST or DELETE: 403) and disabled paths (404); then injected faults, which hit
//! admitted requests only (so a fault aimed at a journal post is not used up by a 401).
//! Gateway and permission failures have QAD's bare shape `{"errors": [{"severity": 1,
//! "code": "403", "message": "Access is denied", "fieldName": ""}]}`; business failures
//! are HTTP 200 with `submitResult.success == false`.
//!
//! The endpoints: [`auth`] (`oauth/token`), [`erp`] (the OpenAPI document and the
//! `api/erp` collections), [`browses`] (`api/qracore/browses` and its total count) and
//! [`journals`] (journal entries: validation, posting, reading back); [`qxtend`] takes
//! QDocs over SOAP at `/qxi/services/QdocWebService` for the tenant its receiver names,
//! posting through the same validation and ledger; [`control`] is the test side (ledger, customers, periods, item changes, duplicate guard, faults, clock) as
//! methods on [`QadSim`] and over HTTP under `/_sim/qad/`. They answer in the shapes of
//! `answers`, read the query string with `params` and work on their tenant through
//! `scope`; `faults` are the injected faults and the answers they make.
//!
//! Time: the simulated clock starts at [`QadOptions::start`] (default [`DEMO_START`]),
//! runs with the wall clock and moves forward with [`QadSim::advance`]; it decides token
//! expiry and every change stamp.

mod answers;
pub mod auth;
pub mod browses;
pub mod control;
pub mod erp;
mod faults;
mod gate;
pub mod journals;
pub mod model;
mod params;
pub mod qxtend;
mod scope;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use control::{ControlError, PriceRow};
pub use faults::{QadFault, QadFaultAction};
pub use model::{
    Currency, DEMO_START, Daybook, ExchangeRate, GlAccount, GlPeriod, Money, PeriodStatus,
    PostedJournal, PostedLine, Rate, SimCustomer, SimItem, SimMfgCustomer, SimPrice, Site, Stamp,
    TenantData, Workspace,
};

use crate::rng::Rng;
use crate::sync::lock;

/// A user of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    pub username: String,
    pub password: String,
    /// Without it every POST and DELETE under `/api/` is a 403.
    pub can_write: bool,
}

impl SimUser {
    pub fn new(username: &str, password: &str, can_write: bool) -> SimUser {
        SimUser {
            username: username.into(),
            password: password.into(),
            can_write,
        }
    }
}

/// One tenant: its OAuth client, users, tokens and data.
#[derive(Debug, Clone)]
pub struct SimTenant {
    pub name: String,
    /// 32 hex digits, as QAD issues per environment.
    pub client_id: String,
    pub users: Vec<SimUser>,
    /// Bearer tokens accepted as issued elsewhere (a JWT from another login); they never
    /// expire and may write.
    pub static_tokens: Vec<String>,
    /// Lifetime of issued access tokens, in simulated time.
    pub token_ttl: Duration,
    /// Entity paths (`/api/erp/glPeriods`) missing from this tenant's OpenAPI document and
    /// answered with 404.
    pub disabled_paths: Vec<String>,
    /// The QXtend receiver that names this tenant in `wsa:To`
    /// (`urn:services-qad-com:<receiver>`).
    pub qxtend_receiver: String,
    pub data: TenantData,
}

impl SimTenant {
    /// The standard seed, with change stamps leading up to [`DEMO_START`].
    pub fn demo(name: &str) -> SimTenant {
        SimTenant::demo_at(name, DEMO_START)
    }

    /// The standard seed with change stamps leading up to `start` (for a simulator started
    /// with that [`QadOptions::start`]): users `connector`/`s3cret` (writes),
    /// `readonly`/`readonly` (reads only) and `mfg@qad.com` with an empty password
    /// (writes); static token `static-jwt-<name>`; tokens live 300 s; QXtend receiver the
    /// name in upper case.
    pub fn demo_at(name: &str, start: OffsetDateTime) -> SimTenant {
        let digest = Sha256::digest(name.as_bytes());
        let client_id = hex::encode(&digest[..16]);
        SimTenant {
            name: name.into(),
            client_id,
            users: vec![
                SimUser::new("connector", "s3cret", true),
                SimUser::new("readonly", "readonly", false),
                SimUser::new("mfg@qad.com", "", true),
            ],
            static_tokens: vec![format!("static-jwt-{name}")],
            token_ttl: Duration::from_secs(300),
            disabled_paths: Vec::new(),
            qxtend_receiver: name.to_uppercase(),
            data: TenantData::demo(start, model::name_seed(name)),
        }
    }

    /// The same tenant without `path` (absent from its OpenAPI document, 404).
    pub fn without(mut self, path: &str) -> SimTenant {
        self.disabled_paths.push(path.to_string());
        self
    }

    /// The user with this name and password.
    pub(crate) fn user(&self, username: &str, password: &str) -> Option<&SimUser> {
        self.users
            .iter()
            .find(|u| u.username == username && u.password == password)
    }

    /// Whether the path below the tenant root is disabled.
    fn is_disabled(&self, path: &str) -> bool {
        self.disabled_paths.iter().any(|disabled| {
            let disabled = format!("/{}", disabled.trim_matches('/'));
            path == disabled || path.starts_with(&format!("{disabled}/"))
        })
    }
}

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct QadOptions {
    /// The simulated clock's starting time.
    pub start: OffsetDateTime,
}

impl Default for QadOptions {
    fn default() -> Self {
        QadOptions { start: DEMO_START }
    }
}

/// What a second journal post with an already-posted `externalReference` (same entity)
/// gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateGuard {
    /// Refused: a `submitResult` error on `externalReference`.
    #[default]
    Reject,
    /// Success, answering with the entry already posted (nothing new is posted).
    ReturnExisting,
    /// Posted again, as a QAD without such a guard would.
    Off,
}

impl DuplicateGuard {
    /// `reject`, `return-existing` or `off`.
    pub fn parse(text: &str) -> Option<DuplicateGuard> {
        match text.to_ascii_lowercase().replace('_', "-").as_str() {
            "reject" => Some(DuplicateGuard::Reject),
            "return-existing" => Some(DuplicateGuard::ReturnExisting),
            "off" => Some(DuplicateGuard::Off),
            _ => None,
        }
    }
}

/// What the simulator saw, for tests to assert on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QadCounters {
    /// Requests to tenant paths (not the control API).
    pub requests: u64,
    /// Successful password grants.
    pub logins: u64,
    /// Successful refresh grants.
    pub refreshes: u64,
    pub rejected_401: u64,
    pub rejected_403: u64,
    pub journals_posted: u64,
    /// Posts refused by the `Reject` duplicate guard.
    pub duplicates_refused: u64,
    /// Posts answered with the existing entry by the `ReturnExisting` guard.
    pub duplicates_returned: u64,
    pub faults_injected: u64,
    /// HTTP 200 answers with `submitResult.success == false`.
    pub business_errors: u64,
    /// QDocs QXtend processed (the SOAP checks passed).
    pub qdocs: u64,
    /// QDoc answers with `result` `error`.
    pub qdoc_errors: u64,
    /// SOAP Faults QXtend answered with.
    pub soap_faults: u64,
}

/// The simulator's clock: the wall clock from `sim_start`, plus manual advances.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    real_start: Instant,
    sim_start: OffsetDateTime,
    advanced: Duration,
}

impl Clock {
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.sim_start + self.real_start.elapsed() + self.advanced
    }
}

pub(crate) struct TenantState {
    pub(crate) account: SimTenant,
    pub(crate) tokens: HashMap<String, auth::Session>,
    pub(crate) refresh_tokens: HashMap<String, auth::Session>,
    pub(crate) faults: VecDeque<QadFault>,
    pub(crate) duplicate_guard: DuplicateGuard,
    pub(crate) snapshots: VecDeque<browses::Snapshot>,
}

impl TenantState {
    pub(crate) fn data(&mut self) -> &mut TenantData {
        &mut self.account.data
    }
}

pub(crate) struct Shared {
    pub(crate) tenants: HashMap<String, TenantState>,
    pub(crate) counters: QadCounters,
    pub(crate) clock: Clock,
    pub(crate) rng: Rng,
}

pub(crate) type SharedState = Arc<Mutex<Shared>>;

/// A running simulator. Dropping it stops the server.
pub struct QadSim {
    root_url: String,
    pub(crate) shared: SharedState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for QadSim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl QadSim {
    /// Starts the simulator on an ephemeral port of 127.0.0.1 with default options.
    pub async fn start(tenants: Vec<SimTenant>) -> std::io::Result<QadSim> {
        QadSim::start_with(tenants, QadOptions::default(), "127.0.0.1:0").await
    }

    /// Starts the simulator on `bind` (a loopback address) with `options`.
    pub async fn start_with(
        tenants: Vec<SimTenant>,
        options: QadOptions,
        bind: &str,
    ) -> std::io::Result<QadSim> {
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let root_url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Mutex::new(Shared {
            tenants: tenants
                .into_iter()
                .map(|account| {
                    let state = TenantState {
                        account,
                        tokens: HashMap::new(),
                        refresh_tokens: HashMap::new(),
                        faults: VecDeque::new(),
                        duplicate_guard: DuplicateGuard::default(),
                        snapshots: VecDeque::new(),
                    };
                    (state.account.name.clone(), state)
                })
                .collect(),
            counters: QadCounters::default(),
            clock: Clock {
                real_start: Instant::now(),
                sim_start: options.start,
                advanced: Duration::ZERO,
            },
            rng: Rng::new(0x0A0D),
        }));
        let app = Router::new()
            .merge(auth::router())
            .merge(erp::router())
            .merge(browses::router())
            .merge(journals::router())
            .merge(qxtend::router())
            .fallback(answers::not_found)
            .layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                gate::gate,
            ))
            .merge(control::router())
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(QadSim {
            root_url,
            shared,
            server,
        })
    }

    /// A tenant's base URL, as a client is configured with it:
    /// `http://127.0.0.1:PORT/<tenant>/clouderp`.
    pub fn base_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/clouderp", self.root_url)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn root_url(&self) -> &str {
        &self.root_url
    }

    pub fn counters(&self) -> QadCounters {
        lock(&self.shared).counters.clone()
    }
}

/// The route prefix of every tenant endpoint.
pub(crate) const PREFIX: &str = "/{tenant}/{root}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_paths_match_with_or_without_slashes() {
        let tenant = SimTenant::demo("t").without("api/erp/glPeriods/");
        assert!(tenant.is_disabled("/api/erp/glPeriods"));
        assert!(tenant.is_disabled("/api/erp/glPeriods/x"));
        assert!(!tenant.is_disabled("/api/erp/glPeriodsX"));
        assert_eq!(tenant.client_id.len(), 32);
        assert_eq!(SimTenant::demo("t").client_id, tenant.client_id);
        assert_ne!(SimTenant::demo("u").client_id, tenant.client_id);
    }
}
