//! The operator console in a real browser: headless Chromium driven through chromedriver
//! (WebDriver) against `ml-connector run` with a `[console]` section, over both
//! simulators. Orders parked in a closed period are found in the parked list, dry-run
//! (the per-account difference shown, nothing posted), replayed once the period is open
//! (posted, the revision on the record's page), and one is resolved by hand with a
//! reason; a window is reconciled (the unposted orders found, totals per account, the
//! CSV export); a plugin upload that is no component is refused while the built-in keeps
//! serving, a component uploaded serves, and one uploaded under another name is judged by
//! a dry run with it, then replayed with it (the record mapped by that version); a plugin
//! folder's fixtures run from the plugins page; every action is audited with the
//! operator's name. Requests without a
//! session, with another session's token or from another origin are refused. The main
//! pages are saved as screenshots under the target directory (`console-screenshots`).
//!
//! Without the service, `console serve` logs an operator in over HTTP (a login without
//! its paired cookie refused) and runs a record it replays itself; a second `console
//! serve` over the same store knows the session, and removing the operator ends it in
//! both.
//!
//! The browser test needs `chromium` and `chromedriver` (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs): without them it says so and passes, and
//! fails under `CI=true`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use ml_connector_sim::qad::PeriodStatus;

const MASTER_KEY: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const PASSWORD: &str = "correct horse battery staple";

/// A child process killed when the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// chromedriver and the browser it drives, or why they cannot be had here.
fn browser_programs() -> Result<(PathBuf, PathBuf), String> {
    let find = |names: &[&str]| {
        names.iter().find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|path| path.is_file())
            })
        })
    };
    let driver = find(&["chromedriver"]).ok_or("no chromedriver on PATH")?;
    let browser =
        find(&["chromium", "chromium-browser", "google-chrome"]).ok_or("no chromium on PATH")?;
    Ok((driver, browser))
}

async fn wait_for_port(address: &str) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {address}");
}

