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
//! methods on [`QadSim`] and over HTTP under `/_sim/qad/`.
//!
//! Time: the simulated clock starts at [`QadOptions::start`] (default [`DEMO_START`]),
//! runs with the wall clock and moves forward with [`QadSim::advance`]; it decides token
//! expiry and every change stamp.

pub mod auth;
pub mod browses;
pub mod control;
pub mod erp;
pub mod journals;
pub mod model;
pub mod qxtend;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use control::{ControlError, PriceRow, QadFault, QadFaultAction};
pub use model::{
    Currency, DEMO_START, Daybook, ExchangeRate, GlAccount, GlPeriod, Money, PeriodStatus,
    PostedJournal, PostedLine, Rate, SimCustomer, SimItem, SimMfgCustomer, SimPrice, Site, Stamp,
    TenantData, Workspace,
};

use crate::rng::Rng;
use crate::wire::Object;

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
        let client_id = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
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

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) username: String,
    pub(crate) can_write: bool,
}

/// What the gate established about a request, for its handler.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) tenant: String,
    /// `clouderp` or `qad-central`.
    pub(crate) root: String,
    /// Set under `/api/`.
    pub(crate) identity: Option<Identity>,
    /// Set under `/api/`.
    pub(crate) workspace: Option<Workspace>,
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

pub(crate) fn lock(shared: &SharedState) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

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
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(shared.clone(), gate))
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

/// The context roots a tenant answers under.
const ROOTS: [&str; 2] = ["clouderp", "qad-central"];

/// A tenant path split into tenant, context root and the path below it.
struct Target {
    tenant: String,
    root: String,
    rest: String,
}

impl Target {
    fn parse(path: &str) -> Option<Target> {
        let mut parts = path.strip_prefix('/')?.splitn(3, '/');
        let tenant = parts.next()?;
        let root = parts.next()?;
        if tenant.is_empty() || !ROOTS.contains(&root) {
            return None;
        }
        Some(Target {
            tenant: tenant.to_string(),
            root: root.to_string(),
            rest: format!("/{}", parts.next().unwrap_or("")),
        })
    }
}

/// Faults that change an admitted request's answer.
enum Deferred {
    Delay(Duration),
    DropAfterCommit,
    TruncateJson,
}

/// What the gate decided for one request.
enum Admission {
    Refuse(Response),
    Admit(Ctx, Option<Deferred>),
}

/// Credentials, workspace, permission, disabled paths and faults for every tenant request.
async fn gate(State(shared): State<SharedState>, mut request: Request, next: Next) -> Response {
    let Some(target) = Target::parse(request.uri().path()) else {
        return next.run(request).await;
    };
    let admission = admit(
        &mut lock(&shared),
        &target,
        request.method(),
        request.headers(),
    );
    match admission {
        Admission::Refuse(response) => response,
        Admission::Admit(ctx, deferred) => {
            request.extensions_mut().insert(ctx);
            match deferred {
                None => next.run(request).await,
                Some(Deferred::Delay(delay)) => {
                    tokio::time::sleep(delay).await;
                    next.run(request).await
                }
                Some(Deferred::DropAfterCommit) => drop_body(next.run(request).await).await,
                Some(Deferred::TruncateJson) => truncate_body(next.run(request).await).await,
            }
        }
    }
}

