//! Builds the default plugins (`plugins/order-to-gl`, `plugins/item-to-catalog`) for
//! wasm32-wasip2 and puts them in OUT_DIR, where `plugins::builtin` embeds them.

use std::path::Path;

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
}
