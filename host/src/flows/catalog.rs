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
//! Every step is audited under `item:<SKU>` (the item as mapped with the plugin's output,
//! then sent, unchanged or failed); the requests a poll makes for many items at once are
//! audited under [`POLL_SUBJECT`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Date, OffsetDateTime};

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
use crate::store::{Job, NewJob, Store, StoreError};

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
}

/// An item ready to send: its mapped update and that update's content hash.
struct Pending {
    sku: String,
    /// A digest of the item as read, naming the change in a parked job's key.
    version: String,
    update: CatalogUpdate,
    hash: String,
}

/// What became of one item.
type ItemResult = (String, String, Result<Outcome, String>);

/// The items of one run and what became of them.
#[derive(Default)]
struct Run {
    results: Vec<ItemResult>,
    batches: u64,
}

impl Run {
    fn done(&mut self, sku: &str, version: &str, outcome: Outcome) {
        self.results
            .push((sku.to_string(), version.to_string(), Ok(outcome)));
    }

    fn failed(&mut self, sku: &str, version: &str, reason: String) {
        self.results
            .push((sku.to_string(), version.to_string(), Err(reason)));
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
        }
    }

    /// Appends an entry about `subject`, after the requests made since the last one.
    fn audit(&self, subject: &str, kind: &str, data: serde_json::Value) -> Result<(), FlowError> {
        exchanges::audit_entry(self.store.as_ref(), &self.connection, subject, kind, &data)?;
        Ok(())
    }

    /// One `request` entry per exchange, credentials already redacted.
    fn audit_exchanges(&self, subject: &str, exchanges: Vec<Exchange>) -> Result<(), StoreError> {
        exchanges::audit(self.store.as_ref(), &self.connection, subject, exchanges)
    }

    fn cursor(&self, name: &str) -> Result<ChangeCursor, FlowError> {
        match self.store.cursor(&self.connection, name)? {
            None => Ok(ChangeCursor::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                FlowError::Refused(format!(
                    "the stored cursor `{name}` cannot be read ({e}); nothing was read, so \
                     nothing is lost: correct the cursor in the store"
                ))
            }),
        }
    }

    fn set_cursor(&self, name: &str, cursor: &ChangeCursor) -> Result<(), FlowError> {
        let text = serde_json::to_string(cursor).expect("a cursor serialises");
        self.store.set_cursor(&self.connection, name, &text)?;
        Ok(())
    }

    /// One run: every item and price changed since the cursors is mapped, sent or found
    /// unchanged, or parked; then the cursors move.
    pub async fn poll(&self) -> Result<CatalogStats, FlowError> {
        let (result, rest) = exchanges::capture(self.poll_captured()).await;
        self.audit_exchanges(POLL_SUBJECT, rest)?;
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
        let item_cursor = self.cursor(ITEMS_CURSOR)?;
        let price_cursor = self.cursor(PRICES_CURSOR)?;
        let (items, next_items) = self.items.items_changed_since(&item_cursor).await?;
        let (prices, next_prices) = self.items.prices_changed_since(&price_cursor).await?;
        let mut changed: BTreeMap<String, Option<ItemChange>> = BTreeMap::new();
        for price in prices {
            changed.entry(price.item_code).or_default();
        }
        if let Some(last) = self.last_effective_day()?
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
                Err(reason) => run.failed(&sku, &digest(&reason), reason),
            }
        }
        self.audit_exchanges(POLL_SUBJECT, exchanges::take())?;
        self.handle(&plugin, read, POLL_SUBJECT, &mut run).await?;
        stats.batches = run.batches;
        for (sku, version, result) in &run.results {
            match result {
                Ok(Outcome::Unchanged) => stats.unchanged += 1,
                Ok(_) => stats.sent += 1,
                Err(reason) => {
                    stats.parked += 1;
                    self.park(sku, version, reason)?;
                }
            }
        }
        self.set_cursor(ITEMS_CURSOR, &next_items)?;
        self.set_cursor(PRICES_CURSOR, &next_prices)?;
        self.store.set_cursor(
            &self.connection,
            EFFECTIVE_CURSOR,
            &browse::format_date(today),
        )?;
        tracing::info!(connection = %self.connection, ?stats, "catalog poll");
        Ok(stats)
    }

    /// The last day a run judged prices on (`None` before the first run, which reads
    /// every item anyway).
    fn last_effective_day(&self) -> Result<Option<Date>, FlowError> {
        match self.store.cursor(&self.connection, EFFECTIVE_CURSOR)? {
            None => Ok(None),
            Some(text) => browse::parse_date(&text).map(Some).ok_or_else(|| {
                FlowError::Refused(format!(
                    "the stored cursor `{EFFECTIVE_CURSOR}` is `{text}`, not a yyyy-mm-dd date"
                ))
            }),
        }
    }

    /// Parks an item's failure as a `catalog` job (once per change of the item).
    fn park(&self, sku: &str, version: &str, reason: &str) -> Result<(), FlowError> {
        let job = catalog_job(&self.connection, sku, version, "poll");
        let parked = self.store.enqueue_parked(&job, reason)?;
        tracing::warn!(connection = %self.connection, sku, %reason, "catalog item parked");
        self.audit(
            &subject(sku),
            "parked",
            json!({"job": parked.id(), "reason": reason}),
        )
    }

    /// Brings one item's catalog entry in line with QAD now (a replayed parked job).
    pub async fn process_item(&self, sku: &str) -> Result<Outcome, FlowError> {
        let plugin = self.check_plugin()?;
        let item = self.items.item(sku).await?.ok_or_else(|| {
            FlowError::Refused(format!("item {sku} is no longer in QAD's item master"))
        })?;
        let prices = self.items.prices_of_item(sku).await?;
        let erp = erp_item(&item, &prices, &self.item_currency, (self.today)())
            .map_err(FlowError::Refused)?;
        let mut run = Run::default();
        self.handle(&plugin, vec![erp], &subject(sku), &mut run)
            .await?;
        match run.results.pop() {
            Some((_, _, Ok(outcome))) => Ok(outcome),
            Some((_, _, Err(reason))) => Err(FlowError::Refused(reason)),
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
            let version = digest(&serde_json::to_string(item).expect("an item serialises"));
            mapping::audit_mapping(
                self.store.as_ref(),
                &self.connection,
                &subject,
                &identity,
                item,
                result.as_ref(),
            )?;
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
                )?;
                run.done(&sku, &version, Outcome::Unchanged);
                continue;
            };
            let hash = digest(&serde_json::to_string(&update).expect("an update serialises"));
            if self.store.mapped(&self.connection, SENT_MAP, &update.sku)? == Some(hash.clone()) {
                self.audit(&subject, "unchanged", json!({"hash": hash}))?;
                run.done(&sku, &version, Outcome::Unchanged);
                continue;
            }
            pending.push(Pending {
                sku,
                version,
                update,
                hash,
            });
        }
        self.resolve_and_send(pending, trail, run).await
    }

    /// Finds each pending update's target (cached, else looked up) and sends; an update a
    /// cached target refused is tried once more after looking its SKU up again, in case
    /// the product or variant was replaced.
    async fn resolve_and_send(
        &self,
        pending: Vec<Pending>,
        trail: &str,
        run: &mut Run,
    ) -> Result<(), FlowError> {
        let mut cached = Vec::new();
        let mut unknown = Vec::new();
        for item in pending {
            match self.cached_target(&item.update.sku)? {
                Some(target) => cached.push((item, target)),
                None => unknown.push(item),
            }
        }
        let mut located = self.locate(unknown, trail, run).await?;
        let refused = self.send(cached, trail, run).await?;
        // Refused at a cached target: the SKU may have moved (a product deleted and made
        // again); look it up again and, if it moved, send there.
        let mut again = Vec::new();
        for (item, target, failure) in refused {
            let fresh = self.locate_one(&item.update.sku, trail).await?;
            match fresh {
                Some(fresh) if fresh != target => {
                    self.audit(
                        &subject(&item.sku),
                        "moved",
                        json!({"from": encode_target(target), "to": encode_target(fresh), "refusal": failure.reason}),
                    )?;
                    again.push((item, fresh));
                }
                Some(_) => self.refused(item, target, &failure, run)?,
                None => {
                    let reason = format!(
                        "SKU {} is no longer in the store's catalog ({} refused the update: {})",
                        item.update.sku,
                        encode_target(target),
                        failure.reason
                    );
                    self.audit(
                        &subject(&item.sku),
                        "unknown-sku",
                        json!({"reason": reason}),
                    )?;
                    run.failed(&item.sku, &item.version, reason);
                }
            }
        }
        located.extend(again);
        for (item, target, failure) in self.send(located, trail, run).await? {
            self.refused(item, target, &failure, run)?;
        }
        Ok(())
    }

    /// Records an update BigCommerce refused.
    fn refused(
        &self,
        item: Pending,
        target: SkuTarget,
        failure: &ItemFailure,
        run: &mut Run,
    ) -> Result<(), FlowError> {
        let reason = format!(
            "BigCommerce refused the update of SKU {} ({}): {}",
            item.update.sku,
            encode_target(target),
            failure.reason
        );
        self.audit(
            &subject(&item.sku),
            "refused",
            json!({"target": encode_target(target), "reason": failure.reason, "retryable": failure.retryable}),
        )?;
        run.failed(&item.sku, &item.version, reason);
        Ok(())
    }

    fn cached_target(&self, sku: &str) -> Result<Option<SkuTarget>, FlowError> {
        Ok(self
            .store
            .mapped(&self.connection, TARGET_MAP, sku)?
            .as_deref()
            .and_then(decode_target))
    }

    /// Looks the SKUs up in the store's catalog and caches where they are; an SKU found
    /// nowhere fails its item.
    async fn locate(
        &self,
        items: Vec<Pending>,
        trail: &str,
        run: &mut Run,
    ) -> Result<Vec<(Pending, SkuTarget)>, FlowError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let skus: Vec<&str> = items.iter().map(|i| i.update.sku.as_str()).collect();
        let found = self.sink.locate_skus(&skus).await?;
        self.audit_exchanges(trail, exchanges::take())?;
        let mut located = Vec::new();
        for item in items {
            match found.get(&item.update.sku) {
                Some(target) => {
                    self.store.map(
                        &self.connection,
                        TARGET_MAP,
                        &item.update.sku,
                        &encode_target(*target),
                    )?;
                    located.push((item, *target));
                }
                None => {
                    let reason = format!(
                        "SKU {} is not in the store's catalog (no product or variant has it)",
                        item.update.sku
                    );
                    self.audit(
                        &subject(&item.sku),
                        "unknown-sku",
                        json!({"reason": reason}),
                    )?;
                    run.failed(&item.sku, &item.version, reason);
                }
            }
        }
        Ok(located)
    }

    /// Looks one SKU up again, replacing (or dropping) its cached target.
    async fn locate_one(&self, sku: &str, trail: &str) -> Result<Option<SkuTarget>, FlowError> {
        let found = self.sink.locate_skus(&[sku]).await?.remove(sku);
        self.audit_exchanges(trail, exchanges::take())?;
        let value = found.map(encode_target).unwrap_or_default();
        self.store.map(&self.connection, TARGET_MAP, sku, &value)?;
        Ok(found)
    }

    /// Sends the updates in batches, recording each accepted one as it is answered;
    /// returns those BigCommerce refused, with why. Two SKUs on one target (which the
    /// store should not allow) fail the second.
    async fn send(
        &self,
        items: Vec<(Pending, SkuTarget)>,
        trail: &str,
        run: &mut Run,
    ) -> Result<Vec<(Pending, SkuTarget, ItemFailure)>, FlowError> {
        let mut products: Vec<(Pending, SkuTarget)> = Vec::new();
        let mut variants: Vec<(Pending, SkuTarget)> = Vec::new();
        let mut taken: HashSet<SkuTarget> = HashSet::new();
        for (item, target) in items {
            if !taken.insert(target) {
                let reason = format!(
                    "SKU {} resolves to {}, which another item of this run updates",
                    item.update.sku,
                    encode_target(target)
                );
                run.failed(&item.sku, &item.version, reason);
                continue;
            }
            match target {
                SkuTarget::Product { .. } => products.push((item, target)),
                SkuTarget::Variant { .. } => variants.push((item, target)),
            }
        }
        let mut refused = Vec::new();
        for chunk in chunks(products, PRODUCT_BATCH) {
            let updates: Vec<ProductUpdate> = chunk
                .iter()
                .map(|(item, target)| product_update(target_id(*target), &item.update))
                .collect();
            let outcome = self.sink.update_products(&updates).await?;
            refused.extend(self.settle(chunk, outcome, trail, run)?);
        }
        for chunk in chunks(variants, VARIANT_BATCH) {
            let updates: Vec<VariantUpdate> = chunk
                .iter()
                .map(|(item, target)| variant_update(target_id(*target), &item.update))
                .collect();
            let outcome = self.sink.update_variants(&updates).await?;
            refused.extend(self.settle(chunk, outcome, trail, run)?);
        }
        Ok(refused)
    }

    /// Records what one batch did: accepted updates get their hash stored.
    fn settle(
        &self,
        chunk: Vec<(Pending, SkuTarget)>,
        outcome: catalog::BatchOutcome,
        trail: &str,
        run: &mut Run,
    ) -> Result<Vec<(Pending, SkuTarget, ItemFailure)>, FlowError> {
        run.batches += 1;
        self.audit_exchanges(trail, exchanges::take())?;
        let mut failures: HashMap<u64, ItemFailure> =
            outcome.failed.into_iter().map(|f| (f.id, f)).collect();
        let mut refused = Vec::new();
        for (item, target) in chunk {
            let id = target_id(target);
            if let Some(failure) = failures.remove(&id) {
                refused.push((item, target, failure));
                continue;
            }
            if !outcome.updated.contains(&id) {
                let failure = ItemFailure {
                    id,
                    reason: "BigCommerce's answer does not mention it".into(),
                    retryable: true,
                };
                refused.push((item, target, failure));
                continue;
            }
            self.store
                .map(&self.connection, SENT_MAP, &item.update.sku, &item.hash)?;
            self.audit(
                &subject(&item.sku),
                "sent",
                json!({"target": encode_target(target), "update": item.update, "hash": item.hash}),
            )?;
            run.done(
                &item.sku,
                &item.version,
                Outcome::Sent {
                    target: encode_target(target),
                },
            );
        }
        Ok(refused)
    }
}

