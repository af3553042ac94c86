//! The operator console: a small web application, embedded in the binary, for seeing and
//! fixing failures without a terminal. `run` serves it on its own address when the
//! connections file has a `[console]` section; `ml-connector console serve` serves it
//! over a store without the service.
//!
//! Pages: the overview (each connection's queue, schedules, plugins, quota and the last
//! hours' throughput), the parked records (filtered by connection, kind and time), a
//! record's page (its source as BigCommerce sent it, every request and answer in order,
//! each posted revision with its lines), reconciliations ([`reconcile`]) and the plugins
//! (`plugins.rs`). Actions: a dry run (the per-account difference a replay would post,
//! nothing posted), a replay (of one record or of a selection), resolving a record by
//! hand with a reason, a reconciliation of a window, and a plugin upload. Every action needs a session and its CSRF
//! token ([`auth`]), and is written to the audit trail with the operator's name.

pub mod auth;
mod html;
mod plugins;
pub mod reconcile;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use self::auth::{COOKIE, LOGIN_COOKIE, Login, Operators, Session, Sessions};
use self::html::{amount, csrf_field, esc, page, query_value, when};
use crate::error::chain;
use crate::flows::jobs::{JobInput, record_of};
use crate::flows::orders::OrderFlow;
use crate::store::{
    AuditCount, AuditEntry, AuditRecord, ByHand, Job, JobState, ParkedFilter, Store,
};

/// The largest form body read.
const MAX_FORM: usize = 64 * 1024;
/// Rows on a page of the parked list.
pub const PARKED_PAGE: usize = 100;
/// The throughput plot's span: a point a minute, the last one the minute under way.
const PLOT_MINUTES: i64 = 180;
/// What the plot draws: the audit entries of each kind, what they are called, and the
/// colour of its line (the style sheet's class of that colour names it in the caption).
const PLOTTED: [(&str, &str, &str, &str); 3] = [
    ("done", "done", "#2f855a", "good"),
    ("parked", "parked", "#c53030", "bad"),
    ("received", "webhooks received", "#2b6cb0", "received"),
];

/// Everything the console's requests share.
pub struct Console {
    pub store: Arc<dyn Store>,
    /// Each connection's order flow (dry runs), by name.
    pub connections: BTreeMap<String, Arc<OrderFlow>>,
    pub operators: Operators,
    pub sessions: Sessions,
    /// Cookies are `Secure` (the console is reached over https).
    pub secure: bool,
    /// The origin forms are posted from (`https://ops.example.com`); `None`: the
    /// request's own host.
    pub origin: Option<String>,
    /// Told the connection of each job put back in line, so that it runs now.
    pub replayed: Arc<dyn Fn(&str) + Send + Sync>,
    /// The reconciliations started here, newest last.
    pub reconciles: reconcile::Runs,
    /// The service's plugins (in `run`): shown, and loaded from uploads.
    pub plugins: Option<Arc<crate::plugins::Registry>>,
}

/// The console's routes.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/style.css", get(style))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/parked", get(parked))
        .route("/parked/replay", post(replay_selected))
        .route("/jobs/{id}", get(job_page))
        .route("/jobs/{id}/dry-run", post(dry_run))
        .route("/jobs/{id}/replay", post(replay))
        .route("/jobs/{id}/resolve", post(resolve))
        .route("/reconcile", get(reconcile::page).post(reconcile::start))
        .route("/reconcile/{run}", get(reconcile::run_page))
        .route("/reconcile/{run}/csv", get(reconcile::csv))
        .route("/plugins", get(plugins::page))
        .route("/plugins/fixtures", post(plugins::fixtures))
        .route(
            "/plugins/upload",
            post(plugins::upload).layer(DefaultBodyLimit::max(plugins::MAX_UPLOAD)),
        )
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .with_state(console)
}

/// An HTML answer with the headers every console page carries.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

fn with_cookie(mut response: Response, cookie: String) -> Response {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A form body's fields, in order (a name may repeat).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &str) -> Form {
        Form(
            url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub(crate) fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A form posted in a session: its fields, once the session, its CSRF token and its origin
/// are checked ([`Console::authorize`]); otherwise the refusal is the answer.
struct Posted {
    session: Session,
    form: Form,
}

impl FromRequest<Arc<Console>> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, console: &Arc<Console>) -> Result<Posted, Response> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_FORM).await.map_err(|_| {
            (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response()
        })?;
        let form = Form::parse(&String::from_utf8_lossy(&body));
        let session = console
            .authorize(&parts.headers, &form)
            .await
            .map_err(|refused| *refused)?;
        Ok(Posted { session, form })
    }
}

impl Console {
    /// The session the request's cookie names, with the cookie's value (none when the
    /// store cannot say: logged, and the request goes to the login).
    async fn session(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
        let token = auth::cookie(cookies, COOKIE)?;
        match self.sessions.find(token).await {
            Ok(session) => Some((token.to_string(), session?)),
            Err(error) => {
                tracing::warn!(error = %chain(&error), "console: the session could not be read");
                None
            }
        }
    }

