//! The shared fixture set: the default Rust plugin and the JavaScript and Python examples map
//! the same orders and refunds (`examples/fixtures/shared/`), each to the journal its own
//! account policy gives (`plugins/order-to-gl/fixtures/`, `examples/js-order-to-gl/fixtures/`,
//! `examples/py-order-to-gl/fixtures/`), and the default catalog plugin and the Python
//! example the same items. Also: the JavaScript and Python components import nothing but
//! the host log, the JavaScript one loads from the plugin directory like any plugin and
//! keeps money exact past JavaScript's 2^53.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ml_connector::plugins::builtin::builtin;
use ml_connector::plugins::fixture::{Expectation, Fixture, Verdict, fixtures_in};
use ml_connector::plugins::inspect::inspect;
use ml_connector::plugins::{
    CompileCache, Limits, LoadedPlugin, Registry, RegistryOptions, Source, World,
};
use ml_connector_tests::{example_project, js_plugin_wasm, py_plugin_wasm};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shared cases of the functions in `functions` (`map-order`, `map-item`...).
fn shared_cases(functions: &[&str]) -> BTreeSet<PathBuf> {
    fixtures_in(&root().join("examples/fixtures/shared"))
        .unwrap()
        .into_iter()
        .filter(|path| {
            let case: serde_json::Value =
                serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            functions.contains(&case["function"].as_str().unwrap_or_default())
        })
        .map(|p| p.canonicalize().unwrap())
        .collect()
}

/// The shared order and refund cases, which every order plugin's fixtures cover.
const ORDER_CASES: &[&str] = &["map-order", "map-refund"];
/// The shared item cases, which every catalog plugin's fixtures cover.
const ITEM_CASES: &[&str] = &["map-item"];

/// A compile cache kept between test runs: the JavaScript component takes seconds to compile.
fn cache() -> CompileCache {
    CompileCache::at(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("compiled-plugins")).unwrap()
}

fn fixtures(dir: &Path) -> Vec<(PathBuf, Fixture)> {
    fixtures_in(dir)
        .unwrap()
        .into_iter()
        .map(|path| {
            let fixture = Fixture::load(&path).unwrap();
            (path, fixture)
        })
        .collect()
}

