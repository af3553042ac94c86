//! Build-script helper: compiles packages of the guest workspace in `plugins/` into
//! WebAssembly components (wasm32-wasip2), the way wasmtime's own test programs are built.
//!
//! The guests get a target directory of their own beside the host's (`<target>/wasm32-guests`),
//! so the nested cargo never waits on the outer one's lock and rebuilds stay incremental
//! across the debug, test and release profiles.
//!
//! The guest target is added when the toolchain lacks it, as cargo-component does: rustup
//! installs the targets `rust-toolchain.toml` names only when it installs the toolchain
//! itself, so a machine whose image already had the toolchain would otherwise fail a new
//! user's first `cargo run`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `packages` of the guest workspace at `workspace` (a directory with a Cargo.toml)
/// in release mode and returns `(package name, path of the .wasm component)` for each.
///
/// Cargo is told to re-run the calling build script when any file in the guest workspace
/// or the WIT contract changes.
pub fn build_components(workspace: &Path, wit: &Path, packages: &[&str]) -> Vec<(String, PathBuf)> {
    let out_dir =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    let target_dir = guest_target_dir(&out_dir);
    rerun_if_changed_tree(workspace, &target_dir);
    rerun_if_changed_tree(wit, &target_dir);
    build_in(workspace, &target_dir, packages)
}

/// Builds `packages` like [`build_components`], into `target_dir` (by convention
/// `<target>/wasm32-guests`); for a test that needs a guest no build script builds.
pub fn build_in(workspace: &Path, target_dir: &Path, packages: &[&str]) -> Vec<(String, PathBuf)> {
    ensure_target(workspace, target_dir);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .arg("build")
        .arg("--release")
        .arg("--target=wasm32-wasip2")
        .arg("--target-dir")
        .arg(target_dir);
    for package in packages {
        cmd.arg("-p").arg(package);
    }
    // The outer build's flags are for the host target; the guests have their own profile.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("cargo can be started to build the wasm guests");
    assert!(
        status.success(),
        "building wasm guests {packages:?} in {} failed (the compiler's messages are above)",
        workspace.display()
    );

    packages
        .iter()
        .map(|package| {
            let file = target_dir
                .join("wasm32-wasip2")
                .join("release")
                .join(format!("{}.wasm", package.replace('-', "_")));
            assert!(
                file.is_file(),
                "guest {package} built but {} is missing",
                file.display()
            );
            (package.to_string(), file)
        })
        .collect()
}

const TARGET: &str = "wasm32-wasip2";

/// Makes sure the toolchain that builds the guests has the `wasm32-wasip2` standard
/// library, adding it with rustup when it is missing (a one-line warning says so).
///
/// Build scripts of several crates build guests at once: a lock file in the guest target
/// directory lets one of them install the target while the others wait for it.
fn ensure_target(workspace: &Path, target_dir: &Path) {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let installed = || {
        Command::new(&rustc)
            .args(["--print", "sysroot"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| {
                let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
                Path::new(&sysroot)
                    .join("lib/rustlib")
                    .join(TARGET)
                    .join("lib")
                    .is_dir()
            })
            .unwrap_or(false)
    };
    if installed() {
        return;
    }
    std::fs::create_dir_all(target_dir).expect("the guest target directory can be created");
    let lock = std::fs::File::create(target_dir.join(".target-install.lock"))
        .expect("the guest target directory is writable");
    lock.lock().expect("the target install lock can be taken");
    if installed() {
        return;
    }
    println!(
        "cargo:warning=the {TARGET} target is missing; adding it with `rustup target add {TARGET}`"
    );
    // In the workspace, rustup picks the toolchain rust-toolchain.toml pins (or the one
    // RUSTUP_TOOLCHAIN names when cargo was started through rustup).
    let added = Command::new("rustup")
        .current_dir(workspace)
        .args(["target", "add", TARGET])
        .status();
    match added {
        Ok(status) if status.success() && installed() => {}
        Ok(_) => panic!(
            "`rustup target add {TARGET}` failed (its messages are above); the plugins cannot be built without it"
        ),
        Err(_) => panic!(
            "the {TARGET} target is missing and rustup is not on PATH: install the target for this toolchain (`rustup target add {TARGET}`, or your distribution's rust-std-{TARGET} package)"
        ),
    }
}

/// `<target>/wasm32-guests`, found from OUT_DIR (`<target>/<profile>/build/<pkg>-<hash>/out`).
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "build"))
        .and_then(|build| build.parent())
        .and_then(|profile| profile.parent())
        .map(|target| target.join("wasm32-guests"))
        .unwrap_or_else(|| out_dir.join("wasm32-guests"))
}

fn rerun_if_changed_tree(dir: &Path, skip: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with('.') && name != ".cargo";
        if path == skip || name == "target" || hidden {
            continue;
        }
        if path.is_dir() {
            rerun_if_changed_tree(&path, skip);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