/// The item as the plugin sees it: its prices are the item master's list price (as
/// [`ITEM_PRICE_LIST`]) and the price list rows in effect on `today` in the item's
/// unit. A row whose dates cannot be read fails the item.
fn erp_item(
    item: &ItemChange,
    prices: &[PriceChange],
    item_currency: &str,
    today: Date,
) -> Result<ErpItem, String> {
    let mut erp_prices = vec![ErpPrice {
        price_list: ITEM_PRICE_LIST.into(),
        currency: item_currency.to_string(),
        amount: item.list_price,
        effective_from: browse::format_date(item.changed_on),
    }];
    for price in prices.iter().filter(|p| p.unit == item.unit) {
        let row = || {
            format!(
                "price list {} row of item {} from `{}`",
                price.price_list, item.item_code, price.start_date
            )
        };
        let start = browse::parse_date(&price.start_date)
            .ok_or_else(|| format!("{}: the start date is not a date", row()))?;
        let expire = match price.expire_date.trim() {
            "" => None,
            text => Some(
                browse::parse_date(text)
                    .ok_or_else(|| format!("{}: the expiry date `{text}` is not a date", row()))?,
            ),
        };
        if start <= today && expire.is_none_or(|end| today <= end) {
            erp_prices.push(ErpPrice {
                price_list: price.price_list.clone(),
                currency: price.currency.clone(),
                amount: price.list_price,
                effective_from: browse::format_date(start),
            });
        }
    }
    erp_prices.sort_by(|a, b| {
        (&a.price_list, &a.currency, &a.effective_from).cmp(&(
            &b.price_list,
            &b.currency,
            &b.effective_from,
        ))
    });
    Ok(ErpItem {
        sku: item.item_code.clone(),
        description: item.description.clone(),
        description2: item.description2.clone(),
        status: item.status.clone(),
        unit_of_measure: item.unit.clone(),
        changed_on: browse::format_date(item.changed_on),
        prices: erp_prices,
    })
}

