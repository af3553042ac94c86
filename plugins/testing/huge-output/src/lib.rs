//! Test plugin: answers with an enormous journal. Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "huge-output",
            "0.1.0",
            "Test plugin: answers with an enormous journal.",
            &[],
        )
    }

    fn map_order(_settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        let mut entry = JournalBuilder::for_order(order, "SO").finish(None)?;
        for i in 0..4_000 {
            let (debit, credit) = if i % 2 == 0 { (10_000, 0) } else { (0, 10_000) };
            entry.lines.push(JournalLine {
                account: "4000".repeat(64),
                sub_account: String::new(),
                cost_centre: String::new(),
                debit,
                credit,
                memo: "x".repeat(1024),
                tax_code: String::new(),
            });
        }
        Ok(entry)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
