//! In-memory sides for the flows' unit tests: a BigCommerce store whose orders the test
//! sets ([`Shop`]), a QAD ledger that keeps what is posted and can lose an answer or refuse
//! a post ([`Books`]), and an order flow over them with the built-in plugin and a store
//! file in a temporary folder ([`rig`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;
use time::OffsetDateTime;

use super::orders::{Guests, OrderFlow, PostingPolicy};
use crate::bigcommerce::ClientError;
use crate::bigcommerce::customers::Customer;
use crate::bigcommerce::orders::{FullOrder, Order, OrderProduct, Refund, RefundsByOrder};
use crate::flows::ports::{Ledger, OrderSource};
use crate::plugins::registry::load_one;
use crate::plugins::{CompileCache, Limits, PluginSlot};
use crate::qad::{
    CustomerRef, FieldMessage, GlAccount, JournalEntry, NewCustomer, Period, Posted, PostedJournal,
    PostedLine, QadError,
};
use crate::store::{SqliteStore, Store};

/// A BigCommerce store's orders and registered shoppers, in memory.
#[derive(Default)]
pub struct Shop {
    pub orders: Mutex<HashMap<u64, FullOrder>>,
    pub customers: Mutex<HashMap<u64, Customer>>,
    /// How many times the shoppers' accounts were asked for.
    pub customer_reads: std::sync::atomic::AtomicUsize,
    /// Reads of several accounts at once fail (a transport error).
    pub failing_batch_reads: std::sync::atomic::AtomicBool,
    /// The orders list, oldest change first, as the poll pages it.
    pub listed: Mutex<Vec<Order>>,
    /// After this page is served, this order changes (it moves to the list's end).
    pub change_after_page: Mutex<Option<(u32, u64)>>,
}

impl Shop {
    pub fn put(&self, order: FullOrder) {
        self.orders.lock().unwrap().insert(order.order.id, order);
    }

    /// A registered shopper with this account email.
    pub fn register(&self, id: u64, email: &str) {
        let customer = Customer {
            id,
            email: email.into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            company: String::new(),
            phone: String::new(),
            date_created: OffsetDateTime::UNIX_EPOCH,
            date_modified: OffsetDateTime::UNIX_EPOCH,
        };
        self.customers.lock().unwrap().insert(id, customer);
    }
}

#[async_trait]
impl OrderSource for Shop {
    async fn store_time(&self) -> Result<OffsetDateTime, ClientError> {
        Ok(OffsetDateTime::now_utc())
    }
    async fn orders_modified_page(
        &self,
        _since: Option<OffsetDateTime>,
        page: u32,
    ) -> Result<Vec<Order>, ClientError> {
        let mut listed = self.listed.lock().unwrap();
        let size = crate::flows::ports::ORDERS_PAGE as usize;
        let served: Vec<Order> = listed
            .iter()
            .skip((page as usize - 1) * size)
            .take(size)
            .cloned()
            .collect();
        let change = *self.change_after_page.lock().unwrap();
        if let Some((_, id)) = change.filter(|(after, _)| *after == page)
            && let Some(at) = listed.iter().position(|o| o.id == id)
        {
            let mut changed = listed.remove(at);
            changed.date_modified += time::Duration::minutes(1);
            listed.push(changed);
        }
        Ok(served)
    }
    async fn refunds_created_since(&self, _: OffsetDateTime) -> Result<Vec<Refund>, ClientError> {
        Ok(Vec::new())
    }
    async fn full_order(&self, id: u64) -> Result<Option<FullOrder>, ClientError> {
        Ok(self.orders.lock().unwrap().get(&id).cloned())
    }
    async fn complete_order(
        &self,
        order: Order,
        _known: &RefundsByOrder,
    ) -> Result<FullOrder, ClientError> {
        // The order as listed, with the lines and the rest the shop has now.
        let mut full = self
            .full_order(order.id)
            .await?
            .expect("a listed order is known");
        full.order = order;
        Ok(full)
    }
    async fn order_refunds(&self, order_id: u64) -> Result<Vec<Refund>, ClientError> {
        Ok(self
            .full_order(order_id)
            .await?
            .map(|o| o.refunds)
            .unwrap_or_default())
    }
    async fn customers(&self, ids: &[u64]) -> Result<Vec<Customer>, ClientError> {
        self.customer_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if ids.len() > 1
            && self
                .failing_batch_reads
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(ClientError::Transport("connection reset".into()));
        }
        let customers = self.customers.lock().unwrap();
        Ok(ids
            .iter()
            .filter_map(|id| customers.get(id).cloned())
            .collect())
    }
}

/// A QAD tenant's ledger and customers, in memory.
#[derive(Default)]
pub struct Books {
    pub journals: Mutex<Vec<PostedJournal>>,
    pub customers: Mutex<Vec<CustomerRef>>,
    pub created: Mutex<Vec<NewCustomer>>,
    /// The next post lands, but its answer is lost.
    pub lose_next_answer: Mutex<bool>,
    /// The next post is lost on the way: it never lands, and no answer comes.
    pub swallow_next: Mutex<bool>,
    /// The next post cannot be sent (QAD unreachable): it never lands.
    pub unavailable_next: Mutex<bool>,
    /// The next post is refused for a business reason.
    pub refuse_next: Mutex<bool>,
    /// How long each post takes (none by default).
    pub post_takes: Mutex<std::time::Duration>,
    /// Posts under way now, and the most there were at once.
    pub posting: std::sync::atomic::AtomicUsize,
    pub most_posting: std::sync::atomic::AtomicUsize,
}

