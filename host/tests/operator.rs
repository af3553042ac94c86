//! The operator commands, the real binary against both simulators: `secrets` (and that a
//! stored credential shows up in no file, log or audit export after a sync that used it),
//! `check` (every check passing, and each failure with its own message), `reconcile` (a
//! deleted and a duplicated posting found, a clean ledger passing) and `dry-run order`
//! (the journal printed, nothing posted).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{ACCOUNTS, Systems, binary};
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use ml_connector_sim::qad::{PeriodStatus, QadSim, SimTenant, SimUser};
use time::macros::datetime;

/// Credentials no other test data contains, so finding their bytes anywhere means a leak.
const BC_TOKEN: &str = "bc-token-7f3a9c1e5d2b";
const QAD_PASSWORD: &str = "qad-pw-Qx7unique4410";

async fn systems() -> Systems {
    systems_with(SimTenant::demo("acme"), None).await
}

/// The store's API account has every scope unless `scopes` names them.
async fn systems_with(mut tenant: SimTenant, scopes: Option<&[&str]>) -> Systems {
    tenant
        .users
        .push(SimUser::new("ledger-bot", QAD_PASSWORD, true));
    let mut store = SimStore::new("shop1", BC_TOKEN)
        .with_quota(100_000, Duration::from_secs(30))
        .with_orders(40, datetime!(2026-11-02 08:00 UTC), 11);
    if let Some(scopes) = scopes {
        store = store.with_scopes(scopes);
    }
    Systems {
        bigcommerce: BigCommerceSim::start(vec![store]).await.unwrap(),
        qad: QadSim::start(vec![tenant.clone()]).await.unwrap(),
        client_id: tenant.client_id,
    }
}

