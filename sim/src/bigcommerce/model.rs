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

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};

use crate::rng::Rng;
pub use crate::wire::{Number, s4};

/// Ten-thousandths of the currency unit.
pub type Money = i64;

/// One currency unit.
pub const UNIT: Money = 10_000;

pub fn rfc2822(at: OffsetDateTime) -> String {
    at.format(&Rfc2822).expect("a UTC date formats as RFC 2822")
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("a UTC date formats as RFC 3339")
}

/// `amount * rate_bp / 10_000`, rounded half away from zero to whole cents.
pub fn tax_on(amount: Money, rate_bp: i64) -> Money {
    let raw = amount as i128 * rate_bp as i128;
    let cent = 100 * 10_000_i128;
    let rounded = (raw + cent / 2).div_euclid(cent) * cent;
    (rounded / 10_000) as Money
}

/// BigCommerce's order statuses (id, system name).
pub const STATUSES: [(u32, &str); 15] = [
    (0, "Incomplete"),
    (1, "Pending"),
    (2, "Shipped"),
    (3, "Partially Shipped"),
    (4, "Refunded"),
    (5, "Cancelled"),
    (6, "Declined"),
    (7, "Awaiting Payment"),
    (8, "Awaiting Pickup"),
    (9, "Awaiting Shipment"),
    (10, "Completed"),
    (11, "Awaiting Fulfillment"),
    (12, "Manual Verification Required"),
    (13, "Disputed"),
    (14, "Partially Refunded"),
];

pub fn status_name(id: u32) -> &'static str {
    STATUSES
        .iter()
        .find(|(status, _)| *status == id)
        .map_or("Pending", |(_, name)| name)
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub id: u64,
    pub product_id: u64,
    pub sku: String,
    pub label: String,
    /// `None` inherits the product's price.
    pub price: Option<Money>,
    pub sale_price: Option<Money>,
    /// `None` inherits the product's cost price.
    pub cost_price: Option<Money>,
    /// A variant cannot be hidden on its own; it can be made unpurchasable.
    pub purchasing_disabled: bool,
    pub inventory_level: i64,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: u64,
    pub sku: String,
    pub name: String,
    pub price: Money,
    pub sale_price: Money,
    pub cost_price: Money,
    pub retail_price: Money,
    pub inventory_level: i64,
    pub is_visible: bool,
    pub modified: OffsetDateTime,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub phone: String,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct OrderLine {
    /// The order_product_id (a PRODUCT refund's `item_id`).
    pub id: u64,
    pub product_id: u64,
    pub variant_id: u64,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub quantity_refunded: u32,
    /// Per unit, ex tax.
    pub price_ex_tax: Money,
    /// Per unit.
    pub unit_tax: Money,
}

impl OrderLine {
    pub fn total_ex_tax(&self) -> Money {
        self.price_ex_tax * self.quantity as Money
    }
    pub fn total_tax(&self) -> Money {
        self.unit_tax * self.quantity as Money
    }
}

#[derive(Debug, Clone)]
pub struct Coupon {
    pub id: u64,
    pub coupon_id: u64,
    pub code: String,
    /// 1 percentage_discount, 2 per_total_discount.
    pub kind: u8,
    /// What the merchant typed: a percentage or whole currency units.
    pub amount: i64,
    /// The money off.
    pub discount: Money,
}