/// Runs every fixture of `dir` on the plugin `bytes` and fails with each failure's diff.
fn assert_fixtures_pass(name: &str, bytes: &[u8], dir: &Path) {
    let fixtures = fixtures(dir);
    let base = LoadedPlugin::load(
        name,
        bytes,
        Limits::default(),
        fixtures[0].1.settings(),
        &cache(),
    )
    .unwrap();
    let mut failures = Vec::new();
    for (path, fixture) in &fixtures {
        assert!(
            fixture.expectation != Expectation::Maps,
            "{} states neither an expected journal nor an expected error",
            path.display()
        );
        let plugin = base.with_settings(fixture.settings()).unwrap();
        let run = fixture.run(&plugin).unwrap();
        if let Verdict::Fail(why) = fixture.verdict(&run) {
            failures.push(format!("{}: {why}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The shared cases a plugin folder's fixtures use.
fn cases_of(dir: &Path) -> BTreeSet<PathBuf> {
    fixtures(dir)
        .into_iter()
        .filter_map(|(_, f)| f.case.map(|c| c.canonicalize().unwrap()))
        .collect()
}

fn js_bytes() -> Option<&'static [u8]> {
    static BYTES: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    BYTES
        .get_or_init(|| js_plugin_wasm().map(|path| std::fs::read(path).unwrap()))
        .as_deref()
}

/// The bytes of Python example `name`, if built.
fn py_bytes(name: &str) -> Option<Vec<u8>> {
    Some(std::fs::read(py_plugin_wasm(name)?).unwrap())
}

#[test]
fn every_plugin_covers_every_shared_case_of_its_world() {
    let orders = shared_cases(ORDER_CASES);
    assert!(orders.len() >= 10, "{orders:?}");
    for project in [
        root().join("plugins/order-to-gl"),
        example_project("js-order-to-gl"),
        example_project("py-order-to-gl"),
    ] {
        assert_eq!(
            cases_of(&project.join("fixtures")),
            orders,
            "{}",
            project.display()
        );
    }
    let items = shared_cases(ITEM_CASES);
    assert!(items.len() >= 3, "{items:?}");
    for project in [
        root().join("plugins/item-to-catalog"),
        example_project("py-item-to-catalog"),
    ] {
        assert_eq!(
            cases_of(&project.join("fixtures")),
            items,
            "{}",
            project.display()
        );
    }
}

#[test]
fn the_python_plugins_map_the_shared_cases_as_their_fixtures_say() {
    for name in ["py-order-to-gl", "py-item-to-catalog"] {
        let Some(bytes) = py_bytes(name) else {
            continue;
        };
        assert_fixtures_pass(name, &bytes, &example_project(name).join("fixtures"));
    }
}

#[test]
fn the_python_components_import_only_the_host_log() {
    for (name, world) in [
        ("py-order-to-gl", World::OrderToGl),
        ("py-item-to-catalog", World::ItemToCatalog),
    ] {
        let Some(bytes) = py_bytes(name) else {
            continue;
        };
        assert_imports_only_the_contract(name, &bytes, world);
    }
}

#[test]
fn the_default_plugins_map_the_shared_cases_as_their_fixtures_say() {
    for name in ["order-to-gl", "item-to-catalog"] {
        let fixtures = root().join("plugins").join(name).join("fixtures");
        assert_fixtures_pass(name, builtin(name).unwrap(), &fixtures);
    }
}

#[test]
fn the_javascript_plugin_maps_the_shared_cases_as_its_fixtures_say() {
    let Some(bytes) = js_bytes() else { return };
    assert_fixtures_pass(
        "js-order-to-gl",
        bytes,
        &example_project("js-order-to-gl").join("fixtures"),
    );
}

#[test]
fn the_two_policies_differ_on_the_same_order() {
    let Some(_) = js_bytes() else { return };
    let case = |dir: &Path| {
        Fixture::load(&dir.join("order-coupons.json"))
            .unwrap()
            .expected()
            .unwrap()
            .clone()
    };
    let rust = case(&root().join("plugins/order-to-gl/fixtures"));
    let js = case(&example_project("js-order-to-gl").join("fixtures"));
    let discount_lines = |journal: &serde_json::Value| {
        journal["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["memo"] == "discounts")
            .count()
    };
    assert_eq!(discount_lines(&rust), 1);
    assert_eq!(discount_lines(&js), 0);
}

#[test]
fn the_javascript_component_imports_only_the_host_log() {
    let Some(bytes) = js_bytes() else { return };
    assert_imports_only_the_contract("js-order-to-gl", bytes, World::OrderToGl);
}

/// That the component `bytes` of plugin `name` implements `world` of contract 0.2 and
/// imports nothing but the contract's `host` and `types`.
fn assert_imports_only_the_contract(name: &str, bytes: &[u8], world: World) {
    let inspection = inspect(bytes, Limits::default().max_plugin_bytes).unwrap();
    assert_eq!(inspection.world, world, "{name}");
    assert_eq!(inspection.api_version, "0.2.0", "{name}");
    let imports: BTreeSet<&str> = inspection.imports.iter().map(String::as_str).collect();
    assert_eq!(
        imports,
        BTreeSet::from([
            "ml-connector:mapping/host@0.2.0",
            "ml-connector:mapping/types@0.2.0"
        ]),
        "{name}"
    );
}

#[test]
fn the_javascript_plugin_loads_from_the_plugin_directory_and_maps_orders() {
    let Some(bytes) = js_bytes() else { return };
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("js-order-to-gl");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("plugin.wasm"), bytes).unwrap();
    let basic = Fixture::load(&example_project("js-order-to-gl").join("fixtures/order-basic.json"))
        .unwrap();
    let mut manifest = String::from("[config]\n");
    for (key, value) in basic.settings() {
        manifest.push_str(&format!("{key:?} = {value:?}\n"));
    }
    std::fs::write(folder.join("plugin.toml"), manifest).unwrap();

    let (registry, _) = Registry::open(RegistryOptions {
        dir: Some(dir.path().to_path_buf()),
        cache: cache(),
        ..RegistryOptions::default()
    });
    let status = registry
        .list()
        .into_iter()
        .find(|s| s.name == "js-order-to-gl")
        .unwrap();
    assert_eq!(status.status, "active", "{status:?}");
    assert_eq!(
        status.source,
        Source::File(folder.join("plugin.wasm")).to_string()
    );
    let plugin = registry.get("js-order-to-gl").unwrap();
    let order: ml_connector::plugins::types::Order =
        serde_json::from_value(basic.input.clone()).unwrap();
    let orders: Vec<_> = (0..20)
        .map(|i| ml_connector::plugins::types::Order {
            id: format!("{}", 500 + i),
            ..order.clone()
        })
        .collect();
    let mapped = plugin.map_orders(&orders, None);
    assert_eq!(mapped.report.instances, 20, "one instance per order");
    let expected = basic.expected().unwrap();
    for (i, result) in mapped.results.into_iter().enumerate() {
        let mut journal = serde_json::to_value(result.unwrap()).unwrap();
        assert_eq!(journal["description"], format!("Order {}", 500 + i));
        journal["description"] = expected["description"].clone();
        assert_eq!(&journal, expected);
    }
}

#[test]
fn money_stays_exact_past_two_to_the_fifty_third_in_both_plugins() {
    // 900,719,925,474.0993: 2^53 + 1 ten-thousandths, which a JavaScript Number rounds.
    let huge: i64 = (1 << 53) + 1;
    let dir = root().join("examples/fixtures/shared");
    let fixture = Fixture::load(&dir.join("order-guest.json")).unwrap();
    let mut order: ml_connector::plugins::types::Order =
        serde_json::from_value(fixture.input).unwrap();
    order.currency.decimals = 4;
    order.lines[0].unit_price = huge;
    order.lines[0].total_ex_tax = huge;
    order.subtotal_ex_tax = huge;
    order.total_inc_tax = huge + order.shipping_ex_tax + order.wrapping_ex_tax + order.total_tax;

    let mut plugins = vec![(
        "order-to-gl",
        builtin("order-to-gl").unwrap(),
        root().join("plugins/order-to-gl/fixtures/order-guest.json"),
    )];
    if let Some(bytes) = js_bytes() {
        plugins.push((
            "js-order-to-gl",
            bytes,
            example_project("js-order-to-gl").join("fixtures/order-guest.json"),
        ));
    }
    for (name, bytes, fixture) in plugins {
        let settings = Fixture::load(&fixture).unwrap().settings();
        let plugin =
            LoadedPlugin::load(name, bytes, Limits::default(), settings, &cache()).unwrap();
        let journal = plugin
            .map_orders(std::slice::from_ref(&order), None)
            .results
            .remove(0)
            .unwrap();
        let revenue = journal.lines.iter().find(|l| l.account == "4000").unwrap();
        assert_eq!(revenue.credit, huge, "{name}");
        let receivable = journal.lines.iter().find(|l| l.account == "1200").unwrap();
        assert_eq!(receivable.debit, order.total_inc_tax, "{name}");
    }
}
