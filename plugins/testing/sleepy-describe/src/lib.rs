//! Test plugin: sleeps without end in `describe`, so it can never load. Built by the test
//! suite; never shipped.

use std::time::Duration;

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        std::thread::sleep(Duration::MAX);
        info(
            "sleepy-describe",
            "0.1.0",
            "Test plugin: never describes itself.",
            &[],
        )
    }

    fn map_order(_settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        let mut journal = JournalBuilder::for_order(order, "SO");
        journal.debit("1200", order.total_inc_tax, "total");
        journal.credit("4000", order.total_inc_tax, "total");
        journal.finish(None)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
