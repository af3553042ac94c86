//! `ml-connector:mapping@0.1.0`, frozen: its bindings, and the one place a call on a 0.1
//! plugin is converted from and to the newest contract's types.
//!
//! Going down, what 0.1 has no field for is dropped, with two exceptions that keep a 0.1
//! plugin seeing what it saw before 0.2 existed: the payment method is in `attributes`
//! (`payment_method`), and each tender a transaction recorded is among the payments again
//! (gateway `giftcertificate`, `storecredit` or `offline`). A tender only the order's
//! totals tell cannot be carried at all: [`cannot_carry`] says so, and the host parks the
//! order instead of letting the plugin book that money as owed. Going up, 0.1's outputs
//! are 0.2's field for field.

use super::v0_2::types as new;
use order_to_gl::ml_connector::mapping::types as old;

/// The `order-to-gl` world: also generates the shared `types` and `host` interfaces.
pub mod order_to_gl {
    wasmtime::component::bindgen!({
        path: "../wit/mapping@0.1.0",
        world: "order-to-gl",
    });
}

/// The `item-to-catalog` world, on the same `types` and `host` as `order_to_gl`.
pub mod item_to_catalog {
    wasmtime::component::bindgen!({
        path: "../wit/mapping@0.1.0",
        world: "item-to-catalog",
        with: {
            "ml-connector:mapping/types": super::order_to_gl::ml_connector::mapping::types,
            "ml-connector:mapping/host": super::order_to_gl::ml_connector::mapping::host,
        },
    });
}

pub use order_to_gl::ml_connector::mapping::{host, types};

/// A value of one contract's type as the same value of the other's.
pub trait Convert<T> {
    fn convert(&self) -> T;
}

macro_rules! same {
    ($($t:ty),*) => {$(
        impl Convert<$t> for $t {
            fn convert(&self) -> $t {
                self.clone()
            }
        }
    )*};
}
same!(i64, u32, u8, bool, String, (String, String));

impl<A: Convert<B>, B> Convert<Vec<B>> for Vec<A> {
    fn convert(&self) -> Vec<B> {
        self.iter().map(Convert::convert).collect()
    }
}

impl<A: Convert<B>, B> Convert<Option<B>> for Option<A> {
    fn convert(&self) -> Option<B> {
        self.as_ref().map(Convert::convert)
    }
}

/// Records converted field by field: the fields named are those both versions have.
macro_rules! records {
    ($($from:ident -> $to:ident :: $name:ident { $($field:ident),* $(,)? })*) => {$(
        impl Convert<$to::$name> for $from::$name {
            fn convert(&self) -> $to::$name {
                $to::$name { $($field: self.$field.convert()),* }
            }
        }
    )*};
}

/// Enums converted case by case.
macro_rules! enums {
    ($($from:ident -> $to:ident :: $name:ident { $($case:ident),* $(,)? })*) => {$(
        impl Convert<$to::$name> for $from::$name {
            fn convert(&self) -> $to::$name {
                match self { $($from::$name::$case => $to::$name::$case),* }
            }
        }
    )*};
}

// Inputs, down to 0.1.
records! {
    new -> old::Decimal { digits, scale }
    new -> old::Currency { code, decimals }
    new -> old::Address {
        first_name, last_name, company, street1, street2, city, state, zip, country, phone,
    }
    new -> old::Customer {
        id, email, first_name, last_name, company, phone, group, billing_address,
    }
    new -> old::OrderLine {
        id, sku, name, quantity, unit_price, total_ex_tax, total_tax, discount, tax_class,
    }
    new -> old::Discount { kind, code, amount }
    new -> old::TaxLine { code, name, amount }
    new -> old::PaymentTransaction { id, event, method, gateway, amount, succeeded, date }
    new -> old::RefundItem { kind, item_id, sku, quantity, amount, tax }
    new -> old::RefundPayment { provider, amount, offline, declined }
    new -> old::Refund {
        id, order_id, created_at, reason, currency, exchange_rate, erp_customer, items,
        payments, total_tax, total,
    }
    new -> old::ErpPrice { price_list, currency, amount, effective_from }
    new -> old::ErpItem {
        sku, description, description2, status, unit_of_measure, changed_on, prices,
    }
}
enums! {
    new -> old::DiscountKind { Coupon, Automatic, Manual }
    new -> old::TransactionEvent {
        Purchase, Authorization, Capture, Refund, Void, Pending, Settled,
    }
    new -> old::RefundItemKind { Product, Shipping, Handling, GiftWrapping, Order, Fee }
}

