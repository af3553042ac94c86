//! Test plugin: tries to read a host file, so it imports wasi:filesystem. Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "filesystem",
            "0.1.0",
            "Test plugin: tries to read a host file, so it imports wasi:filesystem.",
            &[],
        )
    }

    fn map_order(settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        let path = settings.get("path").unwrap_or("/etc/passwd");
        let mut entry = JournalBuilder::for_order(order, "SO").finish(None)?;
        entry.description = std::fs::read_to_string(path).unwrap_or_default();
        Ok(entry)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
