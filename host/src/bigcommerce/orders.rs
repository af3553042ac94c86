//! Orders: V2 orders and their products, shipping addresses and coupons, order statuses,
//! and V3 payment transactions and refunds.
//!
//! V2 money is four-decimal strings and V3 money is two-decimal numbers; both become exact
//! [`Amount`]s. Statuses are identified by id (merchants rename them). Refund creation
//! for one order is serialised through the client's per-order locks, because BigCommerce
//! does not support concurrent refunds on one order.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::client::{Answer, Client, ClientError, Collection, MAX_PAGE, Single};
use super::pacer::Priority;
use super::wire::{self, Number};
use crate::money::Amount;

/// An order as V2 returns it (lists and single reads carry the same fields).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Order {
    pub id: u64,
    /// 0 for a guest.
    pub customer_id: u64,
    pub status_id: u32,
    pub status: String,
    #[serde(deserialize_with = "wire::date")]
    pub date_created: OffsetDateTime,
    #[serde(deserialize_with = "wire::date")]
    pub date_modified: OffsetDateTime,
    /// The display currency.
    pub currency_code: String,
    /// The transactional currency: what the shopper paid in (post in this one).
    #[serde(default)]
    pub default_currency_code: Option<String>,
    #[serde(default)]
    pub store_default_currency_code: Option<String>,
    /// Ten decimals; kept as text so no precision is lost.
    #[serde(default)]
    pub store_default_to_transactional_exchange_rate: Option<String>,
    #[serde(deserialize_with = "wire::amount")]
    pub subtotal_ex_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub subtotal_inc_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub subtotal_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub shipping_cost_ex_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub shipping_cost_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub handling_cost_ex_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub handling_cost_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub wrapping_cost_ex_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub wrapping_cost_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub total_ex_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub total_inc_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub total_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub discount_amount: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub coupon_discount: Amount,
    #[serde(default, deserialize_with = "wire::optional_amount")]
    pub store_credit_amount: Option<Amount>,
    #[serde(default, deserialize_with = "wire::optional_amount")]
    pub gift_certificate_amount: Option<Amount>,
    #[serde(default)]
    pub payment_method: String,
    #[serde(default)]
    pub payment_status: String,
    /// The storefront channel (1 is the store's default).
    #[serde(default)]
    pub channel_id: u32,
    /// `www`, `manual`, `external`, `checkout_api`, ...
    #[serde(default)]
    pub order_source: String,
    #[serde(default)]
    pub is_tax_inclusive_pricing: bool,
    #[serde(default)]
    pub is_deleted: bool,
    pub billing_address: BillingAddress,
    /// The lines, when the order was read with them included (lists and single reads
    /// ask for `include=consignments.line_items`, saving a call per order).
    #[serde(
        default,
        rename = "consignments",
        deserialize_with = "consignment_lines"
    )]
    pub lines: Option<Vec<OrderProduct>>,
    /// The order's JSON as BigCommerce sent it (kept for the audit trail).
    #[serde(skip)]
    pub raw: Arc<str>,
}

/// The lines of every consignment (shipping, pickup, digital) in the object structure;
/// `None` when the field is absent or only a link to the resource.
fn consignment_lines<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<OrderProduct>>, D::Error> {
    #[derive(Deserialize)]
    struct Holder {
        #[serde(default)]
        line_items: Vec<OrderProduct>,
    }
    #[derive(Deserialize)]
    struct Consignments {
        shipping: Option<Vec<Holder>>,
        pickups: Option<Vec<Holder>>,
        downloads: Option<Vec<Holder>>,
    }
    let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
    if !raw.get().trim_start().starts_with('{') {
        return Ok(None);
    }
    let consignments: Consignments =
        serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
    let parts = [
        consignments.shipping,
        consignments.pickups,
        consignments.downloads,
    ];
    if parts.iter().all(Option::is_none) {
        return Ok(None);
    }
    let mut lines: Vec<OrderProduct> = parts
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|holder| holder.line_items)
        .collect();
    lines.sort_by_key(|line| line.id);
    Ok(Some(lines))
}

