//! `ml-connector plugins test` and `plugins check` as a user runs them: every fixture of a
//! plugin folder, a diff and exit code 1 for a fixture whose expected journal differs,
//! the single-fixture form, and the check report.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the binary with a compile cache of its own (never the user's).
fn cli(args: &[&str]) -> (Output, String) {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-compiled");
    let output = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .arg("--cache-dir")
        .arg(&cache)
        .args(args)
        .current_dir(root())
        .env_remove("ML_CONNECTOR_PLUGIN_DIR")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    (output, stdout)
}

#[test]
fn every_fixture_of_a_folder_runs_and_passes() {
    let (output, stdout) = cli(&[
        "plugins",
        "test",
        "order-to-gl",
        "plugins/order-to-gl/fixtures",
    ]);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("PASS order-foreign-currency.json"),
        "{stdout}"
    );
    assert!(stdout.contains("10 passed, 0 failed"), "{stdout}");
}

#[test]
fn a_plugin_folder_in_the_plugin_directory_brings_its_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    // The same order with revenue 50.00 short in `wrong.json`: the diff names both amounts.
    common::folder_with_fixtures(&dir.path().join("order-to-gl"));

    let dir_arg = dir.path().display().to_string();
    let (output, stdout) = cli(&["--plugin-dir", &dir_arg, "plugins", "test", "order-to-gl"]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("PASS basic.json"), "{stdout}");
    assert!(stdout.contains("FAIL wrong.json"), "{stdout}");
    assert!(stdout.contains("-       \"credit\": 575000"), "{stdout}");
    assert!(stdout.contains("+       \"credit\": 625000"), "{stdout}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
}

#[test]
fn the_single_fixture_form_prints_the_result_and_its_costs() {
    let (output, stdout) = cli(&[
        "plugins",
        "test",
        "order-to-gl",
        "examples/fixtures/order-basic.json",
    ]);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("\"memo\": \"paid via stripe\""), "{stdout}");
    assert!(stdout.contains("fuel "), "{stdout}");
    assert!(stdout.contains("verdict  pass"), "{stdout}");
}

#[test]
fn a_plugin_without_fixtures_says_how_to_give_them() {
    let (output, _) = cli(&["plugins", "test", "order-to-gl"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has no fixtures/ folder"), "{stderr}");
}

#[test]
fn check_reports_the_binary_and_each_fixture_against_the_limits() {
    let (output, stdout) = cli(&[
        "plugins",
        "check",
        "order-to-gl",
        "--fixtures",
        "plugins/order-to-gl/fixtures",
    ]);
    assert!(output.status.success(), "{stdout}");
    for expected in [
        "world     order-to-gl",
        "contract  ml-connector:mapping@0.2.0",
        "imports   ml-connector:mapping/",
        "plugin    order-to-gl ",
        "limits    per record: fuel 100,000,000",
        "PASS order-guest.json",
        "10 passed, 0 failed",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in\n{stdout}"
        );
    }
}

#[test]
fn check_refuses_a_file_that_is_not_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("module.wasm");
    std::fs::write(&file, b"\0asm\x01\0\0\0").unwrap();
    let (output, stdout) = cli(&["plugins", "check", &file.display().to_string()]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("refused   is a core WebAssembly module"),
        "{stdout}"
    );
}
