//! The console's plugins page: each plugin the service knows (version, world, hash,
//! source, status, why the newest version is not serving, its limits), the fixtures a
//! plugin folder carries run on demand with their results, and an upload of a new
//! version. An upload is written into the plugin directory as a dropped file is (under a
//! `.tmp` name the registry ignores, synced, then renamed), and the registry loads it
//! through the same checks; the page says what the load came to.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Multipart, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::auth::Session;
use super::html::{csrf_field, esc, query_value};
use super::{Console, Form, Posted, see_other};
use crate::error::chain;
use crate::plugins::fixture::{Outcome, Verdict, load_folder, run_all};
use crate::plugins::registry::{is_plugin_name, load_named};
use crate::plugins::{LoadEvent, Registry, Shelf};

/// The largest upload read (the registry's own size check applies after).
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
pub(super) struct Said {
    done: Option<String>,
}

pub(super) async fn page(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Query(said): Query<Said>,
) -> Response {
    let Some((_, session)) = console.session(&headers).await else {
        return see_other("/login");
    };
    let body = body(&console, &session, said.done.as_deref(), None);
    console.page_for(&session, "Plugins", &body)
}

/// The page: `done` says what an action came to, `fixtures` is a fixture run's result.
fn body(
    console: &Console,
    session: &Session,
    done: Option<&str>,
    fixtures: Option<String>,
) -> String {
    let mut out = String::new();
    if let Some(done) = done {
        let _ = write!(
            out,
            r#"<p class="notice" role="status" id="uploaded">{}</p>"#,
            esc(done)
        );
    }
    let Some(registry) = &console.plugins else {
        out.push_str("<p>This console has no plugin registry.</p>");
        return out;
    };
    out.push_str(
        r#"<table id="plugins"><tr><th>entry</th><th>plugin</th><th>version</th><th>world</th><th>sha-256</th><th>source</th><th>status</th><th>limits</th></tr>"#,
    );
    for status in registry.list() {
        let limits = registry.get(&status.name).map(|plugin| {
            let l = plugin.limits();
            format!(
                "{} MiB memory, {} fuel and {} ms per record, {} MiB file",
                l.memory_bytes / (1024 * 1024),
                l.fuel_per_record,
                l.time_per_record_ms,
                l.max_plugin_bytes / (1024 * 1024)
            )
        });
        let text = |value: &Option<String>| esc(value.as_deref().unwrap_or("-"));
        let sha = status.sha256.as_deref().unwrap_or("-");
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code title="{}">{}</code></td><td class="reason">{}</td><td>{}{}</td><td>{}</td></tr>"#,
            esc(&status.name),
            text(&status.plugin),
            text(&status.version),
            text(&status.world),
            esc(sha),
            esc(&sha[..sha.floor_char_boundary(12)]),
            esc(&status.source),
            esc(&status.status),
            status
                .error
                .as_deref()
                .map(|e| format!(r#"<br><span class="bad">{}</span>"#, esc(e)))
                .unwrap_or_default(),
            esc(limits.as_deref().unwrap_or("-")),
        );
    }
    out.push_str("</table>");
    let carrying = with_fixtures(registry);
    if !carrying.is_empty() {
        let options: String = carrying
            .iter()
            .map(|name| format!(r#"<option value="{n}">{n}</option>"#, n = esc(name)))
            .collect();
        let _ = write!(
            out,
            r#"<form method="post" action="/plugins/fixtures">{}<fieldset><legend>Fixtures</legend>
<label for="fixtures-of">Plugin folder with fixtures</label><select id="fixtures-of" name="plugin">{options}</select>
<button type="submit">Run its fixtures</button></fieldset></form>"#,
            csrf_field(&session.csrf)
        );
    }
    if let Some(fixtures) = fixtures {
        out.push_str(&fixtures);
    }
    if registry.dir().is_some() {
        let _ = write!(
            out,
            r#"<form method="post" action="/plugins/upload" enctype="multipart/form-data">{}<fieldset><legend>Upload a new version</legend>
<label>Plugin name <input name="name" required pattern="[A-Za-z0-9][A-Za-z0-9._-]*" maxlength="64"></label>
<label>Component <input name="file" type="file" accept=".wasm" required></label>
<button type="submit">Upload</button></fieldset></form>
<p>The file goes through the same checks as one dropped into the plugin directory; the version serving now keeps serving if it fails them.</p>"#,
            csrf_field(&session.csrf)
        );
    } else {
        out.push_str(
            "<p>The service runs without a plugin directory: nothing can be uploaded.</p>",
        );
    }
    out
}

/// The plugins of the directory whose folder carries fixtures (`<name>/fixtures/`).
fn with_fixtures(registry: &Registry) -> Vec<String> {
    let Some(dir) = registry.dir() else {
        return Vec::new();
    };
    registry
        .names()
        .into_iter()
        .filter(|name| dir.join(name).join("fixtures").is_dir())
        .collect()
}

/// Runs the fixtures of a plugin folder, as `plugins test NAME` does, and shows each
/// one's verdict and costs.
pub(super) async fn fixtures(
    State(console): State<Arc<Console>>,
    Posted { session, form }: Posted,
) -> Response {
    let name = form.get("plugin").unwrap_or_default().trim().to_string();
    let Some(registry) = console.plugins.clone() else {
        return done("This console has no plugin registry.");
    };
    if !is_plugin_name(&name) || !with_fixtures(&registry).contains(&name) {
        return done(&format!(
            "Plugin {name} has no fixtures/ folder in the plugin directory."
        ));
    }
    let shelf = registry.shelf();
    let ran = tokio::task::spawn_blocking(move || run_folder(&shelf, &name))
        .await
        .unwrap_or_else(|error| Err(error.to_string()));
    let (section, data) = match &ran {
        Ok((version, outcomes)) => {
            let passed = outcomes.iter().filter(|o| o.passed()).count();
            (
                fixture_table(version, outcomes),
                serde_json::json!({"action": "run fixtures", "plugin": version, "passed": passed, "failed": outcomes.len() - passed}),
            )
        }
        Err(why) => (
            format!(
                r#"<section id="fixtures"><h2>Fixtures</h2><p class="error">They could not run: {}</p></section>"#,
                esc(why)
            ),
            serde_json::json!({"action": "run fixtures", "plugin": form.get("plugin"), "error": why}),
        ),
    };
    let entry = console.said("", "console", &session.operator, data);
    if let Err(error) = console.store.audit(&entry).await {
        return console.failure(&session, "the fixture run could not be audited", &error);
    }
    let body = body(&console, &session, None, Some(section));
    console.page_for(&session, "Plugins", &body)
}

/// Plugin `name` from the shelf, compiled once, run on each fixture of its folder with
/// that fixture's settings and the default limits; its version (`name version (sha)`).
fn run_folder(shelf: &Shelf, name: &str) -> Result<(String, Vec<Outcome>), String> {
    let folder = shelf
        .dir
        .as_deref()
        .ok_or("there is no plugin directory")?
        .join(name)
        .join("fixtures");
    let (paths, fixtures) = load_folder(&folder).map_err(|e| chain(&e))?;
    let base = load_named(
        name,
        shelf.dir.as_deref(),
        &fixtures[0].settings(),
        &crate::plugins::Limits::default(),
        &shelf.cache,
    )
    .map_err(|e| chain(&e))?;
    Ok((base.label(), run_all(&base, &paths, &fixtures)))
}

/// Each fixture's verdict, fuel, memory and time, with why one failed.
fn fixture_table(version: &str, outcomes: &[Outcome]) -> String {
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let mut out = format!(
        r#"<section id="fixtures"><h2>Fixtures of {}</h2><p>{passed} passed, {} failed.</p>
<table><tr><th>fixture</th><th>verdict</th><th class="num">fuel</th><th class="num">memory KiB</th><th class="num">time µs</th><th>why</th></tr>"#,
        esc(version),
        outcomes.len() - passed
    );
    for outcome in outcomes {
        let row = match &outcome.run {
            Ok((run, verdict)) => {
                let why = match verdict {
                    Verdict::Pass => String::new(),
                    Verdict::Fail(why) => format!("<pre>{}</pre>", esc(why)),
                };
                format!(
                    r#"<td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td>{why}</td>"#,
                    if outcome.passed() {
                        r#"<span class="good">pass</span>"#
                    } else {
                        r#"<span class="bad">FAIL</span>"#
                    },
                    run.report.fuel_consumed,
                    run.report.memory_peak / 1024,
                    run.report.elapsed.as_micros(),
                )
            }
            Err(why) => format!(
                r#"<td><span class="bad">FAIL</span></td><td></td><td></td><td></td><td class="reason">{}</td>"#,
                esc(&chain(why))
            ),
        };
        let _ = write!(
            out,
            r#"<tr><td title="{}">{}</td>{row}</tr>"#,
            esc(&outcome.description),
            esc(&outcome.name)
        );
    }
    out.push_str("</table></section>");
    out
}

/// Takes an upload: the session's token first (before the file is read), then the name
/// and the file; writes it, waits for the load, and says what it came to.
pub(super) async fn upload(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let mut form = Vec::new();
    let mut session = None;
    let mut file: Option<Vec<u8>> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return done(&format!("The upload could not be read: {error}")),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            // Nothing of the file is read before the session is known.
            let Some(_) = &session else {
                return done("The form's token must come before the file.");
            };
            match field.bytes().await {
                Ok(bytes) => file = Some(bytes.to_vec()),
                Err(error) => return done(&format!("The file could not be read: {error}")),
            }
            continue;
        }
        let value = match field.text().await {
            Ok(value) => value,
            Err(error) => return done(&format!("The upload could not be read: {error}")),
        };
        form.push((name.clone(), value));
        if name == "csrf" {
            match console.authorize(&headers, &Form(form.clone())).await {
                Ok(authorized) => session = Some(authorized),
                Err(refused) => return *refused,
            }
        }
    }
    let (Some(session), Some(bytes)) = (session, file) else {
        return done("Choose a plugin name and a file.");
    };
    let form = Form(form);
    let name = form.get("name").unwrap_or_default().trim().to_string();
    if !is_plugin_name(&name) {
        return done("A plugin's name is letters, digits, `.`, `_` and `-`, up to 64.");
    }
    let Some(registry) = console.plugins.clone() else {
        return done("This console has no plugin directory to upload into.");
    };
    let Some(dir) = registry.dir().map(Path::to_path_buf) else {
        return done("The service runs without a plugin directory.");
    };
    let sha = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len();
    let path = dir.join(format!("{name}.wasm"));
    let written = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes)).await
    };
    if let Ok(Err(error)) | Err(error) = written.map_err(std::io::Error::other) {
        return done(&format!("The file could not be written: {error}"));
    }
    let outcome = load_now(&registry, &path, &sha).await;
    let entry = console.said(
        "",
        "console",
        &session.operator,
        serde_json::json!({
            "action": "upload plugin",
            "plugin": name,
            "sha256": sha,
            "bytes": size,
            "outcome": outcome,
        }),
    );
    if let Err(error) = console.store.audit(&entry).await {
        tracing::warn!(error = %crate::error::chain(&error), "console: an upload could not be audited");
    }
    done(&outcome)
}

