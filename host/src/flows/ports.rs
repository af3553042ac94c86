//! What the flows need from each side, as small traits: the [`OrderSource`] (BigCommerce
//! orders, refunds and shoppers), the [`Ledger`] (the QAD tenant's accounts, periods,
//! customers and journals), the [`ItemSource`] (QAD item and price changes) and the
//! [`CatalogSink`] (BigCommerce products and variants). The real clients implement them
//! here; unit tests give the flows in-memory ones, and the simulators serve the end-to-end
//! tests over HTTP.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use time::{Date, OffsetDateTime};

use crate::bigcommerce::catalog::{BatchOutcome, Product, ProductUpdate, SkuTarget, VariantUpdate};
use crate::bigcommerce::customers::Customer;
use crate::bigcommerce::orders::{FullOrder, Order, Refund, RefundsByOrder};
use crate::bigcommerce::{self, ClientError};
use crate::qad::{
    ChangeCursor, CustomerRef, GlAccount, ItemChange, JournalEntry, NewCustomer, Period, Posted,
    PostedJournal, PriceChange, Qad, QadError,
};

/// Orders to a page of [`OrderSource::orders_modified_page`]: BigCommerce's largest.
pub const ORDERS_PAGE: u32 = bigcommerce::MAX_PAGE;

/// Where orders, refunds and shoppers come from (a BigCommerce store).
#[async_trait]
pub trait OrderSource: Send + Sync {
    /// The store's own clock.
    async fn store_time(&self) -> Result<OffsetDateTime, ClientError>;
    /// Page `page` (from 1) of the orders modified at or after `since` (all when `None`),
    /// oldest change first, [`ORDERS_PAGE`] to a page: a shorter page is the last.
    async fn orders_modified_page(
        &self,
        since: Option<OffsetDateTime>,
        page: u32,
    ) -> Result<Vec<Order>, ClientError>;
    /// Every order modified at or after `since`, all pages (for a bounded window: the
    /// poll takes a backlog page by page).
    async fn orders_modified_since(
        &self,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<Order>, ClientError> {
        let mut all = Vec::new();
        for page in 1.. {
            let orders = self.orders_modified_page(since, page).await?;
            let last = orders.len() < ORDERS_PAGE as usize;
            all.extend(orders);
            if last {
                break;
            }
        }
        Ok(all)
    }
    /// Every refund created at or after `since`, across orders.
    async fn refunds_created_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<Refund>, ClientError>;
    /// One order in full; `None` when the store has no such order.
    async fn full_order(&self, id: u64) -> Result<Option<FullOrder>, ClientError>;
    /// What an order read from a list lacks, added (`known`: refunds already read).
    async fn complete_order(
        &self,
        order: Order,
        known: &RefundsByOrder,
    ) -> Result<FullOrder, ClientError>;
    /// The refunds of one order.
    async fn order_refunds(&self, order_id: u64) -> Result<Vec<Refund>, ClientError>;
    /// The registered shoppers with these ids (those the store has).
    async fn customers(&self, ids: &[u64]) -> Result<Vec<Customer>, ClientError>;
}

/// Where journals go and what they are checked against (a QAD tenant).
#[async_trait]
pub trait Ledger: Send + Sync {
    /// The entity's accounts.
    async fn chart_of_accounts(&self, entity: &str) -> Result<Vec<GlAccount>, QadError>;
    /// The entity's GL periods.
    async fn periods(&self, entity: &str) -> Result<Vec<Period>, QadError>;
    /// Customers whose email is `email` (normalised).
    async fn find_customers_by_email(&self, email: &str) -> Result<Vec<CustomerRef>, QadError>;
    /// The code a new shopper gets (`attempt` 0 first).
    fn customer_code(&self, email: &str, attempt: u32) -> String;
    /// Creates a customer, safe to call again after a failure or a lost answer.
    async fn create_customer(&self, new: &NewCustomer) -> Result<CustomerRef, QadError>;
    /// The journal posted under this external reference, if any.
    async fn find_journal(
        &self,
        entity: &str,
        reference: &str,
    ) -> Result<Option<PostedJournal>, QadError>;
    /// Every journal whose external reference starts with `prefix`.
    async fn journals_with_reference_prefix(
        &self,
        entity: &str,
        prefix: &str,
    ) -> Result<Vec<PostedJournal>, QadError>;
    /// Posts a journal once, under its external reference.
    async fn post_journal(&self, entry: &JournalEntry) -> Result<Posted, QadError>;
}

/// Where item and price changes come from (a QAD tenant's item master and price lists).
#[async_trait]
pub trait ItemSource: Send + Sync {
    /// The currency of the item master's own list prices.
    fn item_currency(&self) -> String;
    /// Items changed since the cursor, and the cursor to use next time.
    async fn items_changed_since(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<ItemChange>, ChangeCursor), QadError>;
    /// Price rows changed since the cursor, and the cursor to use next time.
    async fn prices_changed_since(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<PriceChange>, ChangeCursor), QadError>;
    /// Items with a price row starting or ending between `from` and `to`.
    async fn items_with_prices_turning(
        &self,
        from: Date,
        to: Date,
    ) -> Result<BTreeSet<String>, QadError>;
    /// One item as it stands now.
    async fn item(&self, code: &str) -> Result<Option<ItemChange>, QadError>;
    /// Every price row of an item.
    async fn prices_of_item(&self, code: &str) -> Result<Vec<PriceChange>, QadError>;
}

/// Where catalog updates go (a BigCommerce store's products and variants).
#[async_trait]
pub trait CatalogSink: Send + Sync {
    /// One product with its variants, as the store has it now (`None`: no such product).
    async fn product(&self, id: u64) -> Result<Option<Product>, ClientError>;
    /// Where each SKU lives (product or variant); SKUs the store lacks are left out.
    async fn locate_skus(&self, skus: &[&str]) -> Result<BTreeMap<String, SkuTarget>, ClientError>;
    async fn update_products(&self, updates: &[ProductUpdate])
    -> Result<BatchOutcome, ClientError>;
    async fn update_variants(&self, updates: &[VariantUpdate])
    -> Result<BatchOutcome, ClientError>;
}

#[async_trait]
impl OrderSource for bigcommerce::Client {
    async fn store_time(&self) -> Result<OffsetDateTime, ClientError> {
        bigcommerce::Client::store_time(self).await
    }
    async fn orders_modified_page(
        &self,
        since: Option<OffsetDateTime>,
        page: u32,
    ) -> Result<Vec<Order>, ClientError> {
        self.orders_page(since, page, ORDERS_PAGE).await
    }
    async fn refunds_created_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<Refund>, ClientError> {
        bigcommerce::Client::refunds_created_since(self, since).await
    }
    async fn full_order(&self, id: u64) -> Result<Option<FullOrder>, ClientError> {
        bigcommerce::Client::full_order(self, id).await
    }
    async fn complete_order(
        &self,
        order: Order,
        known: &RefundsByOrder,
    ) -> Result<FullOrder, ClientError> {
        bigcommerce::Client::complete_order(self, order, known).await
    }
    async fn order_refunds(&self, order_id: u64) -> Result<Vec<Refund>, ClientError> {
        bigcommerce::Client::order_refunds(self, order_id).await
    }
    async fn customers(&self, ids: &[u64]) -> Result<Vec<Customer>, ClientError> {
        bigcommerce::Client::customers(self, ids).await
    }
}

#[async_trait]
impl CatalogSink for bigcommerce::Client {
    async fn product(&self, id: u64) -> Result<Option<Product>, ClientError> {
        bigcommerce::Client::product(self, id).await
    }
    async fn locate_skus(&self, skus: &[&str]) -> Result<BTreeMap<String, SkuTarget>, ClientError> {
        bigcommerce::Client::locate_skus(self, skus).await
    }
    async fn update_products(
        &self,
        updates: &[ProductUpdate],
    ) -> Result<BatchOutcome, ClientError> {
        bigcommerce::Client::update_products(self, updates).await
    }
    async fn update_variants(
        &self,
        updates: &[VariantUpdate],
    ) -> Result<BatchOutcome, ClientError> {
        bigcommerce::Client::update_variants(self, updates).await
    }
}

#[async_trait]
impl Ledger for Qad {
    async fn chart_of_accounts(&self, entity: &str) -> Result<Vec<GlAccount>, QadError> {
        Qad::chart_of_accounts(self, entity).await
    }
    async fn periods(&self, entity: &str) -> Result<Vec<Period>, QadError> {
        Qad::periods(self, entity).await
    }
    async fn find_customers_by_email(&self, email: &str) -> Result<Vec<CustomerRef>, QadError> {
        Qad::find_customers_by_email(self, email).await
    }
    fn customer_code(&self, email: &str, attempt: u32) -> String {
        Qad::customer_code(self, email, attempt)
    }
    async fn create_customer(&self, new: &NewCustomer) -> Result<CustomerRef, QadError> {
        Qad::create_customer(self, new).await
    }
    async fn find_journal(
        &self,
        entity: &str,
        reference: &str,
    ) -> Result<Option<PostedJournal>, QadError> {
        Qad::find_journal(self, entity, reference).await
    }
    async fn journals_with_reference_prefix(
        &self,
        entity: &str,
        prefix: &str,
    ) -> Result<Vec<PostedJournal>, QadError> {
        Qad::journals_with_reference_prefix(self, entity, prefix).await
    }
    async fn post_journal(&self, entry: &JournalEntry) -> Result<Posted, QadError> {
        Qad::post_journal(self, entry).await
    }
}

#[async_trait]
impl ItemSource for Qad {
    fn item_currency(&self) -> String {
        self.reads().config().customers.currency.clone()
    }
    async fn items_changed_since(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<ItemChange>, ChangeCursor), QadError> {
        Qad::items_changed_since(self, cursor).await
    }
    async fn prices_changed_since(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<PriceChange>, ChangeCursor), QadError> {
        Qad::prices_changed_since(self, cursor).await
    }
    async fn items_with_prices_turning(
        &self,
        from: Date,
        to: Date,
    ) -> Result<BTreeSet<String>, QadError> {
        Qad::items_with_prices_turning(self, from, to).await
    }
    async fn item(&self, code: &str) -> Result<Option<ItemChange>, QadError> {
        Qad::item(self, code).await
    }
    async fn prices_of_item(&self, code: &str) -> Result<Vec<PriceChange>, QadError> {
        Qad::prices_of_item(self, code).await
    }
}
