//! Sending the catalog flow's updates: each update's product or variant is found (cached
//! in the id map, else looked up by SKU and looked up again when a cached one is refused),
//! the updates go in batches of [`PRODUCT_BATCH`] products and [`VARIANT_BATCH`] variants,
//! and each answer is settled item by item (accepted: its hash recorded; refused: parked).

use super::*;

impl CatalogFlow {
    /// Finds each pending update's target (cached, else looked up) and sends; an update a
    /// cached target refused is tried once more after looking its SKU up again, in case
    /// the product or variant was replaced.
    pub(super) async fn resolve_and_send(
        &self,
        pending: Vec<Pending>,
        trail: &str,
        run: &mut Run,
    ) -> Result<(), FlowError> {
        let mut cached = Vec::new();
        let mut unknown = Vec::new();
        for item in pending {
            match self.cached_target(&item.update.sku).await? {
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
                    ).await?;
                    again.push((item, fresh));
                }
                Some(_) => self.refused(item, target, &failure, run).await?,
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
                    )
                    .await?;
                    run.failed(&item.sku, &item.version, reason);
                }
            }
        }
        located.extend(again);
        for (item, target, failure) in self.send(located, trail, run).await? {
            self.refused(item, target, &failure, run).await?;
        }
        Ok(())
    }

    /// Records an update BigCommerce refused.
    pub(super) async fn refused(
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
        ).await?;
        run.failed(&item.sku, &item.version, reason);
        Ok(())
    }

    async fn cached_target(&self, sku: &str) -> Result<Option<SkuTarget>, FlowError> {
        Ok(self
            .store
            .mapped(&self.connection, TARGET_MAP, sku)
            .await?
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
        self.audit_exchanges(trail, exchanges::take()).await?;
        let mut located = Vec::new();
        for item in items {
            match found.get(&item.update.sku) {
                Some(target) => {
                    self.store
                        .map(
                            &self.connection,
                            TARGET_MAP,
                            &item.update.sku,
                            &encode_target(*target),
                        )
                        .await?;
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
                    )
                    .await?;
                    run.failed(&item.sku, &item.version, reason);
                }
            }
        }
        Ok(located)
    }

    /// Looks one SKU up again, replacing (or dropping) its cached target.
    async fn locate_one(&self, sku: &str, trail: &str) -> Result<Option<SkuTarget>, FlowError> {
        let found = self.sink.locate_skus(&[sku]).await?.remove(sku);
        self.audit_exchanges(trail, exchanges::take()).await?;
        let value = found.map(encode_target).unwrap_or_default();
        self.store
            .map(&self.connection, TARGET_MAP, sku, &value)
            .await?;
        Ok(found)
    }

    /// Sends the updates in batches, recording each accepted one as it is answered;
    /// returns those BigCommerce refused, with why. Two SKUs on one target (which the
    /// store should not allow) fail the second.
    pub(super) async fn send(
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
            refused.extend(self.settle(chunk, outcome, trail, run).await?);
        }
        for chunk in chunks(variants, VARIANT_BATCH) {
            let updates: Vec<VariantUpdate> = chunk
                .iter()
                .map(|(item, target)| variant_update(target_id(*target), &item.update))
                .collect();
            let outcome = self.sink.update_variants(&updates).await?;
            refused.extend(self.settle(chunk, outcome, trail, run).await?);
        }
        Ok(refused)
    }

    /// Records what one batch did: accepted updates get their hash stored.
    async fn settle(
        &self,
        chunk: Vec<(Pending, SkuTarget)>,
        outcome: catalog::BatchOutcome,
        trail: &str,
        run: &mut Run,
    ) -> Result<Vec<(Pending, SkuTarget, ItemFailure)>, FlowError> {
        run.batches += 1;
        self.audit_exchanges(trail, exchanges::take()).await?;
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
                .map(&self.connection, SENT_MAP, &item.update.sku, &item.hash)
                .await?;
            self.audit(
                &subject(&item.sku),
                "sent",
                json!({"target": encode_target(target), "update": item.update, "hash": item.hash}),
            )
            .await?;
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
pub(super) fn encode_target(target: SkuTarget) -> String {
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

    #[test]
    fn chunks_keep_order_and_size() {
        let sizes: Vec<usize> = chunks((0..23).collect(), 10).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 3]);
        assert!(chunks(Vec::<u8>::new(), 10).is_empty());
    }
}
