//! The console's reconciliation: an operator chooses a connection and a window, the
//! comparison with QAD runs in the background (it reads every document of the window
//! from BigCommerce and QAD, longer than a request may take), its page shows the progress
//! and then every missing, duplicated or differing posting with the totals per account,
//! exported as CSV. The same comparison as `ml-connector reconcile`; it never posts.
//! One runs at a time per connection (a second start shows the one running); the last
//! [`KEPT`] runs of this process are kept, in memory.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::html::{esc, page_with_head, when};
use super::{Console, Posted, see_other};
use crate::cli::reconcile::{Reading, Report, bound, report};
use crate::flows::ledger::amount_text;
use crate::store::{Millis, system_clock};

/// Runs kept for their pages.
const KEPT: usize = 20;

/// One reconciliation started from the console.
pub struct Run {
    pub id: u64,
    pub connection: String,
    /// The window as the operator gave it.
    pub window: (String, String),
    pub operator: String,
    pub started: Millis,
    done: AtomicUsize,
    total: AtomicUsize,
    /// `None` while it runs.
    outcome: Mutex<Option<Result<Report, String>>>,
}

/// The runs of this process, by id.
#[derive(Default)]
pub struct Runs(Mutex<(u64, BTreeMap<u64, Arc<Run>>)>);

impl Runs {
    fn add(&self, connection: &str, window: (String, String), operator: &str) -> Arc<Run> {
        let mut runs = self.0.lock().unwrap_or_else(|p| p.into_inner());
        runs.0 += 1;
        let run = Arc::new(Run {
            id: runs.0,
            connection: connection.to_string(),
            window,
            operator: operator.to_string(),
            started: system_clock(),
            done: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            outcome: Mutex::new(None),
        });
        runs.1.insert(run.id, run.clone());
        while runs.1.len() > KEPT {
            runs.1.pop_first();
        }
        run
    }

    fn get(&self, id: u64) -> Option<Arc<Run>> {
        let runs = self.0.lock().unwrap_or_else(|p| p.into_inner());
        runs.1.get(&id).cloned()
    }

    fn newest_first(&self) -> Vec<Arc<Run>> {
        let runs = self.0.lock().unwrap_or_else(|p| p.into_inner());
        runs.1.values().rev().cloned().collect()
    }
}

