//! Test plugin: answers with a journal whose debits exceed its credits. Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "unbalanced",
            "0.1.0",
            "Test plugin: answers with a journal whose debits exceed its credits.",
            &[],
        )
    }

    fn map_order(_settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        let mut entry = JournalBuilder::for_order(order, "SO").finish(None)?;
        for (account, debit, credit) in [("1100", 10_000, 0), ("4000", 0, 9_900)] {
            entry.lines.push(JournalLine {
                account: account.to_string(),
                sub_account: String::new(),
                cost_centre: String::new(),
                debit,
                credit,
                memo: String::new(),
                tax_code: String::new(),
            });
        }
        Ok(entry)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
