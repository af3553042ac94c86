//! The plugin directory: discovery, the compile cache, refusal of precompiled files, a
//! broken plugin beside good ones, and hot reload while calls are running.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ml_connector::plugins::builtin::builtin;
use ml_connector::plugins::{CompileCache, Entry, Limits, Registry, RegistryOptions};
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
        entries: Vec::new(),
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
    let _watcher = registry.watch(|_| {}).unwrap();
    let before = registry.get("orders").expect("the first version is active");
    assert_eq!(before.info().version, "0.2.0");

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
                    let mapped = plugin.map_orders(&[example_order()], None);
                    mapped
                        .results
                        .into_iter()
                        .next()
                        .unwrap()
                        .expect("no call fails during a reload");
                    calls.fetch_add(1, Ordering::Relaxed);
                    // New calls never go back to the old version once the new one is seen.
                    assert!(
                        !(last == "2.0.0" && version == "0.2.0"),
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
        seen.contains(&"0.2.0".to_string()) && seen.contains(&"2.0.0".to_string()),
        "{seen:?}"
    );
    // A call that started on the old version finishes on it.
    let old = before.map_orders(&[example_order()], None);
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
    assert_eq!(registry.get("order-to-gl").unwrap().info().version, "0.2.0");
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
    let mapped = again
        .get("order-to-gl")
        .unwrap()
        .map_orders(&[example_order()], None);
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

/// Opens a registry on another thread and fails the test if it has not answered in 60 s:
/// what a hostile file in the directory must not do is hang the host.
fn open_within_a_minute(options: RegistryOptions) -> Arc<Registry> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Registry::open(options).0);
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the plugin directory was read without hanging")
}

fn status_of(registry: &Registry, name: &str) -> ml_connector::plugins::PluginStatus {
    registry
        .list()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no status for {name}: {:?}", registry.list()))
}

#[test]
fn fifos_devices_huge_files_and_linked_manifests_are_refused_without_hanging_or_disclosing() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let plugins = dir.path();
    // A FIFO: opening it for reading the ordinary way waits for a writer forever.
    let fifo = plugins.join("fifo.wasm");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // A 2 GiB sparse file, and a link to an endless device.
    std::fs::File::create(plugins.join("sparse.wasm"))
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    std::os::unix::fs::symlink("/dev/zero", plugins.join("zero.wasm")).unwrap();
    // A manifest that is a link to a file outside, whose content must never be shown.
    let secret = outside.path().join("secret.toml");
    std::fs::write(&secret, "SECRET-LINE-1 = the root password\n").unwrap();
    let folder = plugin_folder(plugins, "leaky", "");
    std::fs::remove_file(folder.join("plugin.toml")).unwrap();
    std::os::unix::fs::symlink(&secret, folder.join("plugin.toml")).unwrap();
    // A manifest of its own that does not parse: the error says where, not what.
    plugin_folder(
        plugins,
        "typo",
        "[limits]\nmemory_bytes = \"hunter2\" oops\n",
    );
    // A name with a terminal escape in it.
    drop_plugin(
        &plugins.join("evil\u{1b}[2J.wasm"),
        &std::fs::read(RELABEL).unwrap(),
    );
    // And a good plugin beside them all.
    drop_plugin(
        &plugins.join("orders.wasm"),
        builtin("order-to-gl").unwrap(),
    );

    let registry = open_within_a_minute(options(plugins, CompileCache::none()));
    let error = |name: &str| status_of(&registry, name).error.unwrap_or_default();
    assert!(
        error("fifo").contains("not a regular file"),
        "{}",
        error("fifo")
    );
    assert!(
        error("zero").contains("not a regular file"),
        "{}",
        error("zero")
    );
    assert!(
        error("sparse").contains("2147483648 bytes, over the 67108864-byte plugin size limit"),
        "{}",
        error("sparse")
    );
    assert!(
        error("leaky").contains("is not a regular file"),
        "{}",
        error("leaky")
    );
    assert!(
        error("typo").contains("line 2, column"),
        "{}",
        error("typo")
    );
    assert!(
        error("evil\\u{1b}[2J").contains("may only have letters"),
        "{:?}",
        registry.list()
    );
    assert!(registry.get("orders").is_some(), "the good plugin loads");
    let everything = format!("{:?}", registry.list());
    for leak in ["SECRET", "root password", "hunter2", "\u{1b}"] {
        assert!(!everything.contains(leak), "{leak} shown: {everything}");
    }
}

