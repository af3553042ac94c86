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
//!
//! The flow is split by concern: [`customers`] (shoppers to QAD customers), [`prefetch`]
//! (what the last poll read beside its orders), [`posting`] (revisions: plan, post, resolve), [`journal`]
//! (the entry as QAD takes it). It reaches BigCommerce and QAD only through its ports
//! ([`OrderSource`], [`Ledger`]), so its unit tests run in memory.

mod customers;
mod journal;
mod posting;
mod prefetch;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Arc;

use time::{Date, OffsetDateTime};
use tokio::sync::Mutex;

pub use posting::Plan;
use prefetch::Prefetched;

use super::jobs::Listing;
use super::ports::{Ledger, OrderSource};
use super::{FlowError, Outcome, convert, mapping};
use crate::bigcommerce::orders::FullOrder;
use crate::exchanges;
use crate::locks::KeyedLocks;
use crate::plugins::types::{self, JournalEntry};
use crate::plugins::{PluginSlot, Shelf};
use crate::qad;
use crate::store::Store;

/// Which orders are posted and where: `[posting]` in the connection's configuration.
#[derive(Debug, Clone)]
pub struct PostingPolicy {
    /// The QAD entity (company) entries are posted in.
    pub entity: String,
    pub layer: String,
    /// BigCommerce status ids whose orders have a journal; others have none (an order
    /// that moves out of these is reversed).
    pub posted_statuses: Vec<u32>,
    /// The QAD customer of guest orders without an email (of every guest order when
    /// `guests` is [`Guests::Shared`]).
    pub guest_customer: String,
    pub guests: Guests,
    /// The entity's base currency: entries in another currency carry the order's rate.
    pub base_currency: String,
}

/// How guest orders find their QAD customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guests {
    /// Each normalised email is one customer, matched or created as a registered
    /// shopper's is; a guest who registers later keeps it.
    #[default]
    ByEmail,
    /// Every guest order goes to the policy's guest customer.
    Shared,
}

impl PostingPolicy {
    /// QAD's official layer, where entries are posted unless configured otherwise.
    pub const OFFICIAL_LAYER: &str = "OFFICIAL";
    /// The BigCommerce statuses of a sale, posted unless configured otherwise: shipped,
    /// partially shipped, refunded, awaiting pickup, awaiting shipment, completed,
    /// awaiting fulfillment, partially refunded (refunds are their own documents).
    pub const SALE_STATUSES: [u32; 8] = [2, 3, 4, 8, 9, 10, 11, 14];
}

/// One connection's order flow.
pub struct OrderFlow {
    pub connection: String,
    pub store_hash: String,
    /// The connection's BigCommerce store.
    pub source: Arc<dyn OrderSource>,
    /// The connection's QAD tenant (over REST, or QXtend with REST reads).
    pub ledger: Arc<dyn Ledger>,
    /// The connection's `order-to-gl` plugin: each record is mapped by the version
    /// active when its mapping starts.
    pub plugin: Arc<PluginSlot>,
    pub store: Arc<dyn Store>,
    pub policy: PostingPolicy,
    /// How long after a post whose answer was not seen it is looked up to learn whether
    /// it landed (see [`posting`]); the document waits until then.
    pub settle_after: std::time::Duration,
    /// Where a plugin an operator names for a replay is loaded from (`None`: such a
    /// record is refused, saying so).
    pub others: Option<Shelf>,
    periods: Mutex<Option<Vec<qad::Period>>>,
    chart: Mutex<Option<Arc<HashSet<String>>>>,
    /// Refunds and shoppers the last poll already read, so its jobs need only what they
    /// do not carry. Lost on restart, then read again.
    prefetched: std::sync::Mutex<Prefetched>,
    /// One job at a time per shopper (by normalised email) matches or creates their QAD
    /// customer: jobs run at once (see [`crate::flows::worker::Worker::in_flight`]) for
    /// two orders of a new shopper would otherwise both find no customer.
    shoppers: Arc<KeyedLocks<String>>,
}

fn date_of(rfc3339: &str) -> Option<Date> {
    qad::browse::parse_date(rfc3339)
}

impl OrderFlow {
    pub fn new(
        connection: &str,
        store_hash: &str,
        source: Arc<dyn OrderSource>,
        ledger: Arc<dyn Ledger>,
        plugin: Arc<PluginSlot>,
        store: Arc<dyn Store>,
        policy: PostingPolicy,
    ) -> OrderFlow {
        OrderFlow {
            connection: connection.into(),
            store_hash: store_hash.into(),
            source,
            ledger,
            plugin,
            store,
            policy,
            settle_after: std::time::Duration::from_secs(120),
            others: None,
            periods: Mutex::new(None),
            chart: Mutex::new(None),
            prefetched: std::sync::Mutex::new(Prefetched::default()),
            shoppers: Arc::default(),
        }
    }