/// A short, stable content digest.
fn digest(text: &str) -> String {
    crate::digest::sha256_hex(text)[..24].to_string()
}

fn chunks<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut chunks = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(size).collect());
    }
    chunks
}

fn target_id(target: SkuTarget) -> u64 {
    match target {
        SkuTarget::Product { id } | SkuTarget::Variant { id, .. } => id,
    }
}

/// `product:<id>` or `variant:<product id>:<id>`.
fn encode_target(target: SkuTarget) -> String {
    match target {
        SkuTarget::Product { id } => format!("product:{id}"),
        SkuTarget::Variant { product_id, id } => format!("variant:{product_id}:{id}"),
    }
}

fn decode_target(text: &str) -> Option<SkuTarget> {
    let mut parts = text.split(':');
    let target = match (parts.next()?, parts.next(), parts.next()) {
        ("product", Some(id), None) => SkuTarget::Product {
            id: id.parse().ok()?,
        },
        ("variant", Some(product), Some(id)) => SkuTarget::Variant {
            product_id: product.parse().ok()?,
            id: id.parse().ok()?,
        },
        _ => return None,
    };
    parts.next().is_none().then_some(target)
}

/// A product takes every field of the update.
fn product_update(id: u64, update: &CatalogUpdate) -> ProductUpdate {
    ProductUpdate {
        id,
        name: update.name.clone(),
        price: update.price.map(Number),
        sale_price: update.sale_price.map(Number),
        cost_price: update.cost_price.map(Number),
        is_visible: update.visible,
        ..ProductUpdate::default()
    }
}

