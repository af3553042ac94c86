//! Test plugin: panics (a trap) on orders whose id starts with `panic`. Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "trap",
            "0.1.0",
            "Test plugin: panics (a trap) on orders whose id starts with `panic`.",
            &[],
        )
    }

    fn map_order(_settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        if order.id.starts_with("panic") {
            panic!("cannot map order {}", order.id)
        }
        let mut journal = JournalBuilder::for_order(order, "SO");
        journal.debit("1200", order.total_inc_tax, "total");
        journal.credit("4000", order.total_inc_tax, "total");
        journal.finish(None)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