    /// This flow with plugin `name` (from [`Self::others`]: the plugin directory or the
    /// built-ins) in place of its own, with its settings and limits: for a record an
    /// operator replays, or dry-runs, with another plugin version. Refused when there is
    /// no such plugin, it does not load, or it maps another world.
    pub async fn with_plugin_named(&self, name: &str) -> Result<OrderFlow, FlowError> {
        let Some(shelf) = self.others.clone() else {
            return Err(FlowError::Refused(format!(
                "plugin `{}` cannot be loaded here: this process has no plugin directory or built-ins to load it from",
                crate::plugins::text::printable(name)
            )));
        };
        let like = self.plugin.get();
        let name = name.to_string();
        let loaded = tokio::task::spawn_blocking(move || shelf.load_like(&name, &like)).await??;
        let mut other = OrderFlow::new(
            &self.connection,
            &self.store_hash,
            self.source.clone(),
            self.ledger.clone(),
            PluginSlot::fixed(loaded),
            self.store.clone(),
            self.policy.clone(),
        );
        other.settle_after = self.settle_after;
        other.others = self.others.clone();
        other.shoppers = self.shoppers.clone();
        Ok(other)
    }

    /// Appends an entry about `subject`, after the requests made since the last one.
    async fn audit(
        &self,
        subject: &str,
        kind: &str,
        data: impl serde::Serialize,
    ) -> Result<(), FlowError> {
        exchanges::audit_entry(self.store.as_ref(), &self.connection, subject, kind, &data).await?;
        Ok(())
    }