/// Asks V2 order reads to carry the lines.
const WITH_LINES: [(&str, &str); 2] = [
    ("include", "consignments.line_items"),
    ("consignment_structure", "object"),
];

impl Order {
    /// Decodes one order, keeping its text.
    pub fn from_raw(path: &str, raw: &RawValue) -> Result<Order, ClientError> {
        let mut order: Order =
            serde_json::from_str(raw.get()).map_err(|e| ClientError::Decode {
                path: path.to_string(),
                reason: e.to_string(),
            })?;
        order.raw = raw.get().into();
        Ok(order)
    }

    /// The currency the shopper paid in.
    pub fn transactional_currency(&self) -> &str {
        self.default_currency_code
            .as_deref()
            .filter(|c| !c.is_empty())
            .unwrap_or(&self.currency_code)
    }

    pub fn is_guest(&self) -> bool {
        self.customer_id == 0
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct BillingAddress {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub street_1: String,
    #[serde(default)]
    pub street_2: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub zip: String,
    #[serde(default)]
    pub country_iso2: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
}

/// An order line (`GET /v2/orders/{id}/products`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderProduct {
    /// The order_product_id: a PRODUCT refund item's `item_id`.
    pub id: u64,
    pub order_id: u64,
    pub product_id: u64,
    #[serde(default)]
    pub variant_id: Option<u64>,
    #[serde(default)]
    pub order_address_id: Option<u64>,
    pub name: String,
    pub sku: String,
    pub quantity: u32,
    #[serde(deserialize_with = "wire::amount")]
    pub price_ex_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub price_inc_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub price_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub total_ex_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub total_inc_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub total_tax: Amount,
    #[serde(default)]
    pub quantity_refunded: u32,
    /// The unit cost the store keeps for the product.
    #[serde(default, deserialize_with = "wire::optional_amount")]
    pub base_cost_price: Option<Amount>,
    #[serde(default)]
    pub applied_discounts: Vec<AppliedDiscount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppliedDiscount {
    /// A coupon id or a rule name; BigCommerce sends either.
    #[serde(default)]
    pub id: Value,
    #[serde(default)]
    pub name: String,
    #[serde(deserialize_with = "wire::amount")]
    pub amount: Amount,
    #[serde(default)]
    pub code: Option<String>,
}

/// `GET /v2/orders/{id}/shipping_addresses`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShippingAddress {
    /// The order_address_id: a SHIPPING or HANDLING refund item's `item_id`.
    pub id: u64,
    #[serde(default)]
    pub shipping_method: String,
    #[serde(deserialize_with = "wire::amount")]
    pub cost_ex_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub cost_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub handling_cost_ex_tax: Amount,
    #[serde(deserialize_with = "wire::amount")]
    pub handling_cost_tax: Amount,
    #[serde(default)]
    pub country_iso2: String,
}

/// `GET /v2/orders/{id}/coupons`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderCoupon {
    pub id: u64,
    #[serde(default)]
    pub coupon_id: Option<u64>,
    pub code: String,
    /// 0 per item, 1 percentage, 2 per total, 3 shipping, 4 free shipping, 5 promotion.
    #[serde(rename = "type")]
    pub kind: u8,
    /// The money off.
    #[serde(deserialize_with = "wire::amount")]
    pub discount: Amount,
}

/// `GET /v2/order_statuses`: the merchant's label for each status id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderStatus {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub system_label: String,
    #[serde(default)]
    pub custom_label: String,
}

