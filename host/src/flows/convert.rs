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
//!
//! - tenders (gift certificates, store credit, offline payments) are taken out of the
//!   transactions into `tenders`, each once: a gift certificate or store credit the order's
//!   `gift_certificate_amount` or `store_credit_amount` tells is one tender with no
//!   transaction, or the transactions that recorded it when they add up to the field; when
//!   they disagree the order is [`Unconvertible::TendersDisagree`], which parks it.
//!
//! Every sum and product of amounts from BigCommerce is checked: one beyond what an
//! [`Amount`] holds is [`Unconvertible::TooLarge`], which parks the record, never a wrapped
//! number.

use time::format_description::well_known::Rfc3339;

use crate::bigcommerce::customers::Customer;
use crate::bigcommerce::orders::{FullOrder, OrderProduct, Refund, RefundItem, Transaction};
use crate::money::Amount;
use crate::plugins::types;

/// Why a BigCommerce record has no form in the contract's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unconvertible {
    /// A sum or product of BigCommerce's amounts that an [`Amount`] cannot hold (beyond
    /// about ±922 trillion in the currency's major unit).
    #[error("{what} of BigCommerce's {record} is beyond what an amount can hold")]
    TooLarge {
        /// The record (`order 123`, `refund 7`).
        record: String,
        /// What could not be computed (`the discounts of line 5`).
        what: String,
    },
    /// The order's field for a tender and the transactions of that tender say different
    /// amounts: which one was paid cannot be told, and counting both would count it twice.
    #[error(
        "BigCommerce's order {order} says {} was paid by {tender} but its {tender} transactions add up to {}; parked rather than counted twice or guessed",
        crate::money::format(*.field),
        crate::money::format(*.transactions)
    )]
    TendersDisagree {
        order: u64,
        tender: &'static str,
        field: Amount,
        transactions: Amount,
    },
}

fn too_large(record: String, what: String) -> Unconvertible {
    Unconvertible::TooLarge { record, what }
}

/// `amounts` added up, or `None` past an [`Amount`]'s range.
fn sum(amounts: impl IntoIterator<Item = Amount>) -> Option<Amount> {
    amounts
        .into_iter()
        .try_fold(0, |total: Amount, amount| total.checked_add(amount))
}

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
        succeeded: succeeded(t),
        date: t.date_created.format(&Rfc3339).unwrap_or_default(),
        test: t.test,
    }
}

fn succeeded(t: &Transaction) -> bool {
    t.status.as_deref() != Some("error")
}

/// `gift_certificate`, `GiftCertificate` and `giftcertificate` alike.
fn squashed(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '-', ' '], "")
}

/// The tender a transaction records, if it records one rather than a gateway payment:
/// gift certificates and store credit by method or gateway, offline and manual payments
/// by method (BigCommerce's `offline` and `custom`).
fn tender_kind(t: &Transaction) -> Option<types::TenderKind> {
    use types::TenderKind as K;
    match (squashed(&t.method).as_str(), squashed(&t.gateway).as_str()) {
        ("giftcertificate", _) | (_, "giftcertificate") => Some(K::GiftCertificate),
        ("storecredit", _) | (_, "storecredit") => Some(K::StoreCredit),
        ("offline" | "custom", _) => Some(K::Offline),
        _ => None,
    }
}