#[derive(Debug, Clone)]
pub struct Transaction {
    pub id: u64,
    pub event: &'static str,
    pub amount: Money,
    pub gateway: String,
    pub created: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct RefundItem {
    pub item_type: String,
    pub item_id: u64,
    pub quantity: Option<u32>,
    /// For ORDER, SHIPPING and HANDLING items.
    pub amount: Option<Money>,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct RefundPayment {
    pub id: u64,
    pub provider_id: String,
    pub amount: Money,
    pub offline: bool,
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: u64,
    pub order_id: u64,
    pub created: OffsetDateTime,
    pub reason: String,
    pub total_amount: Money,
    pub total_tax: Money,
    pub items: Vec<RefundItem>,
    pub payments: Vec<RefundPayment>,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: u64,
    /// 0 for a guest.
    pub customer_id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub status_id: u32,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
    pub currency: String,
    /// Store default currency to this order's, in 1e-10 units.
    pub exchange_rate: i64,
    pub tax_rate_bp: i64,
    pub lines: Vec<OrderLine>,
    pub shipping_address_id: u64,
    pub shipping_ex_tax: Money,
    pub handling_ex_tax: Money,
    pub discount_amount: Money,
    pub coupon: Option<Coupon>,
    pub payment_method: String,
    pub gateway: String,
    pub transactions: Vec<Transaction>,
    pub refunds: Vec<Refund>,
}

impl Order {
    pub fn subtotal_ex_tax(&self) -> Money {
        self.lines.iter().map(OrderLine::total_ex_tax).sum()
    }
    pub fn subtotal_tax(&self) -> Money {
        self.lines.iter().map(OrderLine::total_tax).sum()
    }
    pub fn shipping_tax(&self) -> Money {
        tax_on(self.shipping_ex_tax, self.tax_rate_bp)
    }
    pub fn handling_tax(&self) -> Money {
        tax_on(self.handling_ex_tax, self.tax_rate_bp)
    }
    pub fn coupon_discount(&self) -> Money {
        self.coupon.as_ref().map_or(0, |c| c.discount)
    }
    pub fn total_tax(&self) -> Money {
        self.subtotal_tax() + self.shipping_tax() + self.handling_tax()
    }
    pub fn total_ex_tax(&self) -> Money {
        self.subtotal_ex_tax() + self.shipping_ex_tax + self.handling_ex_tax
            - self.discount_amount
            - self.coupon_discount()
    }
    pub fn total_inc_tax(&self) -> Money {
        self.total_ex_tax() + self.total_tax()
    }
    pub fn refunded(&self) -> Money {
        self.refunds.iter().map(|r| r.total_amount).sum()
    }
    /// Paid (a purchase or capture) and not cancelled or incomplete.
    pub fn is_paid(&self) -> bool {
        !matches!(self.status_id, 0 | 5 | 6 | 7)
            && self
                .transactions
                .iter()
                .any(|t| matches!(t.event, "purchase" | "capture"))
    }

    pub fn payment_status(&self) -> &'static str {
        match self.status_id {
            0 | 7 => "pending",
            5 => "void",
            6 => "declined",
            4 => "refunded",
            14 => "partially refunded",
            _ => "captured",
        }
    }

    /// Recomputes the status after a refund: fully or partially refunded.
    pub fn settle_refund_status(&mut self) {
        if self.refunded() >= self.total_inc_tax() {
            self.status_id = 4;
        } else if self.refunded() > 0 {
            self.status_id = 14;
        }
    }

    /// V2 `GET /orders` and `/orders/{id}`.
    pub fn v2_json(&self, root: &str) -> Value {
        let link = |name: &str| {
            json!({
                "url": format!("{root}/v2/orders/{}/{name}", self.id),
                "resource": format!("/orders/{}/{name}", self.id),
            })
        };
        let items_total: u32 = self.lines.iter().map(|l| l.quantity).sum();
        json!({
            "id": self.id,
            "customer_id": self.customer_id,
            "date_created": rfc2822(self.created),
            "date_modified": rfc2822(self.modified),
            "date_shipped": "",
            "status_id": self.status_id,
            "status": status_name(self.status_id),
            "custom_status": status_name(self.status_id),
            "subtotal_ex_tax": s4(self.subtotal_ex_tax()),
            "subtotal_inc_tax": s4(self.subtotal_ex_tax() + self.subtotal_tax()),
            "subtotal_tax": s4(self.subtotal_tax()),
            "base_shipping_cost": s4(self.shipping_ex_tax),
            "shipping_cost_ex_tax": s4(self.shipping_ex_tax),
            "shipping_cost_inc_tax": s4(self.shipping_ex_tax + self.shipping_tax()),
            "shipping_cost_tax": s4(self.shipping_tax()),
            "shipping_cost_tax_class_id": 2,
            "base_handling_cost": s4(self.handling_ex_tax),
            "handling_cost_ex_tax": s4(self.handling_ex_tax),
            "handling_cost_inc_tax": s4(self.handling_ex_tax + self.handling_tax()),
            "handling_cost_tax": s4(self.handling_tax()),
            "handling_cost_tax_class_id": 2,
            "base_wrapping_cost": s4(0),
            "wrapping_cost_ex_tax": s4(0),
            "wrapping_cost_inc_tax": s4(0),
            "wrapping_cost_tax": s4(0),
            "wrapping_cost_tax_class_id": 3,
            "total_ex_tax": s4(self.total_ex_tax()),
            "total_inc_tax": s4(self.total_inc_tax()),
            "total_tax": s4(self.total_tax()),
            "items_total": items_total,
            "items_shipped": 0,
            "payment_method": self.payment_method,
            "payment_provider_id": format!("{}-{}", self.gateway, self.id),
            "payment_status": self.payment_status(),
            // Deprecated by BigCommerce: always 0; refunds come from V3.
            "refunded_amount": s4(0),
            "order_is_digital": false,
            "store_credit_amount": s4(0),
            "gift_certificate_amount": s4(0),
            "ip_address": "192.0.2.10",
            "ip_address_v6": "",
            "geoip_country": "United States",
            "geoip_country_iso2": "US",
            "currency_id": 1,
            "currency_code": self.currency,
            "currency_exchange_rate": rate10(self.exchange_rate),
            "default_currency_id": 1,
            "default_currency_code": self.currency,
            "store_default_currency_code": "USD",
            "store_default_to_transactional_exchange_rate": rate10(self.exchange_rate),
            "staff_notes": "",
            "customer_message": "",
            "discount_amount": s4(self.discount_amount),
            "coupon_discount": s4(self.coupon_discount()),
            "shipping_address_count": 1,
            "is_deleted": false,
            "ebay_order_id": "0",
            "cart_id": format!("cart-{}", self.id),
            "is_email_opt_in": false,
            "credit_card_type": null,
            "order_source": "www",
            "channel_id": 1,
            "external_source": null,
            "external_id": null,
            "external_merchant_id": null,
            "tax_provider_id": "BasicTaxProvider",
            "customer_locale": "en",
            "is_tax_inclusive_pricing": false,
            "billing_address": self.address_json(),
            "products": link("products"),
            "shipping_addresses": link("shipping_addresses"),
            "coupons": link("coupons"),
        })
    }

    fn address_json(&self) -> Value {
        json!({
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": "",
            "street_1": "12 Main Street",
            "street_2": "",
            "city": "Austin",
            "state": "Texas",
            "zip": "78701",
            "country": "United States",
            "country_iso2": "US",
            "phone": "",
            "email": self.email,
            "form_fields": [],
        })
    }

    /// The order with `include=consignments.line_items&consignment_structure=object`:
    /// its lines inside its shipping consignment.
    pub fn v2_json_with_lines(&self, root: &str) -> OrderWithConsignments<'_> {
        let Value::Array(line_items) = self.products_json() else {
            unreachable!("products are a list")
        };
        let address = self.address_json();
        OrderWithConsignments {
            order: self.v2_json(root),
            consignments: Consignments {
                pickups: Vec::new(),
                shipping: vec![ShippingConsignment {
                    id: self.shipping_address_id,
                    address,
                    shipping_method: "Flat Rate",
                    line_items,
                    items_total: self.lines.iter().map(|l| l.quantity).sum(),
                    items_shipped: 0,
                    base_cost: Number(self.shipping_ex_tax),
                    cost_ex_tax: Number(self.shipping_ex_tax),
                    cost_inc_tax: Number(self.shipping_ex_tax + self.shipping_tax()),
                    cost_tax: Number(self.shipping_tax()),
                    base_handling_cost: Number(self.handling_ex_tax),
                    handling_cost_ex_tax: Number(self.handling_ex_tax),
                    handling_cost_inc_tax: Number(self.handling_ex_tax + self.handling_tax()),
                    handling_cost_tax: Number(self.handling_tax()),
                }],
                downloads: Vec::new(),
                email: json!({ "gift_certificates": [] }),
            },
        }
    }

