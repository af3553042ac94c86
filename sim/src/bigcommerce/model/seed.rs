//! A store's seeded, deterministic data, and new orders placed later from the same
//! generator.

use time::OffsetDateTime;

use super::{
    Coupon, Customer, Money, Order, OrderLine, Product, RefundItem, StoreData, Transaction, UNIT,
    Variant, tax_on,
};
use crate::rng::Rng;

const FIRST_NAMES: [&str; 8] = [
    "Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances",
];

const LAST_NAMES: [&str; 8] = [
    "Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Allen",
];

/// `squarev2` is outside the spec's gateway enum but is what BigCommerce's own guide
/// shows: the gateway is an open set in practice.
const GATEWAYS: [&str; 3] = ["stripe", "paypalexpress", "squarev2"];

const COLOURS: [&str; 3] = ["Red", "Green", "Blue"];

/// What to generate for a store.
#[derive(Debug, Clone)]
pub struct Seed {
    pub seed: u64,
    pub orders: u64,
    pub products: u64,
    pub customers: u64,
    /// The first order's creation time; orders follow one minute apart.
    pub start: OffsetDateTime,
}

impl StoreData {
    /// Seeded, deterministic data: a catalog (some products with variants), registered
    /// customers, and orders from them and from guests, in several currencies, with
    /// coupons, discounts, shipping and handling, and a mix of statuses: cancellations,
    /// incomplete checkouts, partial and full refunds, and edits after placement.
    pub fn generate(seed: &Seed) -> StoreData {
        let mut rng = Rng::new(seed.seed);
        let mut data = StoreData {
            next_id: 1_000_000,
            ..StoreData::default()
        };
        for p in 0..seed.products.max(1) {
            let id = 100 + p;
            let price = (5 + rng.below(200) as Money) * UNIT + rng.below(100) as Money * 100;
            let variants = if p % 4 == 3 {
                COLOURS
                    .iter()
                    .enumerate()
                    .map(|(i, colour)| Variant {
                        id: id * 10 + i as u64,
                        product_id: id,
                        sku: format!("SKU-{id:04}-{}", colour.to_uppercase()),
                        label: colour.to_string(),
                        price: (i > 0).then_some(price + i as Money * UNIT),
                        sale_price: None,
                        cost_price: None,
                        purchasing_disabled: false,
                        inventory_level: 50,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            data.products.push(Product {
                id,
                sku: format!("SKU-{id:04}"),
                name: format!("Product {id}"),
                price,
                sale_price: 0,
                cost_price: price / 2 / 100 * 100,
                retail_price: price + 5 * UNIT,
                inventory_level: 100,
                is_visible: true,
                modified: seed.start,
                variants,
            });
        }
        for c in 0..seed.customers {
            let first = *rng.pick(&FIRST_NAMES);
            let last = *rng.pick(&LAST_NAMES);
            data.customers.push(Customer {
                id: 1 + c,
                email: format!("{}.{}{}@example.com", first, last, c).to_lowercase(),
                first_name: first.into(),
                last_name: last.into(),
                company: String::new(),
                phone: String::new(),
                created: seed.start - time::Duration::days(30),
                modified: seed.start - time::Duration::days(30),
            });
        }
        for i in 0..seed.orders {
            let created = seed.start + time::Duration::minutes(i as i64);
            let order = data.generate_order(&mut rng, 100 + i, created);
            data.orders.push(order);
        }
        data
    }

    fn generate_order(&mut self, rng: &mut Rng, id: u64, created: OffsetDateTime) -> Order {
        let (currency, rate_bp, exchange_rate) = match rng.below(10) {
            0..=5 => ("USD", 825, 10_000_000_000),
            6..=8 => ("EUR", 2_000, 9_200_000_000),
            _ => ("GBP", 2_000, 7_900_000_000),
        };
        let registered = !self.customers.is_empty() && rng.chance(65);
        let (customer_id, email, first_name, last_name) = if registered {
            let c = rng.pick(&self.customers);
            (
                c.id,
                c.email.clone(),
                c.first_name.clone(),
                c.last_name.clone(),
            )
        } else {
            let first = *rng.pick(&FIRST_NAMES);
            let last = *rng.pick(&LAST_NAMES);
            (
                0,
                format!("guest{id}@example.net"),
                first.to_string(),
                last.to_string(),
            )
        };
        let mut lines = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let product = rng.pick(&self.products).clone();
            let (variant_id, sku, name, price) = match product.variants.is_empty() {
                true => (0, product.sku.clone(), product.name.clone(), product.price),
                false => {
                    let v = rng.pick(&product.variants);
                    (
                        v.id,
                        v.sku.clone(),
                        format!("{} ({})", product.name, v.label),
                        v.price.unwrap_or(product.price),
                    )
                }
            };
            lines.push(OrderLine {
                id: self.next_id(),
                product_id: product.id,
                variant_id,
                sku,
                name,
                quantity: 1 + rng.below(3) as u32,
                quantity_refunded: 0,
                price_ex_tax: price,
                unit_tax: tax_on(price, rate_bp),
            });
        }
        let shipping_ex_tax = *rng.pick(&[0, 5 * UNIT, 9 * UNIT + 9_500]);
        let handling_ex_tax = if rng.chance(20) { 2 * UNIT + 5_000 } else { 0 };
        let discount_amount = if rng.chance(10) { UNIT } else { 0 };
        let subtotal: Money = lines.iter().map(OrderLine::total_ex_tax).sum();
        let coupon = match rng.below(8) {
            0 => Some(Coupon {
                id: self.next_id(),
                coupon_id: 1,
                code: "SAVE10".into(),
                kind: 1,
                amount: 10,
                discount: tax_on(subtotal, 1_000),
            }),
            1 if subtotal > 10 * UNIT => Some(Coupon {
                id: self.next_id(),
                coupon_id: 2,
                code: "FIVEOFF".into(),
                kind: 2,
                amount: 5,
                discount: 5 * UNIT,
            }),
            _ => None,
        };
        let gateway = rng.pick(&GATEWAYS).to_string();
        let mut order = Order {
            id,
            customer_id,
            email,
            first_name,
            last_name,
            status_id: 11,
            created,
            modified: created,
            currency: currency.into(),
            exchange_rate,
            tax_rate_bp: rate_bp,
            lines,
            shipping_address_id: self.next_id(),
            shipping_ex_tax,
            handling_ex_tax,
            discount_amount,
            coupon,
            payment_method: "Credit Card".into(),
            gateway: gateway.clone(),
            gift_certificate: 0,
            store_credit: 0,
            transactions: Vec::new(),
            refunds: Vec::new(),
        };
        let outcome = rng.below(100);
        if outcome < 3 {
            // An abandoned checkout: BigCommerce still sends store/order/created.
            order.status_id = 0;
            return order;
        }
        let paid = Transaction {
            id: self.next_id(),
            event: "purchase",
            method: "credit_card",
            amount: order.total_inc_tax(),
            gateway: gateway.clone(),
            created,
        };
        order.transactions.push(paid);
        if rng.chance(10) {
            // Edited after placement: one more unit of the first line.
            order.lines[0].quantity += 1;
            order.modified = created + time::Duration::hours(2);
            order.transactions[0].amount = order.total_inc_tax();
        }
        match outcome {
            3..=7 => {
                order.status_id = 5;
                order.modified = created + time::Duration::hours(1);
                order.transactions.push(Transaction {
                    id: self.next_id(),
                    event: "void",
                    method: "credit_card",
                    amount: order.total_inc_tax(),
                    gateway,
                    created: order.modified,
                });
            }
            8..=15 => {
                let line = &order.lines[0];
                let items = vec![RefundItem {
                    item_type: "PRODUCT".into(),
                    item_id: line.id,
                    quantity: Some(1),
                    amount: None,
                    reason: "Damaged".into(),
                }];
                // Discounts can leave less paid than one unit is worth.
                let amount = (line.price_ex_tax + line.unit_tax).min(order.total_inc_tax());
                let tax = line.unit_tax.min(amount);
                let at = created + time::Duration::days(1);
                self.add_refund(&mut order, items, amount, tax, at);
            }
            16..=19 => {
                let mut items: Vec<RefundItem> = order
                    .lines
                    .iter()
                    .map(|l| RefundItem {
                        item_type: "PRODUCT".into(),
                        item_id: l.id,
                        quantity: Some(l.quantity),
                        amount: None,
                        reason: "Returned".into(),
                    })
                    .collect();
                if order.shipping_ex_tax > 0 {
                    items.push(RefundItem {
                        item_type: "SHIPPING".into(),
                        item_id: order.shipping_address_id,
                        quantity: None,
                        amount: Some(order.shipping_ex_tax + order.shipping_tax()),
                        reason: "Returned".into(),
                    });
                }
                if order.handling_ex_tax > 0 {
                    items.push(RefundItem {
                        item_type: "HANDLING".into(),
                        item_id: order.shipping_address_id,
                        quantity: None,
                        amount: Some(order.handling_ex_tax + order.handling_tax()),
                        reason: "Returned".into(),
                    });
                }
                let (amount, tax) = (order.total_inc_tax(), order.total_tax());
                let at = created + time::Duration::days(2);
                self.add_refund(&mut order, items, amount, tax, at);
            }
            20..=39 => order.status_id = 10,
            40..=49 => order.status_id = 2,
            _ => {}
        }
        if outcome >= 20 {
            redeem_tenders(&mut order, || self.next_id());
        }
        order
    }

    /// A new order placed now (for the control API and the demo).
    pub fn place_order(&mut self, rng: &mut Rng, at: OffsetDateTime) -> u64 {
        let id = self.orders.iter().map(|o| o.id).max().unwrap_or(99) + 1;
        let mut order = self.generate_order(rng, id, at);
        // A freshly placed order has no history yet.
        if order.status_id != 0 {
            order.status_id = 11;
        }
        order.refunds.clear();
        order.transactions.retain(|t| t.event == "purchase");
        for line in &mut order.lines {
            line.quantity_refunded = 0;
        }
        let total = order.total_inc_tax();
        if let Some(t) = order.transactions.first_mut() {
            t.amount = total;
        }
        order.modified = at;
        self.orders.push(order);
        id
    }
}

/// Some paid orders (chosen by id, so the random sequence is that of a store without
/// tenders) were partly paid by gift certificate, recorded as the order's field and a
/// transaction as BigCommerce does, and some registered shoppers' by store credit, told by
/// the order's field alone; the card paid the rest.
fn redeem_tenders(order: &mut Order, mut next_id: impl FnMut() -> u64) {
    // Half of what is left, in whole cents, up to `cap`.
    let half = |left: Money, cap: Money| (left / 2 / 100 * 100).min(cap);
    let total = order.total_inc_tax();
    if order.id.is_multiple_of(13) {
        order.gift_certificate = half(total, 20 * UNIT);
    }
    if order.id.is_multiple_of(11) && order.customer_id != 0 {
        order.store_credit = half(total - order.gift_certificate, 10 * UNIT);
    }
    if order.gift_certificate > 0 {
        let card = &order.transactions[0];
        let gift = Transaction {
            id: next_id(),
            event: "purchase",
            method: "gift_certificate",
            amount: order.gift_certificate,
            gateway: "giftcertificate".into(),
            created: card.created,
        };
        order.transactions.push(gift);
    }
    order.transactions[0].amount = total - order.gift_certificate - order.store_credit;
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn generated_orders_are_consistent_and_deterministic() {
        let seed = Seed {
            seed: 7,
            orders: 300,
            products: 20,
            customers: 40,
            start: datetime!(2026-11-01 08:00 UTC),
        };
        let a = StoreData::generate(&seed);
        let b = StoreData::generate(&seed);
        assert_eq!(a.orders.len(), 300);
        for (x, y) in a.orders.iter().zip(&b.orders) {
            assert_eq!(x.total_inc_tax(), y.total_inc_tax());
        }
        for order in &a.orders {
            assert_eq!(order.total_inc_tax() % 100, 0, "whole cents");
            assert!(order.refunded() <= order.total_inc_tax());
            let paid: Money = order
                .transactions
                .iter()
                .filter(|t| t.event == "purchase")
                .map(|t| t.amount)
                .sum();
            // The card and the gift certificate as purchases; store credit as the
            // order's field alone.
            if order.status_id != 0 {
                assert_eq!(
                    paid + order.store_credit,
                    order.total_inc_tax(),
                    "order {}",
                    order.id
                );
            }
        }
        let statuses: std::collections::BTreeSet<u32> =
            a.orders.iter().map(|o| o.status_id).collect();
        for wanted in [0, 4, 5, 11, 14] {
            assert!(statuses.contains(&wanted), "no order with status {wanted}");
        }
        for order in &a.orders {
            // Order-level discounts spread over the lines add up to the cent.
            let lines = order.products_json();
            let spread: Money = lines
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|l| l["applied_discounts"].as_array().unwrap())
                .map(|d| ml_connector_money::parse(d["amount"].as_str().unwrap()).unwrap())
                .sum();
            assert_eq!(spread, order.coupon_discount() + order.discount_amount);
        }
        assert!(a.orders.iter().any(|o| o.customer_id == 0));
        assert!(a.orders.iter().any(|o| o.coupon.is_some()));
        assert!(a.orders.iter().any(|o| o.modified > o.created));
    }
}
