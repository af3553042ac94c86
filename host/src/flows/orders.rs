//! The order-to-ledger flow for one connection: an order or refund job becomes the QAD
//! journal entries that make the ledger match the document's current state, posted
//! exactly once.
//!
//! For an order: fetch it in full; decide whether its status is posted (configurable;
//! incomplete, cancelled and declined orders never are); ensure the shopper is a QAD
//! customer (guests go to the configured customer); map it with the connection's
//! `order-to-gl` plugin and validate the entry against the chart of accounts; net what was
//! already posted for the order ([`super::ledger`]) and post only the difference as the
//! next revision, under the deterministic reference `<store>:order:<id>:r<n>`. The
//! revision is written to the store before the post and confirmed after it, so a crash or
//! a lost answer in between is resolved by looking the reference up in QAD first.
//!
//! A refund is its own document, posted once under `<store>:refund:<id>:r1`, and its job
//! shares the order's queue document so it runs after the order.
//!
//! Every step is written to the audit log: the raw input, the plugin (name, version,
//! hash) with its input and output, the request and QAD's answer, and the outcome.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;
use time::{Date, OffsetDateTime};
use tokio::sync::Mutex;

use super::{convert, fx, ledger};
use crate::bigcommerce::orders::{FullOrder, RefundsByOrder};
use crate::bigcommerce::{self, ClientError};
use crate::exchanges;
use crate::plugins::types::{self, JournalEntry};
use crate::plugins::{LoadedPlugin, PluginSlot};
use crate::qad::{self, Posted, Qad, QadError};
use crate::store::{Millis, Revision, Store, StoreError};

/// Which orders are posted and where.
#[derive(Debug, Clone)]
pub struct PostingPolicy {
    /// The QAD entity (company) entries are posted in.
    pub entity: String,
    pub layer: String,
    /// BigCommerce status ids whose orders have a journal; others have none (an order
    /// that moves out of these is reversed).
    pub posted_statuses: Vec<u32>,
    /// The QAD customer guest orders are posted against.
    pub guest_customer: String,
    /// The entity's base currency: entries in another currency carry the order's rate.
    pub base_currency: String,
}

impl Default for PostingPolicy {
    fn default() -> Self {
        PostingPolicy {
            entity: "10USACO".into(),
            layer: "OFFICIAL".into(),
            // Shipped, partially shipped, refunded, awaiting pickup, awaiting shipment,
            // completed, awaiting fulfillment, partially refunded: the sale happened
            // (refunds are their own documents).
            posted_statuses: vec![2, 3, 4, 8, 9, 10, 11, 14],
            guest_customer: "GUEST".into(),
            base_currency: "USD".into(),
        }
    }
}

/// Why a job did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// Try again later (a 5xx, a timeout, a lost answer, the quota).
    #[error("{0}")]
    Transient(String),
    /// Trying again will not help until someone changes something (a QAD business
    /// error, a plugin mapping error, a closed period, bad credentials).
    #[error("{0}")]
    Permanent(String),
}

impl From<ClientError> for FlowError {
    fn from(error: ClientError) -> Self {
        let text = format!("BigCommerce: {error}");
        if error.is_retryable() {
            FlowError::Transient(text)
        } else {
            FlowError::Permanent(text)
        }
    }
}

impl From<QadError> for FlowError {
    fn from(error: QadError) -> Self {
        if error.is_retryable() {
            FlowError::Transient(error.to_string())
        } else {
            FlowError::Permanent(error.to_string())
        }
    }
}

impl From<StoreError> for FlowError {
    fn from(error: StoreError) -> Self {
        FlowError::Transient(error.to_string())
    }
}

/// What processing a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A revision was posted (or found already posted) under this voucher.
    Posted { reference: String, voucher: String },
    /// A catalog update went out to this product or variant (the catalog flow).
    Sent { target: String },
    /// The ledger already matched the document (or the catalog the item).
    Unchanged,
    /// The shopper's QAD customer (found or created).
    Customer { code: String },
}