fn admit(shared: &mut Shared, target: &Target, method: &Method, headers: &HeaderMap) -> Admission {
    shared.counters.requests += 1;
    let now = shared.clock.now();
    let counters = &mut shared.counters;
    let Some(tenant) = shared.tenants.get_mut(&target.tenant) else {
        return Admission::Refuse(grounded_error(
            StatusCode::NOT_FOUND,
            &format!("Tenant {} does not exist.", target.tenant),
        ));
    };
    let mut ctx = Ctx {
        tenant: target.tenant.clone(),
        root: target.root.clone(),
        identity: None,
        workspace: None,
    };
    if target.rest.starts_with("/api/") {
        let identity = match auth::authenticate(tenant, headers, now) {
            Ok(identity) => identity,
            Err(message) => {
                counters.rejected_401 += 1;
                return Admission::Refuse(auth::unauthorized(&message));
            }
        };
        let Some(workspace) = workspace_of(&tenant.account.data, headers) else {
            counters.rejected_403 += 1;
            return Admission::Refuse(access_denied());
        };
        if !identity.can_write && !matches!(*method, Method::GET | Method::HEAD) {
            counters.rejected_403 += 1;
            return Admission::Refuse(access_denied());
        }
        if tenant.account.is_disabled(&target.rest) {
            return Admission::Refuse(grounded_error(
                StatusCode::NOT_FOUND,
                &format!("{} is not available on this tenant.", target.rest),
            ));
        }
        ctx.identity = Some(identity);
        ctx.workspace = Some(workspace);
    }
    let Some(action) = control::take_fault(tenant, &target.rest, method) else {
        return Admission::Admit(ctx, None);
    };
    counters.faults_injected += 1;
    let deferred = match action {
        QadFaultAction::Http500 => {
            return Admission::Refuse(grounded_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error (injected)",
            ));
        }
        QadFaultAction::Html502 => return Admission::Refuse(html_502()),
        QadFaultAction::Unauthorized401Once => {
            counters.rejected_401 += 1;
            return Admission::Refuse(auth::unauthorized("Access token expired (injected)"));
        }
        QadFaultAction::Delay(delay) => Deferred::Delay(delay),
        QadFaultAction::DropAfterCommit => Deferred::DropAfterCommit,
        QadFaultAction::TruncateJson => Deferred::TruncateJson,
    };
    Admission::Admit(ctx, Some(deferred))
}

/// The workspace `x-qad-workspace-id` names, or the tenant's first when it names none.
fn workspace_of(data: &TenantData, headers: &HeaderMap) -> Option<Workspace> {
    match headers.get("x-qad-workspace-id") {
        None => data.workspaces.first().cloned(),
        Some(value) => {
            let id = value.to_str().ok()?.trim();
            data.workspaces.iter().find(|w| w.id() == id).cloned()
        }
    }
}

/// The answer as processed, its body cut off midway: the client sees the headers, then a
/// broken connection.
pub(crate) async fn drop_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    parts.headers.remove(CONTENT_LENGTH);
    let half = bytes.slice(..bytes.len() / 2);
    let cut = futures_util::stream::iter([
        Ok(half),
        Err(std::io::Error::other("connection dropped (injected)")),
    ]);
    Response::from_parts(parts, Body::from_stream(cut))
}

/// The answer as processed, only the first half of its body sent (complete HTTP, broken
/// JSON).
pub(crate) async fn truncate_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    parts.headers.remove(CONTENT_LENGTH);
    let half = bytes.slice(..bytes.len() / 2);
    Response::from_parts(parts, Body::from(half))
}

/// What a load balancer in front of a tenant says when the application is down.
pub(crate) fn html_502() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        [(CONTENT_TYPE, "text/html")],
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
         <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
         </body>\r\n</html>\r\n",
    )
        .into_response()
}

async fn not_found() -> Response {
    grounded_error(StatusCode::NOT_FOUND, "Not Found")
}

/// A JSON answer serialised straight to text (exact numbers stay exact).
pub(crate) fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).expect("answers serialise");
    (status, [(CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// QAD's bare error shape, used for gateway and permission failures.
pub(crate) fn grounded_error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        &json!({"errors": [{
            "severity": 1,
            "code": status.as_str(),
            "message": message,
            "fieldName": "",
        }]}),
    )
}

pub(crate) fn access_denied() -> Response {
    grounded_error(StatusCode::FORBIDDEN, "Access is denied")
}

/// One business error: the field it concerns (`lines[2].glCode`), a message, and the
/// value that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) message: String,
    pub(crate) value: String,
}

impl FieldError {
    pub(crate) fn new(
        field: impl Into<String>,
        message: impl Into<String>,
        value: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
            value: value.into(),
        }
    }
}