impl Books {
    /// Net debit per account (in ten-thousandths) over every journal whose reference starts with `prefix`.
    pub fn net(&self, prefix: &str) -> BTreeMap<String, i64> {
        let mut net = BTreeMap::new();
        for journal in self.journals.lock().unwrap().iter() {
            if journal.external_reference.starts_with(prefix) {
                for line in &journal.lines {
                    *net.entry(line.gl_code.clone()).or_default() += line.debit - line.credit;
                }
            }
        }
        net.retain(|_, amount| *amount != 0);
        net
    }

    pub fn references(&self) -> Vec<String> {
        let journals = self.journals.lock().unwrap();
        journals
            .iter()
            .map(|j| j.external_reference.clone())
            .collect()
    }
}

const ACCOUNTS: [&str; 12] = [
    "4000", "4100", "4110", "4900", "2200", "1150", "1151", "1152", "1200", "2300", "2310", "7990",
];

#[async_trait]
impl Ledger for Books {
    async fn chart_of_accounts(&self, _entity: &str) -> Result<Vec<GlAccount>, QadError> {
        Ok(ACCOUNTS
            .iter()
            .map(|code| GlAccount {
                gl_code: code.to_string(),
                description: String::new(),
                is_active: true,
                is_postable: true,
                requires_sub_account: false,
                requires_cost_center: false,
                requires_tax_code: false,
            })
            .collect())
    }
    async fn periods(&self, _entity: &str) -> Result<Vec<Period>, QadError> {
        Ok(Vec::new())
    }
    async fn find_customers_by_email(&self, email: &str) -> Result<Vec<CustomerRef>, QadError> {
        let customers = self.customers.lock().unwrap();
        Ok(customers
            .iter()
            .filter(|c| c.email == email)
            .cloned()
            .collect())
    }
    fn customer_code(&self, email: &str, attempt: u32) -> String {
        format!("C-{}-{attempt}", email.len())
    }
    async fn create_customer(&self, new: &NewCustomer) -> Result<CustomerRef, QadError> {
        self.created.lock().unwrap().push(new.clone());
        let created = CustomerRef {
            code: self.customer_code(&new.email, 0),
            shared_set: String::new(),
            email: new.email.clone(),
            name: new.name.clone(),
        };
        self.customers.lock().unwrap().push(created.clone());
        Ok(created)
    }
    async fn find_journal(
        &self,
        _entity: &str,
        reference: &str,
    ) -> Result<Option<PostedJournal>, QadError> {
        let journals = self.journals.lock().unwrap();
        Ok(journals
            .iter()
            .find(|j| j.external_reference == reference)
            .cloned())
    }
    async fn journals_with_reference_prefix(
        &self,
        _entity: &str,
        prefix: &str,
    ) -> Result<Vec<PostedJournal>, QadError> {
        let journals = self.journals.lock().unwrap();
        Ok(journals
            .iter()
            .filter(|j| j.external_reference.starts_with(prefix))
            .cloned()
            .collect())
    }
    async fn post_journal(&self, entry: &JournalEntry) -> Result<Posted, QadError> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.posting.fetch_add(1, SeqCst) + 1;
        self.most_posting.fetch_max(now, SeqCst);
        let takes = *self.post_takes.lock().unwrap();
        tokio::time::sleep(takes).await;
        self.posting.fetch_sub(1, SeqCst);
        if std::mem::take(&mut *self.refuse_next.lock().unwrap()) {
            return Err(QadError::Business(vec![FieldMessage {
                field: "postingDate".into(),
                message: "the period is closed".into(),
            }]));
        }
        if std::mem::take(&mut *self.unavailable_next.lock().unwrap()) {
            return Err(QadError::Transient("connection refused".into()));
        }
        if std::mem::take(&mut *self.swallow_next.lock().unwrap()) {
            return Err(QadError::Ambiguous("the request timed out".into()));
        }
        let mut journals = self.journals.lock().unwrap();
        let journal = PostedJournal {
            voucher: format!("V{}", journals.len() + 1),
            external_reference: entry.external_reference.clone(),
            entity_code: entry.entity.clone(),
            daybook_code: entry.daybook.clone(),
            posting_date: entry.posting_date.to_string(),
            lines: entry
                .lines
                .iter()
                .map(|l| PostedLine {
                    gl_code: l.account.clone(),
                    sub_account_code: l.sub_account.clone(),
                    cost_center_code: l.cost_center.clone(),
                    currency_code: l.currency.clone(),
                    debit: l.debit,
                    credit: l.credit,
                    tax_code: l.tax_code.clone().unwrap_or_default(),
                })
                .collect(),
        };
        journals.push(journal.clone());
        if std::mem::take(&mut *self.lose_next_answer.lock().unwrap()) {
            return Err(QadError::Ambiguous("the connection was reset".into()));
        }
        Ok(Posted::New(journal))
    }
}