/// The order's tenders, each once (see the module's notes), and its gateway payments.
fn tenders(
    full: &FullOrder,
) -> Result<(Vec<types::Tender>, Vec<types::PaymentTransaction>), Unconvertible> {
    use types::TenderKind as K;
    let o = &full.order;
    let mut payments = Vec::new();
    let mut recorded: Vec<(K, &Transaction)> = Vec::new();
    for t in &full.transactions {
        match tender_kind(t) {
            None => payments.push(payment(t)),
            // A tender's money moved when a purchase or capture of it succeeded; its other
            // events (authorisations, voids, refunds) move none here.
            Some(kind) if succeeded(t) && matches!(t.event.as_str(), "purchase" | "capture") => {
                recorded.push((kind, t))
            }
            Some(_) => {}
        }
    }
    let too_large = || too_large(format!("order {}", o.id), "the tenders".into());
    let mut tenders = Vec::new();
    for (kind, name, field) in [
        (
            K::GiftCertificate,
            "gift certificate",
            o.gift_certificate_amount,
        ),
        (K::StoreCredit, "store credit", o.store_credit_amount),
    ] {
        let field = field.unwrap_or(0).max(0);
        let of_kind: Vec<&Transaction> = recorded
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, t)| *t)
            .collect();
        let transactions = sum(of_kind.iter().map(|t| t.amount)).ok_or_else(too_large)?;
        if of_kind.is_empty() {
            if field > 0 {
                tenders.push(types::Tender {
                    kind,
                    name: name.into(),
                    amount: field,
                    transaction_id: String::new(),
                });
            }
            continue;
        }
        if field != 0 && field != transactions {
            return Err(Unconvertible::TendersDisagree {
                order: o.id,
                tender: name,
                field,
                transactions,
            });
        }
        tenders.extend(of_kind.into_iter().map(|t| types::Tender {
            kind,
            name: name.into(),
            amount: t.amount,
            transaction_id: t.id.to_string(),
        }));
    }
    for (_, t) in recorded.iter().filter(|(k, _)| *k == K::Offline) {
        let named = [
            t.custom.as_ref().map(|c| c.payment_method.as_str()),
            t.offline.as_ref().map(|o| o.display_name.as_str()),
            Some(o.payment_method.as_str()),
        ];
        let name = named
            .into_iter()
            .flatten()
            .find(|n| !n.trim().is_empty())
            .unwrap_or("offline payment");
        tenders.push(types::Tender {
            kind: K::Offline,
            name: name.to_string(),
            amount: t.amount,
            transaction_id: t.id.to_string(),
        });
    }
    Ok((tenders, payments))
}

