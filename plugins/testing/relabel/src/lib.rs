//! Test plugin: a second version for hot-reload tests; books the order total to two accounts
//! in the WEBSALES daybook. Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "relabel",
            "2.0.0",
            "Test plugin: a second version for hot-reload tests; books the order total to two accounts.",
            &[],
        )
    }

    fn map_order(_settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        let mut journal = JournalBuilder::for_order(order, "WEBSALES");
        journal.debit("1200", order.total_inc_tax, "total");
        journal.credit("4000", order.total_inc_tax, "total");
        journal.description(format!("Order {} (v2)", order.id));
        journal.finish(None)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
