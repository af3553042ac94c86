//! The simulated store's data (catalog, customers, orders with their lines, coupons,
//! transactions and refunds), its seeded generator, and how each record looks on the wire.
//!
//! Money is kept in ten-thousandths (`i64`) and rendered the way BigCommerce does: V2
//! orders as four-decimal strings (`"12.3400"`), V3 transactions, refunds and catalog
//! prices as JSON numbers with two decimals (`12.34`), written from the integer, never
//! through a float. Dates are RFC 2822 in V2 and RFC 3339 in V3.
//!
//! Simplification (documented, deliberate): tax is charged per unit on the undiscounted
//! price, shipping and handling at one rate per currency; discounts and coupons reduce
//! the ex-tax total without changing the tax. Totals are always consistent:
//! `total_inc_tax = subtotal_ex_tax + shipping + handling - discounts + total_tax`.
//!
//! One module per record family: `orders` (orders, their lines, coupons and transactions,
//! and the order statuses), `refunds`, `customers` and `catalog` (products and variants),
//! each with its wire shapes; `seed` generates a store's data.

mod catalog;
mod customers;
mod orders;
mod refunds;
mod seed;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

pub use crate::wire::{Number, s4};
pub use catalog::{Product, ProductWire, SkuUnavailable, Variant, VariantWire};
pub use customers::Customer;
pub use orders::{
    Consignments, Coupon, CouponWire, Order, OrderLine, OrderWithConsignments, STATUSES,
    ShippingConsignment, Transaction, TransactionWire, status_name,
};
pub use refunds::{
    Refund, RefundItem, RefundItemWire, RefundPayment, RefundPaymentWire, RefundWire,
};
pub use seed::Seed;

/// Ten-thousandths of the currency unit.
pub type Money = i64;

/// One currency unit.
pub const UNIT: Money = 10_000;

pub fn rfc2822(at: OffsetDateTime) -> String {
    at.format(&Rfc2822).expect("a UTC date formats as RFC 2822")
}

/// RFC 3339 as BigCommerce's V3 writes it: whole seconds, `+00:00`
/// (`2018-08-15T14:49:05+00:00`).
pub fn rfc3339(at: OffsetDateTime) -> String {
    let whole = at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .expect("zero nanoseconds is valid");
    whole
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]+00:00"
        ))
        .expect("a UTC date formats as RFC 3339")
}

/// `amount * rate_bp / 10_000`, rounded half away from zero to whole cents.
pub fn tax_on(amount: Money, rate_bp: i64) -> Money {
    let raw = amount as i128 * rate_bp as i128;
    let cent = 100 * 10_000_i128;
    let rounded = (raw + cent / 2).div_euclid(cent) * cent;
    (rounded / 10_000) as Money
}

/// Everything one store holds.
#[derive(Debug, Clone, Default)]
pub struct StoreData {
    pub products: Vec<Product>,
    pub customers: Vec<Customer>,
    pub orders: Vec<Order>,
    next_id: u64,
}

impl StoreData {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_from_the_integer() {
        let text = serde_json::to_string(&[Number(123_400), Number(-5), Number(0)]).unwrap();
        assert_eq!(text, "[12.34,-0.0005,0.00]");
        assert_eq!(s4(-12_345), "-1.2345");
        assert_eq!(tax_on(199_900, 825), 16_500);
    }
}