/// One connection's order flow.
pub struct OrderFlow {
    pub connection: String,
    pub store_hash: String,
    pub bigcommerce: bigcommerce::Client,
    /// The tenant over its write transport (REST, or QXtend with REST reads).
    pub qad: Qad,
    /// The connection's `order-to-gl` plugin: each record is mapped by the version
    /// active when its mapping starts.
    pub plugin: Arc<PluginSlot>,
    pub store: Arc<dyn Store>,
    pub policy: PostingPolicy,
    periods: Mutex<Option<Vec<qad::Period>>>,
    chart: Mutex<Option<Arc<HashSet<String>>>>,
    /// Orders and refunds the last poll already read (orders with their lines), so their
    /// jobs need only what the list does not carry. Lost on restart, then read again.
    prefetched: std::sync::Mutex<Prefetched>,
}

fn date_of(rfc3339: &str) -> Option<Date> {
    qad::browse::parse_date(rfc3339)
}

impl OrderFlow {
    pub fn new(
        connection: &str,
        store_hash: &str,
        bigcommerce: bigcommerce::Client,
        qad: Qad,
        plugin: Arc<PluginSlot>,
        store: Arc<dyn Store>,
        policy: PostingPolicy,
    ) -> OrderFlow {
        OrderFlow {
            connection: connection.into(),
            store_hash: store_hash.into(),
            bigcommerce,
            qad,
            plugin,
            store,
            policy,
            periods: Mutex::new(None),
            chart: Mutex::new(None),
            prefetched: std::sync::Mutex::new(Prefetched::default()),
        }
    }

    /// Appends an entry about `subject`, after the requests made since the last one.
    fn audit(&self, subject: &str, kind: &str, data: serde_json::Value) -> Result<(), FlowError> {
        exchanges::audit_entry(self.store.as_ref(), &self.connection, subject, kind, &data)?;
        Ok(())
    }

    /// The raw input: the order as BigCommerce sent it, and which refunds it has (what
    /// else was read is in the `request` entries, or came with the poll's refund read).
    fn audit_source(&self, subject: &str, full: &FullOrder) -> Result<(), FlowError> {
        let order = serde_json::from_str::<serde_json::Value>(&full.order.raw)
            .unwrap_or(serde_json::Value::Null);
        let refunds: Vec<u64> = full.refunds.iter().map(|r| r.id).collect();
        self.audit(
            subject,
            "source",
            json!({"order": order, "refunds": refunds}),
        )
    }

    /// The postable accounts of the entity, read once.
    async fn chart(&self) -> Result<Arc<HashSet<String>>, FlowError> {
        let mut chart = self.chart.lock().await;
        if let Some(chart) = chart.as_ref() {
            return Ok(chart.clone());
        }
        let accounts: HashSet<String> = self
            .qad
            .chart_of_accounts(&self.policy.entity)
            .await?
            .into_iter()
            .filter(|a| a.is_active && a.is_postable)
            .map(|a| a.gl_code)
            .collect();
        let accounts = Arc::new(accounts);
        *chart = Some(accounts.clone());
        Ok(accounts)
    }

    /// The GL year and period a date falls in (read once; a date outside every known
    /// period falls back to its calendar month, and QAD then says what is wrong).
    async fn period_of(&self, date: Date) -> Result<(i32, u32), FlowError> {
        let mut periods = self.periods.lock().await;
        if periods.is_none() {
            *periods = Some(self.qad.periods(&self.policy.entity).await?);
        }
        let found = periods
            .iter()
            .flatten()
            .find(|p| p.contains(date))
            .map(|p| (p.posting_year, p.posting_period));
        Ok(found.unwrap_or((date.year(), u32::from(u8::from(date.month())))))
    }

    /// Forgets the cached periods (after an operator reopens one).
    pub async fn forget_periods(&self) {
        *self.periods.lock().await = None;
    }