    /// V2 `GET /orders/{id}/products`.
    pub fn products_json(&self) -> Value {
        let coupon = self.coupon.as_ref().map(|c| c.discount).unwrap_or(0);
        let coupon_shares = self.allocate(coupon);
        let manual_shares = self.allocate(self.discount_amount);
        Value::Array(
            self.lines
                .iter()
                .enumerate()
                .map(|(index, line)| {
                    let inc = line.price_ex_tax + line.unit_tax;
                    let mut applied = Vec::new();
                    if let Some(c) = &self.coupon {
                        applied.push(json!({
                            "id": c.coupon_id.to_string(),
                            "amount": s4(coupon_shares[index]),
                            "name": c.code,
                            "code": c.code,
                            "target": "order",
                        }));
                    }
                    if self.discount_amount != 0 {
                        applied.push(json!({
                            "id": "manual-discount",
                            "amount": s4(manual_shares[index]),
                            "name": "Manual Discount",
                            "code": null,
                            "target": "order",
                        }));
                    }
                    json!({
                        "id": line.id,
                        "order_id": self.id,
                        "product_id": line.product_id,
                        "variant_id": line.variant_id,
                        "order_address_id": self.shipping_address_id,
                        "name": line.name,
                        "name_customer": line.name,
                        "name_merchant": line.name,
                        "sku": line.sku,
                        "upc": "",
                        "type": "physical",
                        "base_price": s4(line.price_ex_tax),
                        "price_ex_tax": s4(line.price_ex_tax),
                        "price_inc_tax": s4(inc),
                        "price_tax": s4(line.unit_tax),
                        "base_total": s4(line.total_ex_tax()),
                        "total_ex_tax": s4(line.total_ex_tax()),
                        "total_inc_tax": s4(line.total_ex_tax() + line.total_tax()),
                        "total_tax": s4(line.total_tax()),
                        "weight": "1.0000",
                        "quantity": line.quantity,
                        "base_cost_price": s4(0),
                        "cost_price_inc_tax": s4(0),
                        "cost_price_ex_tax": s4(0),
                        "cost_price_tax": s4(0),
                        "is_refunded": line.quantity_refunded > 0,
                        "quantity_refunded": line.quantity_refunded,
                        "refund_amount": s4(inc * line.quantity_refunded as Money),
                        "return_id": 0,
                        "wrapping_name": "",
                        "base_wrapping_cost": s4(0),
                        "wrapping_cost_ex_tax": s4(0),
                        "wrapping_cost_inc_tax": s4(0),
                        "wrapping_cost_tax": s4(0),
                        "wrapping_message": "",
                        "quantity_shipped": 0,
                        "event_name": null,
                        "event_date": "",
                        "fixed_shipping_cost": s4(0),
                        "ebay_item_id": "",
                        "ebay_transaction_id": "",
                        "option_set_id": null,
                        "parent_order_product_id": null,
                        "is_bundled_product": false,
                        "bin_picking_number": "",
                        "external_id": null,
                        "brand": "",
                        "gift_certificate_id": null,
                        "applied_discounts": applied,
                        "product_options": [],
                        "configurable_fields": [],
                        "discounted_total_inc_tax": s4(line.total_ex_tax() + line.total_tax()),
                    })
                })
                .collect(),
        )
    }

