//! {{name}}: an `item-to-catalog` mapping plugin (ml-connector:mapping@{{contract}}).
//!
//! Each changed ledger item becomes a catalog update: its price from the `price-list` in
//! `currency` (the newest price in effect on the day of the change), its cost from the
//! `cost-list` if one is set, its name from the item's description, and visible only
//! while the item is active.
//!
//! Amounts are integer ten-thousandths of the currency (12.50 is 125000): never floats.

wit_bindgen::generate!({ path: "wit", world: "item-to-catalog" });

use exports::ml_connector::mapping::catalog::Guest as Catalog;
use exports::ml_connector::mapping::plugin::Guest as Plugin;
use ml_connector::mapping::types::*;

/// The settings this plugin reads: (name, required, description).
const SETTINGS: [(&str, bool, &str); 3] = [
    (
        "price-list",
        true,
        "The ledger price list the store sells at",
    ),
    ("currency", true, "The currency of the store's prices"),
    (
        "cost-list",
        false,
        "The ledger price list holding costs (none when empty)",
    ),
];

struct Mapping;

impl Plugin for Mapping {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "{{name}}".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Ledger items and prices to catalog updates".into(),
            config_keys: SETTINGS
                .iter()
                .map(|(name, required, description)| ConfigKey {
                    name: name.to_string(),
                    required: *required,
                    description: description.to_string(),
                })
                .collect(),
        }
    }

    fn validate_config(cfg: Config) -> Result<(), Vec<MappingError>> {
        let missing: Vec<MappingError> = SETTINGS
            .iter()
            .filter(|(_, required, _)| *required)
            .filter_map(|(name, _, _)| setting(&cfg, name).err())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing)
        }
    }
}

impl Catalog for Mapping {
    fn map_item(cfg: Config, item: ErpItem) -> Result<Option<CatalogUpdate>, MappingError> {
        if item.sku.trim().is_empty() {
            return Err(MappingError {
                kind: ErrorKind::InvalidInput,
                code: "missing-sku".into(),
                message: "the item has no SKU to find it in the store by".into(),
                path: Some("sku".into()),
            });
        }
        let currency = setting(&cfg, "currency")?;
        let price = price_on(&item, &setting(&cfg, "price-list")?, &currency);
        let cost = match setting(&cfg, "cost-list") {
            Ok(list) => price_on(&item, &list, &currency),
            Err(_) => None,
        };
        let name = item.description.trim();
        Ok(Some(CatalogUpdate {
            sku: item.sku.trim().to_string(),
            name: (!name.is_empty()).then(|| name.to_string()),
            price,
            sale_price: None,
            cost_price: cost,
            visible: Some(item.status.trim().eq_ignore_ascii_case("active")),
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

/// The newest price of `list` in `currency` in effect on the day the item changed (any
/// day, when the change has no date).
fn price_on(item: &ErpItem, list: &str, currency: &str) -> Option<Amount> {
    item.prices
        .iter()
        .filter(|p| p.price_list == list && p.currency == currency)
        .filter(|p| item.changed_on.is_empty() || p.effective_from <= item.changed_on)
        .max_by(|a, b| a.effective_from.cmp(&b.effective_from))
        .map(|p| p.amount)
}

/// The setting `name`, or the error that it is not set.
fn setting(cfg: &Config, name: &str) -> Result<String, MappingError> {
    match cfg.iter().find(|(key, _)| key == name) {
        Some((_, value)) if !value.trim().is_empty() => Ok(value.trim().to_string()),
        _ => Err(MappingError {
            kind: ErrorKind::Config,
            code: "missing-setting".into(),
            message: format!("setting `{name}` is not set"),
            path: Some(name.into()),
        }),
    }
}

export!(Mapping);
