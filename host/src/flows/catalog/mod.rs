//! The catalog flow for one connection: QAD item and price changes become BigCommerce
//! catalog updates, matched by SKU.
//!
//! A poll reads the items and the price list rows changed since its two cursors; every SKU
//! touched by either is read as it stands now (the item and all its price rows in effect
//! today, in the item's unit) and mapped by the connection's `item-to-catalog` plugin. The
//! item master's own list price is offered to the plugin as the price list
//! [`ITEM_PRICE_LIST`] in the tenant's currency, beside the real price lists, so settings
//! choose which one becomes the store price.
//!
//! An update identical to the last one BigCommerce accepted for the SKU (same content
//! hash, kept in the store) is not sent again. The others are matched to their product or
//! variant (cached in the store's id map; a cached target BigCommerce no longer knows is
//! looked up again) and sent in batches of [`catalog::PRODUCT_BATCH`] products and
//! [`catalog::VARIANT_BATCH`] variants at catalog priority. Each accepted update's hash is
//! recorded as soon as its batch is answered, so a run cut short resends nothing already
//! accepted.
//!
//! Prices also change without a change in QAD: a row starts or ends on its dates. Each
//! run therefore also reads again the items with a price row starting, or ending the day
//! before, on any day since the last run ("today" is the UTC date).
//!
//! What fails for one item (the plugin refuses it, the SKU is not in the store, a 207 or a
//! refused batch names it) is parked as a `catalog` job of document `item:<SKU>` with the
//! reason, for the operator to see and replay; the rest of the run goes on. The cursors
//! move only once every change up to them is sent, found unchanged or parked; a failure of
//! the run itself (QAD or BigCommerce unreachable) leaves them, and the next run reads the
//! same changes again, sending only what was not yet accepted.
//!
//! A product edited in the store is checked against the item master by a `product` job
//! (see [`drift`]): what differs is reported or restored.
//!
//! Every step is audited under `item:<SKU>` (the item as mapped with the plugin's output,
//! then sent, unchanged or failed); the requests a poll makes for many items at once are
//! audited under [`POLL_SUBJECT`].

mod drift;
mod items;
mod send;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Date, OffsetDateTime};

pub use drift::{
    Difference, DriftPolicy, PRODUCT_JOB_KIND, ProductJobInput, RESTORE_QUIET, product_job,
};
pub use items::UnreadableRow;
use items::erp_item;

use super::ports::{CatalogSink, ItemSource};
use super::{FlowError, Outcome, mapping};

use crate::bigcommerce::catalog::{
    self, ItemFailure, PRODUCT_BATCH, ProductUpdate, SkuTarget, VARIANT_BATCH, VariantUpdate,
};
use crate::bigcommerce::wire::Number;
use crate::exchanges::{self, Exchange};
use crate::plugins::types::{CatalogUpdate, ErpItem, ErpPrice};
use crate::plugins::{LoadedPlugin, PluginSlot, World};
use crate::qad::browse;
use crate::qad::{ChangeCursor, ItemChange, PriceChange};
use crate::store::{CursorMove, Job, NewJob, Store, StoreError};

/// The price list name under which an item master's own list price reaches the plugin.
pub const ITEM_PRICE_LIST: &str = "item-master";

/// The audit subject of the requests a poll makes for many items at once.
pub const POLL_SUBJECT: &str = "catalog:poll";

/// The job kind of a catalog item that failed.
pub const JOB_KIND: &str = "catalog";

const ITEMS_CURSOR: &str = "catalog-items";
const PRICES_CURSOR: &str = "catalog-prices";
/// The last day whose price rows starting and ending were taken into account.
const EFFECTIVE_CURSOR: &str = "catalog-effective";
/// Id map: SKU to where it lives in the store ([`encode_target`]).
const TARGET_MAP: &str = "sku";
/// Id map: SKU to the content hash of the last update BigCommerce accepted for it.
const SENT_MAP: &str = "catalog-sent";

/// What a poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CatalogStats {
    /// SKUs whose item or prices changed.
    pub items_read: u64,
    /// Updates BigCommerce accepted.
    pub sent: u64,
    /// Items whose update was already in the store (or that need none).
    pub unchanged: u64,
    /// Items parked with a reason.
    pub parked: u64,
    /// Batch requests sent.
    pub batches: u64,
}

/// What a catalog job asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogJobInput {
    pub sku: String,
    /// Where it came from (`poll`, `replay`).
    pub source: String,
}

