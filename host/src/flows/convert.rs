//! BigCommerce records into the plugin contract's records: a full order into
//! [`types::Order`] and a refund (with its order) into [`types::Refund`].
//!
//! Everything is exact. Where BigCommerce does not say something the contract needs, the
//! choice is made here, once:
//! - the ledger currency is the transactional currency (what the shopper paid), posted at
//!   its ISO 4217 minor unit;
//! - taxes arrive as one total, so the order carries one tax line with no code (the
//!   plugin books it to its default tax account);
//! - a refund item's tax: products carry their line's unit tax; the rest of the refund's
//!   tax goes to its other items (shipping, handling, order amounts) in item order, so the
//!   items' tax always adds up to the refund's total tax;
//! - a refunded product is worth what was paid for it (its share of the order's discounts
//!   taken off), and whatever the items leave of the refund's total goes to the last
//!   non-product item (else the last item), so the items always add up to the total.

use time::format_description::well_known::Rfc3339;

use crate::bigcommerce::customers::Customer;
use crate::bigcommerce::orders::{FullOrder, OrderProduct, Refund, Transaction};
use crate::money::Amount;
use crate::plugins::types;

/// ISO 4217 minor units: the decimals a currency is posted at.
pub fn currency_decimals(code: &str) -> u8 {
    match code {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// `"0.9200000000"` as an exact decimal (trailing zeros dropped); `None` when it is not
/// a plain decimal that fits.
pub fn parse_decimal(text: &str) -> Option<types::Decimal> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = fraction.trim_end_matches('0');
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    if !digits
        .trim_start_matches('-')
        .bytes()
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(types::Decimal {
        digits: digits.parse().ok()?,
        scale: u8::try_from(fraction.len()).ok()?,
    })
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    crate::bigcommerce::wire::to_rfc3339(at)
}

fn event(name: &str) -> types::TransactionEvent {
    use types::TransactionEvent as E;
    match name {
        "purchase" => E::Purchase,
        "authorization" => E::Authorization,
        "capture" => E::Capture,
        "refund" => E::Refund,
        "void" => E::Void,
        "settled" => E::Settled,
        _ => E::Pending,
    }
}

fn payment(t: &Transaction) -> types::PaymentTransaction {
    types::PaymentTransaction {
        id: t.id.to_string(),
        event: event(&t.event),
        method: t.method.clone(),
        gateway: t.gateway.clone(),
        amount: t.amount,
        succeeded: t.status.as_deref() != Some("error"),
        date: t.date_created.format(&Rfc3339).unwrap_or_default(),
    }
}

fn line(product: &OrderProduct) -> types::OrderLine {
    types::OrderLine {
        id: product.id.to_string(),
        sku: product.sku.clone(),
        name: product.name.clone(),
        quantity: product.quantity,
        unit_price: product.price_ex_tax,
        total_ex_tax: product.total_ex_tax,
        total_tax: product.total_tax,
        discount: product.applied_discounts.iter().map(|d| d.amount).sum(),
        tax_class: String::new(),
    }
}

/// A registered shopper in the contract's terms (no address: BigCommerce keeps
/// customers' addresses apart, and QAD needs none to open the account).
pub fn customer(customer: &Customer) -> types::Customer {
    types::Customer {
        id: customer.id.to_string(),
        email: customer.email.clone(),
        first_name: customer.first_name.clone(),
        last_name: customer.last_name.clone(),
        company: customer.company.clone(),
        phone: customer.phone.clone(),
        group: String::new(),
        billing_address: None,
    }
}

/// The order in the contract's terms. `erp_customer` is the ledger customer the host
/// resolved (the configured default for guests).
pub fn order(store: &str, full: &FullOrder, erp_customer: &str) -> types::Order {
    let o = &full.order;
    let code = o.transactional_currency().to_string();
    let billing = &o.billing_address;
    let exchange_rate = o
        .store_default_to_transactional_exchange_rate
        .as_deref()
        .and_then(parse_decimal)
        .unwrap_or(types::Decimal {
            digits: 1,
            scale: 0,
        });
    types::Order {
        id: o.id.to_string(),
        store: store.to_string(),
        status_id: o.status_id,
        status: o.status.clone(),
        created_at: rfc3339(o.date_created),
        modified_at: rfc3339(o.date_modified),
        currency: types::Currency {
            decimals: currency_decimals(&code),
            code,
        },
        exchange_rate,
        customer: types::Customer {
            id: if o.is_guest() {
                String::new()
            } else {
                o.customer_id.to_string()
            },
            email: billing.email.clone(),
            first_name: billing.first_name.clone(),
            last_name: billing.last_name.clone(),
            company: billing.company.clone(),
            phone: billing.phone.clone(),
            group: String::new(),
            billing_address: Some(types::Address {
                first_name: billing.first_name.clone(),
                last_name: billing.last_name.clone(),
                company: billing.company.clone(),
                street1: billing.street_1.clone(),
                street2: billing.street_2.clone(),
                city: billing.city.clone(),
                state: billing.state.clone(),
                zip: billing.zip.clone(),
                country: billing.country_iso2.clone(),
                phone: billing.phone.clone(),
            }),
        },
        erp_customer: erp_customer.to_string(),
        lines: full.products.iter().map(line).collect(),
        subtotal_ex_tax: o.subtotal_ex_tax,
        shipping_ex_tax: o.shipping_cost_ex_tax,
        shipping_tax: o.shipping_cost_tax,
        handling_ex_tax: o.handling_cost_ex_tax,
        handling_tax: o.handling_cost_tax,
        wrapping_ex_tax: o.wrapping_cost_ex_tax,
        wrapping_tax: o.wrapping_cost_tax,
        discounts: full
            .discounts
            .iter()
            .map(|d| types::Discount {
                kind: if d.code.is_some() {
                    types::DiscountKind::Coupon
                } else if d.name.eq_ignore_ascii_case("manual discount") {
                    types::DiscountKind::Manual
                } else {
                    types::DiscountKind::Automatic
                },
                code: d.code.clone().unwrap_or_else(|| d.name.clone()),
                amount: d.amount,
            })
            .collect(),
        taxes: if o.total_tax == 0 {
            Vec::new()
        } else {
            vec![types::TaxLine {
                code: String::new(),
                name: "Sales tax".into(),
                amount: o.total_tax,
            }]
        },
        total_tax: o.total_tax,
        total_inc_tax: o.total_inc_tax,
        payments: full.transactions.iter().map(payment).collect(),
        attributes: vec![("payment_method".into(), o.payment_method.clone())],
    }
}

fn item_kind(name: &str) -> types::RefundItemKind {
    use types::RefundItemKind as K;
    match name {
        "PRODUCT" => K::Product,
        "SHIPPING" => K::Shipping,
        "HANDLING" => K::Handling,
        "GIFT_WRAPPING" => K::GiftWrapping,
        "FEE" => K::Fee,
        _ => K::Order,
    }
}

/// A refund in the contract's terms, with its order for currency, SKUs and unit taxes.
pub fn refund(refund: &Refund, order: &types::Order) -> types::Refund {
    let mut items: Vec<types::RefundItem> = refund
        .items
        .iter()
        .map(|item| {
            let kind = item_kind(&item.item_type);
            let quantity = item.quantity.unwrap_or(0);
            let line = order
                .lines
                .iter()
                .find(|l| l.id == item.item_id.to_string());
            match (kind, line) {
                (types::RefundItemKind::Product, Some(line)) => {
                    let unit_tax = if line.quantity == 0 {
                        0
                    } else {
                        line.total_tax / Amount::from(line.quantity)
                    };
                    // What the shopper paid for these units: the order's discounts
                    // were spread over the lines.
                    let discount = if line.quantity == 0 {
                        0
                    } else {
                        line.discount * Amount::from(quantity) / Amount::from(line.quantity)
                    };
                    types::RefundItem {
                        kind,
                        item_id: item.item_id.to_string(),
                        sku: line.sku.clone(),
                        quantity,
                        amount: line.unit_price * Amount::from(quantity) - discount,
                        tax: unit_tax * Amount::from(quantity),
                    }
                }
                _ => types::RefundItem {
                    kind,
                    item_id: item.item_id.to_string(),
                    sku: String::new(),
                    quantity,
                    amount: item.requested_amount.unwrap_or(0),
                    tax: 0,
                },
            }
        })
        .collect();
    // The tax the product items do not carry belongs to the others (they were sent
    // including tax); if there are none, the last item absorbs the difference.
    let mut untaxed: Amount = refund.total_tax - items.iter().map(|i| i.tax).sum::<Amount>();
    for item in items
        .iter_mut()
        .filter(|i| !matches!(i.kind, types::RefundItemKind::Product))
    {
        let share = untaxed.min(item.amount).max(0);
        item.tax += share;
        item.amount -= share;
        untaxed -= share;
    }
    if untaxed != 0
        && let Some(last) = items.last_mut()
    {
        last.tax += untaxed;
        last.amount -= untaxed;
    }
    // The refund's total is the money; the items say what it was for. What the items do
    // not account for (a discount's rounding, a handling charge refunded within an order
    // amount) is added to the last non-product item, else the last item.
    let accounted: Amount = items.iter().map(|i| i.amount + i.tax).sum();
    let rest = refund.total_amount - accounted;
    if rest != 0 {
        let target = items
            .iter()
            .rposition(|i| !matches!(i.kind, types::RefundItemKind::Product))
            .or(items.len().checked_sub(1));
        if let Some(index) = target {
            items[index].amount = (items[index].amount + rest).max(0);
        }
    }
    types::Refund {
        id: refund.id.to_string(),
        order_id: refund.order_id.to_string(),
        created_at: rfc3339(refund.created),
        reason: refund.reason.clone(),
        currency: order.currency.clone(),
        exchange_rate: order.exchange_rate,
        erp_customer: order.erp_customer.clone(),
        items,
        payments: refund
            .payments
            .iter()
            .map(|p| types::RefundPayment {
                provider: p.provider_id.clone(),
                amount: p.amount,
                offline: p.offline,
                declined: p.is_declined,
            })
            .collect(),
        total_tax: refund.total_tax,
        total: refund.total_amount,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        let rate = parse_decimal("0.9200000000").unwrap();
        assert_eq!((rate.digits, rate.scale), (92, 2));
        let one = parse_decimal("1.0000000000").unwrap();
        assert_eq!((one.digits, one.scale), (1, 0));
        assert!(parse_decimal("1e3").is_none());
        assert_eq!(currency_decimals("JPY"), 0);
        assert_eq!(currency_decimals("KWD"), 3);
        assert_eq!(currency_decimals("EUR"), 2);
    }
}