    /// The QAD customer for the order's shopper: guests go to the configured customer;
    /// a known email is remembered; otherwise QAD is searched by email and, when absent,
    /// the plugin's customer record is created (with `create` false, nothing is created:
    /// the shopper gets the code a creation would give, for a dry run or a comparison).
    async fn ensure_customer(
        &self,
        full: &FullOrder,
        subject: &str,
        create: bool,
    ) -> Result<String, FlowError> {
        if full.order.is_guest() {
            return Ok(self.policy.guest_customer.clone());
        }
        let shopper = convert::order(&self.store_hash, full, "").customer;
        match self.ensure_shopper(shopper, subject, create).await? {
            Some(code) => Ok(code),
            None => Ok(self.policy.guest_customer.clone()),
        }
    }

    /// The QAD customer for a registered shopper (`None` without an email): remembered
    /// by normalised email; else found in QAD by email; else the plugin's customer
    /// record is created, once.
    async fn ensure_shopper(
        &self,
        shopper: types::Customer,
        subject: &str,
        create: bool,
    ) -> Result<Option<String>, FlowError> {
        let email = qad::operations::normalise_email(&shopper.email);
        if email.is_empty() {
            return Ok(None);
        }
        if let Some(code) = self.store.mapped(&self.connection, "email", &email)? {
            return Ok(Some(code));
        }
        let found = self.qad.find_customers_by_email(&email).await?;
        let code = match found.as_slice() {
            [one] => one.code.clone(),
            [] if !create => return Ok(Some(self.qad.customer_code(&email, 0))),
            [] => {
                let plugin = self.plugin.get();
                let mapped =
                    tokio::task::spawn_blocking(move || plugin.map_customers(&[shopper]).results)
                        .await
                        .map_err(|e| FlowError::Transient(format!("plugin worker: {e}")))?;
                let record = mapped
                    .into_iter()
                    .next()
                    .ok_or_else(|| FlowError::Permanent("the plugin returned no customer".into()))?
                    .map_err(|e| FlowError::Permanent(e.to_string()))?;
                let address = record.address.clone().unwrap_or(types::Address {
                    first_name: String::new(),
                    last_name: String::new(),
                    company: String::new(),
                    street1: String::new(),
                    street2: String::new(),
                    city: String::new(),
                    state: String::new(),
                    zip: String::new(),
                    country: String::new(),
                    phone: String::new(),
                });
                crate::store::lease::confirm()?;
                let created = self
                    .qad
                    .create_customer(&qad::NewCustomer {
                        email: email.clone(),
                        name: record.name.clone(),
                        street: address.street1,
                        city: address.city,
                        zip: address.zip,
                        country: address.country,
                    })
                    .await?;
                self.audit(
                    subject,
                    "customer-created",
                    json!({"email": email, "code": created.code}),
                )?;
                created.code
            }
            several => {
                let codes: Vec<&str> = several.iter().map(|c| c.code.as_str()).collect();
                return Err(FlowError::Permanent(format!(
                    "several QAD customers share the email {email} ({}); map one with the id map",
                    codes.join(", ")
                )));
            }
        };
        self.store.map(&self.connection, "email", &email, &code)?;
        Ok(Some(code))
    }

    /// A shopper registered in the store (`store/customer/created`): their QAD
    /// customer exists afterwards, matched by email or created once.
    pub async fn process_customer(&self, customer_id: u64) -> Result<Outcome, FlowError> {
        let subject = format!("customer:{customer_id}");
        let Some(customer) = self.bigcommerce.customer(customer_id).await? else {
            self.audit(&subject, "gone", json!({"customer_id": customer_id}))?;
            return Ok(Outcome::Unchanged);
        };
        let known = self.store.mapped(
            &self.connection,
            "email",
            &qad::operations::normalise_email(&customer.email),
        )?;
        match self
            .ensure_shopper(convert::customer(&customer), &subject, true)
            .await?
        {
            Some(code) if known.is_none() => {
                self.audit(&subject, "customer-matched", json!({"code": code}))?;
                Ok(Outcome::Customer { code })
            }
            _ => Ok(Outcome::Unchanged),
        }
    }