    /// The session of a request that changes something: its CSRF token must match, and
    /// its `Origin`, when the browser sends one, must be the console's.
    async fn authorize(&self, headers: &HeaderMap, form: &Form) -> Result<Session, Box<Response>> {
        let refuse = |why: &str| {
            Box::new(html(
                StatusCode::FORBIDDEN,
                page(
                    "Refused",
                    None,
                    &format!(
                        r#"<p class="error">{}</p><p><a href="/login">Log in</a></p>"#,
                        esc(why)
                    ),
                ),
            ))
        };
        self.check_origin(headers).map_err(|why| refuse(&why))?;
        let Some((_, session)) = self.session(headers).await else {
            return Err(refuse("This action needs a session: log in first."));
        };
        match form.get("csrf") {
            Some(csrf) if auth::same_secret(csrf, &session.csrf) => Ok(session),
            _ => Err(refuse(
                "The form did not carry this session's token (an old page, or another site's form).",
            )),
        }
    }

    fn check_origin(&self, headers: &HeaderMap) -> Result<(), String> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().unwrap_or("null");
        let expected = match &self.origin {
            Some(expected) => expected.trim_end_matches('/').to_string(),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default();
                let scheme = if self.secure { "https" } else { "http" };
                format!("{scheme}://{host}")
            }
        };
        if origin == expected {
            Ok(())
        } else {
            Err(format!(
                "The form was sent from {origin}, not from the console ({expected})."
            ))
        }
    }

    /// Appends an entry about an operator's action.
    fn said(&self, connection: &str, subject: &str, operator: &str, data: Value) -> AuditEntry {
        let mut data = data;
        data["operator"] = Value::String(operator.to_string());
        AuditEntry {
            connection: connection.to_string(),
            subject: subject.to_string(),
            kind: "console".into(),
            data: data.to_string(),
        }
    }

    fn page_for(&self, session: &Session, title: &str, body: &str) -> Response {
        html(
            StatusCode::OK,
            page(title, Some((&session.operator, &session.csrf)), body),
        )
    }

    fn failure(
        &self,
        session: &Session,
        what: &str,
        error: &(dyn std::error::Error + 'static),
    ) -> Response {
        tracing::warn!(error = %chain(error), "console: {what}");
        html(
            StatusCode::INTERNAL_SERVER_ERROR,
            page(
                "Something failed",
                Some((&session.operator, &session.csrf)),
                &format!(
                    r#"<p class="error">{}: {}</p>"#,
                    esc(what),
                    esc(&chain(error))
                ),
            ),
        )
    }
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        html::STYLE,
    )
        .into_response()
}

// ---- Login ----

fn login_form(token: &str, message: Option<&str>) -> String {
    let message = message
        .map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m)))
        .unwrap_or_default();
    format!(
        r#"{message}<form method="post" action="/login">
<input type="hidden" name="login" value="{}">
<p><label for="operator">Operator</label><input id="operator" name="operator" autocomplete="username" required autofocus></p>
<p><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Log in</button></p>
</form>"#,
        esc(token)
    )
}

/// The login form, paired with a cookie holding the same random token.
fn login_response(console: &Console, status: StatusCode, message: Option<&str>) -> Response {
    let token = auth::random_token();
    with_cookie(
        html(status, page("Log in", None, &login_form(&token, message))),
        auth::set_cookie(LOGIN_COOKIE, Some(&token), console.secure),
    )
}

async fn login_page(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if console.session(&headers).await.is_some() {
        return see_other("/");
    }
    login_response(&console, StatusCode::OK, None)
}

async fn login(State(console): State<Arc<Console>>, headers: HeaderMap, body: String) -> Response {
    let form = Form::parse(&body);
    if let Err(why) = console.check_origin(&headers) {
        return login_response(&console, StatusCode::FORBIDDEN, Some(&why));
    }
    let paired = headers
        .get(header::COOKIE)
        .and_then(|c| c.to_str().ok())
        .and_then(|c| auth::cookie(c, LOGIN_COOKIE))
        .zip(form.get("login"))
        .is_some_and(|(cookie, field)| auth::same_secret(cookie, field));
    if !paired {
        return login_response(
            &console,
            StatusCode::FORBIDDEN,
            Some("The login form had expired; try again."),
        );
    }
    let operator = form.get("operator").unwrap_or_default().trim().to_string();
    let password = zeroize::Zeroizing::new(form.get("password").unwrap_or_default().to_string());
    let checked = {
        let console = console.clone();
        let operator = operator.clone();
        tokio::task::spawn_blocking(move || console.operators.check(&operator, &password)).await
    };
    let login = match checked {
        Ok(Ok(login)) => login,
        Ok(Err(error)) => {
            tracing::warn!(error = %chain(&error), "console: a login could not be checked");
            return login_response(
                &console,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("The operator accounts could not be read; see the service's log."),
            );
        }
        Err(_) => {
            return login_response(&console, StatusCode::INTERNAL_SERVER_ERROR, None);
        }
    };
    let action = match login {
        Login::Accepted => "login",
        Login::Refused => "login refused",
        Login::Throttled => "login throttled",
    };
    let entry = console.said(
        "",
        "console",
        &operator,
        serde_json::json!({"action": action}),
    );
    if let Err(error) = console.store.audit(&entry).await {
        tracing::warn!(error = %chain(&error), "console: a login could not be audited");
        return login_response(
            &console,
            StatusCode::SERVICE_UNAVAILABLE,
            Some("The store cannot record the login; try again later."),
        );
    }
    match login {
        Login::Accepted => {
            let token = match console.sessions.start(&operator).await {
                Ok(token) => token,
                Err(error) => {
                    tracing::error!(error = %chain(&error), "console: a session could not be started");
                    return login_response(
                        &console,
                        StatusCode::SERVICE_UNAVAILABLE,
                        Some("The session could not be kept in the store; try again."),
                    );
                }
            };
            let response = with_cookie(
                see_other("/"),
                auth::set_cookie(COOKIE, Some(&token), console.secure),
            );
            with_cookie(
                response,
                auth::set_cookie(LOGIN_COOKIE, None, console.secure),
            )
        }
        Login::Refused => login_response(
            &console,
            StatusCode::UNAUTHORIZED,
            Some("No operator by that name and password."),
        ),
        Login::Throttled => login_response(
            &console,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many refused logins for this operator; wait 15 minutes."),
        ),
    }
}