    /// Splits an order-level discount over the lines in proportion to their totals, in
    /// whole cents, the remainder to the largest lines first (as BigCommerce spreads
    /// order discounts over products).
    fn allocate(&self, amount: Money) -> Vec<Money> {
        let totals: Vec<i128> = self
            .lines
            .iter()
            .map(|l| l.total_ex_tax() as i128)
            .collect();
        let sum: i128 = totals.iter().sum();
        if amount == 0 || sum == 0 {
            return vec![0; self.lines.len()];
        }
        let cents = amount as i128 / 100;
        let mut shares: Vec<i128> = totals.iter().map(|t| cents * t / sum).collect();
        let mut left = cents - shares.iter().sum::<i128>();
        let mut order: Vec<usize> = (0..totals.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse((cents * totals[i]) % sum));
        for &i in order.iter().cycle() {
            if left == 0 {
                break;
            }
            shares[i] += 1;
            left -= 1;
        }
        shares.into_iter().map(|c| (c * 100) as Money).collect()
    }

    /// V2 `GET /orders/{id}/shipping_addresses`.
    pub fn shipping_addresses_json(&self) -> Value {
        let mut address = self.address_json();
        let fields = address.as_object_mut().expect("an object");
        fields.insert("id".into(), json!(self.shipping_address_id));
        fields.insert("order_id".into(), json!(self.id));
        fields.insert("items_total".into(), json!(self.lines.len()));
        fields.insert("items_shipped".into(), json!(0));
        fields.insert("shipping_method".into(), json!("Flat Rate"));
        fields.insert("base_cost".into(), json!(s4(self.shipping_ex_tax)));
        fields.insert("cost_ex_tax".into(), json!(s4(self.shipping_ex_tax)));
        fields.insert(
            "cost_inc_tax".into(),
            json!(s4(self.shipping_ex_tax + self.shipping_tax())),
        );
        fields.insert("cost_tax".into(), json!(s4(self.shipping_tax())));
        fields.insert("cost_tax_class_id".into(), json!(2));
        fields.insert("base_handling_cost".into(), json!(s4(self.handling_ex_tax)));
        fields.insert(
            "handling_cost_ex_tax".into(),
            json!(s4(self.handling_ex_tax)),
        );
        fields.insert(
            "handling_cost_inc_tax".into(),
            json!(s4(self.handling_ex_tax + self.handling_tax())),
        );
        fields.insert("handling_cost_tax".into(), json!(s4(self.handling_tax())));
        fields.insert("handling_cost_tax_class_id".into(), json!(2));
        fields.insert("shipping_zone_id".into(), json!(1));
        fields.insert("shipping_zone_name".into(), json!("United States"));
        Value::Array(vec![address])
    }

