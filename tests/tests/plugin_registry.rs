//! The plugin directory: discovery, the compile cache, refusal of precompiled files, a
//! broken plugin beside good ones, and hot reload while calls are running.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ml_connector::plugins::builtin::builtin;
use ml_connector::plugins::{CompileCache, Isolation, Limits, Registry, RegistryOptions};
use ml_connector_tests::test_plugins::*;
use ml_connector_tests::*;

/// Replaces `path` the way an operator should: write a temporary file, then rename.
fn drop_plugin(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// `<dir>/<name>/plugin.wasm` (the relabel test plugin) with `manifest` as its plugin.toml.
fn plugin_folder(dir: &Path, name: &str, manifest: &str) -> std::path::PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir(&folder).unwrap();
    drop_plugin(
        &folder.join("plugin.wasm"),
        &std::fs::read(RELABEL).unwrap(),
    );
    std::fs::write(folder.join("plugin.toml"), manifest).unwrap();
    folder
}

fn options(dir: &Path, cache: CompileCache) -> RegistryOptions {
    let mut settings = BTreeMap::new();
    settings.insert("orders".to_string(), order_settings());
    settings.insert("order-to-gl".to_string(), order_settings());
    RegistryOptions {
        dir: Some(dir.to_path_buf()),
        cache,
        limits: Limits::default(),
        settings,
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn replacing_a_plugin_while_calls_run_swaps_versions_without_failing_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.wasm");
    drop_plugin(&path, builtin("order-to-gl").unwrap());
    let (registry, _) = Registry::open(options(dir.path(), CompileCache::none()));
    let _watcher = registry.watch().unwrap();
    let before = registry.get("orders").expect("the first version is active");
    assert_eq!(before.info().version, "0.1.0");

    let stop = AtomicBool::new(false);
    let calls = AtomicUsize::new(0);
    let seen: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let mut last = String::new();
                while !stop.load(Ordering::Relaxed) {
                    let plugin = registry.get("orders").expect("a version is always active");
                    let version = plugin.info().version.clone();
                    let mapped = plugin.map_orders(&[example_order()], Isolation::Batch, None);
                    mapped
                        .results
                        .into_iter()
                        .next()
                        .unwrap()
                        .expect("no call fails during a reload");
                    calls.fetch_add(1, Ordering::Relaxed);
                    // New calls never go back to the old version once the new one is seen.
                    assert!(
                        !(last == "2.0.0" && version == "0.1.0"),
                        "went back to the old version"
                    );
                    if version != last {
                        seen.lock().unwrap().push(version.clone());
                        last = version;
                    }
                }
            });
        }

        wait_until("calls are running", || calls.load(Ordering::Relaxed) > 20);
        let relabel = std::fs::read(RELABEL).unwrap();
        drop_plugin(&path, &relabel);
        wait_until("the new version is active", || {
            registry.get("orders").unwrap().info().version == "2.0.0"
        });
        let after_swap = calls.load(Ordering::Relaxed);
        wait_until("calls ran on the new version", || {
            calls.load(Ordering::Relaxed) > after_swap + 20
        });

        // A broken replacement: the new version stays active and the failure is reported.
        drop_plugin(&path, b"\0asm\x0d\0\x01\0truncated");
        wait_until("the broken file is reported", || {
            registry.list().iter().any(|s| {
                s.name == "orders"
                    && s.error
                        .as_deref()
                        .is_some_and(|e| e.contains("not a valid"))
            })
        });
        let after_break = calls.load(Ordering::Relaxed);
        wait_until("calls go on after the broken drop", || {
            calls.load(Ordering::Relaxed) > after_break + 20
        });
        stop.store(true, Ordering::Relaxed);
    });

    assert_eq!(registry.get("orders").unwrap().info().version, "2.0.0");
    let status = registry
        .list()
        .into_iter()
        .find(|s| s.name == "orders")
        .unwrap();
    assert_eq!(status.status, "active");
    assert_eq!(status.version.as_deref(), Some("2.0.0"));
    let seen = seen.into_inner().unwrap();
    assert!(
        seen.contains(&"0.1.0".to_string()) && seen.contains(&"2.0.0".to_string()),
        "{seen:?}"
    );
    // A call that started on the old version finishes on it.
    let old = before.map_orders(&[example_order()], Isolation::Batch, None);
    assert_eq!(old.results[0].as_ref().unwrap().daybook, "SO");
}

