//! Test plugin: allocates until the memory cap stops it. Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "memory-bomb",
            "0.1.0",
            "Test plugin: allocates until the memory cap stops it.",
            &[],
        )
    }

    fn map_order(_settings: Settings, _order: &Order) -> Result<JournalEntry, MappingError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Reserve (not fill) 4 MiB at a time: memory grows fast and costs little fuel.
            let mut chunk = Vec::<u8>::with_capacity(4 << 20);
            chunk.push(0xAB);
            hoard.push(chunk);
            std::hint::black_box(&hoard);
        }
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
