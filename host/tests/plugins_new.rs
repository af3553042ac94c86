//! `ml-connector plugins new` as a new author uses it: for each world and language, a
//! project written into an empty folder, built with its one documented command, and its
//! fixtures passing `plugins test` and `plugins check` untouched. The three languages
//! share each world's fixtures, so they are checked to map alike. `plugins test --update`
//! writes a changed plugin's answers back. A language whose toolchain is missing skips
//! with a message (and fails under `CI=true`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary with a compile cache kept between runs (never the user's).
fn cli(dir: &Path, args: &[&str]) -> (Output, String) {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("new-compiled");
    let output = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .arg("--cache-dir")
        .arg(&cache)
        .args(args)
        .current_dir(dir)
        .env_remove("ML_CONNECTOR_PLUGIN_DIR")
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

/// Whether `program args` runs and succeeds.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Whether the language's build tools are here; skips with a message otherwise, and fails
/// under `CI=true`, where `.ci/run` installs them.
fn toolchain(language: &str) -> bool {
    let (present, needs) = match language {
        "rust" => (runs("cargo", &["--version"]), "cargo"),
        "javascript" => (
            runs("node", &["--version"]) && runs("npm", &["--version"]),
            "Node.js and npm",
        ),
        "python" => (
            runs("python3", &["-c", "import ensurepip, venv"]),
            "python3 with venv and ensurepip",
        ),
        other => panic!("no language {other}"),
    };
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {needs} is missing"
        );
        eprintln!("skipped: a {language} plugin project needs {needs}");
    }
    present
}

/// Writes, builds and tests a project; returns its folder (inside `tmp`).
fn new_project(tmp: &Path, world: &str, language: &str) -> PathBuf {
    let name = format!("acme-{language}-{world}");
    let dir = tmp.join(&name);
    let (output, text) = cli(
        tmp,
        &[
            "plugins", "new", &name, "--world", world, "--lang", language,
        ],
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains(&format!("wrote {name}")), "{text}");

    let build = if language == "javascript" {
        "npm run build"
    } else {
        "./build.sh"
    };
    assert!(
        std::fs::read_to_string(dir.join("README.md"))
            .unwrap()
            .contains(&format!("    {build}\n")),
        "the README gives the build command"
    );
    let built = Command::new("sh")
        .args(["-c", build])
        .current_dir(&dir)
        // Rust projects share one target folder between runs: the first build of
        // wit-bindgen is the slow part.
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("new-plugins-target"),
        )
        .output()
        .expect("sh runs");
    assert!(
        built.status.success(),
        "`{build}` failed in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(dir.join("dist/plugin.wasm").is_file());

    let fixtures = std::fs::read_dir(dir.join("fixtures"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
        .count();
    assert!(fixtures >= 3, "{fixtures} fixtures");
    let (output, text) = cli(&dir, &["plugins", "test", "dist/plugin.wasm"]);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(&format!("{fixtures} passed, 0 failed")),
        "{text}"
    );
    let (output, text) = cli(&dir, &["plugins", "check", "dist/plugin.wasm"]);
    assert!(output.status.success(), "{text}");
    assert!(text.contains(&format!("world     {world}")), "{text}");
    assert!(text.contains("ml-connector:mapping@0.2.0"), "{text}");
    // No files, sockets or network; JavaScript and Python import only the contract (Rust's
    // standard library also imports the CLI interfaces, which the host gives inert).
    let imports: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.starts_with("imports"))
        .take_while(|line| !line.starts_with("exports"))
        .collect();
    assert!(!imports.is_empty(), "{text}");
    for import in imports {
        for refused in ["wasi:filesystem", "wasi:sockets", "wasi:http"] {
            assert!(!import.contains(refused), "{import}\n{text}");
        }
        if language != "rust" {
            assert!(import.contains("ml-connector:mapping/"), "{import}\n{text}");
        }
    }
    dir
}

fn check(world: &str, language: &str) {
    if toolchain(language) {
        let tmp = tempfile::tempdir().unwrap();
        new_project(tmp.path(), world, language);
    }
}

#[test]
fn a_new_rust_order_plugin_builds_and_passes_its_fixtures_and_update_records_a_change() {
    if !toolchain("rust") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = new_project(tmp.path(), "order-to-gl", "rust");
    // The author changes the policy: the discounts now go to the sales account.
    let fixture = dir.join("fixtures/order-basic.json");
    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    edited["config"]["account.discounts"] = "4000".into();
    std::fs::write(&fixture, edited.to_string()).unwrap();

    let (output, text) = cli(&dir, &["plugins", "test", "dist/plugin.wasm"]);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL order-basic.json"), "{text}");
    let removed = |line: &str| line.trim_start().starts_with('-') && line.contains("\"4900\"");
    assert!(
        text.lines().any(removed),
        "the diff shows 4900 going: {text}"
    );

    let (output, text) = cli(&dir, &["plugins", "test", "dist/plugin.wasm", "--update"]);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("updated  order-basic.json"), "{text}");
    assert!(
        text.contains("1 updated, 9 unchanged, 0 could not run"),
        "{text}"
    );
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    assert_eq!(recorded["case"], "shared/order-basic.json");
    assert_eq!(recorded["config"]["account.discounts"], "4000");
    let discounts = recorded["expected"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["memo"] == "discounts")
        .unwrap();
    assert_eq!(discounts["account"], "4000");

    let (output, text) = cli(&dir, &["plugins", "test", "dist/plugin.wasm"]);
    assert!(output.status.success(), "{text}");
}

#[test]
fn a_new_rust_catalog_plugin_builds_and_passes_its_fixtures() {
    check("item-to-catalog", "rust");
}

#[test]
fn a_new_javascript_order_plugin_builds_and_passes_its_fixtures() {
    check("order-to-gl", "javascript");
}

#[test]
fn a_new_javascript_catalog_plugin_builds_and_passes_its_fixtures() {
    check("item-to-catalog", "javascript");
}

#[test]
fn a_new_python_order_plugin_builds_and_passes_its_fixtures() {
    check("order-to-gl", "python");
}

#[test]
fn a_new_python_catalog_plugin_builds_and_passes_its_fixtures() {
    check("item-to-catalog", "python");
}

#[test]
fn a_project_needs_a_plugin_name_and_an_empty_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |name: &'static str| {
        [
            "plugins",
            "new",
            name,
            "--world",
            "order-to-gl",
            "--lang",
            "rust",
        ]
    };
    let (output, text) = cli(tmp.path(), &args("Acme Orders"));
    assert!(!output.status.success());
    assert!(text.contains("is not a plugin name"), "{text}");

    std::fs::create_dir(tmp.path().join("acme")).unwrap();
    std::fs::write(tmp.path().join("acme/notes.txt"), "mine").unwrap();
    let (output, text) = cli(tmp.path(), &args("acme"));
    assert!(!output.status.success());
    assert!(text.contains("already exists and is not empty"), "{text}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("acme/notes.txt")).unwrap(),
        "mine"
    );
}
