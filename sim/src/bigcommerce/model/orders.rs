//! Orders: their lines, coupon and payment transactions, totals and status, and how an
//! order looks in V2 (the order, its products, shipping addresses and coupons, its
//! consignments) and its transactions in V3; BigCommerce's order statuses.

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Money, Number, Refund, rfc2822, rfc3339, s4, tax_on};

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
    /// `credit_card`, or `gift_certificate` for a certificate redeemed.
    pub method: &'static str,
    pub amount: Money,
    pub gateway: String,
    pub created: OffsetDateTime,
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
    /// Redeemed on the order: gift certificates (also a transaction) and store credit
    /// (only this field, as the order's totals tell it).
    pub gift_certificate: Money,
    pub store_credit: Money,
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
            "store_credit_amount": s4(self.store_credit),
            "gift_certificate_amount": s4(self.gift_certificate),
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
                        "event_date": null,
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
                method: t.method,
                amount: Number(t.amount),
                currency: &self.currency,
                gateway: &t.gateway,
                gateway_transaction_id: format!("{}-{}", t.gateway, t.id),
                date_created: rfc3339(t.created),
                test: false,
                status: "ok",
                fraud_review: false,
                reference_transaction_id: None,
                payment_method_id: if t.method == "gift_certificate" {
                    "giftcertificate"
                } else {
                    "braintree.card"
                },
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
