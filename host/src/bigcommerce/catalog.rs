//! Catalog (V3): products and variants found by SKU, and batch updates of names, prices,
//! visibility and stock (products 10 per request, variants 50) at catalog priority, so
//! order work goes first.
//!
//! Prices go out as JSON numbers written from exact amounts. A 207 reports which items
//! failed; a batch refused as a whole (409/422) is re-sent item by item so each failure
//! names its item, as BigCommerce advises for batch errors that do not say which item.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::client::{Client, ClientError};
use super::pacer::Priority;
use super::wire::{self, Number};
use crate::money::Amount;

/// Largest `PUT /v3/catalog/products` batch.
pub const PRODUCT_BATCH: usize = 10;
/// Largest `PUT /v3/catalog/variants` batch.
pub const VARIANT_BATCH: usize = 50;
/// SKUs per `sku:in` lookup.
const SKUS_PER_LOOKUP: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Product {
    pub id: u64,
    pub sku: String,
    pub name: String,
    #[serde(deserialize_with = "wire::amount")]
    pub price: Amount,
    #[serde(default = "visible_by_default")]
    pub is_visible: bool,
    #[serde(default, deserialize_with = "wire::optional_amount")]
    pub sale_price: Option<Amount>,
    #[serde(default, deserialize_with = "wire::optional_amount")]
    pub cost_price: Option<Amount>,
    #[serde(default, deserialize_with = "wire::optional_amount")]
    pub retail_price: Option<Amount>,
    #[serde(default)]
    pub inventory_level: i64,
    #[serde(deserialize_with = "wire::date")]
    pub date_modified: OffsetDateTime,
    /// Only when read with `include=variants` (see [`Client::product`]).
    #[serde(default)]
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Variant {
    pub id: u64,
    pub product_id: u64,
    pub sku: String,
    /// `None` inherits the product's price.
    #[serde(default, deserialize_with = "wire::optional_amount")]
    pub price: Option<Amount>,
    #[serde(default, deserialize_with = "wire::optional_amount")]
    pub sale_price: Option<Amount>,
    #[serde(default, deserialize_with = "wire::optional_amount")]
    pub cost_price: Option<Amount>,
    #[serde(default)]
    pub purchasing_disabled: bool,
    #[serde(default)]
    pub inventory_level: i64,
}

fn visible_by_default() -> bool {
    true
}

/// Where a SKU lives in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkuTarget {
    Product { id: u64 },
    Variant { product_id: u64, id: u64 },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProductUpdate {
    pub id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale_price: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retail_price: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_price: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory_level: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_visible: Option<bool>,
}

/// A variant has no name or visibility of its own (it shows under its product); it can be
/// made unpurchasable instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VariantUpdate {
    pub id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale_price: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_price: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchasing_disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory_level: Option<i64>,
}

/// What a batch update did, item by item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub updated: Vec<u64>,
    pub failed: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFailure {
    pub id: u64,
    pub reason: String,
    /// Whether sending the same update later may succeed.
    pub retryable: bool,
}

trait HasId {
    fn id(&self) -> u64;
}
impl HasId for ProductUpdate {
    fn id(&self) -> u64 {
        self.id
    }
}
impl HasId for VariantUpdate {
    fn id(&self) -> u64 {
        self.id
    }
}

/// A 207 answer: what was updated and, keyed by id, what was not.
#[derive(Deserialize)]
struct MultiStatus {
    #[serde(default)]
    data: Vec<IdOnly>,
    #[serde(default)]
    errors: Option<Value>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: u64,
}

impl Client {
    /// One product with its variants; `None` when the store has no such product.
    pub async fn product(&self, id: u64) -> Result<Option<Product>, ClientError> {
        let products: Vec<Product> = self
            .get_all_v3(
                "/v3/catalog/products",
                &[("id:in", id.to_string()), ("include", "variants".into())],
                Priority::Catalog,
            )
            .await?;
        Ok(products.into_iter().find(|p| p.id == id))
    }

    /// Products whose main SKU is one of `skus`.
    pub async fn products_by_sku(&self, skus: &[&str]) -> Result<Vec<Product>, ClientError> {
        let mut found = Vec::new();
        for chunk in skus.chunks(SKUS_PER_LOOKUP) {
            let products: Vec<Product> = self
                .get_all_v3(
                    "/v3/catalog/products",
                    &[("sku:in", chunk.join(","))],
                    Priority::Catalog,
                )
                .await?;
            found.extend(products);
        }
        Ok(found)
    }

    /// The variant with this SKU (variants have no `sku:in`: one request per SKU).
    pub async fn variant_by_sku(&self, sku: &str) -> Result<Option<Variant>, ClientError> {
        let variants: Vec<Variant> = self
            .get_all_v3(
                "/v3/catalog/variants",
                &[("sku", sku.to_string())],
                Priority::Catalog,
            )
            .await?;
        Ok(variants.into_iter().find(|v| v.sku == sku))
    }

