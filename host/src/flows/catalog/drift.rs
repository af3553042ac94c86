//! Drift: a product edited in the store away from the QAD item master. With
//! `catalog_drift` set, the connection subscribes to the product webhooks, and each
//! (`store/product/updated`, or `store/sku/updated` for one of its variants) queues a
//! `product` job; the job reads the product and its variants as the store has them now,
//! maps each SKU that QAD's item master has through the catalog plugin (as a poll would),
//! and compares what the plugin owns (the fields its update sets: name, prices,
//! visibility) with the store's values.
//!
//! Nothing differs: nothing is done (this is what the connector's own updates find when
//! their webhooks come back, so they trigger nothing). Something differs: per the
//! connection's [`DriftPolicy`], the job is parked with every difference shown (`report`:
//! a merchant's edit is not overwritten unasked) or QAD's values are sent again
//! (`restore`). A restore is remembered per SKU with the content sent; the same
//! content found drifting again within [`RESTORE_QUIET`] is reported rather than sent, so
//! a store that does not keep what it is sent (or another app writing back) cannot start
//! an edit loop.

use super::send::encode_target;
use super::*;
use crate::store::{Millis, millis_text};

/// The job kind of a product to check against the item master.
pub const PRODUCT_JOB_KIND: &str = "product";

/// How long a restored SKU is not restored again to the same content.
pub const RESTORE_QUIET: Millis = 15 * 60 * 1000;

/// Id map: SKU to `<content hash>@<millis>` of its last restore.
const RESTORED_MAP: &str = "catalog-restored";

/// What a connection does when the store differs from the item master
/// (`catalog_drift` in its configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftPolicy {
    /// Park the product's job with the differences, for an operator (also what a
    /// product job gets on a connection that subscribed to product webhooks by hand).
    #[default]
    Report,
    /// Send QAD's values again.
    Restore,
}

/// What a product job asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductJobInput {
    pub product_id: u64,
    /// Where it came from (`webhook`, `replay`).
    pub source: String,
}

/// The job checking one product; `version` tells deliveries apart (the delivery's id).
pub fn product_job(connection: &str, product_id: u64, version: &str, source: &str) -> NewJob {
    NewJob {
        connection: connection.into(),
        kind: PRODUCT_JOB_KIND.into(),
        key: format!("product:{product_id}:{version}"),
        document: format!("product:{product_id}"),
        payload: json!(ProductJobInput {
            product_id,
            source: source.into(),
        })
        .to_string(),
        not_before: None,
    }
}

/// One field of one SKU where the store and the item master (through the plugin) differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub sku: String,
    pub field: &'static str,
    pub store: String,
    pub qad: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SKU {} {}: `{}` in the store, `{}` from QAD",
            self.sku, self.field, self.store, self.qad
        )
    }
}

impl CatalogFlow {
    /// Runs a queued `product` job.
    pub async fn run_product_job(&self, job: &Job) -> Result<Outcome, FlowError> {
        let input: ProductJobInput = serde_json::from_str(&job.payload).map_err(|e| {
            FlowError::Refused(format!("the product job's input cannot be read: {e}"))
        })?;
        self.check_product(input.product_id).await
    }