    /// The raw input: the order as BigCommerce sent it, and which refunds it has (what
    /// else was read is in the `request` entries, or came with the poll's refund read).
    async fn audit_source(&self, subject: &str, full: &FullOrder) -> Result<(), FlowError> {
        /// The entry's data: the order's text kept as it was read (it was parsed from
        /// JSON), not parsed again to be written.
        #[derive(serde::Serialize)]
        struct Source<'a> {
            order: Option<&'a serde_json::value::RawValue>,
            refunds: Vec<u64>,
        }
        let source = Source {
            order: serde_json::from_str(&full.order.raw).ok(),
            refunds: full.refunds.iter().map(|r| r.id).collect(),
        };
        self.audit(subject, "source", &source).await
    }

    /// The postable accounts of the entity, read once.
    async fn chart(&self) -> Result<Arc<HashSet<String>>, FlowError> {
        let mut chart = self.chart.lock().await;
        if let Some(chart) = chart.as_ref() {
            return Ok(chart.clone());
        }
        let accounts: HashSet<String> = self
            .ledger
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
            *periods = Some(self.ledger.periods(&self.policy.entity).await?);
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
        let result = mapping::on_blocking_thread(&plugin, move |plugin| {
            let mapped = match &record {
                Record::Order(order) => {
                    plugin.map_orders(std::slice::from_ref(order), Some(&chart))
                }
                Record::Refund(refund) => {
                    plugin.map_refunds(std::slice::from_ref(refund), Some(&chart))
                }
            };
            crate::metrics::global()
                .plugin_call(mapped.report.elapsed, mapped.report.fuel_consumed);
            mapped.results.into_iter().next()
        })
        .await?
        .ok_or_else(|| FlowError::Refused("the plugin returned nothing".into()))?;
        mapping::audit_mapping(
            self.store.as_ref(),
            &self.connection,
            subject,
            &mapping::plugin_identity(&plugin),
            &input,
            result.as_ref(),
        )
        .await?;
        Ok(result?)
    }

    /// Brings the ledger in line with one order (`listed`: as a poll listed it).
    pub async fn process_order(
        &self,
        order_id: u64,
        listed: Option<&Listing>,
    ) -> Result<Outcome, FlowError> {
        let wanted = self.wanted_for_order(order_id, listed, true).await?;
        self.converge("order", order_id, wanted).await
    }

    /// What processing the order would post now, without posting or creating anything in
    /// QAD: the next revision's reference and lines (`None`: the ledger already matches
    /// the order).
    pub async fn dry_run_order(&self, order_id: u64) -> Result<Option<Plan>, FlowError> {
        let wanted = self.wanted_for_order(order_id, None, false).await?;
        self.plan("order", order_id, wanted).await
    }

    /// The journal the order's current state maps to in full (`None`: it should have
    /// none, its status is not posted or it is gone), creating nothing in QAD: what the
    /// ledger should hold for it, for a reconciliation.
    /// (`listed`: the order as a list gave it.)
    pub async fn expected_order(
        &self,
        order_id: u64,
        listed: Option<&Listing>,
    ) -> Result<Option<JournalEntry>, FlowError> {
        Ok(self.wanted_for_order(order_id, listed, false).await?.entry)
    }

    /// The journal the refund maps to in full, creating nothing in QAD.
    pub async fn expected_refund(
        &self,
        order_id: u64,
        refund_id: u64,
        listed: Option<&Listing>,
    ) -> Result<JournalEntry, FlowError> {
        let wanted = self
            .wanted_for_refund(order_id, refund_id, listed, false)
            .await?;
        wanted
            .entry
            .ok_or_else(|| FlowError::Refused(format!("refund {refund_id} maps to nothing")))
    }

    /// The journal the order should have now (`None` when its status is not posted or it
    /// is gone). `listed`: the order as a poll listed it; `create`: whether a new shopper
    /// may be created as a QAD customer.
    async fn wanted_for_order(
        &self,
        order_id: u64,
        listed: Option<&Listing>,
        create: bool,
    ) -> Result<Wanted, FlowError> {
        let subject = format!("order:{order_id}");
        let (full, revisions) = self.read_order(&subject, order_id, listed).await?;
        if let Some(full) = &full {
            self.audit_source(&subject, full).await?;
        }
        let wanted = match &full {
            Some(full) if self.policy.posted_statuses.contains(&full.order.status_id) => {
                let customer = self.ensure_customer(full, &subject, create).await?;
                let order = convert::order(&self.store_hash, full, &customer)?;
                Some(self.map(Record::Order(Box::new(order)), &subject).await?)
            }
            // Not (or no longer) a sale: whatever was posted is reversed.
            _ => None,
        };
        let changed_at = full
            .as_ref()
            .map(|f| f.order.date_modified)
            .unwrap_or_else(OffsetDateTime::now_utc);
        Ok(Wanted {
            subject,
            entry: wanted,
            changed_at,
            revisions,
        })
    }

    /// Posts one refund (its order is read for currency, lines and customer, unless a poll
    /// `listed` it).
    pub async fn process_refund(
        &self,
        order_id: u64,
        refund_id: u64,
        listed: Option<&Listing>,
    ) -> Result<Outcome, FlowError> {
        let wanted = self
            .wanted_for_refund(order_id, refund_id, listed, true)
            .await?;
        self.converge("refund", refund_id, wanted).await
    }

    /// What processing the refund would post now, without posting or creating anything.
    pub async fn dry_run_refund(
        &self,
        order_id: u64,
        refund_id: u64,
    ) -> Result<Option<Plan>, FlowError> {
        let wanted = self
            .wanted_for_refund(order_id, refund_id, None, false)
            .await?;
        self.plan("refund", refund_id, wanted).await
    }

    /// The journal the refund should have (dated when the refund was made).
    async fn wanted_for_refund(
        &self,
        order_id: u64,
        refund_id: u64,
        listed: Option<&Listing>,
        create: bool,
    ) -> Result<Wanted, FlowError> {
        let subject = format!("refund:{refund_id}");
        let (full, revisions) = self.read_order(&subject, order_id, listed).await?;
        let full = full.ok_or_else(|| {
            FlowError::Refused(format!("order {order_id} of refund {refund_id} is gone"))
        })?;
        self.audit_source(&subject, &full).await?;
        let refund = match full.refunds.iter().find(|r| r.id == refund_id) {
            Some(refund) => refund.clone(),
            None => self
                .source
                .order_refunds(order_id)
                .await?
                .into_iter()
                .find(|r| r.id == refund_id)
                .ok_or_else(|| {
                    FlowError::Refused(format!("refund {refund_id} is not on order {order_id}"))
                })?,
        };
        let customer = self.ensure_customer(&full, &subject, create).await?;
        let order = convert::order(&self.store_hash, &full, &customer)?;
        let record = convert::refund(&refund, &order)?;
        let entry = self.map(Record::Refund(Box::new(record)), &subject).await?;
        Ok(Wanted {
            subject,
            entry: Some(entry),
            changed_at: refund.created,
            revisions,
        })
    }
}

/// What a document's postings should add up to, as its current state maps.
struct Wanted {
    /// `order:ID` or `refund:ID`.
    subject: String,
    /// The journal in full (`None`: it should have none).
    entry: Option<JournalEntry>,
    /// When the document last changed (a later revision is dated then).
    changed_at: OffsetDateTime,
    /// The document's revisions, when they were read on the way (they cannot change
    /// while its job runs: a document's jobs run one at a time).
    revisions: Option<Vec<crate::store::Revision>>,
}

/// A record for the plugin.
enum Record {
    Order(Box<types::Order>),
    Refund(Box<types::Refund>),
}
