//! The operator console in a real browser: headless Chromium driven through chromedriver
//! (WebDriver) against `ml-connector run` with a `[console]` section, over both
//! simulators. Orders parked in a closed period are found in the parked list, dry-run
//! (the per-account difference shown, nothing posted), replayed once the period is open
//! (posted, the revision on the record's page), and one is resolved by hand with a
//! reason; every action is audited with the operator's name. Requests without a
//! session, with another session's token or from another origin are refused. The main
//! pages are saved as screenshots under the target directory (`console-screenshots`).
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium` and `chromium-driver`, which
//! `.ci/run` installs): without them the test says so and passes, and fails under
//! `CI=true`.

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
    systems
        .qad
        .set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Closed);
    let (code, _) = output(dir.path(), &config, &systems, &["sync", "--once"]).await;
    assert_eq!(code, 1, "orders in a closed period are parked");
    assert!(systems.qad.ledger("acme").is_empty());

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

    let mut add = binary(dir.path(), &["console", "add-operator", "ann"])
        .env("ML_CONNECTOR_MASTER_KEY", MASTER_KEY)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success());

    let service = Killed(
        command(
            dir.path(),
            &config,
            &systems,
            &["run", "--listen", &free_address()],
        )
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
            client
                .find(Locator::Id("operator"))
                .await
                .unwrap()
                .send_keys("ann")
                .await
                .unwrap();
            client
                .find(Locator::Id("password"))
                .await
                .unwrap()
                .send_keys(password)
                .await
                .unwrap();
            client
                .find(Locator::Css("main form button[type=submit]"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
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
    client
        .find(Locator::Css("form[action$='/dry-run'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
    client
        .find(Locator::Css("form[action$='/replay'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&client, "Put back in line").await;
    wait_for_state(&client, "done").await;
    let posted = page_text(&client).await;
    assert!(posted.contains("Revision 1"), "{posted}");
    assert!(!systems.qad.ledger("acme").is_empty(), "posted to QAD");
    screenshot(&client, "posted").await;

    // Another is resolved by hand, with a reason.
    client.goto(&format!("{base}{second}")).await.unwrap();
    client
        .find(Locator::Id("reason"))
        .await
        .unwrap()
        .send_keys("posted by hand in QAD, voucher 4711")
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action$='/resolve'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&client, "Marked as resolved").await;
    assert_eq!(text_of(&client, "#state").await, "done");
    wait_for_text(
        &client,
        "resolved by hand: posted by hand in QAD, voucher 4711 (by ann)",
    )
    .await;

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
    let csrf = page
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let refused = http
        .post(&replay)
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "another origin");

    // Logged out, the session is gone.
    client
        .find(Locator::Css("form.logout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
}
