//! Test plugin: logs and prints far more than the per-call budget, then maps the order.
//! Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "chatty",
            "0.1.0",
            "Test plugin: logs and prints far more than the budget.",
            &[],
        )
    }

    fn map_order(_settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        let line = "x".repeat(100);
        for i in 0..1_000 {
            log(LogLevel::Info, &format!("{i} {line}"));
            println!("{i} {line}");
            eprintln!("{i} {line}");
        }
        let mut journal = JournalBuilder::for_order(order, "SO");
        journal.debit("1200", order.total_inc_tax, "total");
        journal.credit("4000", order.total_inc_tax, "total");
        journal.finish(None)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