    /// Where each SKU lives: main product SKUs in batches first, then variants one by one
    /// for the rest. SKUs found nowhere are absent from the map.
    pub async fn locate_skus(
        &self,
        skus: &[&str],
    ) -> Result<BTreeMap<String, SkuTarget>, ClientError> {
        let mut found: BTreeMap<String, SkuTarget> = self
            .products_by_sku(skus)
            .await?
            .into_iter()
            .map(|p| (p.sku, SkuTarget::Product { id: p.id }))
            .collect();
        for sku in skus {
            if found.contains_key(*sku) {
                continue;
            }
            if let Some(variant) = self.variant_by_sku(sku).await? {
                found.insert(
                    variant.sku,
                    SkuTarget::Variant {
                        product_id: variant.product_id,
                        id: variant.id,
                    },
                );
            }
        }
        Ok(found)
    }

    /// Updates products, [`PRODUCT_BATCH`] per request, reporting each item.
    pub async fn update_products(
        &self,
        updates: &[ProductUpdate],
    ) -> Result<BatchOutcome, ClientError> {
        self.update_batches("/v3/catalog/products", updates, PRODUCT_BATCH)
            .await
    }

    /// Updates variants, [`VARIANT_BATCH`] per request, reporting each item.
    pub async fn update_variants(
        &self,
        updates: &[VariantUpdate],
    ) -> Result<BatchOutcome, ClientError> {
        self.update_batches("/v3/catalog/variants", updates, VARIANT_BATCH)
            .await
    }

    async fn update_batches<T: Serialize + HasId>(
        &self,
        path: &str,
        updates: &[T],
        batch: usize,
    ) -> Result<BatchOutcome, ClientError> {
        let mut outcome = BatchOutcome::default();
        for chunk in updates.chunks(batch) {
            match self.put_batch(path, chunk, &mut outcome).await {
                Ok(()) => {}
                // Refused as a whole: find the guilty items one by one.
                Err(ClientError::Api(error))
                    if chunk.len() > 1 && matches!(error.status, 409 | 422) =>
                {
                    for item in chunk {
                        if let Err(error) = self
                            .put_batch(path, std::slice::from_ref(item), &mut outcome)
                            .await
                        {
                            outcome.failed.push(failure(item.id(), &error)?);
                        }
                    }
                }
                Err(ClientError::Api(error)) if chunk.len() == 1 => {
                    outcome
                        .failed
                        .push(failure(chunk[0].id(), &ClientError::Api(error))?);
                }
                Err(error) => return Err(error),
            }
        }
        Ok(outcome)
    }

    /// One PUT; a 207 records its successes and failures in `outcome`.
    async fn put_batch<T: Serialize + HasId>(
        &self,
        path: &str,
        chunk: &[T],
        outcome: &mut BatchOutcome,
    ) -> Result<(), ClientError> {
        let (status, body) = self
            .exchange(Method::PUT, path, &[], Some(chunk), Priority::Catalog)
            .await?;
        if status != 207 {
            outcome.updated.extend(chunk.iter().map(HasId::id));
            return Ok(());
        }
        let answer: MultiStatus =
            serde_json::from_slice(&body).map_err(|e| ClientError::Decode {
                path: path.to_string(),
                reason: e.to_string(),
            })?;
        let reasons = per_item_reasons(answer.errors.as_ref());
        for item in chunk {
            if answer.data.iter().any(|d| d.id == item.id()) {
                outcome.updated.push(item.id());
            } else {
                let reason = reasons
                    .get(&item.id().to_string())
                    .cloned()
                    .unwrap_or_else(|| "not updated (207 without a reason)".into());
                outcome.failed.push(ItemFailure {
                    id: item.id(),
                    reason,
                    retryable: false,
                });
            }
        }
        Ok(())
    }
}

/// `errors.errors` of a 207: a map of item (id) to message.
fn per_item_reasons(errors: Option<&Value>) -> BTreeMap<String, String> {
    let Some(errors) = errors else {
        return BTreeMap::new();
    };
    let title = errors.get("title").and_then(Value::as_str).unwrap_or("");
    let detail = errors.get("errors").and_then(Value::as_object);
    detail
        .into_iter()
        .flatten()
        .map(|(key, message)| {
            let text = message
                .as_str()
                .map_or_else(|| message.to_string(), str::to_string);
            let reason = if title.is_empty() {
                text
            } else {
                format!("{title}: {text}")
            };
            (key.clone(), reason)
        })
        .collect()
}

/// An item-level failure from a request that failed for that item alone; transport
/// errors are not item failures and stop the update.
fn failure(id: u64, error: &ClientError) -> Result<ItemFailure, ClientError> {
    match error {
        ClientError::Api(api) => Ok(ItemFailure {
            id,
            reason: api.to_string(),
            retryable: api.is_retryable(),
        }),
        other => Err(ClientError::Transport(other.to_string())),
    }
}
