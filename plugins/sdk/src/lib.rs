//! Guest SDK for ml-connector mapping plugins.
//!
//! A plugin is a Rust `cdylib` built for `wasm32-wasip2` that implements one of the two
//! worlds of the `ml-connector:mapping@0.2.0` contract (see `wit/` in the repository),
//! chosen with this crate's feature of the same name:
//!
//! - `order-to-gl`: store orders, refunds and shoppers to ledger journals and customers;
//! - `item-to-catalog`: ledger item and price changes to store catalog updates.
//!
//! This crate carries the generated bindings, exact money helpers ([`money`]), a journal
//! builder that balances and rounds explicitly ([`journal`]), settings access ([`Settings`])
//! and error constructors ([`error`]). A complete `order-to-gl` plugin is one short file
//! (this example is compiled and run by the SDK's tests):
//!
//! ```
//! # #[cfg(feature = "order-to-gl")] mod plugin {
//! use ml_connector_plugin::prelude::*;
//!
//! /// Every order to receivables and one revenue account; nothing else.
//! pub struct Flat;
//!
//! const KEYS: &[(&str, bool, &str)] = &[
//!     ("account.revenue", true, "Revenue, tax and shipping included"),
//!     ("account.receivable", true, "Receivables"),
//!     ("account.rounding", true, "Rounding to the currency's minor unit"),
//! ];
//!
//! impl OrderMapper for Flat {
//!     fn describe() -> PluginInfo {
//!         info("flat", "0.1.0", "Order totals to receivables and revenue", KEYS)
//!     }
//!
//!     fn validate_config(settings: Settings) -> Result<(), Vec<MappingError>> {
//!         let mut errors = settings.require_all(&["account.revenue", "account.receivable"]).err().unwrap_or_default();
//!         errors.extend(settings.unknown(KEYS, &[]));
//!         if errors.is_empty() { Ok(()) } else { Err(errors) }
//!     }
//!
//!     fn map_order(settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
//!         let mut journal = JournalBuilder::for_order(order, "SO");
//!         journal.debit(settings.require("account.receivable")?, order.total_inc_tax, "receivable");
//!         journal.credit(settings.require("account.revenue")?, order.total_inc_tax, "revenue");
//!         journal.finish(Some(settings.require("account.rounding")?))
//!     }
//! }
//!
//! ml_connector_plugin::export_order_mapper!(Flat);
//! # }
//! # #[cfg(feature = "order-to-gl")] {
//! # use ml_connector_plugin::prelude::*;
//! # let settings = [("account.revenue".to_string(), "4000".to_string())];
//! # assert_eq!(<plugin::Flat as OrderMapper>::describe().name, "flat");
//! # let errors = <plugin::Flat as OrderMapper>::validate_config(Settings::new(&settings)).unwrap_err();
//! # assert_eq!(errors[0].path.as_deref(), Some("account.receivable"));
//! # }
//! ```
//!
//! Its `Cargo.toml` has `crate-type = ["cdylib"]` and this crate with
//! `features = ["order-to-gl"]`; `cargo build --release --target wasm32-wasip2` makes the
//! component. Refunds and shoppers it does not map are declined with an `unsupported`
//! error, and the batch exports come with the macro.
//!
//! An `item-to-catalog` plugin implements [`prelude::Plugin`] and [`prelude::Catalog`] and
//! calls `export_item_to_catalog!`.
//!
//! Plugins must be deterministic: they get no clock, files, network or environment. Prefer
//! `BTreeMap` to `HashMap` (whose random seed would pull in an entropy import).
//!
//! The SDK is `no_std` (it needs only `alloc`), so it serves both kinds of plugin: a std
//! plugin, and a `#![no_std]` one built with the `no-std` feature, which imports no WASI
//! at all and so instantiates faster (the default plugins are of this kind).

#![no_std]

extern crate alloc;

use alloc::string::ToString;

pub mod error;
pub mod journal;
#[cfg(feature = "order-to-gl")]
pub mod mapper;
pub mod money;
mod settings;

