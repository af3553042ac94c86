//! The short way to write an `order-to-gl` plugin: implement [`OrderMapper`] for a type
//! and export it with [`export_order_mapper!`](crate::export_order_mapper). The batch
//! exports map record by record, and refunds and shoppers a plugin does not handle are
//! declined with an `unsupported` error.

use crate::error::unsupported;
use crate::{
    Customer, ErpCustomer, JournalEntry, MappingError, Order, PluginInfo, Refund, Settings,
};
use alloc::format;
use alloc::vec::Vec;

pub trait OrderMapper {
    fn describe() -> PluginInfo;

    /// Checks the connection's settings once, at load. Accepts anything by default.
    fn validate_config(_settings: Settings) -> Result<(), Vec<MappingError>> {
        Ok(())
    }

    fn map_order(settings: Settings, order: &Order) -> Result<JournalEntry, MappingError>;

    fn map_refund(_settings: Settings, refund: &Refund) -> Result<JournalEntry, MappingError> {
        Err(unsupported(
            "refunds-not-mapped",
            format!("this plugin does not map refunds (refund {})", refund.id),
            None,
        ))
    }

    /// The batch form; maps one by one unless a plugin has something to share across the
    /// batch (accounts resolved once, say).
    fn map_orders(settings: Settings, orders: &[Order]) -> Vec<Result<JournalEntry, MappingError>> {
        orders
            .iter()
            .map(|order| Self::map_order(settings, order))
            .collect()
    }

    /// The batch form of `map_refund`.
    fn map_refunds(
        settings: Settings,
        refunds: &[Refund],
    ) -> Vec<Result<JournalEntry, MappingError>> {
        refunds
            .iter()
            .map(|refund| Self::map_refund(settings, refund))
            .collect()
    }

    /// The batch form of `map_customer`.
    fn map_customers(
        settings: Settings,
        customers: &[Customer],
    ) -> Vec<Result<ErpCustomer, MappingError>> {
        customers
            .iter()
            .map(|customer| Self::map_customer(settings, customer))
            .collect()
    }

    fn map_customer(_settings: Settings, customer: &Customer) -> Result<ErpCustomer, MappingError> {
        Err(unsupported(
            "customers-not-mapped",
            format!("this plugin does not map shoppers ({})", customer.email),
            None,
        ))
    }
}

/// Exports a type implementing [`OrderMapper`] as the plugin.
#[macro_export]
macro_rules! export_order_mapper {
    ($ty:ident) => {
        impl $crate::prelude::Plugin for $ty {
            fn describe() -> $crate::PluginInfo {
                <$ty as $crate::mapper::OrderMapper>::describe()
            }
            fn validate_config(
                cfg: $crate::Config,
            ) -> Result<(), $crate::__private::Vec<$crate::MappingError>> {
                <$ty as $crate::mapper::OrderMapper>::validate_config($crate::Settings::new(&cfg))
            }
        }

        impl $crate::prelude::Orders for $ty {
            fn map_order(
                cfg: $crate::Config,
                order: $crate::Order,
            ) -> Result<$crate::JournalEntry, $crate::MappingError> {
                <$ty as $crate::mapper::OrderMapper>::map_order($crate::Settings::new(&cfg), &order)
            }
            fn map_refund(
                cfg: $crate::Config,
                refund: $crate::Refund,
            ) -> Result<$crate::JournalEntry, $crate::MappingError> {
                <$ty as $crate::mapper::OrderMapper>::map_refund(
                    $crate::Settings::new(&cfg),
                    &refund,
                )
            }
            fn map_customer(
                cfg: $crate::Config,
                customer: $crate::Customer,
            ) -> Result<$crate::ErpCustomer, $crate::MappingError> {
                <$ty as $crate::mapper::OrderMapper>::map_customer(
                    $crate::Settings::new(&cfg),
                    &customer,
                )
            }
            fn map_orders(
                cfg: $crate::Config,
                orders: $crate::__private::Vec<$crate::Order>,
            ) -> $crate::__private::Vec<Result<$crate::JournalEntry, $crate::MappingError>> {
                <$ty as $crate::mapper::OrderMapper>::map_orders(
                    $crate::Settings::new(&cfg),
                    &orders,
                )
            }
            fn map_refunds(
                cfg: $crate::Config,
                refunds: $crate::__private::Vec<$crate::Refund>,
            ) -> $crate::__private::Vec<Result<$crate::JournalEntry, $crate::MappingError>> {
                <$ty as $crate::mapper::OrderMapper>::map_refunds(
                    $crate::Settings::new(&cfg),
                    &refunds,
                )
            }
            fn map_customers(
                cfg: $crate::Config,
                customers: $crate::__private::Vec<$crate::Customer>,
            ) -> $crate::__private::Vec<Result<$crate::ErpCustomer, $crate::MappingError>> {
                <$ty as $crate::mapper::OrderMapper>::map_customers(
                    $crate::Settings::new(&cfg),
                    &customers,
                )
            }
        }

        #[cfg(target_arch = "wasm32")]
        $crate::export_order_to_gl!($ty);
    };
}
