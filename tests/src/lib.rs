//! Shared helpers for the end-to-end tests: the test plugins' paths, the example records
//! and settings from `examples/fixtures`, and small loaders.

use ml_connector::plugins::fixture::Fixture;
use ml_connector::plugins::types::{Order, Refund};
use ml_connector::plugins::{CompileCache, Limits, LoadedPlugin, Settings};

/// Paths of the plugins built from `plugins/testing/` for these tests.
pub mod test_plugins {
    include!(concat!(env!("OUT_DIR"), "/test_plugins.rs"));
}

const ORDER_FIXTURE: &str = include_str!("../../examples/fixtures/order-basic.json");
const REFUND_FIXTURE: &str = include_str!("../../examples/fixtures/refund-partial.json");

/// The example order fixture.
pub fn order_fixture() -> Fixture {
    Fixture::parse(ORDER_FIXTURE).expect("the example order fixture parses")
}

/// The example order (two lines, coupon, shipping, handling, tax, paid by card).
pub fn example_order() -> Order {
    serde_json::from_value(order_fixture().input).expect("the example order is an order")
}

/// The example order with another id.
pub fn order_with_id(id: &str) -> Order {
    Order {
        id: id.to_string(),
        ..example_order()
    }
}

/// The example refund.
pub fn example_refund() -> Refund {
    serde_json::from_value(Fixture::parse(REFUND_FIXTURE).unwrap().input)
        .expect("the example refund is a refund")
}

/// The account settings the default order plugin needs.
pub fn order_settings() -> Settings {
    order_fixture().settings()
}

/// Loads plugin bytes with no settings, default limits and no compile cache.
pub fn load_bytes(
    name: &str,
    bytes: &[u8],
) -> Result<LoadedPlugin, ml_connector::plugins::LoadError> {
    LoadedPlugin::load(
        name,
        bytes,
        Limits::default(),
        Vec::new(),
        &CompileCache::none(),
    )
}

/// Loads a plugin file with default limits and no compile cache.
pub fn load_file(path: &str, settings: Settings) -> Result<LoadedPlugin, String> {
    load_with_limits(path, settings, Limits::default())
}

pub fn load_with_limits(
    path: &str,
    settings: Settings,
    limits: Limits,
) -> Result<LoadedPlugin, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let name = std::path::Path::new(path)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .replace('_', "-");
    LoadedPlugin::load(&name, &bytes, limits, settings, &CompileCache::none())
        .map_err(|e| format!("plugin `{name}` {e}"))
}

/// The built-in order-to-gl plugin with the example settings.
pub fn default_order_plugin() -> LoadedPlugin {
    let bytes = ml_connector::plugins::builtin::builtin("order-to-gl").unwrap();
    LoadedPlugin::load(
        "order-to-gl",
        bytes,
        Limits::default(),
        order_settings(),
        &CompileCache::none(),
    )
    .unwrap()
}