    /// V2 `GET /orders/{id}/coupons` (`discount` is a number here, unlike other V2 money).
    pub fn coupons_wire(&self) -> Vec<CouponWire<'_>> {
        self.coupon
            .iter()
            .map(|c| CouponWire {
                id: c.id,
                coupon_id: c.coupon_id,
                order_id: self.id,
                code: &c.code,
                amount: c.amount,
                kind: c.kind,
                discount: Number(c.discount),
            })
            .collect()
    }

    /// V3 `GET /orders/{id}/transactions` entries.
    pub fn transactions_wire(&self) -> Vec<TransactionWire<'_>> {
        self.transactions
            .iter()
            .map(|t| TransactionWire {
                id: t.id,
                order_id: self.id.to_string(),
                event: t.event,
                method: "credit_card",
                amount: Number(t.amount),
                currency: &self.currency,
                gateway: &t.gateway,
                gateway_transaction_id: format!("{}-{}", t.gateway, t.id),
                date_created: rfc3339(t.created),
                test: false,
                status: "ok",
                fraud_review: false,
                reference_transaction_id: None,
                payment_method_id: "braintree.card",
            })
            .collect()
    }
}

fn rate10(rate: i64) -> String {
    format!("{}.{:010}", rate / 10_000_000_000, rate % 10_000_000_000)
}

/// An order with its consignments (object structure), written in one pass so the
/// consignments' JSON numbers come from integers.
#[derive(Serialize)]
pub struct OrderWithConsignments<'a> {
    #[serde(flatten)]
    pub order: Value,
    pub consignments: Consignments<'a>,
}

#[derive(Serialize)]
pub struct Consignments<'a> {
    pub pickups: Vec<Value>,
    pub shipping: Vec<ShippingConsignment<'a>>,
    pub downloads: Vec<Value>,
    pub email: Value,
}

#[derive(Serialize)]
pub struct ShippingConsignment<'a> {
    pub id: u64,
    #[serde(flatten)]
    pub address: Value,
    pub shipping_method: &'a str,
    pub line_items: Vec<Value>,
    pub items_total: u32,
    pub items_shipped: u32,
    pub base_cost: Number,
    pub cost_ex_tax: Number,
    pub cost_inc_tax: Number,
    pub cost_tax: Number,
    pub base_handling_cost: Number,
    pub handling_cost_ex_tax: Number,
    pub handling_cost_inc_tax: Number,
    pub handling_cost_tax: Number,
}

#[derive(Serialize)]
pub struct CouponWire<'a> {
    pub id: u64,
    pub coupon_id: u64,
    pub order_id: u64,
    pub code: &'a str,
    pub amount: i64,
    #[serde(rename = "type")]
    pub kind: u8,
    pub discount: Number,
}

#[derive(Serialize)]
pub struct TransactionWire<'a> {
    pub id: u64,
    pub order_id: String,
    pub event: &'a str,
    pub method: &'a str,
    pub amount: Number,
    pub currency: &'a str,
    pub gateway: &'a str,
    pub gateway_transaction_id: String,
    pub date_created: String,
    pub test: bool,
    pub status: &'a str,
    pub fraud_review: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_transaction_id: Option<u64>,
    pub payment_method_id: &'a str,
}

