//! The order flow alone, in memory: a store with orders, a ledger that keeps what is
//! posted (and can lose an answer or refuse a post), the built-in plugin, and a store
//! file in a temporary folder. Revisions, differences, reversals, lost answers and
//! customers are checked here; the simulators check the same over HTTP end to end.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;
use time::{Date, OffsetDateTime};

use super::{OrderFlow, PostingPolicy};
use crate::bigcommerce::ClientError;
use crate::bigcommerce::customers::Customer;
use crate::bigcommerce::orders::{FullOrder, Order, OrderProduct, Refund, RefundsByOrder};
use crate::flows::ports::{Ledger, OrderSource};
use crate::flows::{FlowError, Outcome};
use crate::plugins::registry::load_one;
use crate::plugins::{CompileCache, Limits, PluginSlot};
use crate::qad::{
    CustomerRef, FieldMessage, GlAccount, JournalEntry, NewCustomer, Period, Posted, PostedJournal,
    PostedLine, QadError,
};
use crate::store::{SqliteStore, Store};

/// A BigCommerce store's orders, in memory.
#[derive(Default)]
struct Shop {
    orders: Mutex<HashMap<u64, FullOrder>>,
}

impl Shop {
    fn put(&self, order: FullOrder) {
        self.orders.lock().unwrap().insert(order.order.id, order);
    }
}

#[async_trait]
impl OrderSource for Shop {
    async fn store_time(&self) -> Result<OffsetDateTime, ClientError> {
        Ok(OffsetDateTime::now_utc())
    }
    async fn orders_modified_since(
        &self,
        _since: Option<OffsetDateTime>,
    ) -> Result<Vec<Order>, ClientError> {
        Ok(Vec::new())
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
        Ok(self
            .full_order(order.id)
            .await?
            .expect("a listed order is known"))
    }
    async fn order_refunds(&self, order_id: u64) -> Result<Vec<Refund>, ClientError> {
        Ok(self
            .full_order(order_id)
            .await?
            .map(|o| o.refunds)
            .unwrap_or_default())
    }
    async fn customer(&self, _id: u64) -> Result<Option<Customer>, ClientError> {
        Ok(None)
    }
}

/// A QAD tenant's ledger and customers, in memory.
#[derive(Default)]
struct Books {
    journals: Mutex<Vec<PostedJournal>>,
    customers: Mutex<Vec<CustomerRef>>,
    created: Mutex<Vec<NewCustomer>>,
    /// The next post lands, but its answer is lost.
    lose_next_answer: Mutex<bool>,
    /// The next post is refused for a business reason.
    refuse_next: Mutex<bool>,
}