fn done(what: &str) -> Response {
    see_other(&format!("/plugins?done={}", query_value(what)))
}

/// Writes `bytes` to `path` as a dropped file would arrive whole: a `.tmp` beside it,
/// synced, renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)
}

/// What the registry made of the file at `path` with hash `sha`: serving, or refused
/// with its reason. The registry is reloaded here (the watcher would do the same a
/// moment later); when the watcher came first, this reload finds nothing new and the
/// registry's list says what its load came to.
async fn load_now(registry: &Arc<Registry>, path: &Path, sha: &str) -> String {
    let file = path.display().to_string();
    let events = {
        let registry = registry.clone();
        tokio::task::spawn_blocking(move || registry.reload())
            .await
            .unwrap_or_default()
    };
    let serving = |names: Vec<String>| {
        format!(
            "Uploaded: version {} now serves {}.",
            &sha[..12],
            names.join(", ")
        )
    };
    let loaded: Vec<String> = events
        .iter()
        .filter_map(|event| match event {
            LoadEvent::Loaded { name, sha256, .. } if sha256 == sha => Some(name.clone()),
            _ => None,
        })
        .collect();
    if !loaded.is_empty() {
        return serving(loaded);
    }
    let refused = events.iter().find_map(|event| match event {
        LoadEvent::Failed { error, .. } if error.contains(&file) => Some(error.clone()),
        _ => None,
    });
    let statuses = registry.list();
    let refused = refused.or_else(|| {
        statuses
            .iter()
            .filter_map(|s| s.error.as_deref())
            .find(|error| error.contains(&file))
            .map(str::to_string)
    });
    if let Some(error) = refused {
        return format!("Uploaded, but not loaded; the version serving keeps serving: {error}");
    }
    let serving_now: Vec<String> = statuses
        .iter()
        .filter(|s| s.sha256.as_deref() == Some(sha) && s.source == file)
        .map(|s| s.name.clone())
        .collect();
    if serving_now.is_empty() {
        format!("Uploaded as {file}; no connection's plugin has this name, so it serves nothing.")
    } else {
        serving(serving_now)
    }
}