    /// Maps one record with the plugin on a blocking thread and validates it against the
    /// chart of accounts.
    async fn map(&self, record: Record, subject: &str) -> Result<JournalEntry, FlowError> {
        let chart = self.chart().await?;
        let plugin = self.plugin.get();
        let input = match &record {
            Record::Order(order) => serde_json::to_value(order),
            Record::Refund(refund) => serde_json::to_value(refund),
        }
        .unwrap_or_default();
        let mapping = plugin.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mapped = match &record {
                Record::Order(order) => {
                    mapping.map_orders(std::slice::from_ref(order), Some(&chart))
                }
                Record::Refund(refund) => {
                    mapping.map_refunds(std::slice::from_ref(refund), Some(&chart))
                }
            };
            crate::metrics::global()
                .plugin_call(mapped.report.elapsed, mapped.report.fuel_consumed);
            mapped.results.into_iter().next()
        })
        .await
        .map_err(|e| FlowError::Transient(format!("plugin worker: {e}")))?
        .ok_or_else(|| FlowError::Permanent("the plugin returned nothing".into()))?;
        let plugin = plugin_identity(&plugin);
        match result {
            Ok(entry) => {
                self.audit(
                    subject,
                    "mapped",
                    json!({"plugin": plugin, "input": input, "output": entry}),
                )?;
                Ok(entry)
            }
            Err(error) => {
                self.audit(
                    subject,
                    "mapping-failed",
                    json!({"plugin": plugin, "input": input, "error": error.to_string()}),
                )?;
                Err(FlowError::Permanent(error.to_string()))
            }
        }
    }

    /// Remembers what a poll read, replacing what the previous poll left.
    pub fn prefetch(&self, orders: Vec<bigcommerce::Order>, refunds: RefundsByOrder) {
        let mut prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
        prefetched.orders = orders.into_iter().map(|o| (o.id, o)).collect();
        prefetched.refunds = Arc::new(refunds);
        prefetched.read_at = prefetched.reading_since.take();
    }

    /// A poll begins reading at `at` (its read will be handed to [`OrderFlow::prefetch`]).
    pub fn begin_poll(&self, at: Millis) {
        let mut prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
        prefetched.reading_since = Some(at);
    }

    /// The oldest moment the data a job starting `now` may use was read: now, or the
    /// start of the poll whose read it may be given.
    pub fn read_since(&self, now: Millis) -> Millis {
        let prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
        [Some(now), prefetched.read_at, prefetched.reading_since]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now)
    }

    /// The order in full: from the last poll's read when it has it (only the parts the
    /// list does not carry are asked for), else read now.
    async fn read_order(&self, order_id: u64) -> Result<Option<FullOrder>, FlowError> {
        let known = {
            let prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
            prefetched
                .orders
                .get(&order_id)
                .cloned()
                .map(|order| (order, prefetched.refunds.clone()))
        };
        Ok(match known {
            Some((order, refunds)) => Some(self.bigcommerce.complete_order(order, &refunds).await?),
            None => self.bigcommerce.full_order(order_id).await?,
        })
    }

    /// Brings the ledger in line with one order.
    pub async fn process_order(&self, order_id: u64) -> Result<Outcome, FlowError> {
        let (subject, wanted, modified) = self.wanted_for_order(order_id, true).await?;
        self.converge(&subject, "order", order_id, wanted, modified)
            .await
    }

    /// What processing the order would post now, without posting or creating anything in
    /// QAD: the next revision's reference and lines (`None`: the ledger already matches
    /// the order).
    pub async fn dry_run_order(&self, order_id: u64) -> Result<Option<Plan>, FlowError> {
        let (subject, wanted, modified) = self.wanted_for_order(order_id, false).await?;
        self.plan(&subject, "order", order_id, wanted, modified)
            .await
    }

    /// The journal the order's current state maps to in full (`None`: it should have
    /// none, its status is not posted or it is gone), creating nothing in QAD: what the
    /// ledger should hold for it, for a reconciliation.
    pub async fn expected_order(&self, order_id: u64) -> Result<Option<JournalEntry>, FlowError> {
        Ok(self.wanted_for_order(order_id, false).await?.1)
    }

    /// The journal the refund maps to in full, creating nothing in QAD.
    pub async fn expected_refund(
        &self,
        order_id: u64,
        refund_id: u64,
    ) -> Result<JournalEntry, FlowError> {
        Ok(self.wanted_for_refund(order_id, refund_id, false).await?.1)
    }

    /// The journal the order should have now (`None` when its status is not posted or it
    /// is gone), with its subject and modification time. `create`: whether a new shopper
    /// may be created as a QAD customer.
    async fn wanted_for_order(
        &self,
        order_id: u64,
        create: bool,
    ) -> Result<(String, Option<JournalEntry>, OffsetDateTime), FlowError> {
        let subject = format!("order:{order_id}");
        let full = self.read_order(order_id).await?;
        if let Some(full) = &full {
            self.audit_source(&subject, full)?;
        }
        let wanted = match &full {
            Some(full) if self.policy.posted_statuses.contains(&full.order.status_id) => {
                let customer = self.ensure_customer(full, &subject, create).await?;
                let order = convert::order(&self.store_hash, full, &customer);
                Some(self.map(Record::Order(Box::new(order)), &subject).await?)
            }
            // Not (or no longer) a sale: whatever was posted is reversed.
            _ => None,
        };
        let modified = full
            .as_ref()
            .map(|f| f.order.date_modified)
            .unwrap_or_else(OffsetDateTime::now_utc);
        Ok((subject, wanted, modified))
    }

    /// Posts one refund (its order is read for currency, lines and customer).
    pub async fn process_refund(
        &self,
        order_id: u64,
        refund_id: u64,
    ) -> Result<Outcome, FlowError> {
        let (subject, entry, created) = self.wanted_for_refund(order_id, refund_id, true).await?;
        self.converge(&subject, "refund", refund_id, Some(entry), created)
            .await
    }

    /// What processing the refund would post now, without posting or creating anything.
    pub async fn dry_run_refund(
        &self,
        order_id: u64,
        refund_id: u64,
    ) -> Result<Option<Plan>, FlowError> {
        let (subject, entry, created) = self.wanted_for_refund(order_id, refund_id, false).await?;
        self.plan(&subject, "refund", refund_id, Some(entry), created)
            .await
    }

    /// The journal the refund should have, with its subject and creation time.
    async fn wanted_for_refund(
        &self,
        order_id: u64,
        refund_id: u64,
        create: bool,
    ) -> Result<(String, JournalEntry, OffsetDateTime), FlowError> {
        let subject = format!("refund:{refund_id}");
        let full = self.read_order(order_id).await?.ok_or_else(|| {
            FlowError::Permanent(format!("order {order_id} of refund {refund_id} is gone"))
        })?;
        self.audit_source(&subject, &full)?;
        let refund = match full.refunds.iter().find(|r| r.id == refund_id) {
            Some(refund) => refund.clone(),
            None => self
                .bigcommerce
                .order_refunds(order_id)
                .await?
                .into_iter()
                .find(|r| r.id == refund_id)
                .ok_or_else(|| {
                    FlowError::Permanent(format!("refund {refund_id} is not on order {order_id}"))
                })?,
        };
        let customer = self.ensure_customer(&full, &subject, create).await?;
        let order = convert::order(&self.store_hash, &full, &customer);
        let record = convert::refund(&refund, &order);
        let entry = self.map(Record::Refund(Box::new(record)), &subject).await?;
        Ok((subject, entry, refund.created))
    }

    /// Posts the difference between `wanted` and what is posted for the document.
    async fn converge(
        &self,
        subject: &str,
        kind: &str,
        id: u64,
        wanted: Option<JournalEntry>,
        changed_at: OffsetDateTime,
    ) -> Result<Outcome, FlowError> {
        match self.plan(subject, kind, id, wanted, changed_at).await? {
            Some(plan) => self.post(plan).await,
            None => {
                self.audit(subject, "unchanged", json!({}))?;
                Ok(Outcome::Unchanged)
            }
        }
    }

    /// The revision that would bring the document's postings to `wanted`; `None` when
    /// they already agree. An earlier revision whose outcome is unknown is resolved first.
    async fn plan(
        &self,
        subject: &str,
        kind: &str,
        id: u64,
        wanted: Option<JournalEntry>,
        changed_at: OffsetDateTime,
    ) -> Result<Option<Plan>, FlowError> {
        let mut revisions = self.store.revisions(&self.connection, subject)?;
        // A revision begun but not confirmed: its post may or may not have landed.
        if let Some(open) = revisions.last().filter(|r| r.voucher.is_none()).cloned() {
            match self
                .qad
                .find_journal(&self.policy.entity, &open.external_reference)
                .await?
            {
                Some(found) => {
                    self.store.confirm_revision(
                        &self.connection,
                        subject,
                        open.number,
                        &found.voucher,
                    )?;
                    self.audit(
                        subject,
                        "resolved",
                        json!({"reference": open.external_reference, "voucher": found.voucher}),
                    )?;
                }
                None => {
                    self.store
                        .abandon_revision(&self.connection, subject, open.number)?;
                }
            }
            revisions = self.store.revisions(&self.connection, subject)?;
        }
        let posted: Vec<JournalEntry> = revisions
            .iter()
            .map(|r| serde_json::from_str(&r.entry))
            .collect::<Result<_, _>>()
            .map_err(|e| {
                FlowError::Permanent(format!(
                    "a stored revision of {subject} cannot be read: {e}"
                ))
            })?;
        let lines = ledger::difference(wanted.as_ref(), &posted);
        if lines.is_empty() {
            return Ok(None);
        }
        let number = revisions.len() as u32 + 1;
        let reference = format!("{}:{kind}:{id}:r{number}", self.store_hash);
        // The header comes from the wanted entry, or (for a reversal) the last posted one.
        let template = wanted
            .clone()
            .or_else(|| posted.last().cloned())
            .ok_or_else(|| FlowError::Permanent(format!("{subject}: nothing to post against")))?;
        let effective = if number == 1 {
            template.effective_date.clone()
        } else {
            crate::bigcommerce::wire::to_rfc3339(changed_at)
        };
        let entry = JournalEntry {
            lines,
            effective_date: effective.get(..10).unwrap_or(&effective).to_string(),
            description: if number == 1 {
                template.description.clone()
            } else {
                format!("{} (revision {number})", template.description)
            },
            ..template
        };
        let date = date_of(&entry.effective_date).ok_or_else(|| {
            FlowError::Permanent(format!(
                "{subject}: effective date `{}` is not a date",
                entry.effective_date
            ))
        })?;
        let (year, period) = self.period_of(date).await?;
        let journal = self.to_qad(&entry, &reference, date, year, period)?;
        Ok(Some(Plan {
            subject: subject.to_string(),
            number,
            reference,
            entry,
            journal,
        }))
    }

    /// Posts a planned revision: recorded first, confirmed after, abandoned when QAD
    /// refuses it, left open (to be looked up) when the answer was lost.
    async fn post(&self, plan: Plan) -> Result<Outcome, FlowError> {
        let Plan {
            subject,
            number,
            reference,
            entry,
            journal,
        } = plan;
        let subject = subject.as_str();
        // A worker whose lease was taken over must not post: the new holder will.
        crate::store::lease::confirm()?;
        self.store.begin_revision(&Revision {
            connection: self.connection.clone(),
            document: subject.into(),
            number,
            external_reference: reference.clone(),
            entry: serde_json::to_string(&entry).unwrap_or_default(),
            voucher: None,
            at: OffsetDateTime::now_utc().unix_timestamp() * 1000,
        })?;
        self.audit(
            subject,
            "posting",
            json!({"reference": reference, "entry": entry}),
        )?;
        match self.qad.post_journal(&journal).await {
            Ok(posted) => {
                let voucher = posted.journal().voucher.clone();
                self.store
                    .confirm_revision(&self.connection, subject, number, &voucher)?;
                let existed = matches!(posted, Posted::Existing(_));
                self.audit(
                    subject,
                    "posted",
                    json!({"reference": reference, "voucher": voucher, "already_there": existed}),
                )?;
                Ok(Outcome::Posted { reference, voucher })
            }
            Err(error) if error.is_retryable() => {
                // Left open: the next attempt looks the reference up before posting.
                self.audit(
                    subject,
                    "post-uncertain",
                    json!({"reference": reference, "error": error.to_string()}),
                )?;
                Err(error.into())
            }
            Err(error) => {
                self.store
                    .abandon_revision(&self.connection, subject, number)?;
                self.audit(
                    subject,
                    "post-refused",
                    json!({"reference": reference, "error": error.to_string()}),
                )?;
                Err(error.into())
            }
        }
    }

    /// The entry as QAD takes it. In a currency other than the entity's base currency,
    /// every line carries the order's rate and lines are split where needed so the entry
    /// balances after QAD's conversion too ([`fx`]).
    fn to_qad(
        &self,
        entry: &JournalEntry,
        reference: &str,
        date: Date,
        year: i32,
        period: u32,
    ) -> Result<qad::JournalEntry, FlowError> {
        let line = |l: &types::JournalLine, debit, credit, rate: Option<String>| qad::JournalLine {
            account: l.account.clone(),
            sub_account: l.sub_account.clone(),
            cost_center: l.cost_centre.clone(),
            project: String::new(),
            currency: entry.currency.clone(),
            debit,
            credit,
            exchange_rate: rate,
            tax_code: (!l.tax_code.is_empty()).then(|| l.tax_code.clone()),
            description: l.memo.clone(),
        };
        let lines = if entry.currency == self.policy.base_currency {
            entry
                .lines
                .iter()
                .map(|l| line(l, l.debit, l.credit, None))
                .collect()
        } else {
            let rate = fx::base_per_unit(entry.exchange_rate).ok_or_else(|| {
                FlowError::Permanent(format!(
                    "{reference}: no usable exchange rate from {} to {}",
                    entry.currency, self.policy.base_currency
                ))
            })?;
            let text = fx::rate_text(rate);
            let sides: Vec<fx::Side> = entry
                .lines
                .iter()
                .map(|l| fx::Side {
                    debit: l.debit,
                    credit: l.credit,
                })
                .collect();
            let splits = fx::balancing_splits(
                &sides,
                rate,
                convert::currency_decimals(&entry.currency),
                convert::currency_decimals(&self.policy.base_currency),
            )
            .map_err(|reason| FlowError::Permanent(format!("{reference}: {reason}")))?;
            let mut lines: Vec<qad::JournalLine> = entry
                .lines
                .iter()
                .map(|l| line(l, l.debit, l.credit, Some(text.clone())))
                .collect();
            for (index, part) in splits {
                let mut split = lines[index].clone();
                if split.debit > 0 {
                    lines[index].debit -= part;
                    split.debit = part;
                } else {
                    lines[index].credit -= part;
                    split.credit = part;
                }
                lines.push(split);
            }
            lines
        };
        Ok(qad::JournalEntry {
            entity: self.policy.entity.clone(),
            daybook: entry.daybook.clone(),
            layer: self.policy.layer.clone(),
            posting_date: date,
            year,
            period,
            description: entry.description.clone(),
            external_reference: reference.into(),
            lines,
        })
    }
}

/// Which plugin version mapped a record, for the audit trail.
pub fn plugin_identity(plugin: &LoadedPlugin) -> serde_json::Value {
    json!({
        "name": plugin.name(),
        "version": plugin.info().version,
        "sha256": plugin.inspection().sha256,
    })
}

/// What the last poll read.
#[derive(Default)]
struct Prefetched {
    orders: std::collections::HashMap<u64, bigcommerce::Order>,
    refunds: Arc<RefundsByOrder>,
    /// When the poll that read `orders` began reading.
    read_at: Option<Millis>,
    /// When a poll still reading began.
    reading_since: Option<Millis>,
}

/// A revision ready to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub subject: String,
    pub number: u32,
    pub reference: String,
    /// The revision in the contract's terms (its lines are the difference).
    pub entry: JournalEntry,
    /// The same, as QAD will receive it.
    pub journal: qad::JournalEntry,
}

/// A record for the plugin.
enum Record {
    Order(Box<types::Order>),
    Refund(Box<types::Refund>),
}