/// `connector.toml` for the systems; `credential` says where the token and the QAD
/// password come from (`env` or `secret`), `replace` changes one setting.
fn write_config(
    dir: &Path,
    systems: &Systems,
    credential: &str,
    replace: Option<(&str, &str)>,
) -> PathBuf {
    let settings = ACCOUNTS
        .iter()
        .map(|&(k, v)| match replace {
            Some((key, value)) if key == k => (k, value),
            _ => (k, v),
        })
        .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "[connections.main]\n\
         store_hash = \"shop1\"\n\
         bigcommerce_api_root = \"{}\"\n\
         bigcommerce_token = \"{credential}:TEST_BC_TOKEN\"\n\
         [connections.main.qad]\n\
         base_url = \"{}\"\n\
         workspace = \"10USA_10USACO\"\n\
         client_id = \"env:TEST_QAD_CLIENT\"\n\
         username = \"env:TEST_QAD_USER\"\n\
         password = \"{credential}:TEST_QAD_PASSWORD\"\n\
         [connections.main.posting]\n\
         entity = \"10USACO\"\n\
         base_currency = \"USD\"\n\
         guest_customer = \"GUEST\"\n\
         [connections.main.plugin]\n\
         name = \"order-to-gl\"\n\
         settings = {{ {settings} }}\n",
        systems.bigcommerce.api_root("shop1"),
        systems.qad.base_url("acme"),
    );
    let path = dir.join("connector.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The binary with this test's store, cache, config and credentials.
fn command(dir: &Path, config: &Path, systems: &Systems, args: &[&str]) -> Command {
    let mut command = binary(dir, args);
    command
        .env("ML_CONNECTOR_CONFIG", config)
        .env("TEST_BC_TOKEN", BC_TOKEN)
        .env("TEST_QAD_CLIENT", &systems.client_id)
        .env("TEST_QAD_USER", "ledger-bot")
        .env("TEST_QAD_PASSWORD", QAD_PASSWORD)
        .env_remove("ML_CONNECTOR_MASTER_KEY")
        .env_remove("ML_CONNECTOR_MASTER_KEY_FILE")
        .env_remove("ML_CONNECTOR_LOG")
        .stdin(Stdio::null());
    command
}

/// Runs a command to its end off the runtime's threads (the simulators run on them).
async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// Runs a command with `input` on its standard input.
async fn run_with_input(mut command: Command, input: &str) -> Output {
    let input = input.to_string();
    tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `command` with the master key in the file `key`.
fn keyed(mut command: Command, key: &Path) -> Command {
    command.env("ML_CONNECTOR_MASTER_KEY_FILE", key);
    command
}

/// Writes a master key file readable by its owner only; its path.
fn key_file(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("master.key");
    std::fs::write(&path, "5f".repeat(32)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_secret_used_by_a_sync_is_in_no_file_log_or_audit_export() {
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems, "secret", None);
    let key = key_file(dir.path());
    let with_key = |args: &[&str]| keyed(command(dir.path(), &config, &systems, args), &key);
    for (name, value) in [
        ("TEST_BC_TOKEN", BC_TOKEN),
        ("TEST_QAD_PASSWORD", QAD_PASSWORD),
    ] {
        let mut set = with_key(&["secrets", "set", name]);
        // The credentials come from the secrets file only.
        set.env_remove(name);
        let out = run_with_input(set, &format!("{value}\n")).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let listed = run(with_key(&["secrets", "list"])).await;
    let listing = text(&listed.stdout);
    assert!(listing.contains("TEST_BC_TOKEN") && listing.contains("TEST_QAD_PASSWORD"));
    assert!(listing.contains(" set 20"), "{listing}");

    let mut sync = with_key(&["sync", "--once"]);
    sync.env_remove("TEST_BC_TOKEN")
        .env_remove("TEST_QAD_PASSWORD")
        .env("ML_CONNECTOR_LOG", "debug");
    let synced = run(sync).await;
    assert!(synced.status.success(), "{}", text(&synced.stderr));
    let ledger = systems.qad.ledger("acme");
    assert!(
        !ledger.is_empty(),
        "the sync posted with the stored credentials"
    );
    let order = ledger[0]
        .external_reference
        .strip_prefix("shop1:")
        .and_then(|r| r.rsplit_once(":r"))
        .map(|(document, _)| document.to_string())
        .unwrap();
    let audit = run(with_key(&["audit", "show", &order, "--json"])).await;
    assert!(audit.status.success(), "{}", text(&audit.stderr));
    assert!(text(&audit.stdout).contains("\"posted\""));
    assert!(
        text(&synced.stderr).contains("DEBUG"),
        "debug logging was on"
    );

    let mut outputs = vec![
        ("sync log".to_string(), synced.stderr.clone()),
        ("sync output".to_string(), synced.stdout.clone()),
        ("audit export".to_string(), audit.stdout.clone()),
        ("secrets list".to_string(), listed.stdout.clone()),
    ];
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files += 1;
            outputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    assert!(files >= 3, "the store, its secrets file and the config");
    for secret in [BC_TOKEN, QAD_PASSWORD] {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
        for (what, bytes) in &outputs {
            assert!(!contains(bytes, secret.as_bytes()), "{secret} in {what}");
            assert!(
                !contains(bytes, encoded.as_bytes()),
                "{secret} (base64) in {what}"
            );
        }
    }

    // A wrong master key is named as such, and the sync does not run on garbage.
    let mut wrong = command(dir.path(), &config, &systems, &["sync", "--once"]);
    wrong
        .env("ML_CONNECTOR_MASTER_KEY", "a0".repeat(32))
        .env_remove("TEST_BC_TOKEN");
    let refused = run(wrong).await;
    assert_eq!(refused.status.code(), Some(2));
    let message = text(&refused.stderr);
    assert!(
        message.contains("the master key does not open secret `TEST_BC_TOKEN`"),
        "{message}"
    );
    assert!(!message.contains(BC_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_refuse_a_loose_key_file_and_rm_forgets_the_name() {
    use std::os::unix::fs::PermissionsExt;
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems, "secret", None);
    let key = key_file(dir.path());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut set = command(dir.path(), &config, &systems, &["secrets", "set", "X"]);
    set.env("ML_CONNECTOR_MASTER_KEY_FILE", &key);
    let out = run_with_input(set, "value").await;
    assert_eq!(out.status.code(), Some(2));
    let message = text(&out.stderr);
    assert!(
        message.contains("can be read by group or others"),
        "{message}"
    );
    assert!(message.contains("chmod 600"), "{message}");

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
    let mut set = command(dir.path(), &config, &systems, &["secrets", "set", "X"]);
    set.env("ML_CONNECTOR_MASTER_KEY_FILE", &key);
    assert!(run_with_input(set, "value").await.status.success());
    let rm = run(command(
        dir.path(),
        &config,
        &systems,
        &["secrets", "rm", "X"],
    ))
    .await;
    assert!(rm.status.success());
    let again = run(command(
        dir.path(),
        &config,
        &systems,
        &["secrets", "rm", "X"],
    ))
    .await;
    assert_eq!(again.status.code(), Some(1));
    let listed = run(command(
        dir.path(),
        &config,
        &systems,
        &["secrets", "list", "--json"],
    ))
    .await;
    assert_eq!(text(&listed.stdout).trim(), "[]");
}

/// `check`'s lines by check name: (passed, the line).
/// Each line of `check`, and whether it did not fail (a warning does not).
fn check_lines(output: &Output) -> Vec<(bool, String)> {
    text(&output.stdout)
        .lines()
        .map(|line| {
            let fine = line.starts_with("PASS") || line.starts_with("WARN");
            (fine, line.to_string())
        })
        .collect()
}

fn failing(output: &Output) -> Vec<String> {
    check_lines(output)
        .into_iter()
        .filter(|(passed, _)| !passed)
        .map(|(_, line)| line)
        .collect()
}

/// Closes (or opens) the GL period of today in the simulated tenant.
fn set_todays_period(qad: &QadSim, tenant: &str, status: PeriodStatus) {
    let today = time::OffsetDateTime::now_utc().date();
    qad.set_period_status(
        tenant,
        "10USACO",
        today.year(),
        u32::from(u8::from(today.month())),
        status,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_with_good_settings_and_names_each_failure() {
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems, "env", None);
    let good = run(command(dir.path(), &config, &systems, &["check"])).await;
    let lines = check_lines(&good);
    assert_eq!(lines.len(), 11, "{lines:?}");
    assert!(lines.iter().all(|(passed, _)| *passed), "{lines:?}");
    assert_eq!(good.status.code(), Some(0));
    // Nothing says the tenant refuses a repeated reference: a warning, with what it means.
    let warned: Vec<&String> = lines
        .iter()
        .map(|(_, line)| line)
        .filter(|line| line.starts_with("WARN"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("qad duplicates") && warned[0].contains("settle_after_seconds"),
        "{warned:?}"
    );
    assert!(
        !dir.path().join("store.db").exists(),
        "check opens no store"
    );

    // A wrong BigCommerce token.
    let mut wrong = command(dir.path(), &config, &systems, &["check"]);
    wrong.env("TEST_BC_TOKEN", "not-the-token");
    let out = run(wrong).await;
    assert_eq!(out.status.code(), Some(1));
    let failed = failing(&out);
    assert!(
        failed[0].starts_with("FAIL  main  bigcommerce store")
            && failed[0].contains("the token was refused (401)"),
        "{failed:?}"
    );
    assert!(!text(&out.stdout).contains("not-the-token"));
    assert!(
        failed.iter().all(|line| line.contains("bigcommerce")),
        "QAD and the plugin still pass: {failed:?}"
    );

    // An account the map names that the chart does not have.
    let unknown = write_config(
        dir.path(),
        &systems,
        "env",
        Some(("account.revenue", "4999")),
    );
    let out = run(command(dir.path(), &unknown, &systems, &["check"])).await;
    assert_eq!(out.status.code(), Some(1));
    let failed = failing(&out);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("qad accounts"), "{failed:?}");
    assert!(
        failed[0].contains("account.revenue = 4999 is not in the chart"),
        "{failed:?}"
    );

    // Today's period closed.
    let config = write_config(dir.path(), &systems, "env", None);
    set_todays_period(&systems.qad, "acme", PeriodStatus::Closed);
    let out = run(command(dir.path(), &config, &systems, &["check"])).await;
    assert_eq!(out.status.code(), Some(1));
    let failed = failing(&out);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("qad period") && failed[0].contains("is Closed: open it in QAD"),
        "{failed:?}"
    );
    set_todays_period(&systems.qad, "acme", PeriodStatus::Open);

    // A tenant whose OpenAPI document lacks the journal entries path.
    let lacking = systems_with(
        SimTenant::demo("acme").without("/api/erp/journalEntries"),
        None,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &lacking, "env", None);
    let out = run(command(dir.path(), &config, &lacking, &["check"])).await;
    assert_eq!(out.status.code(), Some(1));
    let failed = failing(&out);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("qad paths")
            && failed[0].contains("lacks GET /api/erp/journalEntries (journal entries)"),
        "{failed:?}"
    );

    // An API account that may read the store and its transactions, not its orders.
    let narrow = systems_with(
        SimTenant::demo("acme"),
        Some(&[
            "store_v2_information_read_only",
            "store_v2_transactions_read_only",
        ]),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &narrow, "env", None);
    let out = run(command(dir.path(), &config, &narrow, &["check"])).await;
    assert_eq!(out.status.code(), Some(1));
    let failed = failing(&out);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("bigcommerce orders")
            && failed[0].contains(
                "the API account lacks a scope (403): give it Orders read-only \
                 (store_v2_orders_read_only)"
            ),
        "{failed:?}"
    );
}

/// The document part of an external reference (`order:12` of `shop1:order:12:r1`).
fn document_of(reference: &str) -> String {
    reference
        .strip_prefix("shop1:")
        .and_then(|r| r.rsplit_once(":r"))
        .map(|(document, _)| document.to_string())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_finds_a_deleted_and_a_duplicated_posting_and_passes_a_clean_ledger() {
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems, "env", None);
    let synced = run(command(dir.path(), &config, &systems, &["sync", "--once"])).await;
    assert!(synced.status.success(), "{}", text(&synced.stderr));
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let window = ["reconcile", "--from", "2026-11-01", "--to", today.as_str()];

    let clean = run(command(dir.path(), &config, &systems, &window)).await;
    let report = text(&clean.stdout);
    assert_eq!(clean.status.code(), Some(0), "{report}");
    assert!(report.contains("main: 0 of "), "{report}");
    assert!(report.contains("USD 4000"), "totals per account: {report}");

    let ledger = systems.qad.ledger("acme");
    let orders: Vec<&str> = ledger
        .iter()
        .map(|j| j.external_reference.as_str())
        .filter(|r| r.starts_with("shop1:order:"))
        .collect();
    let (deleted, duplicated) = (orders[0], orders[1]);
    assert_eq!(systems.qad.delete_journals("acme", deleted), 1);
    let voucher = systems.qad.duplicate_journal("acme", duplicated);
    // And an order edited in the store since the sync, not yet posted again.
    let data = systems.bigcommerce.data("shop1").unwrap();
    let edited = data
        .orders
        .iter()
        .filter(|o| o.status_id == 11 && o.coupon.is_none())
        .map(|o| o.id)
        .find(|id| {
            let reference = format!("shop1:order:{id}:r1");
            orders.contains(&reference.as_str()) && reference != deleted && reference != duplicated
        })
        .unwrap();
    systems.bigcommerce.edit_order("shop1", edited).unwrap();
    let planted = systems.qad.ledger("acme").len();

    let out = run(command(dir.path(), &config, &systems, &window)).await;
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let line_of = |document: &str, kind: &str| {
        report
            .lines()
            .find(|l| l.starts_with(&format!("{document} ")) && l.contains(kind))
            .unwrap_or_else(|| panic!("no {kind} line for {document} in\n{report}"))
            .to_string()
    };
    let missing = line_of(&document_of(deleted), " missing ");
    assert!(
        missing.contains(&format!("{deleted} is recorded as posted")),
        "{missing}"
    );
    let twice = line_of(&document_of(duplicated), " duplicated ");
    assert!(
        twice.contains(&format!("{duplicated} is in QAD 2 times")) && twice.contains(&voucher),
        "{twice}"
    );
    // The store sells in several currencies; which order is second in the ledger
    // depends on the order the worker's jobs finished in.
    let amounts = line_of(&document_of(duplicated), " amounts ");
    assert!(amounts.contains(" 4000: expected -"), "{amounts}");
    let changed = line_of(&format!("order:{edited}"), " amounts ");
    assert!(changed.contains(": expected "), "{changed}");
    assert!(report.contains("main: 3 of "), "{report}");
    assert!(report.contains("differs by"), "{report}");
    assert_eq!(
        systems.qad.ledger("acme").len(),
        planted,
        "reconcile posts nothing"
    );

    let json = run(command(
        dir.path(),
        &config,
        &systems,
        &[&window[..], &["--json"]].concat(),
    ))
    .await;
    let answer: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let kinds: Vec<&str> = answer["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"missing") && kinds.contains(&"duplicated"),
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_an_orders_journal_and_posts_nothing() {
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems, "env", None);
    let data = systems.bigcommerce.data("shop1").unwrap();
    // A registered shopper's order in a posted status: mapping it needs a QAD customer.
    let order = data
        .orders
        .iter()
        .find(|o| o.status_id == 11 && o.customer_id != 0)
        .unwrap()
        .id;
    let customers = systems.qad.customers("acme").len();
    let id = order.to_string();

    let out = run(command(
        dir.path(),
        &config,
        &systems,
        &["dry-run", "order", &id],
    ))
    .await;
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    assert!(
        shown.starts_with(&format!("order:{id}: would post shop1:order:{id}:r1 (USD ")),
        "{shown}"
    );
    assert!(shown.contains("    4000 "), "per account: {shown}");
    assert!(
        shown.contains("    1200 ") || shown.contains("    115"),
        "{shown}"
    );

    let out = run(command(
        dir.path(),
        &config,
        &systems,
        &["dry-run", "order", &id, "--json"],
    ))
    .await;
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["plan"]["reference"], format!("shop1:order:{id}:r1"));
    let lines = answer["plan"]["entry"]["lines"].as_array().unwrap();
    let side = |key: &str| lines.iter().map(|l| l[key].as_i64().unwrap()).sum::<i64>();
    assert!(side("debit") > 0);
    assert_eq!(side("debit"), side("credit"), "the journal balances");

    assert!(systems.qad.ledger("acme").is_empty(), "nothing posted");
    assert_eq!(
        systems.qad.customers("acme").len(),
        customers,
        "no customer created"
    );
}

/// `audit verify` over a copy of `dir`'s store, changed by `tamper` (with the append-only
/// triggers dropped first, as someone with the database file would), with the key and
/// the head file; its exit code and output.
async fn verify_tampered(
    dir: &Path,
    key: &Path,
    name: &str,
    tamper: impl FnOnce(&rusqlite::Connection),
) -> (i32, String) {
    let copy = dir.join(format!("{name}.db"));
    let original = rusqlite::Connection::open(dir.join("store.db")).unwrap();
    original
        .execute("VACUUM INTO ?1", [copy.display().to_string()])
        .unwrap();
    let db = rusqlite::Connection::open(&copy).unwrap();
    db.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .unwrap();
    tamper(&db);
    drop(db);
    let mut verify = Command::new(env!("CARGO_BIN_EXE_ml-connector"));
    verify
        .arg("--store")
        .arg(&copy)
        .arg("--audit-head")
        .arg(dir.join("store.audit-head"))
        .args(["audit", "verify"])
        .env_remove("ML_CONNECTOR_MASTER_KEY");
    let out = run(keyed(verify, key)).await;
    (out.status.code().unwrap_or(-1), text(&out.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_shows_removed_and_rewritten_entries_against_its_key_and_head() {
    let systems = systems().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &systems, "env", None);
    let key = key_file(dir.path());
    let with_key = |args: &[&str]| keyed(command(dir.path(), &config, &systems, args), &key);
    let synced = run(with_key(&["sync", "--once"])).await;
    assert!(synced.status.success(), "{}", text(&synced.stderr));
    let head = std::fs::read_to_string(dir.path().join("store.audit-head")).unwrap();
    assert!(
        head.starts_with("ml-connector audit head v1 seq="),
        "{head}"
    );

    let verified = run(with_key(&["audit", "verify"])).await;
    let said = text(&verified.stdout);
    assert!(verified.status.success(), "{said}");
    assert!(
        said.contains("keyed under key id") && said.contains("reaches the signed head"),
        "{said}"
    );
    // Without the key a keyed log cannot be checked, nor written to.
    let mut keyless = command(dir.path(), &config, &systems, &["audit", "verify"]);
    keyless.env_remove("ML_CONNECTOR_MASTER_KEY_FILE");
    let refused = run(keyless).await;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));

    // An untouched copy passes; each change to it is named.
    let (code, said) = verify_tampered(dir.path(), &key, "copy", |_| {}).await;
    assert_eq!(code, 0, "{said}");
    let (code, said) = verify_tampered(dir.path(), &key, "cut", |db| {
        db.execute(
            "DELETE FROM audit WHERE seq > (SELECT MAX(seq) - 3 FROM audit)",
            [],
        )
        .unwrap();
    })
    .await;
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("removed from its end"), "{said}");
    let (code, said) = verify_tampered(dir.path(), &key, "rechained", |db| {
        // Entry 5 rewritten and every later hash recomputed, without the key.
        use ml_connector::store::AuditEntry;
        use ml_connector::store::chain::chain_hash;
        let rows: Vec<(i64, i64, AuditEntry)> = db
            .prepare("SELECT seq, at, connection, subject, kind, data FROM audit ORDER BY seq")
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    AuditEntry {
                        connection: r.get(2)?,
                        subject: r.get(3)?,
                        kind: r.get(4)?,
                        // Long data is stored packed (zstd); the chain covers the text.
                        data: match r.get_ref(5)? {
                            rusqlite::types::ValueRef::Blob(packed) => {
                                String::from_utf8(zstd::decode_all(packed).unwrap()).unwrap()
                            }
                            _ => r.get(5)?,
                        },
                    },
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut previous: String = db
            .query_row("SELECT hash FROM audit WHERE seq = 4", [], |r| r.get(0))
            .unwrap();
        for (seq, at, mut entry) in rows.into_iter().filter(|(seq, ..)| *seq >= 5) {
            if seq == 5 {
                entry.data = "{\"rewritten\":true}".into();
            }
            let hash = chain_hash(None, &previous, seq, at, &entry);
            db.execute(
                "UPDATE audit SET data = ?1, hash = ?2 WHERE seq = ?3",
                rusqlite::params![entry.data, hash, seq],
            )
            .unwrap();
            previous = hash;
        }
    })
    .await;
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("broken at entry 5") && said.contains("not keyed"),
        "{said}"
    );

    // A record's entries exported are checked away from the store, with the key alone.
    let ledger = systems.qad.ledger("acme");
    let record = ledger[0]
        .external_reference
        .strip_prefix("shop1:")
        .and_then(|r| r.rsplit_once(":r"))
        .map(|(document, _)| document.to_string())
        .unwrap();
    let exported = run(with_key(&["audit", "export", &record])).await;
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let file = dir.path().join("export.json");
    std::fs::write(&file, &exported.stdout).unwrap();
    let checked = run(with_key(&[
        "audit",
        "verify",
        "--export",
        file.to_str().unwrap(),
    ]))
    .await;
    assert!(checked.status.success(), "{}", text(&checked.stdout));
    let changed = text(&exported.stdout).replacen("\"posted\"", "\"parked\"", 1);
    assert_ne!(changed, text(&exported.stdout));
    std::fs::write(&file, changed).unwrap();
    let checked = run(with_key(&[
        "audit",
        "verify",
        "--export",
        file.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked.stdout));
}