    /// Compares one product (and its variants) with the item master and acts on what
    /// differs per [`CatalogFlow::drift`].
    pub async fn check_product(&self, product_id: u64) -> Result<Outcome, FlowError> {
        let subject = format!("product:{product_id}");
        let plugin = self.check_plugin()?;
        let Some(product) = self.sink.product(product_id).await? else {
            self.audit(&subject, "gone", json!({"product_id": product_id}))
                .await?;
            return Ok(Outcome::Unchanged);
        };
        let mut targets = Vec::new();
        if !product.sku.is_empty() {
            targets.push((product.sku.clone(), SkuTarget::Product { id: product.id }));
        }
        for variant in &product.variants {
            // A simple product's base variant carries the product's own SKU.
            if !variant.sku.is_empty() && variant.sku != product.sku {
                let target = SkuTarget::Variant {
                    product_id: product.id,
                    id: variant.id,
                };
                targets.push((variant.sku.clone(), target));
            }
        }
        let today = (self.today)();
        let mut owned = Vec::new();
        let mut read = Vec::new();
        for (sku, target) in targets {
            // A SKU QAD does not have is not the connector's to judge.
            let Some(item) = self.items.item(&sku).await? else {
                continue;
            };
            let prices = self.items.prices_of_item(&sku).await?;
            let erp = erp_item(&item, &prices, &self.item_currency, today)
                .map_err(|unreadable| FlowError::Refused(format!("item {sku}: {unreadable}")))?;
            owned.push((sku, target));
            read.push(erp);
        }
        if read.is_empty() {
            self.audit(
                &subject,
                "unchanged",
                json!({"reason": "none of its SKUs is in QAD's item master"}),
            )
            .await?;
            return Ok(Outcome::Unchanged);
        }
        let identity = mapping::plugin_identity(&plugin);
        let inputs = read.clone();
        let mapped =
            mapping::on_blocking_thread(&plugin, move |plugin| plugin.map_items(&inputs).results)
                .await?;
        let mut differences = Vec::new();
        let mut drifted = Vec::new();
        for (((sku, target), item), result) in owned.into_iter().zip(&read).zip(mapped) {
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
                Err(error) => return Err(FlowError::Refused(format!("item {sku}: {error}"))),
                Ok(None) => continue,
                Ok(Some(update)) => update,
            };
            let found = differences_of(&product, target, &update);
            if found.is_empty() {
                continue;
            }
            differences.extend(found);
            drifted.push((Pending::new(item, update), target));
        }
        if differences.is_empty() {
            self.audit(&subject, "unchanged", json!({"reason": "as QAD has it"}))
                .await?;
            return Ok(Outcome::Unchanged);
        }
        self.audit(
            &subject,
            "drift",
            json!({"differences": differences, "policy": self.drift}),
        )
        .await?;
        let listed = differences
            .iter()
            .map(Difference::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        tracing::warn!(connection = %self.connection, product_id, differences = %listed, "catalog drift");
        match self.drift {
            DriftPolicy::Report => Err(FlowError::Refused(format!(
                "product {product_id} differs from QAD's item master: {listed} (with \
                 catalog_drift = \"restore\" the connector sends QAD's values again)"
            ))),
            DriftPolicy::Restore => self.restore(product_id, drifted, &listed).await,
        }
    }

    /// Sends QAD's values again for the drifted SKUs, unless one was restored to the same
    /// content within [`RESTORE_QUIET`].
    async fn restore(
        &self,
        product_id: u64,
        drifted: Vec<(Pending, SkuTarget)>,
        listed: &str,
    ) -> Result<Outcome, FlowError> {
        let subject = format!("product:{product_id}");
        let now = crate::flows::jobs::now_millis();
        for (item, _) in &drifted {
            let last = self
                .store
                .mapped(&self.connection, RESTORED_MAP, &item.sku)
                .await?;
            if let Some((hash, at)) = last.as_deref().and_then(parse_restored)
                && hash == item.hash
                && now.saturating_sub(at) < RESTORE_QUIET
            {
                return Err(FlowError::Refused(format!(
                    "product {product_id} differs from QAD's item master again ({listed}) \
                     after SKU {} was restored to it at {}; it is not restored again within \
                     {} minutes, so no edit loop can run: find what changes the product",
                    item.sku,
                    millis_text(at),
                    RESTORE_QUIET / 60_000
                )));
            }
        }
        let hashes: HashMap<String, String> = drifted
            .iter()
            .map(|(item, _)| (item.sku.clone(), item.hash.clone()))
            .collect();
        let mut run = Run::default();
        for (item, target, failure) in self.send(drifted, &subject, &mut run).await? {
            self.refused(item, target, &failure, &mut run).await?;
        }
        let mut failures = Vec::new();
        for (sku, _, ended) in &run.results {
            match ended {
                Ended::Handled(_) => {
                    let restored = format!("{}@{now}", hashes[sku]);
                    self.store
                        .map(&self.connection, RESTORED_MAP, sku, &restored)
                        .await?;
                }
                Ended::Failed(reason) => failures.push(reason.clone()),
            }
        }
        if !failures.is_empty() {
            return Err(FlowError::Refused(failures.join("; ")));
        }
        self.audit(&subject, "restored", json!({"differences": listed}))
            .await?;
        Ok(Outcome::Sent {
            target: encode_target(SkuTarget::Product { id: product_id }),
        })
    }
}

/// `<hash>@<millis>` as [`CatalogFlow::restore`] writes it.
fn parse_restored(text: &str) -> Option<(&str, Millis)> {
    let (hash, at) = text.rsplit_once('@')?;
    Some((hash, at.parse().ok()?))
}