/// A variant has no name or visibility of its own: its name comes from its product and
/// options, and a hidden item becomes an unpurchasable variant.
fn variant_update(id: u64, update: &CatalogUpdate) -> VariantUpdate {
    VariantUpdate {
        id,
        price: update.price.map(Number),
        sale_price: update.sale_price.map(Number),
        cost_price: update.cost_price.map(Number),
        purchasing_disabled: update.visible.map(|visible| !visible),
        ..VariantUpdate::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_survive_the_id_map() {
        for target in [
            SkuTarget::Product { id: 7 },
            SkuTarget::Variant {
                product_id: 7,
                id: 70,
            },
        ] {
            assert_eq!(decode_target(&encode_target(target)), Some(target));
        }
        for bad in [
            "",
            "product",
            "product:x",
            "variant:1",
            "variant:1:2:3",
            "other:1",
        ] {
            assert_eq!(decode_target(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_hidden_item_is_an_unpurchasable_variant_and_a_hidden_product() {
        let update = CatalogUpdate {
            sku: "A".into(),
            name: Some("Mug".into()),
            price: Some(125_000),
            sale_price: None,
            cost_price: Some(50_000),
            visible: Some(false),
        };
        let product = product_update(1, &update);
        assert_eq!(product.name.as_deref(), Some("Mug"));
        assert_eq!(product.is_visible, Some(false));
        assert_eq!(product.price, Some(Number(125_000)));
        let variant = variant_update(2, &update);
        assert_eq!(variant.purchasing_disabled, Some(true));
        assert_eq!(variant.cost_price, Some(Number(50_000)));
        assert_eq!(variant.sale_price, None);
    }

    fn price(list: &str, unit: &str, start: &str, expire: &str, amount: i64) -> PriceChange {
        PriceChange {
            price_list: list.into(),
            item_code: "MUG".into(),
            currency: "USD".into(),
            unit: unit.into(),
            start_date: start.into(),
            expire_date: expire.into(),
            list_price: amount,
            changed_on: time::macros::date!(2026 - 01 - 01),
        }
    }

    #[test]
    fn the_plugin_sees_the_item_price_and_the_rows_in_effect_in_its_unit() {
        let item = ItemChange {
            item_code: "MUG".into(),
            description: "Mug".into(),
            description2: String::new(),
            unit: "EA".into(),
            list_price: 99_000,
            status: "ACTIVE".into(),
            changed_on: time::macros::date!(2026 - 11 - 20),
        };
        let today = time::macros::date!(2026 - 11 - 27);
        let rows = [
            price("WEB", "EA", "2026-01-01", "", 120_000),
            price("WEB", "EA", "2026-11-01", "2026-11-30", 100_000),
            price("WEB", "EA", "2025-01-01", "2025-12-31", 90_000),
            price("WEB", "EA", "2026-12-01", "", 130_000),
            price("WEB", "BOX", "2026-01-01", "", 1_000_000),
        ];
        let erp = erp_item(&item, &rows, "USD", today).unwrap();
        let seen: Vec<(&str, i64, &str)> = erp
            .prices
            .iter()
            .map(|p| (p.price_list.as_str(), p.amount, p.effective_from.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("WEB", 120_000, "2026-01-01"),
                ("WEB", 100_000, "2026-11-01"),
                (ITEM_PRICE_LIST, 99_000, "2026-11-20"),
            ]
        );
        let bad = erp_item(&item, &[price("WEB", "EA", "soon", "", 1)], "USD", today);
        assert!(bad.unwrap_err().contains("`soon`"));
        let bad = erp_item(
            &item,
            &[price("WEB", "EA", "2026-01-01", "31/12", 1)],
            "USD",
            today,
        );
        assert!(bad.unwrap_err().contains("`31/12`"));
    }

    #[test]
    fn chunks_keep_order_and_size() {
        let sizes: Vec<usize> = chunks((0..23).collect(), 10).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 3]);
        assert!(chunks(Vec::<u8>::new(), 10).is_empty());
    }
}
