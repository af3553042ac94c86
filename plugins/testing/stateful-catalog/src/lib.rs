//! Test plugin: remembers every item it has mapped in a static and names each update after
//! the SKUs and prices it saw before, so a test can tell whether one record's call can
//! see another's. Built by the test suite; never shipped.

use std::sync::Mutex;

use ml_connector_plugin::prelude::*;

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct TestPlugin;

impl Plugin for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "stateful-catalog",
            "0.1.0",
            "Test plugin: keeps state across calls.",
            &[],
        )
    }

    fn validate_config(_cfg: Config) -> Result<(), Vec<MappingError>> {
        Ok(())
    }
}

impl Catalog for TestPlugin {
    fn map_item(_cfg: Config, item: ErpItem) -> Result<Option<CatalogUpdate>, MappingError> {
        let mut seen = SEEN.lock().unwrap();
        let before = if seen.is_empty() {
            "nothing".to_string()
        } else {
            seen.join(",")
        };
        let price = item.prices.first().map_or(0, |p| p.amount);
        seen.push(format!("{}={price}", item.sku));
        Ok(Some(CatalogUpdate {
            sku: item.sku.trim().to_string(),
            name: Some(format!("saw {before}")),
            price: None,
            sale_price: None,
            cost_price: None,
            visible: None,
        }))
    }

    fn map_items(
        cfg: Config,
        items: Vec<ErpItem>,
    ) -> Vec<Result<Option<CatalogUpdate>, MappingError>> {
        items
            .into_iter()
            .map(|item| Self::map_item(cfg.clone(), item))
            .collect()
    }
}

ml_connector_plugin::export_item_to_catalog!(TestPlugin);