#[derive(Serialize)]
pub struct RefundWire<'a> {
    pub id: u64,
    pub order_id: u64,
    pub user_id: u64,
    pub created: String,
    pub reason: &'a str,
    pub total_amount: Number,
    pub total_tax: Number,
    pub uses_merchant_override_values: bool,
    pub items: Vec<RefundItemWire<'a>>,
    pub payments: Vec<RefundPaymentWire<'a>>,
}

#[derive(Serialize)]
pub struct RefundItemWire<'a> {
    pub item_type: &'a str,
    pub item_id: u64,
    pub reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_amount: Option<Number>,
}

#[derive(Serialize)]
pub struct RefundPaymentWire<'a> {
    pub id: u64,
    pub provider_id: &'a str,
    pub amount: Number,
    pub offline: bool,
    pub is_declined: bool,
    pub declined_message: &'a str,
}

impl Refund {
    pub fn wire(&self) -> RefundWire<'_> {
        RefundWire {
            id: self.id,
            order_id: self.order_id,
            user_id: 0,
            created: rfc3339(self.created),
            reason: &self.reason,
            total_amount: Number(self.total_amount),
            total_tax: Number(self.total_tax),
            uses_merchant_override_values: false,
            items: self
                .items
                .iter()
                .map(|i| RefundItemWire {
                    item_type: &i.item_type,
                    item_id: i.item_id,
                    reason: &i.reason,
                    quantity: i.quantity,
                    requested_amount: i.amount.map(Number),
                })
                .collect(),
            payments: self
                .payments
                .iter()
                .map(|p| RefundPaymentWire {
                    id: p.id,
                    provider_id: &p.provider_id,
                    amount: Number(p.amount),
                    offline: p.offline,
                    is_declined: false,
                    declined_message: "",
                })
                .collect(),
        }
    }
}

impl Customer {
    pub fn v3_json(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "phone": self.phone,
            "notes": "",
            "registration_ip_address": "",
            "tax_exempt_category": "",
            "customer_group_id": 0,
            "date_created": rfc3339(self.created),
            "date_modified": rfc3339(self.modified),
            "address_count": 0,
            "attribute_count": 0,
            "authentication": { "force_password_reset": false },
            "accepts_product_review_abandoned_cart_emails": false,
            "origin_channel_id": 1,
            "channel_ids": [1],
        })
    }
}

#[derive(Serialize)]
pub struct ProductWire<'a> {
    pub id: u64,
    pub name: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub sku: &'a str,
    pub weight: Number,
    pub price: Number,
    pub cost_price: Number,
    pub retail_price: Number,
    pub sale_price: Number,
    pub calculated_price: Number,
    pub inventory_level: i64,
    pub inventory_tracking: &'a str,
    pub is_visible: bool,
    pub date_modified: String,
    pub base_variant_id: u64,
}

#[derive(Serialize)]
pub struct VariantWire<'a> {
    pub id: u64,
    pub product_id: u64,
    pub sku: &'a str,
    pub price: Option<Number>,
    pub sale_price: Option<Number>,
    pub cost_price: Option<Number>,
    pub calculated_price: Number,
    pub purchasing_disabled: bool,
    pub inventory_level: i64,
    pub option_values: Vec<Value>,
}

impl Product {
    pub fn wire(&self) -> ProductWire<'_> {
        ProductWire {
            id: self.id,
            name: &self.name,
            kind: "physical",
            sku: &self.sku,
            weight: Number(UNIT),
            price: Number(self.price),
            cost_price: Number(self.cost_price),
            retail_price: Number(self.retail_price),
            sale_price: Number(self.sale_price),
            calculated_price: Number(if self.sale_price > 0 {
                self.sale_price
            } else {
                self.price
            }),
            inventory_level: self.inventory_level,
            inventory_tracking: if self.variants.is_empty() {
                "product"
            } else {
                "variant"
            },
            is_visible: self.is_visible,
            date_modified: rfc3339(self.modified),
            // Every product has a base variant; with options, the first one.
            base_variant_id: self.variants.first().map_or(self.id * 10 + 9, |v| v.id),
        }
    }
}