fn line(product: &OrderProduct, order: u64) -> Result<types::OrderLine, Unconvertible> {
    let discount = sum(product.applied_discounts.iter().map(|d| d.amount)).ok_or_else(|| {
        too_large(
            format!("order {order}"),
            format!("the discounts of line {}", product.id),
        )
    })?;
    Ok(types::OrderLine {
        id: product.id.to_string(),
        sku: product.sku.clone(),
        name: product.name.clone(),
        quantity: product.quantity,
        unit_price: product.price_ex_tax,
        total_ex_tax: product.total_ex_tax,
        total_tax: product.total_tax,
        discount,
        tax_class: String::new(),
        product_id: product.product_id.to_string(),
        variant_id: product
            .variant_id
            .filter(|id| *id != 0)
            .map(|id| id.to_string())
            .unwrap_or_default(),
        cost_price: product.base_cost_price.unwrap_or(0),
    })
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
pub fn order(
    store: &str,
    full: &FullOrder,
    erp_customer: &str,
) -> Result<types::Order, Unconvertible> {
    let o = &full.order;
    let (tenders, payments) = tenders(full)?;
    let lines = full
        .products
        .iter()
        .map(|product| line(product, o.id))
        .collect::<Result<_, _>>()?;
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
    Ok(types::Order {
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
        lines,
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
        payments,
        tenders,
        payment_status: o.payment_status.clone(),
        payment_method: o.payment_method.clone(),
        channel_id: o.channel_id,
        source: o.order_source.clone(),
        attributes: Vec::new(),
    })
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
pub fn refund(refund: &Refund, order: &types::Order) -> Result<types::Refund, Unconvertible> {
    let too_large = |what: &str| too_large(format!("refund {}", refund.id), what.to_string());
    let items = refund
        .items
        .iter()
        .map(|item| {
            refund_item(item, order).ok_or_else(|| too_large(&format!("item {}", item.item_id)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let items = balance(items, refund.total_tax, refund.total_amount)
        .ok_or_else(|| too_large("the items' sum"))?;
    Ok(types::Refund {
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
                tender: match squashed(&p.provider_id).as_str() {
                    "storecredit" => Some(types::TenderKind::StoreCredit),
                    "giftcertificate" => Some(types::TenderKind::GiftCertificate),
                    _ => None,
                },
            })
            .collect(),
        total_tax: refund.total_tax,
        total: refund.total_amount,
    })
}

/// One refunded item; `None` when its amount is beyond an [`Amount`].
fn refund_item(item: &RefundItem, order: &types::Order) -> Option<types::RefundItem> {
    let kind = item_kind(&item.item_type);
    let quantity = item.quantity.unwrap_or(0);
    let line = order
        .lines
        .iter()
        .find(|l| l.id == item.item_id.to_string());
    Some(match (kind, line) {
        (types::RefundItemKind::Product, Some(line)) => {
            let ordered = Amount::from(line.quantity);
            let refunded = Amount::from(quantity);
            let unit_tax = line.total_tax.checked_div(ordered).unwrap_or(0);
            // What the shopper paid for these units: the order's discounts were spread
            // over the lines (in i128: the product is divided before it must fit).
            let discount = if ordered == 0 {
                0
            } else {
                Amount::try_from(
                    i128::from(line.discount) * i128::from(refunded) / i128::from(ordered),
                )
                .ok()?
            };
            types::RefundItem {
                kind,
                item_id: item.item_id.to_string(),
                sku: line.sku.clone(),
                quantity,
                amount: line
                    .unit_price
                    .checked_mul(refunded)?
                    .checked_sub(discount)?,
                tax: unit_tax.checked_mul(refunded)?,
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
    })
}

/// Makes the items' tax add up to `total_tax` and their amounts and tax to `total`;
/// `None` when a sum is beyond an [`Amount`].
fn balance(
    mut items: Vec<types::RefundItem>,
    total_tax: Amount,
    total: Amount,
) -> Option<Vec<types::RefundItem>> {
    // The tax the product items do not carry belongs to the others (they were sent
    // including tax); if there are none, the last item absorbs the difference.
    let mut untaxed = total_tax.checked_sub(sum(items.iter().map(|i| i.tax))?)?;
    for item in items
        .iter_mut()
        .filter(|i| !matches!(i.kind, types::RefundItemKind::Product))
    {
        let share = untaxed.min(item.amount).max(0);
        item.tax = item.tax.checked_add(share)?;
        item.amount -= share;
        untaxed -= share;
    }
    if untaxed != 0
        && let Some(last) = items.last_mut()
    {
        last.tax = last.tax.checked_add(untaxed)?;
        last.amount = last.amount.checked_sub(untaxed)?;
    }
    // The refund's total is the money; the items say what it was for. What the items do
    // not account for (a discount's rounding, a handling charge refunded within an order
    // amount) is added to the last non-product item, else the last item.
    let accounted = sum(items
        .iter()
        .map(|i| i.amount.checked_add(i.tax))
        .collect::<Option<Vec<_>>>()?)?;
    let rest = total.checked_sub(accounted)?;
    if rest != 0 {
        let target = items
            .iter()
            .rposition(|i| !matches!(i.kind, types::RefundItemKind::Product))
            .or(items.len().checked_sub(1));
        if let Some(index) = target {
            items[index].amount = items[index].amount.checked_add(rest)?.max(0);
        }
    }
    Some(items)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::flows::testing;
    use crate::money;

    /// A refund of `refunded` units of the order's one line and a shipping amount.
    fn refund_of(refunded: u32, shipping: Amount, total: Amount, tax: Amount) -> Refund {
        let item = |item_type: &str, item_id: u64, quantity, requested_amount| RefundItem {
            item_type: item_type.into(),
            item_id,
            quantity,
            requested_amount,
            reason: None,
        };
        Refund {
            id: 7,
            order_id: 100,
            created: time::macros::datetime!(2026-11-03 10:00 UTC),
            reason: String::new(),
            total_amount: total,
            total_tax: tax,
            items: vec![
                item("PRODUCT", 1000, Some(refunded), None),
                item("SHIPPING", 100, None, Some(shipping)),
            ],
            payments: Vec::new(),
        }
    }

    #[test]
    fn amounts_beyond_an_amount_are_refused_not_wrapped() {
        let mut full = testing::order(100, 0, "ada@example.com", 2, 11);
        let discount = |amount| {
            serde_json::from_value(serde_json::json!({"id": 1, "amount": money::format(amount)}))
                .unwrap()
        };
        full.products[0].applied_discounts = vec![discount(Amount::MAX), discount(1)];
        let refused = order("s", &full, "GUEST").unwrap_err();
        let Unconvertible::TooLarge { record, what } = &refused else {
            panic!("{refused}")
        };
        assert_eq!(record, "order 100");
        assert!(what.contains("discounts of line 1000"), "{refused}");

        let mut order = order("s", &testing::order(100, 0, "a@b.c", 2, 11), "GUEST").unwrap();
        order.lines[0].unit_price = Amount::MAX / 2;
        let refused = refund(&refund_of(3, 0, 0, 0), &order).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "item 1000 of BigCommerce's refund 7 is beyond what an amount can hold"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever the tender fields and transactions say, an order converts with each
        /// tender once (its field, or transactions adding up to it) or is refused; it never
        /// panics or wraps.
        #[test]
        fn tenders_of_any_amounts_are_counted_once_or_refused(
            field in proptest::option::of(any::<Amount>()),
            amounts in proptest::collection::vec(any::<Amount>(), 0..4),
            method in prop::sample::select(vec!["gift_certificate", "store_credit", "credit_card", "offline"]),
        ) {
            let mut full = testing::order(100, 0, "a@b.c", 1, 11);
            full.order.gift_certificate_amount = field;
            full.transactions = amounts
                .iter()
                .enumerate()
                .map(|(i, amount)| transaction(i as u64, "purchase", method, "x", *amount))
                .collect();
            if let Ok(converted) = order("s", &full, "C1") {
                let gifts: Vec<&types::Tender> = converted
                    .tenders
                    .iter()
                    .filter(|t| t.kind == types::TenderKind::GiftCertificate)
                    .collect();
                let total: i128 = gifts.iter().map(|t| i128::from(t.amount)).sum();
                let field = field.unwrap_or(0).max(0);
                if method == "gift_certificate" && !amounts.is_empty() {
                    prop_assert!(gifts.iter().all(|t| !t.transaction_id.is_empty()));
                    prop_assert!(field == 0 || total == i128::from(field));
                } else {
                    prop_assert_eq!(total, i128::from(field));
                }
                let listed = converted.payments.len() + converted.tenders.len();
                prop_assert!(listed <= amounts.len() + 2);
            }
        }

        /// Whatever the amounts and quantities, a refund converts (its items' tax adding
        /// up to its tax) or is refused as too large; it never panics or wraps.
        #[test]
        fn refunds_of_any_amounts_convert_or_are_refused(
            unit_price in any::<Amount>(),
            line_tax in any::<Amount>(),
            line_discount in any::<Amount>(),
            ordered in any::<u32>(),
            refunded in any::<u32>(),
            shipping in any::<Amount>(),
            total in any::<Amount>(),
            tax in any::<Amount>(),
        ) {
            let mut order = order("s", &testing::order(100, 0, "a@b.c", 1, 11), "GUEST").unwrap();
            let line = &mut order.lines[0];
            line.unit_price = unit_price;
            line.total_tax = line_tax;
            line.discount = line_discount;
            line.quantity = ordered;
            if let Ok(converted) = refund(&refund_of(refunded, shipping, total, tax), &order) {
                let taxes: i128 = converted.items.iter().map(|i| i128::from(i.tax)).sum();
                prop_assert_eq!(taxes, i128::from(tax));
            }
        }
    }

    /// A succeeded transaction of `amount` ten-thousandths.
    fn transaction(
        id: u64,
        event: &str,
        method: &str,
        gateway: &str,
        amount: Amount,
    ) -> Transaction {
        serde_json::from_value(serde_json::json!({
            "id": id, "event": event, "method": method, "amount": money::format(amount),
            "currency": "USD", "gateway": gateway, "status": "ok",
            "date_created": "2026-11-02T10:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn a_tender_told_as_a_field_and_a_transaction_is_one_tender() {
        let mut full = testing::order(100, 0, "a@b.c", 2, 11);
        full.order.gift_certificate_amount = Some(200_000);
        full.order.store_credit_amount = Some(100_000);
        full.transactions = vec![
            transaction(1, "purchase", "credit_card", "stripe", 200_000),
            transaction(
                2,
                "purchase",
                "gift_certificate",
                "giftcertificate",
                200_000,
            ),
            transaction(3, "void", "gift_certificate", "giftcertificate", 200_000),
            transaction(4, "purchase", "custom", "custom", 0),
        ];
        let converted = order("s", &full, "C1").unwrap();
        let ids: Vec<&str> = converted.payments.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["1"], "gateway payments only");
        let tenders: Vec<(types::TenderKind, Amount, &str)> = converted
            .tenders
            .iter()
            .map(|t| (t.kind, t.amount, t.transaction_id.as_str()))
            .collect();
        assert_eq!(
            tenders,
            [
                (types::TenderKind::GiftCertificate, 200_000, "2"),
                (types::TenderKind::StoreCredit, 100_000, ""),
                (types::TenderKind::Offline, 0, "4"),
            ]
        );
        assert_eq!(
            converted.tenders[2].name, "Manual",
            "the order's payment method"
        );
    }

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
