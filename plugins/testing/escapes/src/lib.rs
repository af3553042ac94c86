//! Test plugin: puts terminal escapes, newlines and a bidirectional override in its name,
//! description, logs, mapping errors and panic messages. Orders whose id starts with
//! `panic` panic; `decline` ones are declined; others map after logging. Built by the test
//! suite; never shipped.

use ml_connector_plugin::prelude::*;

const NASTY: &str = "\x1b[2J\x1b[31mred\nforged line\r\u{202e}desrever\u{7}";

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            &format!("escapes{NASTY}"),
            &format!("0.1.0{NASTY}"),
            &format!("Test plugin{NASTY}"),
            &[],
        )
    }

    fn map_order(_settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        log(LogLevel::Warn, &format!("log {NASTY}"));
        println!("stdout {NASTY}");
        if order.id.starts_with("panic") {
            panic!("panic {NASTY}");
        }
        if order.id.starts_with("decline") {
            return Err(invalid_input(
                &format!("code{NASTY}"),
                format!("message {NASTY}"),
                Some(&format!("path{NASTY}")),
            ));
        }
        let mut journal = JournalBuilder::for_order(order, "SO");
        journal.debit("1200", order.total_inc_tax, "total");
        journal.credit("4000", order.total_inc_tax, "total");
        journal.finish(None)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
