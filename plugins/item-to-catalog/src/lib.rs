//! The default `item-to-catalog` plugin: a QAD item master or price change to a BigCommerce
//! catalog update, by SKU. The name comes from the item's description (optionally with its
//! second line), the price from the configured price list and currency (the latest
//! effective price), and an inactive item is hidden when `hide-inactive` is on.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use ml_connector_plugin::prelude::*;

pub const CONFIG_KEYS: &[(&str, bool, &str)] = &[
    (
        "price-list",
        true,
        "QAD price list whose prices become store prices",
    ),
    ("currency", true, "Currency of the store's default prices"),
    (
        "name",
        false,
        "`description` (default) or `description+description2`",
    ),
    (
        "hide-inactive",
        false,
        "Hide items whose status is inactive; default true",
    ),
    (
        "inactive-statuses",
        false,
        "Comma-separated QAD item statuses that count as inactive; default INACTIVE,OBSOLETE",
    ),
];

pub struct DefaultItemToCatalog;

impl Plugin for DefaultItemToCatalog {
    fn describe() -> PluginInfo {
        info(
            "item-to-catalog",
            env!("CARGO_PKG_VERSION"),
            "QAD item and price changes to catalog updates by SKU",
            CONFIG_KEYS,
        )
    }

    fn validate_config(cfg: Config) -> Result<(), Vec<MappingError>> {
        let s = Settings::new(&cfg);
        let mut errors = s
            .require_all(&["price-list", "currency"])
            .err()
            .unwrap_or_default();
        if let Err(e) = s.flag("hide-inactive", true) {
            errors.push(e);
        }
        if let Some(name) = s.get("name")
            && name != "description"
            && name != "description+description2"
        {
            errors.push(config_error(
                "bad-setting",
                format!("`name` must be description or description+description2, not `{name}`"),
                "name",
            ));
        }
        errors.extend(s.unknown(CONFIG_KEYS, &[]));
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

impl Catalog for DefaultItemToCatalog {
    fn map_item(cfg: Config, item: ErpItem) -> Result<Option<CatalogUpdate>, MappingError> {
        map_item(&Settings::new(&cfg), &item)
    }

    fn map_items(
        cfg: Config,
        items: Vec<ErpItem>,
    ) -> Vec<Result<Option<CatalogUpdate>, MappingError>> {
        let s = Settings::new(&cfg);
        items.iter().map(|item| map_item(&s, item)).collect()
    }
}

#[cfg(target_arch = "wasm32")]
ml_connector_plugin::export_item_to_catalog!(DefaultItemToCatalog);

/// The catalog update for one item, or `None` when the store needs no change.
pub fn map_item(s: &Settings, item: &ErpItem) -> Result<Option<CatalogUpdate>, MappingError> {
    let sku = item.sku.trim();
    if sku.is_empty() {
        return Err(invalid_input(
            "missing-sku",
            "the item has no SKU",
            Some("sku"),
        ));
    }
    let mut name = item.description.trim().to_string();
    if s.get("name") == Some("description+description2") && !item.description2.trim().is_empty() {
        name = format!("{name} {}", item.description2.trim());
    }
    if name.is_empty() {
        return Err(invalid_input(
            "missing-description",
            format!("item {sku} has no description"),
            Some("description"),
        ));
    }

    let list = s.require("price-list")?;
    let currency = s.require("currency")?;
    let price = item
        .prices
        .iter()
        .filter(|p| p.price_list == list && p.currency.eq_ignore_ascii_case(currency))
        .max_by(|a, b| a.effective_from.cmp(&b.effective_from))
        .map(|p| p.amount);
    if let Some(amount) = price.filter(|a| *a < 0) {
        return Err(invalid_input(
            "negative-price",
            format!("item {sku} has price {}", money::format(amount)),
            Some("prices"),
        ));
    }

    let inactive_statuses = s.get("inactive-statuses").unwrap_or("INACTIVE,OBSOLETE");
    let inactive = inactive_statuses
        .split(',')
        .any(|status| status.trim().eq_ignore_ascii_case(item.status.trim()));
    let visible = (s.flag("hide-inactive", true)? && inactive).then_some(false);

    Ok(Some(CatalogUpdate {
        sku: sku.to_string(),
        name: Some(name),
        price,
        sale_price: None,
        cost_price: None,
        visible,
    }))
}