impl Variant {
    pub fn wire(&self, product: &Product) -> VariantWire<'_> {
        VariantWire {
            id: self.id,
            product_id: self.product_id,
            sku: &self.sku,
            price: self.price.map(Number),
            sale_price: self.sale_price.map(Number),
            cost_price: self.cost_price.map(Number),
            calculated_price: Number(self.price.unwrap_or(product.price)),
            purchasing_disabled: self.purchasing_disabled,
            inventory_level: self.inventory_level,
            option_values: vec![json!({
                "id": self.id,
                "label": self.label,
                "option_id": 1,
                "option_display_name": "Colour",
            })],
        }
    }
}

/// Everything one store holds.
#[derive(Debug, Clone, Default)]
pub struct StoreData {
    pub products: Vec<Product>,
    pub customers: Vec<Customer>,
    pub orders: Vec<Order>,
    next_id: u64,
}

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

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Adds a visible product with `sku`, `name` and `price`, and one variant per entry of
    /// `variant_skus` (inheriting the price); returns the product's id. A SKU already in
    /// the catalog (as a product or a variant) is refused, as BigCommerce refuses it.
    pub fn add_product(
        &mut self,
        sku: &str,
        name: &str,
        price: Money,
        variant_skus: &[&str],
        now: OffsetDateTime,
    ) -> Result<u64, String> {
        for wanted in std::iter::once(sku).chain(variant_skus.iter().copied()) {
            let taken = self
                .products
                .iter()
                .any(|p| p.sku == wanted || p.variants.iter().any(|v| v.sku == wanted));
            if taken || wanted.trim().is_empty() {
                return Err(format!("SKU `{wanted}` is empty or already in the catalog"));
            }
        }
        let id = self.next_id();
        let variants = variant_skus
            .iter()
            .map(|variant_sku| Variant {
                id: self.next_id(),
                product_id: id,
                sku: variant_sku.to_string(),
                label: variant_sku.to_string(),
                price: None,
                sale_price: None,
                cost_price: None,
                purchasing_disabled: false,
                inventory_level: 10,
            })
            .collect();
        self.products.push(Product {
            id,
            sku: sku.into(),
            name: name.into(),
            price,
            sale_price: 0,
            cost_price: 0,
            retail_price: 0,
            inventory_level: 10,
            is_visible: true,
            modified: now,
            variants,
        });
        Ok(id)
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
        order
    }

    /// Records a refund on `order`: the refund, its payment transaction, the refunded
    /// quantities, the status and the modification time.
    pub fn add_refund(
        &mut self,
        order: &mut Order,
        items: Vec<RefundItem>,
        amount: Money,
        tax: Money,
        at: OffsetDateTime,
    ) -> u64 {
        for item in &items {
            if item.item_type == "PRODUCT"
                && let Some(line) = order.lines.iter_mut().find(|l| l.id == item.item_id)
            {
                line.quantity_refunded += item.quantity.unwrap_or(0);
            }
        }
        let refund_id = self.next_id();
        let payment_id = self.next_id();
        order.refunds.push(Refund {
            id: refund_id,
            order_id: order.id,
            created: at,
            reason: items.first().map(|i| i.reason.clone()).unwrap_or_default(),
            total_amount: amount,
            total_tax: tax,
            items,
            payments: vec![RefundPayment {
                id: payment_id,
                provider_id: order.gateway.clone(),
                amount,
                offline: false,
            }],
        });
        let txn = self.next_id();
        order.transactions.push(Transaction {
            id: txn,
            event: "refund",
            amount,
            gateway: order.gateway.clone(),
            created: at,
        });
        order.settle_refund_status();
        order.modified = order.modified.max(at);
        refund_id
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
            if order.status_id != 0 {
                assert_eq!(paid, order.total_inc_tax(), "order {}", order.id);
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

    #[test]
    fn numbers_are_written_from_the_integer() {
        let text = serde_json::to_string(&[Number(123_400), Number(-5), Number(0)]).unwrap();
        assert_eq!(text, "[12.34,-0.0005,0.00]");
        assert_eq!(s4(-12_345), "-1.2345");
        assert_eq!(tax_on(199_900, 825), 16_500);
    }
}