// Outputs, up from 0.1.
records! {
    old -> new::Decimal { digits, scale }
    old -> new::Address {
        first_name, last_name, company, street1, street2, city, state, zip, country, phone,
    }
    old -> new::ConfigKey { name, required, description }
    old -> new::PluginInfo { name, version, description, config_keys }
    old -> new::MappingError { kind, code, message, path }
    old -> new::JournalLine {
        account, sub_account, cost_centre, debit, credit, memo, tax_code,
    }
    old -> new::JournalEntry {
        daybook, effective_date, currency, exchange_rate, erp_customer, description, lines,
    }
    old -> new::ErpCustomer { code, name, email, phone, currency, address, attributes }
    old -> new::CatalogUpdate { sku, name, price, sale_price, cost_price, visible }
}
enums! {
    old -> new::ErrorKind { InvalidInput, Config, Unsupported, Internal }
}

impl<T: Convert<U>, U, E: Convert<F>, F> Convert<Result<U, F>> for Result<T, E> {
    fn convert(&self) -> Result<U, F> {
        match self {
            Ok(value) => Ok(value.convert()),
            Err(error) => Err(error.convert()),
        }
    }
}

/// How 0.1 saw a tender's transaction: a payment through a pseudo-gateway.
fn method_and_gateway(kind: new::TenderKind) -> (&'static str, &'static str) {
    match kind {
        new::TenderKind::GiftCertificate => ("gift_certificate", "giftcertificate"),
        new::TenderKind::StoreCredit => ("store_credit", "storecredit"),
        new::TenderKind::Offline => ("offline", "offline"),
    }
}

impl Convert<old::Order> for new::Order {
    fn convert(&self) -> old::Order {
        let mut payments: Vec<old::PaymentTransaction> = self.payments.convert();
        for tender in self.tenders.iter().filter(|t| !t.transaction_id.is_empty()) {
            let (method, gateway) = method_and_gateway(tender.kind);
            payments.push(old::PaymentTransaction {
                id: tender.transaction_id.clone(),
                event: old::TransactionEvent::Purchase,
                method: method.into(),
                gateway: gateway.into(),
                amount: tender.amount,
                succeeded: true,
                date: self.created_at.clone(),
            });
        }
        let mut attributes = vec![("payment_method".to_string(), self.payment_method.clone())];
        attributes.extend(self.attributes.iter().cloned());
        old::Order {
            id: self.id.clone(),
            store: self.store.clone(),
            status_id: self.status_id,
            status: self.status.clone(),
            created_at: self.created_at.clone(),
            modified_at: self.modified_at.clone(),
            currency: self.currency.convert(),
            exchange_rate: self.exchange_rate.convert(),
            customer: self.customer.convert(),
            erp_customer: self.erp_customer.clone(),
            lines: self.lines.convert(),
            subtotal_ex_tax: self.subtotal_ex_tax,
            shipping_ex_tax: self.shipping_ex_tax,
            shipping_tax: self.shipping_tax,
            handling_ex_tax: self.handling_ex_tax,
            handling_tax: self.handling_tax,
            wrapping_ex_tax: self.wrapping_ex_tax,
            wrapping_tax: self.wrapping_tax,
            discounts: self.discounts.convert(),
            taxes: self.taxes.convert(),
            total_tax: self.total_tax,
            total_inc_tax: self.total_inc_tax,
            payments,
            attributes,
        }
    }
}

/// Why `order` cannot be given to a 0.1 plugin, if it cannot: a tender no transaction
/// recorded would reach it as nothing at all, and the plugin would book it as owed.
pub fn cannot_carry(order: &new::Order) -> Option<String> {
    let untold: Vec<String> = order
        .tenders
        .iter()
        .filter(|t| t.transaction_id.is_empty())
        .map(|t| format!("{} by {}", crate::money::format(t.amount), t.name))
        .collect();
    if untold.is_empty() {
        return None;
    }
    Some(format!(
        "order {} was paid {}, which mapping contract 0.1 cannot carry to the plugin (it \
         would be booked as owed); parked rather than posted wrong: a plugin built against \
         contract 0.2 maps it with its tenders",
        order.id,
        untold.join(" and ")
    ))
}
