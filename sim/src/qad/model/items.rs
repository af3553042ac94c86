//! Items of a domain and price list rows, and how both look on the wire.

use time::Date;

use super::{ITEM_VIEW, Money, PRICE_VIEW, Stamp, day};
use crate::wire::{Number, Object};

/// An item of a domain (`items`, browse `gp340`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimItem {
    pub domain: String,
    /// Case-sensitive: `SKU-0101` and `sku-0101` are two items.
    pub code: String,
    pub description: String,
    pub description2: String,
    pub unit_of_measure: String,
    pub product_line: String,
    pub site_code: String,
    /// `ACTIVE`, `INACTIVE` or `OBSOLETE`.
    pub status: String,
    pub list_price: Money,
    pub stamp: Stamp,
}

impl SimItem {
    pub fn wire(&self) -> Object {
        let object = Object::new()
            .field("domainCode", &self.domain)
            .field("itemCode", &self.code)
            .field("description", &self.description)
            .field("description2", &self.description2)
            .field("unitOfMeasure", &self.unit_of_measure)
            .field("productLine", &self.product_line)
            .field("siteCode", &self.site_code)
            .field("itemStatus", &self.status)
            .field("itemType", "")
            .field("listPrice", Number(self.list_price))
            .field("isTaxable", true)
            .field("taxClass", "")
            .field("barcode", "");
        let uri = format!("{ITEM_VIEW}:{}.{}", self.domain, self.code);
        self.stamp.write(object, uri)
    }
}

/// One price list row (`priceListV2s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPrice {
    pub domain: String,
    pub price_list: String,
    pub item: String,
    pub currency: String,
    pub unit_of_measure: String,
    pub start: Date,
    pub expire: Option<Date>,
    pub list_price: Money,
    pub stamp: Stamp,
}

impl SimPrice {
    pub fn wire(&self) -> Object {
        let object = Object::new()
            .field("domainCode", &self.domain)
            .field("priceListCode", &self.price_list)
            .field("customerCode", "")
            .field("itemCode", &self.item)
            .field("attributeCode", "")
            .field("orderCode", "")
            .field("currencyCode", &self.currency)
            .field("unitOfMeasure", &self.unit_of_measure)
            .field("startDate", day(self.start))
            .field("expireDate", self.expire.map(day))
            .field("amountType", "1")
            .field("listPrice", Number(self.list_price))
            .field("minimumPrice", Number(0))
            .field("maximumPrice", Number(0));
        let uri = format!(
            "{PRICE_VIEW}:{}.{}.{}.{}.{}.{}",
            self.domain,
            self.price_list,
            self.item,
            self.currency,
            self.unit_of_measure,
            day(self.start)
        );
        self.stamp.write(object, uri)
    }
}