/// A payment transaction (`GET /v3/orders/{id}/transactions`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Transaction {
    pub id: u64,
    /// purchase, authorization, capture, refund, void, pending, settled.
    pub event: String,
    pub method: String,
    #[serde(deserialize_with = "wire::amount")]
    pub amount: Amount,
    pub currency: String,
    /// An open set in practice (the spec's enum lacks e.g. `squarev2`).
    pub gateway: String,
    #[serde(default)]
    pub gateway_transaction_id: Option<String>,
    #[serde(deserialize_with = "wire::date")]
    pub date_created: OffsetDateTime,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub test: bool,
    /// An offline payment's display name (`offline.display_name`).
    #[serde(default)]
    pub offline: Option<OfflinePayment>,
    /// A manual payment method's name (`custom.payment_method`).
    #[serde(default)]
    pub custom: Option<CustomPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OfflinePayment {
    #[serde(default)]
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomPayment {
    #[serde(default)]
    pub payment_method: String,
}

/// A refund (V3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refund {
    pub id: u64,
    pub order_id: u64,
    #[serde(deserialize_with = "wire::date")]
    pub created: OffsetDateTime,
    #[serde(default)]
    pub reason: String,
    #[serde(deserialize_with = "wire::amount")]
    pub total_amount: Amount,
    /// May be negative (tax collected by refunding less).
    #[serde(deserialize_with = "wire::amount")]
    pub total_tax: Amount,
    #[serde(default)]
    pub items: Vec<RefundItem>,
    #[serde(default)]
    pub payments: Vec<RefundPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundItem {
    /// PRODUCT, GIFT_WRAPPING, ORDER, SHIPPING, HANDLING, TAX, FEE.
    pub item_type: String,
    pub item_id: u64,
    #[serde(default)]
    pub quantity: Option<u32>,
    /// A number in one schema and a string in another; both are read.
    #[serde(default, deserialize_with = "wire::optional_amount")]
    pub requested_amount: Option<Amount>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundPayment {
    pub id: u64,
    pub provider_id: String,
    #[serde(deserialize_with = "wire::amount")]
    pub amount: Amount,
    #[serde(default)]
    pub offline: bool,
    #[serde(default)]
    pub is_declined: bool,
}

/// `POST /v3/orders/{id}/payment_actions/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundRequest {
    pub items: Vec<RefundRequestItem>,
    pub payments: Vec<RefundRequestPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundRequestItem {
    pub item_type: String,
    pub item_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundRequestPayment {
    pub provider_id: String,
    pub amount: Number,
    pub offline: bool,
}

/// An order with everything posting it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullOrder {
    pub order: Order,
    pub products: Vec<OrderProduct>,
    /// Order-level discounts (coupons, manual discounts), ex tax.
    pub discounts: Vec<OrderDiscount>,
    pub transactions: Vec<Transaction>,
    pub refunds: Vec<Refund>,
}

/// One order-level discount, summed over the lines it was spread across.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDiscount {
    /// The coupon code; `None` for a manual discount or an automatic promotion.
    pub code: Option<String>,
    pub name: String,
    pub amount: Amount,
}

/// The order's discounts from its lines' `applied_discounts`, grouped by discount in the
/// order they first appear. BigCommerce spreads order-level discounts over the products,
/// so the lines carry the coupon codes and the coupons call is not needed.
fn discounts_from_lines(lines: &[OrderProduct]) -> Vec<OrderDiscount> {
    let mut discounts: Vec<(String, OrderDiscount)> = Vec::new();
    for applied in lines.iter().flat_map(|l| &l.applied_discounts) {
        let key = match &applied.id {
            Value::String(id) => id.clone(),
            other => other.to_string(),
        };
        match discounts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, discount)) => discount.amount += applied.amount,
            None => discounts.push((
                key,
                OrderDiscount {
                    code: applied.code.clone().filter(|c| !c.is_empty()),
                    name: applied.name.clone(),
                    amount: applied.amount,
                },
            )),
        }
    }
    discounts.into_iter().map(|(_, d)| d).collect()
}

/// Refunds read across orders ([`Client::refunds_created_since`]), by order, so a backlog
/// read does not ask for each order's refunds again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundsByOrder(BTreeMap<u64, Vec<Refund>>);

