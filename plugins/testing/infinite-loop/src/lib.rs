//! Test plugin: never returns from map-order. Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "infinite-loop",
            "0.1.0",
            "Test plugin: never returns from map-order.",
            &[],
        )
    }

    fn map_order(_settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        let mut n = order.lines.len() as u64;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