#[test]
fn a_broken_plugin_beside_good_ones_is_reported_and_the_rest_stay_active() {
    let dir = tempfile::tempdir().unwrap();
    drop_plugin(&dir.path().join("garbage.wasm"), b"this is not wasm");
    drop_plugin(
        &dir.path().join("unbalanced.wasm"),
        &std::fs::read(UNBALANCED).unwrap(),
    );
    std::fs::create_dir(dir.path().join("fs")).unwrap();
    drop_plugin(
        &dir.path().join("fs").join("plugin.wasm"),
        &std::fs::read(FILESYSTEM).unwrap(),
    );
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    std::fs::write(dir.path().join(".hidden.wasm"), "ignored").unwrap();
    let (registry, _) = Registry::open(options(dir.path(), CompileCache::none()));

    let list: BTreeMap<String, _> = registry
        .list()
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
    assert_eq!(
        list.keys().collect::<Vec<_>>(),
        [
            "fs",
            "garbage",
            "item-to-catalog",
            "order-to-gl",
            "unbalanced"
        ]
    );
    assert_eq!(list["garbage"].status, "failed");
    assert_eq!(
        list["garbage"].error.as_deref(),
        Some(
            format!(
                "plugin `garbage` ({}) is not a WebAssembly file",
                dir.path().join("garbage.wasm").display()
            )
            .as_str()
        )
    );
    assert_eq!(list["fs"].status, "failed");
    assert!(
        list["fs"]
            .error
            .as_deref()
            .unwrap()
            .contains("(file access)")
    );
    assert_eq!(list["unbalanced"].status, "active");
    assert_eq!(list["order-to-gl"].status, "active");
    assert_eq!(list["order-to-gl"].source, "built-in");
    // item-to-catalog has no settings here: it refuses its empty configuration.
    assert_eq!(list["item-to-catalog"].status, "failed");
    assert!(
        list["item-to-catalog"]
            .error
            .as_deref()
            .unwrap()
            .contains("setting `price-list` is required")
    );
    assert!(registry.get("order-to-gl").is_some());
}

#[test]
fn a_directory_plugin_overrides_the_builtin_and_removing_it_brings_the_builtin_back() {
    let dir = tempfile::tempdir().unwrap();
    let folder = plugin_folder(
        dir.path(),
        "order-to-gl",
        "[limits]\nfuel_per_record = 2000000\n\n[config]\nnote = \"from plugin.toml\"\n",
    );
    let (registry, _) = Registry::open(options(dir.path(), CompileCache::none()));
    let plugin = registry.get("order-to-gl").unwrap();
    assert_eq!(plugin.info().version, "2.0.0");
    assert_eq!(plugin.limits().fuel_per_record, 2_000_000);
    assert!(
        plugin
            .settings()
            .contains(&("note".to_string(), "from plugin.toml".to_string()))
    );

    std::fs::remove_dir_all(&folder).unwrap();
    registry.reload();
    assert_eq!(registry.get("order-to-gl").unwrap().info().version, "0.1.0");
    assert_eq!(
        registry
            .list()
            .into_iter()
            .find(|s| s.name == "order-to-gl")
            .unwrap()
            .source,
        "built-in"
    );
}

#[test]
fn a_plugin_toml_cannot_raise_limits_past_the_host_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let folder = plugin_folder(
        dir.path(),
        "greedy",
        "[limits]\nmemory_bytes = 4294967296\n",
    );
    let (registry, _) = Registry::open(options(dir.path(), CompileCache::none()));
    assert_eq!(
        registry.get("greedy").unwrap().limits().memory_bytes,
        Limits::default().memory_bytes
    );

    std::fs::write(folder.join("plugin.toml"), "[limits]\nmemory = 1\n").unwrap();
    registry.reload();
    let status = registry
        .list()
        .into_iter()
        .find(|s| s.name == "greedy")
        .unwrap();
    assert!(
        status.error.as_deref().unwrap().contains("bad plugin.toml"),
        "{status:?}"
    );
}

#[test]
fn compiled_plugins_are_cached_and_precompiled_files_in_the_plugin_directory_are_refused() {
    let cache_dir = tempfile::tempdir().unwrap();
    let plugins_dir = tempfile::tempdir().unwrap();
    let cache = CompileCache::at(cache_dir.path()).unwrap();
    let (registry, _) = Registry::open(options(plugins_dir.path(), cache.clone()));
    assert!(registry.get("order-to-gl").is_some());
    let artifacts: Vec<_> = std::fs::read_dir(cache_dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        artifacts
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "cwasm")),
        "{artifacts:?}"
    );

    // A second registry loads from the cache and behaves the same.
    let (again, _) = Registry::open(options(plugins_dir.path(), cache));
    let mapped =
        again
            .get("order-to-gl")
            .unwrap()
            .map_orders(&[example_order()], Isolation::Batch, None);
    assert!(mapped.results[0].is_ok());

    // Dropping a compiled artifact into the plugin directory, under either extension, is refused.
    let artifact = artifacts
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    let bytes = std::fs::read(artifact).unwrap();
    drop_plugin(&plugins_dir.path().join("sneaky.cwasm"), &bytes);
    drop_plugin(&plugins_dir.path().join("disguised.wasm"), &bytes);
    registry.reload();
    for name in ["sneaky", "disguised"] {
        let status = registry
            .list()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap();
        assert_eq!(status.status, "failed");
        assert!(
            status
                .error
                .as_deref()
                .unwrap()
                .contains("is a precompiled artifact"),
            "{status:?}"
        );
    }
    assert!(registry.get("sneaky").is_none() && registry.get("disguised").is_none());

    // A corrupted cache entry is discarded and recompiled.
    std::fs::write(artifact, b"corrupt").unwrap();
    let (third, _) = Registry::open(options(
        plugins_dir.path(),
        CompileCache::at(cache_dir.path()).unwrap(),
    ));
    assert!(third.get("order-to-gl").is_some());
    let _ = Arc::clone(&third);
}