/// The fields `update` sets that the store's product or variant has otherwise. BigCommerce
/// writes an absent sale or cost price as 0, and a variant without a price (sale or cost
/// price) of its own has its product's.
pub(super) fn differences_of(
    product: &catalog::Product,
    target: SkuTarget,
    update: &CatalogUpdate,
) -> Vec<Difference> {
    let money = |amount: i64| crate::money::format(amount);
    let mut found = Vec::new();
    let mut differ = |field: &'static str, store: String, qad: String| {
        if store != qad {
            found.push(Difference {
                sku: update.sku.clone(),
                field,
                store,
                qad,
            });
        }
    };
    match target {
        SkuTarget::Product { .. } => {
            if let Some(name) = &update.name {
                differ("name", product.name.clone(), name.clone());
            }
            if let Some(price) = update.price {
                differ("price", money(product.price), money(price));
            }
            if let Some(sale) = update.sale_price {
                differ(
                    "sale price",
                    money(product.sale_price.unwrap_or(0)),
                    money(sale),
                );
            }
            if let Some(cost) = update.cost_price {
                differ(
                    "cost price",
                    money(product.cost_price.unwrap_or(0)),
                    money(cost),
                );
            }
            if let Some(visible) = update.visible {
                differ(
                    "visible",
                    product.is_visible.to_string(),
                    visible.to_string(),
                );
            }
        }
        SkuTarget::Variant { id, .. } => {
            let Some(variant) = product.variants.iter().find(|v| v.id == id) else {
                return found;
            };
            if let Some(price) = update.price {
                let shown = variant.price.unwrap_or(product.price);
                differ("price", money(shown), money(price));
            }
            if let Some(sale) = update.sale_price {
                let shown = variant.sale_price.or(product.sale_price).unwrap_or(0);
                differ("sale price", money(shown), money(sale));
            }
            if let Some(cost) = update.cost_price {
                let shown = variant.cost_price.or(product.cost_price).unwrap_or(0);
                differ("cost price", money(shown), money(cost));
            }
            if let Some(visible) = update.visible {
                differ(
                    "purchasable",
                    (!variant.purchasing_disabled).to_string(),
                    visible.to_string(),
                );
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> catalog::Product {
        serde_json::from_value(json!({
            "id": 7, "sku": "MUG", "name": "Mug", "price": 12.5, "sale_price": 0,
            "cost_price": 5, "is_visible": true, "date_modified": "2026-11-02T10:00:00+00:00",
            "variants": [
                {"id": 70, "product_id": 7, "sku": "MUG", "price": null},
                {"id": 71, "product_id": 7, "sku": "MUG-RED", "price": null,
                 "purchasing_disabled": false}
            ]
        }))
        .unwrap()
    }

    fn update(sku: &str) -> CatalogUpdate {
        CatalogUpdate {
            sku: sku.into(),
            name: Some("Mug".into()),
            price: Some(125_000),
            sale_price: None,
            cost_price: Some(50_000),
            visible: Some(true),
        }
    }

    #[test]
    fn what_the_plugin_sets_is_compared_exactly() {
        let product = product();
        let target = SkuTarget::Product { id: 7 };
        assert!(differences_of(&product, target, &update("MUG")).is_empty());
        let mut edited = update("MUG");
        edited.name = Some("Mug (QAD)".into());
        edited.price = Some(125_001);
        edited.sale_price = Some(0);
        let found = differences_of(&product, target, &edited);
        let fields: Vec<&str> = found.iter().map(|d| d.field).collect();
        assert_eq!(fields, ["name", "price"], "{found:?}");
        assert_eq!(found[1].store, "12.5000");
        assert_eq!(found[1].qad, "12.5001");
    }

    #[test]
    fn a_variant_shows_its_products_price_and_is_hidden_by_being_unpurchasable() {
        let product = product();
        let target = SkuTarget::Variant {
            product_id: 7,
            id: 71,
        };
        let mut wanted = update("MUG-RED");
        wanted.name = None;
        assert!(differences_of(&product, target, &wanted).is_empty());
        wanted.visible = Some(false);
        wanted.price = Some(130_000);
        let found = differences_of(&product, target, &wanted);
        let fields: Vec<&str> = found.iter().map(|d| d.field).collect();
        assert_eq!(fields, ["price", "purchasable"], "{found:?}");
    }

    #[test]
    fn a_restore_is_remembered_with_its_content_and_time() {
        assert_eq!(parse_restored("abc@1700"), Some(("abc", 1700)));
        assert_eq!(parse_restored("abc"), None);
        assert_eq!(parse_restored("abc@soon"), None);
    }
}