impl Run {
    fn outcome(&self) -> Option<Result<Report, String>> {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn state(&self) -> String {
        match self.outcome() {
            None => format!(
                "running: {} of {} documents",
                self.done.load(Ordering::Relaxed),
                self.total.load(Ordering::Relaxed)
            ),
            Some(Ok(report)) => format!(
                "{} of {} documents differ",
                report.documents_differing, report.documents
            ),
            Some(Err(error)) => format!("failed: {error}"),
        }
    }
}

/// The form, and the runs started here.
pub(super) async fn page(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some((_, session)) = console.session(&headers).await else {
        return see_other("/login");
    };
    let mut out = String::from(
        r#"<form method="post" action="/reconcile"><fieldset><legend>Compare a window with QAD</legend>"#,
    );
    out.push_str(&super::html::csrf_field(&session.csrf));
    out.push_str(r#"<label>Connection <select name="connection">"#);
    for name in console.connections.keys() {
        let _ = write!(out, "<option>{}</option>", esc(name));
    }
    out.push_str(
        r#"</select></label>
<label>From (day, UTC) <input name="from" type="date" required></label>
<label>To (day, included) <input name="to" type="date" required></label>
<button type="submit">Reconcile</button></fieldset></form>
<p>Reads the window's orders and refunds from BigCommerce and their entries from QAD;
posts nothing.</p>"#,
    );
    let runs = console.reconciles.newest_first();
    if !runs.is_empty() {
        out.push_str(
            "<table><caption>Started here</caption><tr><th>run</th><th>connection</th><th>window</th><th>by</th><th>started</th><th>state</th></tr>",
        );
        for run in runs {
            let _ = write!(
                out,
                r#"<tr><td><a href="/reconcile/{id}">{id}</a></td><td>{}</td><td>{} to {}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&run.connection),
                esc(&run.window.0),
                esc(&run.window.1),
                esc(&run.operator),
                when(run.started),
                esc(&run.state()),
                id = run.id,
            );
        }
        out.push_str("</table>");
    }
    console.page_for(&session, "Reconcile", &out)
}

/// Starts a run (audited), then shows its page.
pub(super) async fn start(
    State(console): State<Arc<Console>>,
    Posted { session, form }: Posted,
) -> Response {
    let connection = form.get("connection").unwrap_or_default().to_string();
    let (from_text, to_text) = (
        form.get("from").unwrap_or_default().trim().to_string(),
        form.get("to").unwrap_or_default().trim().to_string(),
    );
    let refuse = |why: String| {
        console.page_for(
            &session,
            "Reconcile",
            &format!(
                r#"<p class="error">{}</p><p><a href="/reconcile">Back</a></p>"#,
                esc(&why)
            ),
        )
    };
    let Some(flow) = console.connections.get(&connection).cloned() else {
        return refuse(format!("There is no connection `{connection}`."));
    };
    let window = bound(&from_text, false, "from").and_then(|from| {
        let to = bound(&to_text, true, "to")?;
        if to <= from {
            return Err(anyhow::anyhow!(
                "the window is empty: `to` is before `from`"
            ));
        }
        Ok((from, to))
    });
    let (from, to) = match window {
        Ok(window) => window,
        Err(error) => return refuse(error.to_string()),
    };
    // One at a time per connection: each reads the whole window through the quota the
    // service shares.
    if let Some(running) = console
        .reconciles
        .newest_first()
        .into_iter()
        .find(|run| run.connection == connection && run.outcome().is_none())
    {
        return see_other(&format!("/reconcile/{}", running.id));
    }
    let entry = console.said(
        &connection,
        "console",
        &session.operator,
        serde_json::json!({"action": "reconcile", "from": from_text, "to": to_text}),
    );
    if let Err(error) = console.store.audit(&entry).await {
        return console.failure(&session, "the reconciliation could not be audited", &error);
    }
    let run = console
        .reconciles
        .add(&connection, (from_text, to_text), &session.operator);
    let id = run.id;
    tokio::spawn(async move {
        let progress = |done: usize, total: usize| {
            run.done.store(done, Ordering::Relaxed);
            run.total.store(total, Ordering::Relaxed);
        };
        let outcome = report(&flow, from, to, Reading::Shared, &progress)
            .await
            .map_err(|error| crate::error::chain(error.as_ref()));
        *run.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
    });
    see_other(&format!("/reconcile/{id}"))
}

/// A run's progress (the page refreshes itself while it runs), then its result.
pub(super) async fn run_page(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    let Some((_, session)) = console.session(&headers).await else {
        return see_other("/login");
    };
    let Some(run) = console.reconciles.get(id) else {
        return see_other("/reconcile");
    };
    let title = format!(
        "Reconciliation {id}: {} from {} to {}",
        run.connection, run.window.0, run.window.1
    );
    let mut out = String::new();
    let head = match run.outcome() {
        None => {
            let _ = write!(
                out,
                r#"<p role="status" id="progress">{}</p><p>This page refreshes every 2 seconds.</p>"#,
                esc(&run.state())
            );
            r#"<meta http-equiv="refresh" content="2">"#
        }
        Some(Err(error)) => {
            let _ = write!(
                out,
                r#"<p class="error" id="progress">It failed: {}</p>"#,
                esc(&error)
            );
            ""
        }
        Some(Ok(report)) => {
            let _ = write!(
                out,
                r#"<p id="progress">{} of {} documents differ. <a href="/reconcile/{id}/csv">Export as CSV</a></p>"#,
                report.documents_differing, report.documents
            );
            out.push_str(&report_tables(&report));
            ""
        }
    };
    super::html(
        StatusCode::OK,
        page_with_head(&title, Some((&session.operator, &session.csrf)), head, &out),
    )
}

fn report_tables(report: &Report) -> String {
    let mut out = String::new();
    if report.findings.is_empty() {
        out.push_str("<p>Nothing differs.</p>");
    } else {
        out.push_str(
            r#"<table id="differences"><caption>What differs</caption><tr><th>document</th><th>kind</th><th>detail</th></tr>"#,
        );
        for f in &report.findings {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td>{}</td><td class="reason">{}</td></tr>"#,
                esc(&f.document),
                esc(f.kind),
                esc(&f.detail)
            );
        }
        out.push_str("</table>");
    }
    out.push_str(
        r#"<table id="totals"><caption>Totals per account (net debit)</caption><tr><th>currency</th><th>account</th><th class="num">expected</th><th class="num">QAD</th><th class="num">difference</th></tr>"#,
    );
    for t in &report.totals {
        let differs = if t.expected == t.qad {
            ""
        } else {
            " class=\"bad\""
        };
        let _ = write!(
            out,
            r#"<tr{differs}><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            esc(&t.currency),
            esc(&t.account),
            amount_text(t.expected),
            amount_text(t.qad),
            amount_text(t.qad - t.expected)
        );
    }
    out.push_str("</table>");
    out
}

/// A finished run as CSV.
pub(super) async fn csv(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    if console.session(&headers).await.is_none() {
        return see_other("/login");
    }
    let Some(Some(Ok(report))) = console.reconciles.get(id).map(|run| run.outcome()) else {
        return (
            StatusCode::NOT_FOUND,
            "no finished reconciliation by that number",
        )
            .into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"reconcile-{id}.csv\""),
            ),
        ],
        report.csv(),
    )
        .into_response()
}