/// The job for one item; `version` tells changes apart (a digest of the item as read).
pub fn catalog_job(connection: &str, sku: &str, version: &str, source: &str) -> NewJob {
    NewJob {
        connection: connection.into(),
        kind: JOB_KIND.into(),
        key: format!("item:{sku}:{version}"),
        document: subject(sku),
        payload: json!(CatalogJobInput {
            sku: sku.into(),
            source: source.into(),
        })
        .to_string(),
        not_before: None,
    }
}

fn subject(sku: &str) -> String {
    format!("item:{sku}")
}

/// One connection's catalog flow.
pub struct CatalogFlow {
    pub connection: String,
    /// The connection's BigCommerce catalog.
    pub sink: Arc<dyn CatalogSink>,
    /// The connection's QAD items and prices (read over REST whatever the write
    /// transport).
    pub items: Arc<dyn ItemSource>,
    /// The connection's `item-to-catalog` plugin (the version active when a run starts
    /// maps the whole run).
    pub plugin: Arc<PluginSlot>,
    pub store: Arc<dyn Store>,
    /// The currency of item master list prices (the tenant's domain currency).
    pub item_currency: String,
    /// The date prices are judged in effect on (the UTC date; tests move it).
    pub today: Arc<dyn Fn() -> Date + Send + Sync>,
    /// What a product found differing from the item master gets (see [`drift`]).
    pub drift: DriftPolicy,
}

/// An item ready to send: its mapped update and that update's content hash.
struct Pending {
    sku: String,
    /// A digest of the item as read, naming the change in a parked job's key.
    version: String,
    update: CatalogUpdate,
    hash: String,
}

impl Pending {
    /// The update mapped from `item`, with its content hash and the item's version.
    fn new(item: &ErpItem, update: CatalogUpdate) -> Pending {
        let hash = digest(&serde_json::to_string(&update).expect("an update serialises"));
        Pending {
            sku: item.sku.clone(),
            version: item_version(item),
            update,
            hash,
        }
    }
}

/// A digest of the item as read, naming the change in a parked job's key.
fn item_version(item: &ErpItem) -> String {
    digest(&serde_json::to_string(item).expect("an item serialises"))
}

/// What became of one item: handled, or failed with the reason it is parked with.
enum Ended {
    Handled(Outcome),
    Failed(String),
}

/// One item (its SKU and the version read) and what became of it.
type ItemResult = (String, String, Ended);

/// The items of one run and what became of them.
#[derive(Default)]
struct Run {
    results: Vec<ItemResult>,
    batches: u64,
}

impl Run {
    fn done(&mut self, sku: &str, version: &str, outcome: Outcome) {
        self.results.push((
            sku.to_string(),
            version.to_string(),
            Ended::Handled(outcome),
        ));
    }

    fn failed(&mut self, sku: &str, version: &str, reason: String) {
        self.results
            .push((sku.to_string(), version.to_string(), Ended::Failed(reason)));
    }
}