impl RefundsByOrder {
    pub fn new(refunds: Vec<Refund>) -> RefundsByOrder {
        let mut by_order: BTreeMap<u64, Vec<Refund>> = BTreeMap::new();
        for refund in refunds {
            by_order.entry(refund.order_id).or_default().push(refund);
        }
        RefundsByOrder(by_order)
    }

    pub fn for_order(&self, order_id: u64) -> &[Refund] {
        self.0.get(&order_id).map_or(&[], Vec::as_slice)
    }

    /// Every refund, by order.
    pub fn all(&self) -> impl Iterator<Item = &Refund> {
        self.0.values().flatten()
    }
}

impl Client {
    /// One page of orders modified at or after `since` (all when `None`), oldest change
    /// first; an empty list past the end.
    pub async fn orders_page(
        &self,
        since: Option<OffsetDateTime>,
        page: u32,
        limit: u32,
    ) -> Result<Vec<Order>, ClientError> {
        let mut query = vec![
            ("page", page.to_string()),
            ("limit", limit.clamp(1, MAX_PAGE).to_string()),
            ("sort", "date_modified:asc".to_string()),
        ];
        query.extend(WITH_LINES.map(|(k, v)| (k, v.to_string())));
        if let Some(since) = since {
            query.push(("min_date_modified", wire::to_rfc3339(since)));
        }
        let raws: Vec<Box<RawValue>> = self
            .get_json("/v2/orders", &query, Priority::Orders)
            .await?
            .unwrap_or_default();
        raws.iter()
            .map(|raw| Order::from_raw("/v2/orders", raw))
            .collect()
    }