pub struct Rig {
    pub shop: Arc<Shop>,
    pub books: Arc<Books>,
    pub flow: Arc<OrderFlow>,
    _dir: tempfile::TempDir,
}

pub fn rig() -> Rig {
    rig_settling_after(std::time::Duration::from_secs(120))
}

/// The same, with unanswered posts looked up conclusively after `settle_after`.
pub fn rig_settling_after(settle_after: std::time::Duration) -> Rig {
    build(settle_after, Guests::ByEmail)
}

/// The same, with every guest order going to the guest customer `GUEST`.
pub fn rig_sharing_guests() -> Rig {
    build(std::time::Duration::from_secs(120), Guests::Shared)
}

fn build(settle_after: std::time::Duration, guests: Guests) -> Rig {
    let settings: BTreeMap<String, BTreeMap<String, String>> =
        toml::from_str(include_str!("../../../examples/settings.toml")).unwrap();
    let settings: Vec<(String, String)> = settings["order-to-gl"].clone().into_iter().collect();
    let plugin = load_one(
        "order-to-gl",
        None,
        &settings,
        &Limits::default(),
        &CompileCache::none(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("store.db")).unwrap());
    let (shop, books) = (Arc::new(Shop::default()), Arc::new(Books::default()));
    let mut flow = OrderFlow::new(
        "main",
        "shop1",
        shop.clone(),
        books.clone(),
        PluginSlot::fixed(plugin),
        store,
        PostingPolicy {
            entity: "10USACO".into(),
            layer: PostingPolicy::OFFICIAL_LAYER.into(),
            posted_statuses: PostingPolicy::SALE_STATUSES.to_vec(),
            guest_customer: "GUEST".into(),
            guests,
            base_currency: "USD".into(),
        },
    );
    flow.settle_after = settle_after;
    // The built-ins, for a record replayed with another plugin.
    flow.others = Some(crate::plugins::Shelf::default());
    let flow = Arc::new(flow);
    Rig {
        shop,
        books,
        flow,
        _dir: dir,
    }
}

/// An order of one line of `quantity` at 25.00, no tax or shipping, awaiting fulfillment
/// (status 11) unless `status` says otherwise; a guest when `customer_id` is 0.
pub fn order(id: u64, customer_id: u64, email: &str, quantity: u32, status: u32) -> FullOrder {
    let total = format!("{}.0000", 25 * quantity);
    let money = |text: &str| json!(text);
    let order: Order =
        serde_json::from_value(order_json(id, customer_id, email, quantity, status)).unwrap();
    let line: OrderProduct = serde_json::from_value(json!({
        "id": id * 10,
        "order_id": id,
        "product_id": 7,
        "name": "Widget",
        "sku": "W-1",
        "quantity": quantity,
        "price_ex_tax": "25.0000",
        "price_inc_tax": "25.0000",
        "price_tax": "0.0000",
        "total_ex_tax": money(&total),
        "total_inc_tax": money(&total),
        "total_tax": "0.0000"
    }))
    .unwrap();
    FullOrder {
        order: Order {
            raw: serde_json::json!({"id": id}).to_string().into(),
            ..order
        },
        products: vec![line],
        discounts: Vec::new(),
        transactions: Vec::new(),
        refunds: Vec::new(),
    }
}

/// The order of [`order`] as BigCommerce's V2 lists it (what a poll's listing holds).
pub fn order_json(
    id: u64,
    customer_id: u64,
    email: &str,
    quantity: u32,
    status: u32,
) -> serde_json::Value {
    let total = format!("{}.0000", 25 * quantity);
    let money = |text: &str| json!(text);
    json!({
        "id": id,
        "customer_id": customer_id,
        "status_id": status,
        "status": "Awaiting Fulfillment",
        "date_created": "2026-11-02T10:00:00Z",
        "date_modified": "2026-11-02T10:00:00Z",
        "currency_code": "USD",
        "default_currency_code": "USD",
        "subtotal_ex_tax": money(&total),
        "subtotal_inc_tax": money(&total),
        "subtotal_tax": "0.0000",
        "shipping_cost_ex_tax": "0.0000",
        "shipping_cost_tax": "0.0000",
        "handling_cost_ex_tax": "0.0000",
        "handling_cost_tax": "0.0000",
        "wrapping_cost_ex_tax": "0.0000",
        "wrapping_cost_tax": "0.0000",
        "total_ex_tax": money(&total),
        "total_inc_tax": money(&total),
        "total_tax": "0.0000",
        "discount_amount": "0.0000",
        "coupon_discount": "0.0000",
        "payment_method": "Manual",
        "payment_status": "",
        "billing_address": {
            "first_name": "Ada", "last_name": "Lovelace", "email": email,
            "street_1": "1 Main St", "city": "Austin", "zip": "78701", "country_iso2": "US"
        }
    })
}