pub use settings::Settings;

/// What the SDK's macros name, so they work in `no_std` plugins too.
#[doc(hidden)]
pub mod __private {
    pub use alloc::vec::Vec;
}

#[cfg(all(feature = "no-std", target_arch = "wasm32"))]
mod runtime;

#[cfg(all(feature = "order-to-gl", feature = "item-to-catalog"))]
compile_error!("enable one world per plugin: the `order-to-gl` or the `item-to-catalog` feature");
#[cfg(not(any(feature = "order-to-gl", feature = "item-to-catalog")))]
compile_error!(
    "enable the world this plugin implements: the `order-to-gl` or the `item-to-catalog` feature"
);

/// The generated bindings for the plugin's world. One world per build: the bindings embed
/// the world's type, and a component must export everything its world names.
#[cfg(feature = "order-to-gl")]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/mapping@0.2.0",
        world: "order-to-gl",
        pub_export_macro: true,
        export_macro_name: "export_order_to_gl",
        default_bindings_module: "ml_connector_plugin::bindings",
    });
}

/// The generated bindings for the plugin's world. One world per build: the bindings embed
/// the world's type, and a component must export everything its world names.
#[cfg(feature = "item-to-catalog")]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/mapping@0.2.0",
        world: "item-to-catalog",
        pub_export_macro: true,
        export_macro_name: "export_item_to_catalog",
        default_bindings_module: "ml_connector_plugin::bindings",
    });
}

/// Exports a type implementing [`prelude::Plugin`] and [`prelude::Catalog`] as the plugin.
#[cfg(feature = "item-to-catalog")]
pub use bindings::export_item_to_catalog;
/// Exports a type implementing [`prelude::Plugin`] and [`prelude::Orders`] as the plugin.
#[cfg(feature = "order-to-gl")]
pub use bindings::export_order_to_gl;
pub use bindings::ml_connector::mapping::host::LogLevel;
pub use bindings::ml_connector::mapping::types::*;

/// Writes a line to the host's log for this call. The host keeps a bounded amount per call
/// and cuts long lines.
pub fn log(level: LogLevel, message: &str) {
    bindings::ml_connector::mapping::host::log(level, message);
}

/// Builds a [`PluginInfo`] from `(name, required, description)` triples.
pub fn info(
    name: &str,
    version: &str,
    description: &str,
    keys: &[(&str, bool, &str)],
) -> PluginInfo {
    PluginInfo {
        name: name.to_string(),
        version: version.to_string(),
        description: description.to_string(),
        config_keys: keys
            .iter()
            .map(|(name, required, description)| ConfigKey {
                name: name.to_string(),
                required: *required,
                description: description.to_string(),
            })
            .collect(),
    }
}

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    #[cfg(feature = "item-to-catalog")]
    pub use crate::bindings::exports::ml_connector::mapping::catalog::Guest as Catalog;
    #[cfg(feature = "order-to-gl")]
    pub use crate::bindings::exports::ml_connector::mapping::orders::Guest as Orders;
    pub use crate::bindings::exports::ml_connector::mapping::plugin::Guest as Plugin;
    pub use crate::error::{config_error, internal_error, invalid_input, unsupported};
    pub use crate::journal::JournalBuilder;
    #[cfg(feature = "order-to-gl")]
    pub use crate::mapper::OrderMapper;
    pub use crate::money;
    pub use crate::{
        Address, Amount, CatalogUpdate, Config, ConfigKey, Currency, Customer, Decimal, Discount,
        DiscountKind, ErpCustomer, ErpItem, ErpPrice, ErrorKind, JournalEntry, JournalLine,
        MappingError, Order, OrderLine, PaymentTransaction, PluginInfo, Refund, RefundItem,
        RefundItemKind, RefundPayment, TaxLine, Tender, TenderKind, TransactionEvent,
    };
    pub use crate::{LogLevel, Settings, info, log};
}
