//! A plugin's exports, found and type-checked once per loaded component.
//!
//! The generated bindings look up and type-check every export of the world each time an
//! instance is created; with a fresh instance per record that was a measurable share of
//! each call. Here each export's index is found once at load, its type is checked once
//! against the contract (on the instance that answers `describe`), and calls on later
//! instances of the same component use the checked type directly.
//!
//! Only the single-record exports are bound: the host maps every record in an instance of
//! its own, so the contract's batch forms are never called.

use wasmtime::Store;
use wasmtime::component::{Component, ComponentExportIndex, Instance, TypedFunc};

use super::bindings::types::*;
use super::bindings::v0_1::PACKAGE;
use super::inspect::World;
use super::sandbox::State;

/// The export indices of one component.
#[derive(Clone)]
pub struct Exports {
    describe: ComponentExportIndex,
    validate_config: ComponentExportIndex,
    world: WorldExports,
}

#[derive(Clone)]
enum WorldExports {
    Orders {
        map_order: ComponentExportIndex,
        map_refund: ComponentExportIndex,
        map_customer: ComponentExportIndex,
    },
    Catalog {
        map_item: ComponentExportIndex,
    },
}

/// An instance with its component's exports: what a call is made on.
pub struct Bound<'a> {
    instance: Instance,
    exports: &'a Exports,
}

impl Exports {
    /// Finds the exports `world` requires in `component`, whose export names (as
    /// `inspect` read them) are `names`.
    pub fn find(component: &Component, world: World, names: &[String]) -> Result<Exports, String> {
        let interface = |short: &str| {
            let wanted = format!("{PACKAGE}/{short}");
            let name = names
                .iter()
                .find(|name| name.split('@').next() == Some(wanted.as_str()))
                .ok_or_else(|| format!("it does not export `{wanted}`"))?;
            component
                .get_export_index(None, name.as_str())
                .ok_or_else(|| format!("it does not export `{name}`"))
        };
        let func = |interface: &ComponentExportIndex, name: &str| {
            component
                .get_export_index(Some(interface), name)
                .ok_or_else(|| format!("it does not export function `{name}`"))
        };
        let plugin = interface("plugin")?;
        let world = match world {
            World::OrderToGl => {
                let orders = interface("orders")?;
                WorldExports::Orders {
                    map_order: func(&orders, "map-order")?,
                    map_refund: func(&orders, "map-refund")?,
                    map_customer: func(&orders, "map-customer")?,
                }
            }
            World::ItemToCatalog => {
                let catalog = interface("catalog")?;
                WorldExports::Catalog {
                    map_item: func(&catalog, "map-item")?,
                }
            }
        };
        Ok(Exports {
            describe: func(&plugin, "describe")?,
            validate_config: func(&plugin, "validate-config")?,
            world,
        })
    }

    pub fn bind(&self, instance: Instance) -> Bound<'_> {
        Bound {
            instance,
            exports: self,
        }
    }
}

fn orders_only() -> wasmtime::Error {
    wasmtime::format_err!(
        "this is an item-to-catalog plugin; it does not map orders, refunds or shoppers"
    )
}

fn catalog_only() -> wasmtime::Error {
    wasmtime::format_err!("this is an order-to-gl plugin; it does not map items")
}

/// Defines each export's call once: its parameter and result types are used both to
/// type-check it at load (`Bound::check`) and to call it without checking afterwards.
macro_rules! exports {
    ($( $(#[$doc:meta])* $method:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty = |$e:ident| $index:expr ; )*) => {
        impl Bound<'_> {
            $(
                $(#[$doc])*
                pub fn $method(&self, store: &mut Store<State>, $($arg: $ty),*) -> wasmtime::Result<$ret> {
                    fn index($e: &Exports) -> wasmtime::Result<&ComponentExportIndex> {
                        Ok($index)
                    }
                    let index = index(self.exports)?;
                    let func = self
                        .instance
                        .get_func(&mut *store, index)
                        .ok_or_else(|| wasmtime::format_err!("export `{}` missing", stringify!($method)))?;
                    // SAFETY: `check` type-checked this export with exactly these types on
                    // an instance of the same component when the plugin was loaded, and
                    // every instance of a component has the same export types.
                    let typed = unsafe { TypedFunc::<($($ty,)*), ($ret,)>::new_unchecked(func) };
                    typed.call(store, ($($arg,)*)).map(|(result,)| result)
                }
            )*

            /// Type-checks every export of the plugin's world against the contract. A
            /// mismatch is an error naming the export.
            pub fn check(&self, store: &mut Store<State>) -> wasmtime::Result<()> {
                $({
                    fn index($e: &Exports) -> wasmtime::Result<&ComponentExportIndex> {
                        Ok($index)
                    }
                    // Exports of the other world are absent, and not checked.
                    if let Ok(index) = index(self.exports) {
                        self.instance
                            .get_typed_func::<($($ty,)*), ($ret,)>(&mut *store, index)
                            .map_err(|e| e.context(format!("export `{}`", stringify!($method))))?;
                    }
                })*
                Ok(())
            }
        }
    };
}

exports! {
    /// `plugin.describe`.
    describe() -> PluginInfo = |e| &e.describe;
    /// `plugin.validate-config`.
    validate_config(cfg: &[(String, String)]) -> Result<(), Vec<MappingError>> = |e| &e.validate_config;
    /// `orders.map-order`.
    map_order(cfg: &[(String, String)], order: &Order) -> Result<JournalEntry, MappingError> =
        |e| match &e.world { WorldExports::Orders { map_order, .. } => map_order, _ => return Err(orders_only()) };
    /// `orders.map-refund`.
    map_refund(cfg: &[(String, String)], refund: &Refund) -> Result<JournalEntry, MappingError> =
        |e| match &e.world { WorldExports::Orders { map_refund, .. } => map_refund, _ => return Err(orders_only()) };
    /// `orders.map-customer`.
    map_customer(cfg: &[(String, String)], customer: &Customer) -> Result<ErpCustomer, MappingError> =
        |e| match &e.world { WorldExports::Orders { map_customer, .. } => map_customer, _ => return Err(orders_only()) };
    /// `catalog.map-item`.
    map_item(cfg: &[(String, String)], item: &ErpItem) -> Result<Option<CatalogUpdate>, MappingError> =
        |e| match &e.world { WorldExports::Catalog { map_item, .. } => map_item, _ => return Err(catalog_only()) };
}
