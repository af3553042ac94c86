//! Refunds: their items and payments, how they look in V3, and recording one on an order.

use serde::Serialize;
use time::OffsetDateTime;

use super::{Money, Number, Order, StoreData, Transaction, rfc3339};

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

impl StoreData {
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
            method: "credit_card",
            amount,
            gateway: order.gateway.clone(),
            created: at,
        });
        order.settle_refund_status();
        order.modified = order.modified.max(at);
        refund_id
    }
}
