//! Test plugin: sleeps in `map-order` (setting `sleep.map`) and in `validate-config`
//! (`sleep.validate`), for a number of milliseconds or `forever`, then books the order
//! total with the time its monotonic clock says passed as the memo. Built by the test
//! suite; never shipped.

use std::time::{Duration, Instant};

use ml_connector_plugin::prelude::*;

struct TestPlugin;

fn sleep(setting: Option<&str>) -> Duration {
    let started = Instant::now();
    match setting {
        Some("forever") => std::thread::sleep(Duration::MAX),
        Some(ms) => std::thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0))),
        None => {}
    }
    started.elapsed()
}

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "sleeper",
            "0.1.0",
            "Test plugin: sleeps as its settings say.",
            &[],
        )
    }

    fn validate_config(settings: Settings) -> Result<(), Vec<MappingError>> {
        sleep(settings.get("sleep.validate"));
        Ok(())
    }

    fn map_order(settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        let slept = sleep(settings.get("sleep.map"));
        let mut journal = JournalBuilder::for_order(order, "SO");
        let memo = format!("slept {} ms", slept.as_millis());
        journal.debit("1200", order.total_inc_tax, &memo);
        journal.credit("4000", order.total_inc_tax, &memo);
        journal.finish(None)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