impl CatalogFlow {
    /// The flow; item master prices are taken to be in the currency the tenant's
    /// configuration gives its customers (the domain's currency).
    pub fn new(
        connection: String,
        sink: Arc<dyn CatalogSink>,
        items: Arc<dyn ItemSource>,
        plugin: Arc<PluginSlot>,
        store: Arc<dyn Store>,
    ) -> CatalogFlow {
        let item_currency = items.item_currency();
        CatalogFlow {
            connection,
            sink,
            items,
            plugin,
            store,
            item_currency,
            today: Arc::new(|| OffsetDateTime::now_utc().date()),
            drift: DriftPolicy::default(),
        }
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

    /// One `request` entry per exchange, credentials already redacted.
    async fn audit_exchanges(
        &self,
        subject: &str,
        exchanges: Vec<Exchange>,
    ) -> Result<(), StoreError> {
        exchanges::audit(self.store.as_ref(), &self.connection, subject, exchanges).await
    }

    /// A change cursor: as stored (to move it from) and as read.
    async fn cursor(&self, name: &str) -> Result<(Option<String>, ChangeCursor), FlowError> {
        let stored = self.store.cursor(&self.connection, name).await?;
        let cursor = match &stored {
            None => ChangeCursor::default(),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                FlowError::Refused(format!(
                    "the stored cursor `{name}` cannot be read ({e}); nothing was read, so \
                     nothing is lost: correct the cursor in the store"
                ))
            })?,
        };
        Ok((stored, cursor))
    }

    /// One run: every item and price changed since the cursors is mapped, sent or found
    /// unchanged, or parked; then the cursors move.
    pub async fn poll(&self) -> Result<CatalogStats, FlowError> {
        let (result, rest) = exchanges::capture(self.poll_captured()).await;
        self.audit_exchanges(POLL_SUBJECT, rest).await?;
        result
    }

    /// A plugin that cannot map items fails the run rather than every item: nothing is
    /// parked and the cursors stay until it is replaced.
    fn check_plugin(&self) -> Result<Arc<LoadedPlugin>, FlowError> {
        let plugin = self.plugin.get();
        let name = plugin.name();
        if plugin.world() != World::ItemToCatalog {
            return Err(FlowError::Refused(format!(
                "plugin `{name}` is an {} plugin; the catalog flow needs an {} plugin",
                plugin.world(),
                World::ItemToCatalog
            )));
        }
        if plugin.is_quarantined() {
            return Err(FlowError::Refused(format!(
                "plugin `{name}` is quarantined after repeated faults; load a new version"
            )));
        }
        Ok(plugin)
    }

    async fn poll_captured(&self) -> Result<CatalogStats, FlowError> {
        let plugin = self.check_plugin()?;
        let today = (self.today)();
        let (items_read, item_cursor) = self.cursor(ITEMS_CURSOR).await?;
        let (prices_read, price_cursor) = self.cursor(PRICES_CURSOR).await?;
        let effective_read = self
            .store
            .cursor(&self.connection, EFFECTIVE_CURSOR)
            .await?;
        let (items, next_items) = self.items.items_changed_since(&item_cursor).await?;
        let (prices, next_prices) = self.items.prices_changed_since(&price_cursor).await?;
        let mut changed: BTreeMap<String, Option<ItemChange>> = BTreeMap::new();
        for price in prices {
            changed.entry(price.item_code).or_default();
        }
        if let Some(last) = last_effective_day(effective_read.as_deref())?
            && last < today
        {
            let from = last.next_day().unwrap_or(today);
            for sku in self.items.items_with_prices_turning(from, today).await? {
                changed.entry(sku).or_default();
            }
        }
        for item in items {
            changed.insert(item.item_code.clone(), Some(item));
        }
        let mut stats = CatalogStats {
            items_read: changed.len() as u64,
            ..CatalogStats::default()
        };
        let mut run = Run::default();
        let mut read = Vec::new();
        for (sku, item) in changed {
            let item = match item {
                Some(item) => Some(item),
                None => self.items.item(&sku).await?,
            };
            let Some(item) = item else {
                let reason =
                    format!("a price list row names item {sku}, which is not in QAD's item master");
                run.failed(&sku, &digest(&reason), reason);
                continue;
            };
            let prices = self.items.prices_of_item(&sku).await?;
            match erp_item(&item, &prices, &self.item_currency, today) {
                Ok(erp) => read.push(erp),
                Err(unreadable) => {
                    let reason = unreadable.to_string();
                    run.failed(&sku, &digest(&reason), reason)
                }
            }
        }
        self.audit_exchanges(POLL_SUBJECT, exchanges::take())
            .await?;
        self.handle(&plugin, read, POLL_SUBJECT, &mut run).await?;
        stats.batches = run.batches;
        for (sku, version, result) in &run.results {
            match result {
                Ended::Handled(Outcome::Unchanged) => stats.unchanged += 1,
                Ended::Handled(_) => stats.sent += 1,
                Ended::Failed(reason) => {
                    stats.parked += 1;
                    self.park(sku, version, reason).await?;
                }
            }
        }
        // The three move together, and only from where this run read them (another
        // replica's run of this poll may have moved them first).
        let text =
            |cursor: &ChangeCursor| serde_json::to_string(cursor).expect("a cursor serialises");
        let moves = [
            (ITEMS_CURSOR, items_read, text(&next_items)),
            (PRICES_CURSOR, prices_read, text(&next_prices)),
            (EFFECTIVE_CURSOR, effective_read, browse::format_date(today)),
        ]
        .map(|(name, from, to)| CursorMove {
            name: name.into(),
            from,
            to,
        });
        self.store.move_cursors(&self.connection, &moves).await?;
        tracing::info!(connection = %self.connection, ?stats, "catalog poll");
        Ok(stats)
    }

    /// Parks an item's failure as a `catalog` job (once per change of the item).
    async fn park(&self, sku: &str, version: &str, reason: &str) -> Result<(), FlowError> {
        let job = catalog_job(&self.connection, sku, version, "poll");
        let parked = self.store.enqueue_parked(&job, reason).await?;
        tracing::warn!(connection = %self.connection, sku, %reason, "catalog item parked");
        self.audit(
            &subject(sku),
            "parked",
            json!({"job": parked.id(), "reason": reason}),
        )
        .await
    }

    /// Brings one item's catalog entry in line with QAD now (a replayed parked job).
    pub async fn process_item(&self, sku: &str) -> Result<Outcome, FlowError> {
        let plugin = self.check_plugin()?;
        let item = self.items.item(sku).await?.ok_or_else(|| {
            FlowError::Refused(format!("item {sku} is no longer in QAD's item master"))
        })?;
        let prices = self.items.prices_of_item(sku).await?;
        let erp = erp_item(&item, &prices, &self.item_currency, (self.today)())?;
        let mut run = Run::default();
        self.handle(&plugin, vec![erp], &subject(sku), &mut run)
            .await?;
        match run.results.pop() {
            Some((_, _, Ended::Handled(outcome))) => Ok(outcome),
            Some((_, _, Ended::Failed(reason))) => Err(FlowError::Refused(reason)),
            None => Err(FlowError::Refused(format!("item {sku} was not handled"))),
        }
    }

    /// Runs a queued `catalog` job.
    pub async fn run_job(&self, job: &Job) -> Result<Outcome, FlowError> {
        let input: CatalogJobInput = serde_json::from_str(&job.payload).map_err(|e| {
            FlowError::Refused(format!("the catalog job's input cannot be read: {e}"))
        })?;
        self.process_item(&input.sku).await
    }

    /// Maps, resolves and sends `items`, recording what became of each in `run`; the
    /// requests made for several items at once are audited under `trail`. An error is a
    /// failure of the whole run (QAD, BigCommerce or the store unreachable).
    async fn handle(
        &self,
        plugin: &Arc<LoadedPlugin>,
        items: Vec<ErpItem>,
        trail: &str,
        run: &mut Run,
    ) -> Result<(), FlowError> {
        if items.is_empty() {
            return Ok(());
        }
        let identity = mapping::plugin_identity(plugin);
        let inputs = items.clone();
        let mapped =
            mapping::on_blocking_thread(plugin, move |plugin| plugin.map_items(&inputs).results)
                .await?;
        let mut pending = Vec::new();
        for (item, result) in items.iter().zip(mapped) {
            let sku = item.sku.clone();
            let subject = subject(&sku);
            let version = item_version(item);
            mapping::audit_mapping(
                self.store.as_ref(),
                &self.connection,
                &subject,
                &identity,
                item,
                result.as_ref(),
            )
            .await?;
            let update = match result {
                Err(error) => {
                    run.failed(&sku, &version, format!("item {sku}: {error}"));
                    continue;
                }
                Ok(update) => update,
            };
            let Some(update) = update else {
                self.audit(
                    &subject,
                    "unchanged",
                    json!({"reason": "the plugin asks for no change"}),
                )
                .await?;
                run.done(&sku, &version, Outcome::Unchanged);
                continue;
            };
            let ready = Pending::new(item, update);
            if self
                .store
                .mapped(&self.connection, SENT_MAP, &ready.update.sku)
                .await?
                .as_ref()
                == Some(&ready.hash)
            {
                self.audit(&subject, "unchanged", json!({"hash": ready.hash}))
                    .await?;
                run.done(&sku, &version, Outcome::Unchanged);
                continue;
            }
            pending.push(ready);
        }
        self.resolve_and_send(pending, trail, run).await
    }
}

/// The last day a run judged prices on, from its stored cursor (`None` before the first
/// run, which reads every item anyway).
fn last_effective_day(stored: Option<&str>) -> Result<Option<Date>, FlowError> {
    match stored {
        None => Ok(None),
        Some(text) => browse::parse_date(text).map(Some).ok_or_else(|| {
            FlowError::Refused(format!(
                "the stored cursor `{EFFECTIVE_CURSOR}` is `{text}`, not a yyyy-mm-dd date"
            ))
        }),
    }
}

/// A short, stable content digest.
fn digest(text: &str) -> String {
    crate::digest::sha256_hex(text)[..24].to_string()
}
