//! Builds the default plugins (`plugins/order-to-gl`, `plugins/item-to-catalog`) for
//! wasm32-wasip2 and puts them in OUT_DIR, where `plugins::builtin` embeds them; and lists
//! the files `ml-connector plugins new` writes (`plugins::scaffold`) for it to embed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is inside the workspace");
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR is set for build scripts");
    // One cargo invocation per plugin: each enables its own world's feature of the SDK.
    for package in ["order-to-gl", "item-to-catalog"] {
        for (name, wasm) in
            wasm_build::build_components(&root.join("plugins"), &root.join("wit"), &[package])
        {
            let target = Path::new(&out_dir).join(format!("{}.wasm", name.replace('-', "_")));
            std::fs::copy(&wasm, &target).expect("copying the built plugin into OUT_DIR");
        }
    }
    scaffold_files(root, Path::new(&out_dir));
}

/// Writes `scaffold_files.rs`: `(name, contents)` of each file a new plugin project is
/// made from: the templates (`templates/...`), every contract version's WIT
/// (`wit/mapping@X/...`), the shared fixture cases (`shared/...`) and the JavaScript
/// build tools' lock file (`javascript/package-lock.json`, the example's: one pin).
fn scaffold_files(root: &Path, out_dir: &Path) {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let host = Path::new(env!("CARGO_MANIFEST_DIR"));
    collect(&host.join("templates"), "templates", &mut files);
    collect(&root.join("wit"), "wit", &mut files);
    collect(&root.join("examples/fixtures/shared"), "shared", &mut files);
    let lock = root.join("examples/js-order-to-gl/package-lock.json");
    println!("cargo:rerun-if-changed={}", lock.display());
    files.push(("javascript/package-lock.json".into(), lock));
    files.sort();
    let mut code = String::from("pub(super) static FILES: &[(&str, &str)] = &[\n");
    for (name, path) in &files {
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    std::fs::write(out_dir.join("scaffold_files.rs"), code).expect("writing scaffold_files.rs");
}

fn collect(dir: &Path, prefix: &str, files: &mut Vec<(String, PathBuf)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("reading a directory entry").path();
        let name = format!(
            "{prefix}/{}",
            path.file_name()
                .expect("entries have names")
                .to_string_lossy()
        );
        if path.is_dir() {
            collect(&path, &name, files);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push((name, path));
        }
    }
}
