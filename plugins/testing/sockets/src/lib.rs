//! Test plugin: tries to open a TCP connection, so it imports wasi:sockets. Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "sockets",
            "0.1.0",
            "Test plugin: tries to open a TCP connection, so it imports wasi:sockets.",
            &[],
        )
    }

    fn map_order(settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        let addr = settings.get("addr").unwrap_or("127.0.0.1:9");
        let mut entry = JournalBuilder::for_order(order, "SO").finish(None)?;
        entry.description = std::net::TcpStream::connect(addr).is_ok().to_string();
        Ok(entry)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