async fn logout(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Posted { session, .. }: Posted,
) -> Response {
    if let Some((token, _)) = console.session(&headers).await
        && let Err(error) = console.sessions.end(&token).await
    {
        return console.failure(&session, "the session could not be ended", &error);
    }
    let entry = console.said(
        "",
        "console",
        &session.operator,
        serde_json::json!({"action": "logout"}),
    );
    if let Err(error) = console.store.audit(&entry).await {
        tracing::warn!(error = %chain(&error), "console: a logout could not be audited");
    }
    with_cookie(
        see_other("/login"),
        auth::set_cookie(COOKIE, None, console.secure),
    )
}

// ---- Overview ----

async fn overview(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some((_, session)) = console.session(&headers).await else {
        return see_other("/login");
    };
    let mut body = String::new();
    let minute = 60_000;
    let since = (crate::store::system_clock() / minute - PLOT_MINUTES + 1) * minute;
    let mut series = BTreeMap::new();
    for (kind, ..) in PLOTTED {
        match console.store.audit_counts(kind, since, minute).await {
            Ok(counts) => {
                series.insert(kind, counts);
            }
            Err(error) => {
                return console.failure(&session, "the audit trail could not be read", &error);
            }
        }
    }
    body.push_str(r#"<div class="cards">"#);
    for name in console.connections.keys() {
        let status = match crate::cli::status::connection_status(console.store.as_ref(), name).await
        {
            Ok(status) => status,
            Err(error) => {
                return console.failure(&session, "the status could not be read", error.as_ref());
            }
        };
        body.push_str(&connection_card(name, &status));
        body.push_str(&plot(name, &series));
        body.push_str("</section>");
    }
    body.push_str("</div>");
    console.page_for(&session, "Overview", &body)
}

/// One connection's status as a card (left open for its plot).
fn connection_card(name: &str, status: &Value) -> String {
    let mut out = String::new();
    let q = &status["queue"];
    let _ = write!(
        out,
        r#"<section class="card" aria-labelledby="c-{n}"><h2 id="c-{n}">{n}</h2>
<table><caption>Queue</caption><tr><th>ready</th><th>leased</th><th>done</th><th>parked</th></tr>
<tr><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num"><a href="/parked?connection={}">{}</a></td></tr></table>"#,
        q["ready"],
        q["leased"],
        q["done"],
        query_value(name),
        q["parked"],
        n = esc(name),
    );
    out.push_str("<table><caption>Schedules</caption><tr><th>schedule</th><th>last</th><th>outcome</th><th>next</th></tr>");
    for (schedule, value) in status["schedules"].as_object().into_iter().flatten() {
        let last = &value["last"];
        let outcome = match (last["ok"].as_str(), last["error"].as_str()) {
            (Some(ok), _) => format!(r#"<span class="good">ok</span> {}"#, esc(ok)),
            (None, Some(error)) => format!(r#"<span class="bad">failed</span> {}"#, esc(error)),
            _ => "never ran".into(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"reason\">{outcome}</td><td>{}</td></tr>",
            esc(schedule),
            esc(last["at"].as_str().unwrap_or("-")),
            esc(value["next"].as_str().unwrap_or("-")),
        );
    }
    out.push_str("</table>");
    // The hook check is the webhooks' health: they exist, point here, and are active.
    let hooks = &status["schedules"]["hooks"]["last"];
    let health = match (hooks["ok"].as_str(), hooks["error"].as_str()) {
        (Some(ok), _) => format!(
            r#"<span class="good">healthy</span> at the last check ({}): {}"#,
            esc(hooks["at"].as_str().unwrap_or("-")),
            esc(ok)
        ),
        (None, Some(error)) => format!(
            r#"<span class="bad">failing</span> at the last check ({}): {}"#,
            esc(hooks["at"].as_str().unwrap_or("-")),
            esc(error)
        ),
        _ => "not checked yet (or the connection has no webhooks)".into(),
    };
    let _ = write!(out, "<p>Webhooks: {health}</p>");
    out.push_str("<table><caption>Plugins</caption><tr><th>role</th><th>plugin</th><th>version</th><th>sha-256</th><th>status</th></tr>");
    for (role, plugin) in status["plugins"].as_object().into_iter().flatten() {
        let text = |key: &str| esc(plugin[key].as_str().unwrap_or("-"));
        let sha = plugin["sha256"].as_str().unwrap_or("-");
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}{}</td></tr>",
            esc(role),
            text("plugin"),
            text("version"),
            esc(&sha[..sha.floor_char_boundary(12)]),
            text("status"),
            plugin["error"]
                .as_str()
                .map(|e| format!(
                    r#"<br><span class="bad">newest version not loaded: {}</span>"#,
                    esc(e)
                ))
                .unwrap_or_default(),
        );
    }
    out.push_str("</table>");
    if let Some(left) = status["bigcommerce_quota"]["left"].as_u64() {
        let _ = write!(
            out,
            "<p>BigCommerce quota: {left} requests left (seen {})</p>",
            esc(status["bigcommerce_quota"]["seen_at"]
                .as_str()
                .unwrap_or("-"))
        );
    }
    out
}

/// Jobs done, parked and webhooks received per minute over the last hours, as an SVG of
/// three lines (`series`: each kind's counts per connection and minute).
fn plot(connection: &str, series: &BTreeMap<&str, Vec<AuditCount>>) -> String {
    let minutes = PLOT_MINUTES as usize;
    let per_minute = |kind: &str| {
        let mut counts = vec![0u64; minutes];
        for count in series.get(kind).into_iter().flatten() {
            if count.connection == connection
                && let Some(slot) = usize::try_from(count.bucket)
                    .ok()
                    .and_then(|bucket| counts.get_mut(bucket))
            {
                *slot += count.count;
            }
        }
        counts
    };
    let lines: Vec<(&str, &str, &str, Vec<u64>)> = PLOTTED
        .iter()
        .map(|(kind, label, colour, class)| (*label, *colour, *class, per_minute(kind)))
        .collect();
    let top = lines
        .iter()
        .flat_map(|(.., counts)| counts.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let (step, height) = (4usize, 80u64);
    let width = minutes * step;
    let mut svg = format!(
        r##"<figure><svg role="img" aria-label="Jobs done, parked and webhooks received per minute over the last {} hours" width="{width}" height="{}" viewBox="0 0 {width} {}"><line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#a0aec0"/>"##,
        PLOT_MINUTES / 60,
        height + 2,
        height + 2,
    );
    for (label, colour, _, counts) in &lines {
        let points: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(minute, count)| format!("{},{}", minute * step, height - count * height / top))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"><title>{label}</title></polyline>"#,
            points.join(" ")
        );
    }
    svg.push_str("</svg><figcaption>");
    let _ = write!(svg, "Last {} hours, per minute:", PLOT_MINUTES / 60);
    for (n, (label, _, class, counts)) in lines.iter().enumerate() {
        let _ = write!(
            svg,
            r#"{} <span class="{class}">{} {label}</span> (at most {} a minute)"#,
            if n == 0 { "" } else { "," },
            counts.iter().sum::<u64>(),
            counts.iter().max().unwrap_or(&0),
        );
    }
    svg.push_str(".</figcaption></figure>");
    svg
}

// ---- Parked records ----

#[derive(Debug, Default, Deserialize)]
struct ParkedQuery {
    connection: Option<String>,
    kind: Option<String>,
    /// `YYYY-MM-DDTHH:MM` (a `datetime-local` field) or RFC 3339, UTC.
    since: Option<String>,
    before: Option<i64>,
    /// What the last action did, shown above the list.
    done: Option<String>,
}

fn not_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// A time from the filter form: RFC 3339, or a `datetime-local` value taken as UTC.
pub(crate) fn since_of(text: &str) -> Option<i64> {
    let text = text.trim();
    let full = if text.len() == 16 {
        format!("{text}:00Z")
    } else if text.len() == 19 {
        format!("{text}Z")
    } else {
        text.to_string()
    };
    crate::cli::since_millis(&full).ok()
}

async fn parked(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Query(query): Query<ParkedQuery>,
) -> Response {
    let Some((_, session)) = console.session(&headers).await else {
        return see_other("/login");
    };
    let since_text = not_empty(&query.since);
    let since = since_text.as_deref().map(since_of);
    if let Some(None) = since {
        let body = format!(
            r#"<p class="error">`{}` is not a time: use YYYY-MM-DDTHH:MM (UTC).</p><p><a href="/parked">All parked records</a></p>"#,
            esc(since_text.as_deref().unwrap_or_default())
        );
        return console.page_for(&session, "Parked records", &body);
    }
    let filter = ParkedFilter {
        connection: not_empty(&query.connection),
        kind: not_empty(&query.kind),
        since: since.flatten(),
        before: query.before,
        limit: PARKED_PAGE,
    };
    let jobs = match console.store.parked_jobs(&filter).await {
        Ok(jobs) => jobs,
        Err(error) => {
            return console.failure(&session, "the parked records could not be read", &error);
        }
    };
    console.page_for(
        &session,
        "Parked records",
        &parked_body(&console, &session, &filter, &since_text, &query.done, &jobs),
    )
}

fn parked_body(
    console: &Console,
    session: &Session,
    filter: &ParkedFilter,
    since_text: &Option<String>,
    done: &Option<String>,
    jobs: &[Job],
) -> String {
    let mut out = String::new();
    if let Some(done) = done {
        let _ = write!(out, r#"<p class="notice" role="status">{}</p>"#, esc(done));
    }
    let selected = |current: &Option<String>, value: &str| {
        if current.as_deref() == Some(value) {
            " selected"
        } else {
            ""
        }
    };
    out.push_str(r#"<form method="get" action="/parked"><fieldset><legend>Filter</legend><label>Connection <select name="connection"><option value="">all</option>"#);
    for name in console.connections.keys() {
        let _ = write!(
            out,
            r#"<option value="{n}"{}>{n}</option>"#,
            selected(&filter.connection, name),
            n = esc(name)
        );
    }
    out.push_str(
        r#"</select></label><label>Kind <select name="kind"><option value="">all</option>"#,
    );
    for kind in ["order", "refund", "customer", "catalog", "product"] {
        let _ = write!(
            out,
            r#"<option{}>{kind}</option>"#,
            selected(&filter.kind, kind)
        );
    }
    let _ = write!(
        out,
        r#"</select></label><label>Parked since (UTC) <input name="since" type="datetime-local" value="{}"></label><button type="submit">Show</button></fieldset></form>"#,
        esc(since_text.as_deref().unwrap_or_default())
    );
    if jobs.is_empty() {
        out.push_str("<p>No parked records.</p>");
        return out;
    }
    let _ = write!(
        out,
        r#"<form method="post" action="/parked/replay">{}<table><caption>{} shown, newest first</caption>
<tr><th scope="col"><span class="visually-hidden">Select</span></th><th scope="col">job</th><th scope="col">connection</th><th scope="col">kind</th><th scope="col">record</th><th scope="col" class="num">attempts</th><th scope="col">parked at</th><th scope="col">reason</th></tr>"#,
        csrf_field(&session.csrf),
        jobs.len()
    );
    for job in jobs {
        let reason = job.last_error.as_deref().unwrap_or("no reason recorded");
        let shown = if reason.len() > 300 {
            format!("{}…", &reason[..reason.floor_char_boundary(300)])
        } else {
            reason.to_string()
        };
        let _ = write!(
            out,
            r#"<tr><td><input type="checkbox" name="job" value="{id}" aria-label="select job {id}"></td><td><a href="/jobs/{id}">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td>{}</td><td class="reason">{}</td></tr>"#,
            esc(&job.connection),
            esc(&job.kind),
            esc(&record_of(job)),
            job.attempts,
            when(job.updated_at),
            esc(&shown),
            id = job.id,
        );
    }
    out.push_str(
        r#"</table><p><button type="submit">Replay the selected records</button></p></form>"#,
    );
    if jobs.len() == filter.limit
        && let Some(last) = jobs.last()
    {
        let mut next = format!("/parked?before={}", last.id);
        for (key, value) in [
            ("connection", &filter.connection),
            ("kind", &filter.kind),
            ("since", since_text),
        ] {
            if let Some(value) = value {
                let _ = write!(next, "&{key}={}", query_value(value));
            }
        }
        let _ = write!(
            out,
            r#"<p><a href="{}">Older parked records</a></p>"#,
            esc(&next)
        );
    }
    out
}

async fn replay_selected(
    State(console): State<Arc<Console>>,
    Posted { session, form }: Posted,
) -> Response {
    let ids: Vec<i64> = form.all("job").filter_map(|id| id.parse().ok()).collect();
    let mut replayed = 0;
    let mut gone = 0;
    for id in &ids {
        match settle(&console, &session, *id, Settle::Replay { plugin: None }).await {
            Ok(true) => replayed += 1,
            Ok(false) => gone += 1,
            Err(response) => return *response,
        }
    }
    let done = if gone > 0 {
        format!("{replayed} records put back in line; {gone} were no longer parked.")
    } else {
        format!("{replayed} records put back in line.")
    };
    see_other(&format!("/parked?done={}", query_value(&done)))
}

/// What an operator does with a parked record.
enum Settle {
    /// Back in line; mapped by `plugin` (its name, and its version for the audit trail)
    /// instead of the connection's own when given.
    Replay {
        plugin: Option<(String, String)>,
    },
    Resolve {
        reason: String,
    },
}

/// Replays or resolves parked job `id` as `session`'s operator; false when it is not
/// parked (any more).
async fn settle(
    console: &Console,
    session: &Session,
    id: i64,
    settle: Settle,
) -> Result<bool, Box<Response>> {
    let job = match console.store.job(id).await {
        Ok(Some(job)) => job,
        Ok(None) => return Ok(false),
        Err(error) => {
            return Err(Box::new(console.failure(
                session,
                "the job could not be read",
                &error,
            )));
        }
    };
    let (action, data) = match settle {
        Settle::Replay { plugin } => {
            let (name, version) = plugin.unzip();
            (
                ByHand::Replay {
                    payload: crate::flows::jobs::replayed_with(&job, name.as_deref()),
                },
                serde_json::json!({"action": "replay", "job": id, "plugin": version}),
            )
        }
        Settle::Resolve { reason } => {
            let data = serde_json::json!({"action": "resolve", "job": id, "reason": reason});
            (ByHand::Resolve { reason }, data)
        }
    };
    let entry = console.said(&job.connection, &record_of(&job), &session.operator, data);
    match console.store.settle_parked(id, &action, &entry).await {
        Ok(()) => {
            if matches!(action, ByHand::Replay { .. }) {
                (console.replayed)(&job.connection);
            }
            Ok(true)
        }
        Err(crate::store::StoreError::NoJob(_)) => Ok(false),
        Err(error) => Err(Box::new(console.failure(
            session,
            "the job could not be changed",
            &error,
        ))),
    }
}

// ---- One record ----

async fn job_page(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(query): Query<ParkedQuery>,
) -> Response {
    let Some((_, session)) = console.session(&headers).await else {
        return see_other("/login");
    };
    match job_body(&console, &session, id, query.done.as_deref(), None, None).await {
        Ok(Some((title, body))) => console.page_for(&session, &title, &body),
        Ok(None) => html(
            StatusCode::NOT_FOUND,
            page(
                "No such job",
                Some((&session.operator, &session.csrf)),
                &format!("<p>There is no job {id}.</p>"),
            ),
        ),
        Err(error) => console.failure(&session, "the record could not be read", &error),
    }
}

/// A job's page: what it is, what can be done, its source, its exchanges, its revisions;
/// `planned` is a dry run's result shown above them, `chosen` the other plugin it used.
async fn job_body(
    console: &Console,
    session: &Session,
    id: i64,
    done: Option<&str>,
    planned: Option<String>,
    chosen: Option<&str>,
) -> Result<Option<(String, String)>, crate::store::StoreError> {
    let Some(job) = console.store.job(id).await? else {
        return Ok(None);
    };
    let record = record_of(&job);
    let mut out = String::new();
    if let Some(done) = done {
        let _ = write!(out, r#"<p class="notice" role="status">{}</p>"#, esc(done));
    }
    let _ = write!(
        out,
        r#"<table><tr><th scope="row">connection</th><td>{}</td></tr><tr><th scope="row">kind</th><td>{}</td></tr>
<tr><th scope="row">state</th><td id="state">{}</td></tr><tr><th scope="row">attempts</th><td>{}</td></tr>
<tr><th scope="row">queued</th><td>{}</td></tr><tr><th scope="row">last change</th><td>{}</td></tr>
<tr><th scope="row">last error</th><td class="reason">{}</td></tr></table>"#,
        esc(&job.connection),
        esc(&job.kind),
        job.state.as_str(),
        job.attempts,
        when(job.created_at),
        when(job.updated_at),
        esc(job.last_error.as_deref().unwrap_or("-")),
    );
    if job.state == JobState::Parked {
        let csrf = csrf_field(&session.csrf);
        let mapped = crate::flows::jobs::MAPPED_KINDS.contains(&job.kind.as_str());
        let other = console
            .plugins
            .as_ref()
            .filter(|_| mapped)
            .map(|registry| {
                let names: String = registry
                    .names()
                    .iter()
                    .map(|name| {
                        let selected = if chosen == Some(name.as_str()) {
                            " selected"
                        } else {
                            ""
                        };
                        format!(r#"<option value="{n}"{selected}>{n}</option>"#, n = esc(name))
                    })
                    .collect();
                format!(
                    r#"<form method="post" action="/jobs/{id}/dry-run">{csrf}<fieldset><legend>Another plugin version</legend>
<label for="plugin">Plugin (built in, or in the plugin directory)</label><select id="plugin" name="plugin">{names}</select>
<button type="submit">Dry run with it</button>
<button type="submit" id="replay-with" formaction="/jobs/{id}/replay">Replay with it</button></fieldset></form>"#
                )
            })
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<h2>Fix it</h2>
<form class="inline" method="post" action="/jobs/{id}/dry-run">{csrf}<button type="submit">Dry run</button></form>
<form class="inline" method="post" action="/jobs/{id}/replay">{csrf}<button type="submit">Replay</button></form>
{other}
<form method="post" action="/jobs/{id}/resolve">{csrf}<fieldset><legend>Resolve by hand</legend>
<label for="reason">Reason (audited)</label><input id="reason" name="reason" size="60" maxlength="500" required>
<button type="submit">Mark as resolved</button></fieldset></form>"#
        );
    }
    if let Some(planned) = planned {
        out.push_str(&planned);
    }
    // The record's entries and the job's own, in the order they were written.
    let mut entries = console.store.audit_for(&record).await?;
    entries.extend(console.store.audit_for(&format!("job:{id}")).await?);
    entries.retain(|e| e.entry.connection == job.connection);
    entries.sort_by_key(|e| e.seq);
    entries.dedup_by_key(|e| e.seq);
    let sources: Vec<&AuditRecord> = entries
        .iter()
        .filter(|e| e.entry.kind == "source")
        .collect();
    out.push_str("<h2>As BigCommerce sent it</h2>");
    match sources.last() {
        Some(source) => {
            let _ = write!(out, "<pre>{}</pre>", esc(&pretty(&source.entry.data)));
        }
        None => out.push_str("<p>Not read yet.</p>"),
    }
    let revisions = console.store.revisions(&job.connection, &record).await?;
    out.push_str("<h2>Posted revisions</h2>");
    if revisions.is_empty() {
        out.push_str("<p id=\"revisions\">None posted.</p>");
    }
    for revision in &revisions {
        let entry: Value = serde_json::from_str(&revision.entry).unwrap_or(Value::Null);
        let _ = write!(
            out,
            r#"<table class="revision"><caption>Revision {} · {} · {} · {}</caption><tr><th>account</th><th class="num">debit</th><th class="num">credit</th><th>memo</th></tr>"#,
            revision.number,
            esc(&revision.external_reference),
            esc(revision
                .voucher
                .as_deref()
                .unwrap_or("outcome not known yet")),
            when(revision.at),
        );
        for line in entry["lines"].as_array().into_iter().flatten() {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                esc(line["account"].as_str().unwrap_or("-")),
                amount(line["debit"].as_i64().unwrap_or(0)),
                amount(line["credit"].as_i64().unwrap_or(0)),
                esc(line["memo"].as_str().unwrap_or("")),
            );
        }
        out.push_str("</table>");
    }
    out.push_str("<h2>Audit trail</h2><ol class=\"audit\">");
    for entry in &entries {
        let _ = write!(
            out,
            "<li><details><summary>#{} {} <strong>{}</strong> {}</summary><pre>{}</pre></details></li>",
            entry.seq,
            when(entry.at),
            esc(&entry.entry.kind),
            esc(&summary(&entry.entry.kind, &entry.entry.data)),
            esc(&pretty(&entry.entry.data)),
        );
    }
    out.push_str("</ol>");
    Ok(Some((format!("Job {id}: {record}"), out)))
}

/// An audit entry's data, indented.
fn pretty(data: &str) -> String {
    serde_json::from_str::<Value>(data)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| data.to_string())
}

/// One line about an entry: an exchange's request and answer, an action's operator.
fn summary(kind: &str, data: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(data) else {
        return String::new();
    };
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_string();
    match kind {
        "request" => format!(
            "{} {} {} → {}",
            text("system"),
            text("method"),
            text("url"),
            value["status"]
        ),
        "console" => format!("{} by {}", text("action"), text("operator")),
        "mapped" | "mapping-failed" => format!(
            "by {} {}",
            value["plugin"]["name"].as_str().unwrap_or_default(),
            value["plugin"]["version"].as_str().unwrap_or_default()
        ),
        "parked" | "retry" => text("reason") + &text("error"),
        _ => String::new(),
    }
}

async fn dry_run(
    State(console): State<Arc<Console>>,
    Path(id): Path<i64>,
    Posted { session, form }: Posted,
) -> Response {
    let job = match console.store.job(id).await {
        Ok(Some(job)) => job,
        Ok(None) => return see_other(&format!("/jobs/{id}")),
        Err(error) => return console.failure(&session, "the job could not be read", &error),
    };
    let other = form
        .get("plugin")
        .map(str::trim)
        .filter(|name| !name.is_empty());
    let (planned, version) = match console.connections.get(&job.connection) {
        None => (
            format!(
                r#"<section id="dry-run"><h2>Dry run</h2><p class="error">Connection {} is not in the connections file.</p></section>"#,
                esc(&job.connection)
            ),
            None,
        ),
        Some(flow) => match other {
            None => (plan_of(flow, &job, None).await, None),
            Some(name) => match flow.with_plugin_named(name).await {
                Ok(flow) => {
                    let version = version_of(&flow);
                    (plan_of(&flow, &job, Some(&version)).await, Some(version))
                }
                Err(why) => (
                    format!(
                        r#"<section id="dry-run"><h2>Dry run</h2><p class="error">Plugin {} cannot be used: {}</p></section>"#,
                        esc(name),
                        esc(&chain(&why))
                    ),
                    None,
                ),
            },
        },
    };
    let entry = console.said(
        &job.connection,
        &record_of(&job),
        &session.operator,
        serde_json::json!({"action": "dry run", "job": id, "plugin": version}),
    );
    if let Err(error) = console.store.audit(&entry).await {
        return console.failure(&session, "the dry run could not be audited", &error);
    }
    match job_body(&console, &session, id, None, Some(planned), other).await {
        Ok(Some((title, body))) => console.page_for(&session, &title, &body),
        Ok(None) => see_other(&format!("/jobs/{id}")),
        Err(error) => console.failure(&session, "the record could not be read", &error),
    }
}

/// The version of the plugin a flow maps with.
fn version_of(flow: &OrderFlow) -> String {
    flow.plugin.get().label()
}

/// A dry run of a job's record: the revision a replay would post, per account (with
/// `version` named when it is not the connection's own plugin).
async fn plan_of(flow: &OrderFlow, job: &Job, version: Option<&str>) -> String {
    let input: Option<JobInput> = serde_json::from_str(&job.payload).ok();
    let planned = match (job.kind.as_str(), input) {
        ("order", Some(input)) => flow.dry_run_order(input.order_id).await,
        (
            "refund",
            Some(JobInput {
                order_id,
                refund_id: Some(refund),
                ..
            }),
        ) => flow.dry_run_refund(order_id, refund).await,
        (kind, _) => {
            return format!(
                r#"<section id="dry-run"><h2>Dry run</h2><p>A {} job posts no journal; a replay runs it again.</p></section>"#,
                esc(kind)
            );
        }
    };
    let mut out = String::from(r#"<section id="dry-run"><h2>Dry run</h2>"#);
    if let Some(version) = version {
        let _ = write!(
            out,
            "<p>Mapped with <strong>{}</strong>, not the plugin serving the connection.</p>",
            esc(version)
        );
    }
    match planned {
        Ok(None) => out.push_str("<p>Nothing to post: the ledger matches.</p>"),
        Ok(Some(plan)) => {
            let _ = write!(
                out,
                r#"<p>A replay would post <strong>{}</strong> ({} {}), nothing posted now:</p><table><tr><th>account</th><th>sub-account</th><th>cost centre</th><th class="num">net</th></tr>"#,
                esc(&plan.reference),
                esc(&plan.entry.currency),
                esc(&plan.entry.effective_date),
            );
            for ((_, account, sub, centre), net) in crate::flows::ledger::net_of(&plan.entry) {
                let net = i64::try_from(net).unwrap_or(i64::MAX);
                let _ = write!(
                    out,
                    r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td></tr>"#,
                    esc(&account),
                    esc(&sub),
                    esc(&centre),
                    amount(net)
                );
            }
            out.push_str("</table>");
        }
        Err(error) => {
            let _ = write!(
                out,
                r#"<p class="error">It cannot be mapped: {}</p>"#,
                esc(&chain(&error))
            );
        }
    }
    out.push_str("</section>");
    out
}

async fn replay(
    State(console): State<Arc<Console>>,
    Path(id): Path<i64>,
    Posted { session, form }: Posted,
) -> Response {
    let named = form
        .get("plugin")
        .map(str::trim)
        .filter(|name| !name.is_empty());
    // Another plugin version is loaded first, so that one that cannot map the record is
    // refused here rather than parking it again.
    let plugin = match named {
        None => None,
        Some(name) => {
            let job = match console.store.job(id).await {
                Ok(Some(job)) => job,
                Ok(None) => return see_other(&format!("/jobs/{id}")),
                Err(error) => {
                    return console.failure(&session, "the job could not be read", &error);
                }
            };
            let loaded = match console.connections.get(&job.connection) {
                _ if !crate::flows::jobs::MAPPED_KINDS.contains(&job.kind.as_str()) => Err(
                    format!("a {} job is not mapped by an order plugin", job.kind),
                ),
                None => Err(format!(
                    "connection {} is not in the connections file",
                    job.connection
                )),
                Some(flow) => flow
                    .with_plugin_named(name)
                    .await
                    .map(|flow| version_of(&flow))
                    .map_err(|error| chain(&error)),
            };
            match loaded {
                Ok(version) => Some((name.to_string(), version)),
                Err(why) => {
                    let done = format!("Not replayed: plugin {name} cannot be used: {why}");
                    return see_other(&format!("/jobs/{id}?done={}", query_value(&done)));
                }
            }
        }
    };
    let done = match settle(
        &console,
        &session,
        id,
        Settle::Replay {
            plugin: plugin.clone(),
        },
    )
    .await
    {
        Ok(true) => match &plugin {
            None => "Put back in line: it runs now.".to_string(),
            Some((_, version)) => {
                format!("Put back in line to be mapped by {version}: it runs now.")
            }
        },
        Ok(false) => "It is not parked any more; nothing done.".to_string(),
        Err(response) => return *response,
    };
    see_other(&format!("/jobs/{id}?done={}", query_value(&done)))
}

async fn resolve(
    State(console): State<Arc<Console>>,
    Path(id): Path<i64>,
    Posted { session, form }: Posted,
) -> Response {
    let reason = form.get("reason").unwrap_or_default().trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return see_other(&format!(
            "/jobs/{id}?done={}",
            query_value("Give a reason (up to 500 characters) to resolve a record by hand.")
        ));
    }
    let action = Settle::Resolve {
        reason: format!("{reason} (by {})", session.operator),
    };
    let done = match settle(&console, &session, id, action).await {
        Ok(true) => "Marked as resolved.",
        Ok(false) => "It is not parked any more; nothing done.",
        Err(response) => return *response,
    };
    see_other(&format!("/jobs/{id}?done={}", query_value(done)))
}