    /// One order by id, with its lines; `None` when the store has no such order.
    pub async fn order(&self, id: u64) -> Answer<Order> {
        let query = WITH_LINES.map(|(k, v)| (k, v.to_string()));
        let path = format!("/v2/orders/{id}");
        match self
            .get_json::<Box<RawValue>>(&path, &query, Priority::Orders)
            .await
        {
            Err(ClientError::Api(error)) if error.status == 404 => Ok(None),
            Ok(Some(raw)) => Order::from_raw(&path, &raw).map(Some),
            Ok(None) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every line of an order (V2 pages them, 50 by default).
    pub async fn order_products(&self, id: u64) -> Result<Vec<OrderProduct>, ClientError> {
        let mut all = Vec::new();
        for page in 1.. {
            let query = [("page", page.to_string()), ("limit", MAX_PAGE.to_string())];
            let lines: Vec<OrderProduct> = self
                .get_json(
                    &format!("/v2/orders/{id}/products"),
                    &query,
                    Priority::Orders,
                )
                .await?
                .unwrap_or_default();
            let last = lines.len() < MAX_PAGE as usize;
            all.extend(lines);
            if last {
                break;
            }
        }
        Ok(all)
    }

    pub async fn order_shipping_addresses(
        &self,
        id: u64,
    ) -> Result<Vec<ShippingAddress>, ClientError> {
        Ok(self
            .get_json(
                &format!("/v2/orders/{id}/shipping_addresses"),
                &[],
                Priority::Orders,
            )
            .await?
            .unwrap_or_default())
    }

    pub async fn order_coupons(&self, id: u64) -> Result<Vec<OrderCoupon>, ClientError> {
        Ok(self
            .get_json(&format!("/v2/orders/{id}/coupons"), &[], Priority::Orders)
            .await?
            .unwrap_or_default())
    }

    /// The store's status labels by id.
    pub async fn order_statuses(&self) -> Result<BTreeMap<u32, OrderStatus>, ClientError> {
        let statuses: Vec<OrderStatus> = self
            .get_json("/v2/order_statuses", &[], Priority::Orders)
            .await?
            .unwrap_or_default();
        Ok(statuses.into_iter().map(|s| (s.id, s)).collect())
    }

    /// An order's payment transactions (204, nothing to return, is an empty list).
    pub async fn order_transactions(&self, id: u64) -> Result<Vec<Transaction>, ClientError> {
        let answer: Option<Collection<Transaction>> = self
            .get_json(
                &format!("/v3/orders/{id}/transactions"),
                &[],
                Priority::Orders,
            )
            .await?;
        Ok(answer.map(|c| c.data).unwrap_or_default())
    }

    /// An order's refunds, oldest first.
    pub async fn order_refunds(&self, id: u64) -> Result<Vec<Refund>, ClientError> {
        let answer: Option<Collection<Refund>> = self
            .get_json(
                &format!("/v3/orders/{id}/payment_actions/refunds"),
                &[],
                Priority::Orders,
            )
            .await?;
        let mut refunds = answer.map(|c| c.data).unwrap_or_default();
        refunds.sort_by_key(|r| r.id);
        Ok(refunds)
    }

    /// Every refund created at or after `since`, across orders, by refund id (the
    /// reconciliation poll's catch for missed `refund/created` webhooks).
    pub async fn refunds_created_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<Refund>, ClientError> {
        self.get_all_v3(
            "/v3/orders/payment_actions/refunds",
            &[("created:min", wire::to_rfc3339(since))],
            Priority::Orders,
        )
        .await
    }

    /// Creates a refund. Calls for one order wait for each other: BigCommerce processes
    /// refunds on one order sequentially only. Not re-sent after an ambiguous failure
    /// (read the order's refunds first).
    pub async fn create_refund(
        &self,
        order_id: u64,
        request: &RefundRequest,
    ) -> Result<Refund, ClientError> {
        let _serialised = self.order_locks.lock(order_id).await;
        let path = format!("/v3/orders/{order_id}/payment_actions/refunds");
        let created: Option<Single<Refund>> = self
            .send(Method::POST, &path, &[], Some(request), Priority::Orders)
            .await?;
        created.map(|s| s.data).ok_or_else(|| ClientError::Decode {
            path,
            reason: "the refund was accepted but no refund came back".into(),
        })
    }

    /// The order with its lines, discounts, transactions and refunds, read with as few
    /// calls as the order allows. See [`Client::complete_order`].
    pub async fn full_order(&self, id: u64) -> Result<Option<FullOrder>, ClientError> {
        match self.order(id).await? {
            Some(order) => self
                .complete_order(order, &RefundsByOrder::default())
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// Adds what an order read (single or from a list) does not carry, asking only for
    /// what the order shows it has: the lines when they were not included; the coupons
    /// only when the order has a coupon discount its lines do not explain; transactions
    /// when it was paid; refunds when it has refund transactions (or a refunded status)
    /// that `known` (refunds already read across orders) does not account for.
    pub async fn complete_order(
        &self,
        mut order: Order,
        known: &RefundsByOrder,
    ) -> Result<FullOrder, ClientError> {
        let id = order.id;
        let products = match order.lines.take() {
            Some(lines) => lines,
            None => self.order_products(id).await?,
        };
        let mut discounts = discounts_from_lines(&products);
        let explained = discounts.iter().any(|d| d.code.is_some());
        if order.coupon_discount != 0 && !explained {
            discounts.extend(
                self.order_coupons(id)
                    .await?
                    .into_iter()
                    .map(|c| OrderDiscount {
                        name: c.code.clone(),
                        code: Some(c.code),
                        amount: c.discount,
                    }),
            );
        }
        let unpaid = order.status_id == 0 || order.payment_status == "pending";
        let transactions = if unpaid {
            Vec::new()
        } else {
            self.order_transactions(id).await?
        };
        let refund_transactions = transactions.iter().filter(|t| t.event == "refund").count();
        let known = known.for_order(id);
        let refunds = if known.len() >= refund_transactions.max(1) {
            known.to_vec()
        } else if refund_transactions > 0 || matches!(order.status_id, 4 | 14) {
            self.order_refunds(id).await?
        } else {
            Vec::new()
        };
        Ok(FullOrder {
            order,
            products,
            discounts,
            transactions,
            refunds,
        })
    }
}
