//! The catalog: products and their variants, how they look in V3, and adding a product.

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Money, Number, StoreData, UNIT, rfc3339};

#[derive(Debug, Clone)]
pub struct Variant {
    pub id: u64,
    pub product_id: u64,
    pub sku: String,
    pub label: String,
    /// `None` inherits the product's price.
    pub price: Option<Money>,
    pub sale_price: Option<Money>,
    /// `None` inherits the product's cost price.
    pub cost_price: Option<Money>,
    /// A variant cannot be hidden on its own; it can be made unpurchasable.
    pub purchasing_disabled: bool,
    pub inventory_level: i64,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: u64,
    pub sku: String,
    pub name: String,
    pub price: Money,
    pub sale_price: Money,
    pub cost_price: Money,
    pub retail_price: Money,
    pub inventory_level: i64,
    pub is_visible: bool,
    pub modified: OffsetDateTime,
    pub variants: Vec<Variant>,
}

#[derive(Serialize)]
pub struct ProductWire<'a> {
    pub id: u64,
    pub name: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub sku: &'a str,
    pub weight: Number,
    pub price: Number,
    pub cost_price: Number,
    pub retail_price: Number,
    pub sale_price: Number,
    pub calculated_price: Number,
    pub inventory_level: i64,
    pub inventory_tracking: &'a str,
    pub is_visible: bool,
    pub date_modified: String,
    pub base_variant_id: u64,
}

#[derive(Serialize)]
pub struct VariantWire<'a> {
    pub id: u64,
    pub product_id: u64,
    pub sku: &'a str,
    pub price: Option<Number>,
    pub sale_price: Option<Number>,
    pub cost_price: Option<Number>,
    pub calculated_price: Number,
    pub purchasing_disabled: bool,
    pub inventory_level: i64,
    pub option_values: Vec<Value>,
}

impl Product {
    pub fn wire(&self) -> ProductWire<'_> {
        ProductWire {
            id: self.id,
            name: &self.name,
            kind: "physical",
            sku: &self.sku,
            weight: Number(UNIT),
            price: Number(self.price),
            cost_price: Number(self.cost_price),
            retail_price: Number(self.retail_price),
            sale_price: Number(self.sale_price),
            calculated_price: Number(if self.sale_price > 0 {
                self.sale_price
            } else {
                self.price
            }),
            inventory_level: self.inventory_level,
            inventory_tracking: if self.variants.is_empty() {
                "product"
            } else {
                "variant"
            },
            is_visible: self.is_visible,
            date_modified: rfc3339(self.modified),
            // Every product has a base variant; with options, the first one.
            base_variant_id: self.variants.first().map_or(self.id * 10 + 9, |v| v.id),
        }
    }
}

impl Variant {
    pub fn wire(&self, product: &Product) -> VariantWire<'_> {
        VariantWire {
            id: self.id,
            product_id: self.product_id,
            sku: &self.sku,
            price: self.price.map(Number),
            sale_price: self.sale_price.map(Number),
            cost_price: self.cost_price.map(Number),
            calculated_price: Number(self.price.unwrap_or(product.price)),
            purchasing_disabled: self.purchasing_disabled,
            inventory_level: self.inventory_level,
            option_values: vec![json!({
                "id": self.id,
                "label": self.label,
                "option_id": 1,
                "option_display_name": "Colour",
            })],
        }
    }
}

/// A SKU a new product or variant cannot take: empty, or already in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SKU `{sku}` is empty or already in the catalog")]
pub struct SkuUnavailable {
    pub sku: String,
}

impl StoreData {
    /// Adds a visible product with `sku`, `name` and `price`, and one variant per entry of
    /// `variant_skus` (inheriting the price); returns the product's id. A SKU already in
    /// the catalog (as a product or a variant) is refused, as BigCommerce refuses it.
    pub fn add_product(
        &mut self,
        sku: &str,
        name: &str,
        price: Money,
        variant_skus: &[&str],
        now: OffsetDateTime,
    ) -> Result<u64, SkuUnavailable> {
        for wanted in std::iter::once(sku).chain(variant_skus.iter().copied()) {
            let taken = self
                .products
                .iter()
                .any(|p| p.sku == wanted || p.variants.iter().any(|v| v.sku == wanted));
            if taken || wanted.trim().is_empty() {
                return Err(SkuUnavailable {
                    sku: wanted.to_string(),
                });
            }
        }
        let id = self.next_id();
        let variants = variant_skus
            .iter()
            .map(|variant_sku| Variant {
                id: self.next_id(),
                product_id: id,
                sku: variant_sku.to_string(),
                label: variant_sku.to_string(),
                price: None,
                sale_price: None,
                cost_price: None,
                purchasing_disabled: false,
                inventory_level: 10,
            })
            .collect();
        self.products.push(Product {
            id,
            sku: sku.into(),
            name: name.into(),
            price,
            sale_price: 0,
            cost_price: 0,
            retail_price: 0,
            inventory_level: 10,
            is_visible: true,
            modified: now,
            variants,
        });
        Ok(id)
    }
}