impl Books {
    /// Net debit per account (in ten-thousandths) over every journal whose reference starts with `prefix`.
    fn net(&self, prefix: &str) -> BTreeMap<String, i64> {
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

    fn references(&self) -> Vec<String> {
        let journals = self.journals.lock().unwrap();
        journals
            .iter()
            .map(|j| j.external_reference.clone())
            .collect()
    }
}

const ACCOUNTS: [&str; 10] = [
    "4000", "4100", "4110", "4900", "2200", "1150", "1151", "1152", "1200", "7990",
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
        if std::mem::take(&mut *self.refuse_next.lock().unwrap()) {
            return Err(QadError::Business(vec![FieldMessage {
                field: "postingDate".into(),
                message: "the period is closed".into(),
            }]));
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

struct Rig {
    shop: Arc<Shop>,
    books: Arc<Books>,
    flow: OrderFlow,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let settings: BTreeMap<String, BTreeMap<String, String>> =
        toml::from_str(include_str!("../../../../examples/settings.toml")).unwrap();
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
    let flow = OrderFlow::new(
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
            base_currency: "USD".into(),
        },
    );
    Rig {
        shop,
        books,
        flow,
        _dir: dir,
    }
}

/// An order of one line of `quantity` at 25.00, no tax or shipping, awaiting fulfillment
/// (status 11) unless `status` says otherwise; a guest when `customer_id` is 0.
fn order(id: u64, customer_id: u64, email: &str, quantity: u32, status: u32) -> FullOrder {
    let total = format!("{}.0000", 25 * quantity);
    let money = |text: &str| json!(text);
    let order: Order = serde_json::from_value(json!({
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
    }))
    .unwrap();
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

fn posted(outcome: Outcome) -> String {
    match outcome {
        Outcome::Posted { reference, .. } => reference,
        other => panic!("expected a posting, got {other:?}"),
    }
}

#[tokio::test]
async fn an_order_posts_once_and_an_edit_posts_only_its_difference() {
    let rig = rig();
    rig.shop.put(order(100, 0, "", 2, 11));
    let first = rig.flow.process_order(100).await.unwrap();
    assert_eq!(posted(first), "shop1:order:100:r1");
    let after_first = rig.books.net("shop1:order:100:");
    assert_eq!(after_first.get("4000"), Some(&-500_000), "{after_first:?}");
    assert_eq!(after_first.values().sum::<i64>(), 0, "balanced");

    // Nothing changed: nothing is posted.
    assert_eq!(
        rig.flow.process_order(100).await.unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(rig.books.references().len(), 1);

    // The order is edited to three units: r2 carries the difference alone.
    rig.shop.put(order(100, 0, "", 3, 11));
    assert_eq!(
        posted(rig.flow.process_order(100).await.unwrap()),
        "shop1:order:100:r2"
    );
    let journals = rig.books.journals.lock().unwrap().clone();
    let revenue_r2: i64 = journals[1]
        .lines
        .iter()
        .filter(|l| l.gl_code == "4000")
        .map(|l| l.debit - l.credit)
        .sum();
    assert_eq!(revenue_r2, -250_000, "{:?}", journals[1]);
    let net = rig.books.net("shop1:order:100:");
    assert_eq!(net.get("4000"), Some(&-750_000));
    assert_eq!(net.values().sum::<i64>(), 0);
}

#[tokio::test]
async fn a_cancelled_order_is_reversed_in_full() {
    let rig = rig();
    rig.shop.put(order(101, 0, "", 2, 11));
    rig.flow.process_order(101).await.unwrap();
    // Cancelled (5) is not a posted status.
    rig.shop.put(order(101, 0, "", 2, 5));
    assert_eq!(
        posted(rig.flow.process_order(101).await.unwrap()),
        "shop1:order:101:r2"
    );
    assert!(
        rig.books.net("shop1:order:101:").is_empty(),
        "the ledger nets to nothing"
    );
    // Reversed once: a second run finds nothing to do.
    assert_eq!(
        rig.flow.process_order(101).await.unwrap(),
        Outcome::Unchanged
    );
}

#[tokio::test]
async fn a_lost_answer_is_looked_up_and_never_posted_twice() {
    let rig = rig();
    rig.shop.put(order(102, 0, "", 1, 11));
    *rig.books.lose_next_answer.lock().unwrap() = true;
    let error = rig.flow.process_order(102).await.unwrap_err();
    assert!(
        error.is_transient(),
        "a lost answer is tried again: {error}"
    );
    // The retry finds the journal under its reference and records it; nothing more.
    assert_eq!(
        rig.flow.process_order(102).await.unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(rig.books.references(), ["shop1:order:102:r1"]);
    let revisions = rig.flow.store.revisions("main", "order:102").unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].voucher.as_deref(), Some("V1"));
}

#[tokio::test]
async fn a_refused_post_is_abandoned_and_its_number_used_again() {
    let rig = rig();
    rig.shop.put(order(103, 0, "", 1, 11));
    *rig.books.refuse_next.lock().unwrap() = true;
    let error = rig.flow.process_order(103).await.unwrap_err();
    assert!(
        matches!(error, FlowError::Qad(QadError::Business(_))),
        "{error:?}"
    );
    assert!(
        !error.is_transient(),
        "a business refusal waits for someone"
    );
    assert!(
        rig.flow
            .store
            .revisions("main", "order:103")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        posted(rig.flow.process_order(103).await.unwrap()),
        "shop1:order:103:r1"
    );
}

#[tokio::test]
async fn a_shopper_is_created_once_and_matched_after() {
    let rig = rig();
    rig.shop.put(order(104, 9, "Ada@Example.com ", 1, 11));
    rig.shop.put(order(105, 9, "ada@example.com", 1, 11));
    rig.flow.process_order(104).await.unwrap();
    rig.flow.process_order(105).await.unwrap();
    let created = rig.books.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].email, "ada@example.com");
    // A guest goes to the configured customer, creating nothing.
    rig.shop.put(order(106, 0, "guest@example.com", 1, 11));
    rig.flow.process_order(106).await.unwrap();
    assert_eq!(rig.books.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn two_qad_customers_with_one_email_are_not_guessed_between() {
    let rig = rig();
    for code in ["C1", "C2"] {
        rig.books.customers.lock().unwrap().push(CustomerRef {
            code: code.into(),
            shared_set: String::new(),
            email: "twin@example.com".into(),
            name: "Twin".into(),
        });
    }
    rig.shop.put(order(107, 3, "twin@example.com", 1, 11));
    let error = rig.flow.process_order(107).await.unwrap_err();
    assert!(matches!(error, FlowError::Refused(_)), "{error:?}");
    assert!(error.to_string().contains("C1, C2"), "{error}");
    assert!(rig.books.references().is_empty());
}

#[test]
fn dates_are_days() {
    assert_eq!(
        super::date_of("2026-11-02"),
        Some(Date::from_calendar_date(2026, time::Month::November, 2).unwrap())
    );
}
