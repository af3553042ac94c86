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
use wasmtime::component::{
    Component, ComponentExportIndex, ComponentNamedList, Instance, Lift, Lower, TypedFunc,
};

use super::bindings::types::*;
use super::bindings::v0_1::Convert;
use super::bindings::{Contract, PACKAGE};
use super::inspect::World;
use super::sandbox::State;

/// The export indices of one component.
#[derive(Clone)]
pub struct Exports {
    contract: Contract,
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
    /// `inspect` read them) are `names`; calls on them speak `contract`.
    pub fn find(
        component: &Component,
        world: World,
        contract: Contract,
        names: &[String],
    ) -> Result<Exports, String> {
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
            contract,
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

/// Calls `index` on `instance` with `params`, without checking its type again.
///
/// # Safety
///
/// `Bound::check` must have type-checked this export with exactly `P` and `R` on an
/// instance of the same component (every instance of a component has the same export
/// types).
unsafe fn call<P, R>(
    instance: Instance,
    store: &mut Store<State>,
    index: &ComponentExportIndex,
    params: P,
) -> wasmtime::Result<R>
where
    P: ComponentNamedList + Lower,
    R: ComponentNamedList + Lift,
{
    let func = instance
        .get_func(&mut *store, index)
        .ok_or_else(|| wasmtime::format_err!("an export checked at load is missing"))?;
    // SAFETY: the caller's promise.
    let typed = unsafe { TypedFunc::<P, R>::new_unchecked(func) };
    typed.call(store, params)
}

/// Type-checks `index` on `instance` as taking `P` and returning `R`.
fn check<P, R>(
    instance: Instance,
    store: &mut Store<State>,
    index: &ComponentExportIndex,
    name: &str,
) -> wasmtime::Result<()>
where
    P: ComponentNamedList + Lower,
    R: ComponentNamedList + Lift,
{
    instance
        .get_typed_func::<P, R>(&mut *store, index)
        .map(drop)
        .map_err(|e| e.context(format!("export `{name}`")))
}

/// Defines each export's call once per contract version, in a module of its own: one line
/// per export names its parameter and result types (the version's own), which are used
/// both to type-check it at load (`check_all`) and to call it without checking afterwards.
macro_rules! calls {
    ($module:ident, [$($types:tt)*], $(
        $method:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty = |$e:ident| $index:expr, $name:literal;
    )*) => {
        mod $module {
            use super::{ComponentExportIndex, Exports, Instance, State, Store, call, check};
            use $($types)*::*;

            $(
                pub fn $method(i: Instance, s: &mut Store<State>, e: &Exports, $($arg: $ty),*) -> wasmtime::Result<$ret> {
                    fn index($e: &Exports) -> wasmtime::Result<&ComponentExportIndex> {
                        $index
                    }
                    // SAFETY: `check_all` checked this export with these types at load.
                    unsafe { call::<($($ty,)*), ($ret,)>(i, s, index(e)?, ($($arg,)*)) }.map(|(r,)| r)
                }
            )*

            /// Type-checks every export of the plugin's world (the other world's are absent).
            pub fn check_all(i: Instance, s: &mut Store<State>, e: &Exports) -> wasmtime::Result<()> {
                $({
                    fn index($e: &Exports) -> wasmtime::Result<&ComponentExportIndex> {
                        $index
                    }
                    if let Ok(index) = index(e) {
                        check::<($($ty,)*), ($ret,)>(i, s, index, $name)?;
                    }
                })*
                Ok(())
            }
        }
    };
}

/// Both versions' exports, in the same words: a version's module differs only by the
/// types its bindings generated.
macro_rules! versions {
    ($($module:ident: [$($types:tt)*];)*) => {$(
        calls! {
            $module, [$($types)*],
            describe() -> PluginInfo = |e| Ok(&e.describe), "describe";
            validate_config(cfg: &[(String, String)]) -> Result<(), Vec<MappingError>> =
                |e| Ok(&e.validate_config), "validate-config";
            map_order(cfg: &[(String, String)], order: &Order) -> Result<JournalEntry, MappingError> =
                |e| Ok(e.orders()?.0), "map-order";
            map_refund(cfg: &[(String, String)], refund: &Refund) -> Result<JournalEntry, MappingError> =
                |e| Ok(e.orders()?.1), "map-refund";
            map_customer(cfg: &[(String, String)], customer: &Customer) -> Result<ErpCustomer, MappingError> =
                |e| Ok(e.orders()?.2), "map-customer";
            map_item(cfg: &[(String, String)], item: &ErpItem) -> Result<Option<CatalogUpdate>, MappingError> =
                |e| e.catalog(), "map-item";
        }
    )*};
}

versions! {
    newest: [crate::plugins::bindings::v0_2::types];
    v0_1: [crate::plugins::bindings::v0_1::types];
}

impl Exports {
    /// `map-order`, `map-refund` and `map-customer`.
    fn orders(
        &self,
    ) -> wasmtime::Result<(
        &ComponentExportIndex,
        &ComponentExportIndex,
        &ComponentExportIndex,
    )> {
        match &self.world {
            WorldExports::Orders {
                map_order,
                map_refund,
                map_customer,
            } => Ok((map_order, map_refund, map_customer)),
            WorldExports::Catalog { .. } => Err(orders_only()),
        }
    }

    /// `map-item`.
    fn catalog(&self) -> wasmtime::Result<&ComponentExportIndex> {
        match &self.world {
            WorldExports::Catalog { map_item } => Ok(map_item),
            WorldExports::Orders { .. } => Err(catalog_only()),
        }
    }
}

/// Every call in the newest contract's types; a 0.1 plugin's input is converted down and
/// its output up (`bindings::v0_1`).
impl Bound<'_> {
    /// `plugin.describe`.
    pub fn describe(&self, store: &mut Store<State>) -> wasmtime::Result<PluginInfo> {
        let (i, e) = (self.instance, self.exports);
        match e.contract {
            Contract::V0_2 => newest::describe(i, store, e),
            Contract::V0_1 => Ok(v0_1::describe(i, store, e)?.convert()),
        }
    }

    /// `plugin.validate-config`.
    pub fn validate_config(
        &self,
        store: &mut Store<State>,
        cfg: &[(String, String)],
    ) -> wasmtime::Result<Result<(), Vec<MappingError>>> {
        let (i, e) = (self.instance, self.exports);
        match e.contract {
            Contract::V0_2 => newest::validate_config(i, store, e, cfg),
            Contract::V0_1 => Ok(v0_1::validate_config(i, store, e, cfg)?
                .map_err(|errors| errors.iter().map(Convert::convert).collect())),
        }
    }

    /// `orders.map-order`.
    pub fn map_order(
        &self,
        store: &mut Store<State>,
        cfg: &[(String, String)],
        order: &Order,
    ) -> wasmtime::Result<Result<JournalEntry, MappingError>> {
        let (i, e) = (self.instance, self.exports);
        match e.contract {
            Contract::V0_2 => newest::map_order(i, store, e, cfg, order),
            Contract::V0_1 => Ok(v0_1::map_order(i, store, e, cfg, &order.convert())?.convert()),
        }
    }

    /// `orders.map-refund`.
    pub fn map_refund(
        &self,
        store: &mut Store<State>,
        cfg: &[(String, String)],
        refund: &Refund,
    ) -> wasmtime::Result<Result<JournalEntry, MappingError>> {
        let (i, e) = (self.instance, self.exports);
        match e.contract {
            Contract::V0_2 => newest::map_refund(i, store, e, cfg, refund),
            Contract::V0_1 => Ok(v0_1::map_refund(i, store, e, cfg, &refund.convert())?.convert()),
        }
    }

    /// `orders.map-customer`.
    pub fn map_customer(
        &self,
        store: &mut Store<State>,
        cfg: &[(String, String)],
        customer: &Customer,
    ) -> wasmtime::Result<Result<ErpCustomer, MappingError>> {
        let (i, e) = (self.instance, self.exports);
        match e.contract {
            Contract::V0_2 => newest::map_customer(i, store, e, cfg, customer),
            Contract::V0_1 => {
                Ok(v0_1::map_customer(i, store, e, cfg, &customer.convert())?.convert())
            }
        }
    }

    /// `catalog.map-item`.
    pub fn map_item(
        &self,
        store: &mut Store<State>,
        cfg: &[(String, String)],
        item: &ErpItem,
    ) -> wasmtime::Result<Result<Option<CatalogUpdate>, MappingError>> {
        let (i, e) = (self.instance, self.exports);
        match e.contract {
            Contract::V0_2 => newest::map_item(i, store, e, cfg, item),
            Contract::V0_1 => Ok(v0_1::map_item(i, store, e, cfg, &item.convert())?.convert()),
        }
    }

    /// Type-checks every export of the plugin's world against its contract version. A
    /// mismatch is an error naming the export.
    pub fn check(&self, store: &mut Store<State>) -> wasmtime::Result<()> {
        let (i, e) = (self.instance, self.exports);
        match e.contract {
            Contract::V0_2 => newest::check_all(i, store, e),
            Contract::V0_1 => v0_1::check_all(i, store, e),
        }
    }
}