async fn browser(driver: &Path, browser: &Path) -> (Killed, Client) {
    let port = free_address().rsplit_once(':').unwrap().1.to_string();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Killed(child);
    wait_for_port(&format!("127.0.0.1:{port}")).await;
    let mut capabilities = fantoccini::wd::Capabilities::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": browser,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a browser session");
    (driver, client)
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// The text of the first element `css` finds, once the page after a click has loaded
/// (an element of the page before it goes stale: found again).
async fn text_of(client: &Client, css: &str) -> String {
    let mut last = String::new();
    for _ in 0..50 {
        match client.find(Locator::Css(css)).await {
            Ok(element) => match element.text().await {
                Ok(text) => return text,
                Err(error) => last = error.to_string(),
            },
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: {last}");
}

async fn page_text(client: &Client) -> String {
    text_of(client, "body").await
}

/// Clicks the first element `css` finds.
async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Chooses option `value` of the first `select` `css` finds.
async fn choose(client: &Client, css: &str, value: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap();
}

/// Types `text` into the first element `css` finds (a file input takes a path).
async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Waits until the page's text has `needle` (the page after a click may still be
/// loading); returns the text.
async fn wait_for_text(client: &Client, needle: &str) -> String {
    let mut text = String::new();
    for _ in 0..50 {
        text = page_text(client).await;
        if text.contains(needle) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no `{needle}` on the page: {text}");
}

/// Waits until the browser is at `path`.
async fn wait_for_path(client: &Client, path: &str) {
    let mut at = String::new();
    for _ in 0..50 {
        at = client.current_url().await.unwrap().path().to_string();
        if at == path {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("at {at}, not {path}");
}

/// Reloads until `#state` says `state`.
async fn wait_for_state(client: &Client, state: &str) {
    for _ in 0..150 {
        if text_of(client, "#state").await == state {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.refresh().await.unwrap();
    }
    panic!("the job never became {state}: {}", page_text(client).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_finds_dry_runs_replays_and_resolves_parked_records_in_a_browser() {
    let (driver, chromium) = match browser_programs() {
        Ok(programs) => programs,
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the console's browser test cannot run under CI: {why}"
            );
            eprintln!("skipped: {why} (install chromium and chromium-driver)");
            return;
        }
    };
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let console = free_address();
    let config = write_config_with(
        dir.path(),
        &systems,
        &format!("[console]\nlisten = \"{console}\"\n"),
    );
    park_in_closed_period(dir.path(), &config, &systems).await;

    // Without an operator, the service refuses to serve the console.
    let (code, said) = {
        let out = command(
            dir.path(),
            &config,
            &systems,
            &["run", "--listen", &free_address()],
        )
        .env("ML_CONNECTOR_MASTER_KEY", MASTER_KEY)
        .output()
        .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("console add-operator"), "{said}");

    add_operator(dir.path());

    let plugin_dir = dir.path().join("plugins");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    let service = Killed(
        command(
            dir.path(),
            &config,
            &systems,
            &["run", "--listen", &free_address()],
        )
        .arg("--plugin-dir")
        .arg(&plugin_dir)
        .env("ML_CONNECTOR_MASTER_KEY", MASTER_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    wait_for_port(&console).await;
    let base = format!("http://{console}");
    let (_driver, client) = browser(&driver, &chromium).await;

    // No session: every page leads to the login.
    client.goto(&format!("{base}/parked")).await.unwrap();
    wait_for_path(&client, "/login").await;
    screenshot(&client, "login").await;
    let login = |password: &'static str| {
        let client = client.clone();
        async move {
            type_into(&client, "#operator", "ann").await;
            type_into(&client, "#password", password).await;
            click(&client, "main form button[type=submit]").await;
        }
    };
    login("not the password").await;
    wait_for_text(&client, "No operator by that name and password").await;
    login(PASSWORD).await;
    wait_for_path(&client, "/").await;
    let overview = wait_for_text(&client, "Schedules").await;
    assert!(
        overview.contains("main") && overview.contains("parked"),
        "{overview}"
    );
    assert!(
        overview.contains("Webhooks:"),
        "the hooks' health: {overview}"
    );
    screenshot(&client, "overview").await;

    // The parked list, filtered to orders; a record's page.
    client
        .goto(&format!("{base}/parked?connection=main&kind=order"))
        .await
        .unwrap();
    let list = page_text(&client).await;
    assert!(list.contains("period"), "the reason is shown: {list}");
    screenshot(&client, "parked").await;
    let rows = client
        .find_all(Locator::Css("main table tr td a"))
        .await
        .unwrap();
    assert!(rows.len() >= 2, "several parked orders");
    let rows_first = rows[0].attr("href").await.unwrap().unwrap();
    let second = rows[1].attr("href").await.unwrap().unwrap();
    rows[0].click().await.unwrap();
    let first = rows_first.clone();
    wait_for_path(&client, &first).await;
    let job_path = first;
    assert_eq!(text_of(&client, "#state").await, "parked");
    assert!(page_text(&client).await.contains("As BigCommerce sent it"));

    // A dry run: the difference per account, nothing posted.
    click(&client, "form[action$='/dry-run'] button").await;
    let planned = text_of(&client, "#dry-run").await;
    assert!(planned.contains("A replay would post"), "{planned}");
    assert!(planned.contains("4000"), "per account: {planned}");
    assert!(
        systems.qad.ledger("acme").is_empty(),
        "a dry run posts nothing"
    );
    screenshot(&client, "dry-run").await;

    // The period opens; the replay posts it.
    systems
        .qad
        .set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Open);
    click(&client, "form[action$='/replay'] button").await;
    wait_for_text(&client, "Put back in line").await;
    wait_for_state(&client, "done").await;
    let posted = page_text(&client).await;
    assert!(posted.contains("Revision 1"), "{posted}");
    assert!(!systems.qad.ledger("acme").is_empty(), "posted to QAD");
    screenshot(&client, "posted").await;

    // Another is resolved by hand, with a reason.
    client.goto(&format!("{base}{second}")).await.unwrap();
    type_into(&client, "#reason", "posted by hand in QAD, voucher 4711").await;
    click(&client, "form[action$='/resolve'] button").await;
    wait_for_text(&client, "Marked as resolved").await;
    assert_eq!(text_of(&client, "#state").await, "done");
    wait_for_text(
        &client,
        "resolved by hand: posted by hand in QAD, voucher 4711 (by ann)",
    )
    .await;

    // A window reconciled: what differs, the totals per account, the CSV.
    client.goto(&format!("{base}/reconcile")).await.unwrap();
    client
        .execute(
            "document.querySelector('input[name=from]').value = '2026-10-01';
             document.querySelector('input[name=to]').value = '2026-12-31';",
            vec![],
        )
        .await
        .unwrap();
    click(&client, "main form button[type=submit]").await;
    let reconciled = {
        let mut text = String::new();
        for _ in 0..300 {
            text = page_text(&client).await;
            if text.contains("documents differ") || text.contains("It failed") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        text
    };
    assert!(reconciled.contains("documents differ"), "{reconciled}");
    let differences = text_of(&client, "#differences").await;
    assert!(
        differences.contains("not posted"),
        "the parked orders: {differences}"
    );
    assert!(text_of(&client, "#totals").await.contains("4000"));
    screenshot(&client, "reconcile").await;
    let run = client.current_url().await.unwrap().path().to_string();

    // Plugins: a file that is no component is refused by the same checks as a dropped
    // one, and the built-in keeps serving; a component uploaded serves.
    let upload = |name: &'static str, bytes: &'static [u8]| {
        let (client, dir, base) = (client.clone(), dir.path().to_path_buf(), base.clone());
        async move {
            let file = dir.join(format!("upload-{}.wasm", bytes.len()));
            std::fs::write(&file, bytes).unwrap();
            client.goto(&format!("{base}/plugins")).await.unwrap();
            type_into(&client, "input[name=name]", name).await;
            type_into(&client, "input[type=file]", &file.display().to_string()).await;
            click(&client, "form[action='/plugins/upload'] button").await;
            text_of(&client, "#uploaded").await
        }
    };
    folder_with_fixtures(&plugin_dir.join("order-to-gl-folder"));
    client.goto(&format!("{base}/plugins")).await.unwrap();
    let before = text_of(&client, "#plugins").await;
    assert!(
        before.contains("order-to-gl") && before.contains("built-in"),
        "{before}"
    );
    let refused = upload("order-to-gl", b"not a component").await;
    assert!(
        refused.contains("not loaded; the version serving keeps serving"),
        "{refused}"
    );
    assert!(text_of(&client, "#plugins").await.contains("built-in"));
    let order_to_gl = ml_connector::plugins::builtin::builtin("order-to-gl").unwrap();
    let served = upload("order-to-gl", order_to_gl).await;
    assert!(served.contains("now serves"), "{served}");
    let after = text_of(&client, "#plugins").await;
    assert!(
        after.contains("order-to-gl.wasm") && after.contains("active"),
        "{after}"
    );
    screenshot(&client, "plugins").await;

    // Another version, uploaded under a name no connection uses, judged on a parked
    // record by a dry run with it.
    let next = upload("order-to-gl-next", order_to_gl).await;
    assert!(next.contains("serves nothing"), "{next}");
    client
        .goto(&format!("{base}/parked?connection=main&kind=order"))
        .await
        .unwrap();
    click(&client, "main table tr td a").await;
    choose(&client, "select#plugin", "order-to-gl-next").await;
    click(&client, "select#plugin ~ button").await;
    let judged = text_of(&client, "#dry-run").await;
    assert!(judged.contains("Mapped with order-to-gl-next"), "{judged}");
    assert!(judged.contains("A replay would post"), "{judged}");

    // Replayed with it: the record is mapped by that version and posted, and its trail
    // says which version mapped it.
    let judged_on = client.current_url().await.unwrap().path().to_string();
    let judged_on = judged_on.trim_end_matches("/dry-run").to_string();
    click(&client, "#replay-with").await;
    wait_for_text(&client, "to be mapped by order-to-gl-next").await;
    wait_for_path(&client, &judged_on).await;
    wait_for_state(&client, "done").await;
    let replayed = page_text(&client).await;
    assert!(replayed.contains("Revision 1"), "{replayed}");
    assert!(
        replayed.contains("mapped by order-to-gl-next"),
        "the trail names the version: {replayed}"
    );
    // The job says so too, so that a retry maps with it again.
    let id: i64 = judged_on.rsplit('/').next().unwrap().parse().unwrap();
    let job = open_store(dir.path()).job(id).await.unwrap().unwrap();
    assert!(
        job.payload.contains(r#""plugin":"order-to-gl-next""#),
        "{}",
        job.payload
    );

    // The fixtures a plugin folder carries, run from the plugins page: one passes, one
    // expects other revenue and fails with the difference.
    client.goto(&format!("{base}/plugins")).await.unwrap();
    choose(&client, "select#fixtures-of", "order-to-gl-folder").await;
    click(&client, "form[action='/plugins/fixtures'] button").await;
    let fixtures = text_of(&client, "#fixtures").await;
    assert!(fixtures.contains("1 passed, 1 failed"), "{fixtures}");
    assert!(fixtures.contains("basic.json pass"), "{fixtures}");
    assert!(fixtures.contains("wrong.json FAIL"), "{fixtures}");
    assert!(fixtures.contains("575000"), "the difference: {fixtures}");
    screenshot(&client, "fixtures").await;

    // Refused: no session, another token, another origin.
    let session = client.get_named_cookie("mlc_session").await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let replay = format!("{base}{second}/replay");
    let refused = http.post(&replay).body("csrf=x").send().await.unwrap();
    assert_eq!(refused.status(), 403, "no session");
    let cookie = format!("mlc_session={}", session.value());
    let refused = http
        .post(&replay)
        .header("cookie", &cookie)
        .body("csrf=not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "another token");
    let page = http
        .get(format!("{base}{second}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field_value(&page, "csrf");
    let refused = http
        .post(&replay)
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "another origin");

    let csv = http
        .get(format!("{base}{run}/csv"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with(
            "connection,row,document,kind,detail,currency,account,expected,qad,difference\r\n"
        ),
        "{csv}"
    );
    assert!(csv.contains("main,difference,order:"), "{csv}");
    assert!(csv.contains("main,total,,,,"), "{csv}");
    let anonymous = http.get(format!("{base}{run}/csv")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303, "the export needs a session");

    // Logged out, the session is gone.
    click(&client, "form.logout button").await;
    wait_for_path(&client, "/login").await;
    let after = http
        .get(format!("{base}/parked"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "the old cookie opens nothing");
    client.close().await.unwrap();
    drop(service);

    // Every action is in the audit trail with who did it.
    let job = job_path.trim_start_matches("/jobs/");
    let record = ml_connector::store::SqliteStore::open(&dir.path().join("store.db")).unwrap();
    let store: &dyn ml_connector::store::Store = &record;
    let job = store.job(job.parse().unwrap()).await.unwrap().unwrap();
    let actions: Vec<String> = store
        .audit_for(&job.document)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.kind == "console")
        .map(|e| e.entry.data)
        .collect();
    assert!(
        actions
            .iter()
            .any(|a| a.contains("\"dry run\"") && a.contains("\"ann\"")),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|a| a.contains("\"replay\"") && a.contains("\"ann\"")),
        "{actions:?}"
    );
    let logins: Vec<String> = store
        .audit_for("console")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.data)
        .collect();
    assert!(
        logins.iter().any(|l| l.contains("login refused")),
        "{logins:?}"
    );
    assert!(logins.iter().any(|l| l.contains("\"login\"")), "{logins:?}");
    assert!(logins.iter().any(|l| l.contains("logout")), "{logins:?}");
    assert!(
        logins
            .iter()
            .any(|l| l.contains("\"reconcile\"") && l.contains("2026-10-01")),
        "{logins:?}"
    );
    assert!(
        logins
            .iter()
            .any(|l| l.contains("upload plugin") && l.contains("now serves")),
        "{logins:?}"
    );
}

/// Adds operator `ann` with [`PASSWORD`] to the store of `dir`.
fn add_operator(dir: &Path) {
    let mut add = binary(dir, &["console", "add-operator", "ann"])
        .env("ML_CONNECTOR_MASTER_KEY", MASTER_KEY)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success());
}

/// The value of `name="FIELD" value="..."` in a page.
fn field_value(page: &str, field: &str) -> String {
    page.split(&format!(r#"name="{field}" value=""#))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no {field} field in {page}"))
        .to_string()
}

/// The `name=value` of a `Set-Cookie` header named `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie set"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn console_serve_runs_a_record_it_replays_without_the_service() {
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems);
    park_in_closed_period(dir.path(), &config, &systems).await;
    add_operator(dir.path());
    systems
        .qad
        .set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Open);

    let serve = |address: String| {
        Killed(
            command(
                dir.path(),
                &config,
                &systems,
                &["console", "serve", "--listen", &address],
            )
            .env("ML_CONNECTOR_MASTER_KEY", MASTER_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        )
    };
    let address = free_address();
    let _console = serve(address.clone());
    wait_for_port(&address).await;
    let base = format!("http://{address}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The login form and its paired cookie; a login without the pair is refused.
    let form = http.get(format!("{base}/login")).send().await.unwrap();
    let pair = set_cookie(&form, "mlc_login");
    let token = field_value(&form.text().await.unwrap(), "login");
    let credentials = format!(
        "login={token}&operator=ann&password={}",
        PASSWORD.replace(' ', "+")
    );
    let unpaired = http
        .post(format!("{base}/login"))
        .body(credentials.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unpaired.status(), 403);
    let logged_in = http
        .post(format!("{base}/login"))
        .header("cookie", &pair)
        .body(credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status(), 303);
    let session = set_cookie(&logged_in, "mlc_session");

    let parked = http
        .get(format!("{base}/parked"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let job: i64 = parked
        .split(r#"<a href="/jobs/"#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .parse()
        .unwrap();
    let replayed = http
        .post(format!("{base}/jobs/{job}/replay"))
        .header("cookie", &session)
        .body(format!("csrf={}", field_value(&parked, "csrf")))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 303);

    // No service runs: the console runs what it put back in line.
    let store = open_store(dir.path());
    for _ in 0..150 {
        if store.job(job).await.unwrap().unwrap().state == ml_connector::store::JobState::Done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = store.job(job).await.unwrap().unwrap();
    assert_eq!(done.state, ml_connector::store::JobState::Done, "{done:?}");
    assert!(!systems.qad.ledger("acme").is_empty(), "posted to QAD");

    // Another process over the same store (a replica behind the same address) knows the
    // session; removing the operator ends it in both.
    let other = free_address();
    let _other = serve(other.clone());
    wait_for_port(&other).await;
    let overview = |base: String| {
        let (http, session) = (http.clone(), session.clone());
        async move {
            http.get(format!("{base}/"))
                .header("cookie", &session)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(overview(base.clone()).await, 200);
    assert_eq!(overview(format!("http://{other}")).await, 200);
    let removed = binary(dir.path(), &["console", "remove-operator", "ann"])
        .env("ML_CONNECTOR_MASTER_KEY", MASTER_KEY)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&removed.stderr);
    assert!(removed.status.success(), "{said}");
    assert!(said.contains("1 open sessions of theirs ended"), "{said}");
    assert_eq!(overview(base).await, 303, "to the login");
    assert_eq!(
        overview(format!("http://{other}")).await,
        303,
        "to the login"
    );
}