#[test]
fn operator_limits_raise_the_defaults_and_a_manifest_only_lowers_them() {
    let dir = tempfile::tempdir().unwrap();
    plugin_folder(dir.path(), "modest", "[limits]\nmemory_bytes = 1048576\n");
    let operator = Limits {
        fuel_per_record: 1_000_000_000,
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    let entry = |key: &str, plugin: &str| Entry {
        key: key.to_string(),
        plugin: plugin.to_string(),
        settings: order_settings(),
        limits: operator.clone(),
    };
    let registry = open_within_a_minute(RegistryOptions {
        entries: vec![entry("a:order", "order-to-gl"), entry("b:order", "modest")],
        ..options(dir.path(), CompileCache::none())
    });
    let builtin = registry.get("a:order").unwrap();
    assert_eq!(builtin.limits().fuel_per_record, 1_000_000_000);
    assert_eq!(builtin.limits().memory_bytes, 64 << 20);
    let modest = registry.get("b:order").unwrap();
    assert_eq!(modest.limits().fuel_per_record, 1_000_000_000);
    assert_eq!(modest.limits().memory_bytes, 1 << 20);
    // Past the hard ceiling, nothing is raised.
    let registry = open_within_a_minute(RegistryOptions {
        entries: vec![Entry {
            limits: Limits {
                fuel_per_record: u64::MAX,
                ..Limits::default()
            },
            ..entry("c:order", "order-to-gl")
        }],
        ..options(dir.path(), CompileCache::none())
    });
    assert_eq!(
        registry.get("c:order").unwrap().limits().fuel_per_record,
        Limits::CEILING.fuel_per_record
    );
}

#[test]
fn an_entrys_slot_follows_its_plugin_and_keeps_the_last_good_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.wasm");
    drop_plugin(&path, builtin("order-to-gl").unwrap());
    let entry = |key: &str| Entry {
        key: key.to_string(),
        plugin: "orders".to_string(),
        settings: order_settings(),
        limits: Limits::default(),
    };
    let registry = open_within_a_minute(RegistryOptions {
        entries: vec![entry("a:order"), entry("b:order")],
        ..options(dir.path(), CompileCache::none())
    });
    let slot = registry.slot("a:order").unwrap();
    assert_eq!(slot.get().info().version, "0.2.0");
    assert!(
        registry.get("orders").is_none(),
        "only the entries are held"
    );

    drop_plugin(&path, &std::fs::read(RELABEL).unwrap());
    let events = registry.reload();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        slot.get().info().version,
        "2.0.0",
        "the slot a flow keeps follows"
    );
    let mapped = slot.get().map_orders(&[example_order()], None);
    assert_eq!(mapped.results[0].as_ref().unwrap().daybook, "WEBSALES");

    // A broken version leaves the last good one serving, and says why.
    drop_plugin(&path, b"\0asm garbage");
    registry.reload();
    assert_eq!(slot.get().info().version, "2.0.0");
    let status = status_of(&registry, "a:order");
    assert_eq!(status.status, "active");
    assert_eq!(status.plugin.as_deref(), Some("orders"));
    assert!(status.error.is_some(), "{status:?}");

    // Gone altogether: still the last good version, and the reason.
    std::fs::remove_file(&path).unwrap();
    registry.reload();
    assert_eq!(slot.get().info().version, "2.0.0");
    assert!(
        status_of(&registry, "b:order")
            .error
            .unwrap()
            .contains("neither in the plugin directory nor built in")
    );
}

#[test]
fn a_poisoned_compile_cache_is_refused_or_its_entries_discarded() {
    use ml_connector::digest::sha256_hex;
    let cache_dir = tempfile::tempdir().unwrap();
    let plugins_dir = tempfile::tempdir().unwrap();
    let (registry, _) = Registry::open(options(
        plugins_dir.path(),
        CompileCache::at(cache_dir.path()).unwrap(),
    ));
    assert!(registry.get("order-to-gl").is_some());
    let entry_of = |name: &str| {
        let sha = sha256_hex(builtin(name).unwrap());
        std::fs::read_dir(cache_dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let file = p.file_name().unwrap().to_string_lossy().to_string();
                file.starts_with(&sha) && file.ends_with(".cwasm")
            })
            .unwrap()
    };
    // Another valid artifact put in an entry's place (machine code for other code) is
    // caught by the entry's recorded hash: the real plugin is compiled again.
    let orders = entry_of("order-to-gl");
    std::fs::copy(entry_of("item-to-catalog"), &orders).unwrap();
    let (again, _) = Registry::open(options(
        plugins_dir.path(),
        CompileCache::at(cache_dir.path()).unwrap(),
    ));
    assert_eq!(again.get("order-to-gl").unwrap().info().name, "order-to-gl");
    assert_ne!(
        sha256_hex(std::fs::read(&orders).unwrap()),
        sha256_hex(std::fs::read(entry_of("item-to-catalog")).unwrap()),
        "the swapped entry was replaced"
    );

    // A cache directory that is a link, or another user's, is not used at all.
    let elsewhere = tempfile::tempdir().unwrap();
    let link = cache_dir.path().join("linked");
    std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
    let refused = CompileCache::at(&link).unwrap_err().to_string();
    assert!(refused.contains("is a link"), "{refused}");
    let foreign = elsewhere.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    // As root (CI), hand the folder to `nobody`; elsewhere chown is refused and this part
    // has nothing to show.
    if std::os::unix::fs::chown(&foreign, Some(65534), None).is_ok() {
        let refused = CompileCache::at(&foreign).unwrap_err().to_string();
        assert!(refused.contains("belongs to another user"), "{refused}");
    }
}