/// HTTP 200 with `submitResult.success == false`.
pub(crate) fn submit_failure(errors: &[FieldError]) -> Response {
    let errors: Vec<_> = errors
        .iter()
        .map(|e| {
            json!({
                "fieldName": e.field,
                "message": e.message,
                "fieldValue": e.value,
                "code": null,
                "severity": 3,
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"submitResult": {"success": false, "errorSeverity": 3, "errors": errors}}),
    )
}

/// A successful write: `submitResult` and the records as stored.
pub(crate) fn submit_success(collection: &str, records: Vec<Object>) -> Response {
    let body = Object::new()
        .field(
            "submitResult",
            json!({"success": true, "errorSeverity": 0, "errors": []}),
        )
        .field(collection, records);
    json_response(StatusCode::OK, &body)
}

/// A read: `{"data": {"<collection>": [...]}}`.
pub(crate) fn data_answer(collection: &str, records: Vec<Object>) -> Response {
    let body = Object::new().field("data", Object::new().field(collection, records));
    json_response(StatusCode::OK, &body)
}

/// What a handler works with while it holds the lock.
pub(crate) struct Scope<'a> {
    pub(crate) tenant: &'a mut TenantState,
    pub(crate) rng: &'a mut Rng,
    pub(crate) counters: &'a mut QadCounters,
    pub(crate) now: OffsetDateTime,
    pub(crate) user: String,
    pub(crate) workspace: Workspace,
}

impl Scope<'_> {
    pub(crate) fn data(&mut self) -> &mut TenantData {
        self.tenant.data()
    }

    /// A fresh change stamp: new hash, now, the requesting user.
    pub(crate) fn stamp(&mut self) -> Stamp {
        Stamp::new(self.rng, self.now, &self.user)
    }
}

/// Runs `f` on the request's tenant; business errors become a `submitResult` failure.
pub(crate) fn in_tenant(
    shared: &SharedState,
    ctx: &Ctx,
    f: impl FnOnce(&mut Scope) -> Result<Response, Vec<FieldError>>,
) -> Response {
    let mut guard = lock(shared);
    let Shared {
        tenants,
        counters,
        clock,
        rng,
    } = &mut *guard;
    let Some(tenant) = tenants.get_mut(&ctx.tenant) else {
        return grounded_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let workspace = ctx
        .workspace
        .clone()
        .or_else(|| tenant.account.data.workspaces.first().cloned())
        .unwrap_or_default();
    let mut scope = Scope {
        tenant,
        rng,
        counters,
        now: clock.now(),
        user: ctx
            .identity
            .as_ref()
            .map_or_else(String::new, |i| i.username.clone()),
        workspace,
    };
    match f(&mut scope) {
        Ok(response) => response,
        Err(errors) => {
            scope.counters.business_errors += 1;
            submit_failure(&errors)
        }
    }
}

/// The query string's pairs, in order (`filter` repeats).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(query: &str) -> Result<Params, String> {
        serde_urlencoded::from_str(query)
            .map(Params)
            .map_err(|e| format!("Malformed query string: {e}"))
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, unless empty.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn extend(&mut self, other: Params) {
        self.0.extend(other.0);
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Params, Response> {
        Params::parse(parts.uri.query().unwrap_or(""))
            .map_err(|message| grounded_error(StatusCode::BAD_REQUEST, &message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_paths_split_into_tenant_root_and_rest() {
        let target = Target::parse("/acme/clouderp/api/erp/items").unwrap();
        assert_eq!(
            (target.tenant.as_str(), target.root.as_str()),
            ("acme", "clouderp")
        );
        assert_eq!(target.rest, "/api/erp/items");
        assert_eq!(Target::parse("/acme/qad-central").unwrap().rest, "/");
        assert!(Target::parse("/_sim/qad/acme/ledger").is_none());
        assert!(Target::parse("/acme/other/api").is_none());
    }

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

    #[test]
    fn query_pairs_keep_repeats_in_order() {
        let params = Params::parse("filter=a%2Ceq%2Cx%2Cliteral&page=2&filter=b&x=").unwrap();
        assert_eq!(
            params.all("filter").collect::<Vec<_>>(),
            ["a,eq,x,literal", "b"]
        );
        assert_eq!(params.get("page"), Some("2"));
        assert_eq!(params.get("x"), Some(""));
        assert_eq!(params.value("x"), None);
    }
}
