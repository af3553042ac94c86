//! The `ml-connector` binary as a user runs it: `plugins list`, `plugins test`, `demo`,
//! and the one-line errors for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn run(args: &[&str]) -> Output {
    let cache = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .arg("--cache-dir")
        .arg(cache.path())
        .args(args)
        .env_remove("ML_CONNECTOR_PLUGIN_DIR")
        .env_remove("ML_CONNECTOR_SETTINGS")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[test]
fn plugins_test_prints_the_result_fuel_memory_and_time() {
    let fixture = examples().join("fixtures/order-basic.json");
    let out = run(&[
        "plugins",
        "test",
        "order-to-gl",
        fixture.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&fixture).unwrap())
            .unwrap()["expected"]
            .clone();
    assert_eq!(report["output"], expected);
    assert_eq!(report["error"], serde_json::Value::Null);
    assert_eq!(report["world"], "order-to-gl");
    assert!(report["fuel_consumed"].as_u64().unwrap() > 1_000);
    assert!(report["memory_peak_bytes"].as_u64().unwrap() > 0);
    assert_eq!(report["sha256"].as_str().unwrap().len(), 64);

    let human = run(&["plugins", "test", "order-to-gl", fixture.to_str().unwrap()]);
    let stdout = text(&human.stdout);
    for label in [
        "plugin   order-to-gl 0.2.0",
        "result",
        "fuel     ",
        "memory   ",
        "time     ",
    ] {
        assert!(stdout.contains(label), "missing {label:?} in\n{stdout}");
    }
}

#[test]
fn plugins_test_exits_1_with_the_plugin_error_when_the_record_does_not_map() {
    let dir = tempfile::tempdir().unwrap();
    let mut fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(examples().join("fixtures/order-basic.json")).unwrap(),
    )
    .unwrap();
    fixture["input"]["total_tax"] = serde_json::json!(1);
    let path = dir.path().join("bad-tax.json");
    std::fs::write(&path, fixture.to_string()).unwrap();
    let out = run(&["plugins", "test", "order-to-gl", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("error    plugin `order-to-gl` could not map it: tax lines sum to 5.8000"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[tax-lines-do-not-add-up] at `taxes`"),
        "{stdout}"
    );
}

#[test]
fn a_fixture_that_does_not_parse_gets_a_one_line_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, r#"{"function": "map-order", "input": {"id": 1}"#).unwrap();
    let out = run(&["plugins", "test", "order-to-gl", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("fixture does not parse"),
        "{stderr}"
    );

    std::fs::write(&path, r#"{"function": "map-order", "input": {"id": 1}}"#).unwrap();
    let out = run(&["plugins", "test", "order-to-gl", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("fixture input is not a valid order"),
        "{stderr}"
    );
}

#[test]
fn a_file_that_is_not_a_plugin_gets_a_one_line_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wasm");
    std::fs::write(&path, "hello").unwrap();
    let fixture = examples().join("fixtures/order-basic.json");
    let out = run(&[
        "plugins",
        "test",
        path.to_str().unwrap(),
        fixture.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.trim(),
        format!(
            "error: plugin `notes` ({}) is not a WebAssembly file",
            path.display()
        )
    );
}

#[test]
fn plugins_list_shows_active_plugins_and_why_others_are_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.wasm"), "garbage").unwrap();
    let settings = examples().join("settings.toml");
    let out = run(&[
        "--settings",
        settings.to_str().unwrap(),
        "--plugin-dir",
        dir.path().to_str().unwrap(),
        "plugins",
        "list",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |name: &str| list.iter().find(|p| p["name"] == name).unwrap().clone();
    assert_eq!(by_name("order-to-gl")["status"], "active");
    assert_eq!(by_name("order-to-gl")["world"], "order-to-gl");
    assert_eq!(by_name("item-to-catalog")["status"], "active");
    assert_eq!(by_name("broken")["status"], "failed");
    assert!(
        by_name("broken")["error"]
            .as_str()
            .unwrap()
            .ends_with("is not a WebAssembly file")
    );

    let table = text(&run(&["--settings", settings.to_str().unwrap(), "plugins", "list"]).stdout);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("order-to-gl          0.2.0      order-to-gl"),
        "{table}"
    );
}

#[test]
fn demo_runs_the_pipeline_on_the_simulators_and_reconciles() {
    let out = run(&["demo", "--orders", "60", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["reconciled"], true, "{summary}");
    assert_eq!(summary["ledger_balanced"], true);
    assert_eq!(
        summary["orders"], 65,
        "60 seeded and 5 placed during the demo"
    );
    assert!(summary["journals_posted"].as_u64().unwrap() > 40);
    assert!(
        summary["adjustments"].as_u64().unwrap() >= 2,
        "an edit and a cancellation"
    );
    assert!(summary["customers_created"].as_u64().unwrap() > 0);
    assert_eq!(summary["parked"], 0);
}

#[tokio::test]
async fn audit_show_prints_a_records_history_and_verify_checks_the_chain() {
    use ml_connector::store::{AuditEntry, SqliteStore, Store};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    for kind in ["mapped", "posting", "posted"] {
        store
            .audit(&AuditEntry {
                connection: "main".into(),
                subject: "order:100".into(),
                kind: kind.into(),
                data: format!("{{\"step\":\"{kind}\"}}"),
            })
            .await
            .unwrap();
    }
    drop(store);
    let store_arg = path.to_str().unwrap();
    let out = run(&["--store", store_arg, "audit", "show", "order:100"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("[main] mapped"), "{shown}");
    assert!(shown.contains("\"step\": \"posted\""), "{shown}");
    let out = run(&["--store", store_arg, "audit", "show", "order:999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no audit entries"));
    let out = run(&["--store", store_arg, "audit", "verify"]);
    assert!(out.status.success());
    let said = text(&out.stdout);
    assert!(
        said.starts_with("audit chain intact: 3 entries; the log is not keyed"),
        "{said}"
    );
    let missing = dir.path().join("nothing.db");
    let out = run(&["--store", missing.to_str().unwrap(), "audit", "verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no store at"));
}

#[test]
fn a_postgres_store_that_cannot_be_reached_is_named_without_its_password() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let out = run(&[
        "--store",
        "postgres://connector:s3cret-pw@127.0.0.1:1/connector",
        "audit",
        "verify",
    ]);
    assert!(!out.status.success());
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        said.contains("cannot open postgres://connector:***@127.0.0.1:1/connector"),
        "{said}"
    );
    assert!(said.contains("error connecting to server"), "{said}");
    assert!(
        !said.contains("s3cret-pw"),
        "the password was printed: {said}"
    );
}
