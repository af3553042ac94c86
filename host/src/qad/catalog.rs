//! Items and prices over REST browses: what changed since a cursor (QAD's change stamps
//! are days, so the boundary day is read again and what was already seen on it is
//! skipped by digest), one item with its prices as it stands, and the items whose price
//! in effect turns on a day without any stamp moving. Amounts are read exactly.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use time::Date;

use super::browse::{self, ColumnError, Row};
use super::client::{QadClient, records, view};
use super::error::QadError;
use super::model::{ChangeCursor, ItemChange, PriceChange};
use crate::money::Amount;

/// An item master browse row as an item.
fn item_of(row: &Row) -> Result<ItemChange, ColumnError> {
    Ok(ItemChange {
        item_code: browse::text(row, "pt_mstr.pt_part"),
        description: browse::text(row, "pt_mstr.pt_desc1"),
        description2: browse::text(row, "pt_mstr.pt_desc2"),
        unit: browse::text(row, "pt_mstr.pt_um"),
        list_price: browse::amount(row, "pt_mstr.pt_price")?,
        status: browse::text(row, "pt_mstr.pt_status"),
        changed_on: browse::date(row, "pt_mstr.pt_mod_date")?,
    })
}

/// A price list row's key: list, item, currency, unit and start date.
fn price_key(row: &Row) -> [String; 5] {
    [
        "priceListCode",
        "itemCode",
        "currencyCode",
        "unitOfMeasure",
        "startDate",
    ]
    .map(|f| browse::text(row, &format!("priceListV2.{f}")))
}

impl QadClient {
    /// Item master records changed since the cursor, and the cursor to use next time.
    pub async fn items_changed_since(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<ItemChange>, ChangeCursor), QadError> {
        let filters: Vec<String> = cursor
            .day
            .iter()
            .map(|day| browse::filter("pt_mstr.pt_mod_date", "ge", day))
            .collect();
        let rows = self
            .browse(&self.config.paths.item_browse, &filters)
            .await?;
        let decode = |row: &Row| item_of(row).map(|change| (change.item_code.clone(), change));
        self.changes(rows, cursor, decode, |c: &ItemChange| c.changed_on, "items")
    }

    /// One item master record by its code (exactly: codes are case-sensitive), as it
    /// stands now.
    pub async fn item(&self, item_code: &str) -> Result<Option<ItemChange>, QadError> {
        let filters = [browse::filter("pt_mstr.pt_part", "eq", item_code)];
        let rows = self
            .browse(&self.config.paths.item_browse, &filters)
            .await?;
        let found = rows
            .iter()
            .map(item_of)
            .find(|item| item.as_ref().map_or(true, |i| i.item_code == item_code));
        found
            .transpose()
            .map_err(|error| QadError::undecodable("items browse", error))
    }

    /// The items with a price list row that starts on a day from `from` to `to`
    /// (inclusive), or whose last day is the day before one of them: their price in
    /// effect changed on that day although nothing in QAD did (no change stamp moved).
    pub async fn items_with_prices_turning(
        &self,
        from: Date,
        to: Date,
    ) -> Result<BTreeSet<String>, QadError> {
        let range = |a: Date, b: Date| {
            format!(
                "{},literal,{}",
                browse::format_date(a),
                browse::format_date(b)
            )
        };
        let before = |day: Date| day.previous_day().unwrap_or(day);
        let starting = browse::filter("priceListV2.startDate", "rg", &range(from, to));
        let ending = browse::filter(
            "priceListV2.expireDate",
            "rg",
            &range(before(from), before(to)),
        );
        let mut items = BTreeSet::new();
        for filter in [starting, ending] {
            for row in self
                .browse(&self.config.paths.price_browse, &[filter])
                .await?
            {
                items.insert(browse::text(&row, "priceListV2.itemCode"));
            }
        }
        Ok(items)
    }

    /// Every price list row of an item, with its amount, as it stands now.
    pub async fn prices_of_item(&self, item_code: &str) -> Result<Vec<PriceChange>, QadError> {
        let filters = [browse::filter("priceListV2.itemCode", "eq", item_code)];
        let rows = self
            .browse(&self.config.paths.price_browse, &filters)
            .await?;
        let mut prices = Vec::new();
        for row in rows {
            if browse::text(&row, "priceListV2.itemCode") != item_code {
                continue;
            }
            if let Some(price) = self.price_of_row(&row).await? {
                prices.push(price);
            }
        }
        Ok(prices)
    }

    /// Price list entries changed since the cursor (amounts read per entry: the browse
    /// rows do not carry them), and the cursor to use next time.
    pub async fn prices_changed_since(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<PriceChange>, ChangeCursor), QadError> {
        let filters: Vec<String> = cursor
            .day
            .iter()
            .map(|day| browse::filter("priceListV2.lastModifiedDate", "ge", day))
            .collect();
        let rows = self
            .browse(&self.config.paths.price_browse, &filters)
            .await?;
        // Only the rows that changed need their amount.
        let (fresh, next) = self.fresh_rows(
            rows,
            cursor,
            |row| price_key(row).join("|"),
            |row| browse::date(row, "priceListV2.lastModifiedDate"),
        )?;
        let mut changes = Vec::new();
        for row in fresh {
            if let Some(change) = self.price_of_row(&row).await? {
                changes.push(change);
            }
        }
        Ok((changes, next))
    }

    /// The price list row of a browse row, with its amount read from the row's detail
    /// (browse rows do not carry it); `None` when the row is gone.
    async fn price_of_row(&self, row: &Row) -> Result<Option<PriceChange>, QadError> {
        let k = price_key(row);
        let entity = &self.config.paths.prices;
        let query = [
            ("domainCode", self.config.customers.domain.clone()),
            ("priceListCode", k[0].clone()),
            ("itemCode", k[1].clone()),
            ("currencyCode", k[2].clone()),
            ("unitOfMeasure", k[3].clone()),
            ("startDate", k[4].clone()),
            view(entity),
        ];
        #[derive(Deserialize)]
        struct Detail {
            #[serde(
                rename = "listPrice",
                deserialize_with = "crate::bigcommerce::wire::amount"
            )]
            list_price: Amount,
        }
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        // Re-read the detail from its text so the price stays exact.
        let details: Vec<Box<serde_json::value::RawValue>> = records(answer, entity)?;
        let Some(detail) = details.first() else {
            return Ok(None);
        };
        let detail: Detail = serde_json::from_str(detail.get())
            .map_err(|error| QadError::undecodable(&entity.path, error))?;
        let [price_list, item_code, currency, unit, start_date] = k;
        Ok(Some(PriceChange {
            price_list,
            item_code,
            currency,
            unit,
            start_date,
            expire_date: browse::text(row, "priceListV2.expireDate"),
            list_price: detail.list_price,
            changed_on: browse::date(row, "priceListV2.lastModifiedDate")
                .map_err(|error| QadError::undecodable("price browse", error))?,
        }))
    }

    /// Decodes browse rows into changes, dropping those already seen on the cursor's day.
    fn changes<T>(
        &self,
        rows: Vec<Row>,
        cursor: &ChangeCursor,
        decode: impl Fn(&Row) -> Result<(String, T), ColumnError>,
        day_of: impl Fn(&T) -> Date,
        what: &str,
    ) -> Result<(Vec<T>, ChangeCursor), QadError> {
        let mut decoded = Vec::new();
        for row in &rows {
            let (key, change) = decode(row)
                .map_err(|error| QadError::undecodable(format!("{what} browse"), error))?;
            decoded.push((key, row_digest(row), day_of(&change), change));
        }
        let (keep, next) = advance(
            cursor,
            decoded
                .iter()
                .map(|(k, d, day, _)| (k.clone(), d.clone(), *day)),
        );
        let changes = decoded
            .into_iter()
            .zip(keep)
            .filter_map(|((_, _, _, change), keep)| keep.then_some(change))
            .collect();
        Ok((changes, next))
    }

    /// The rows not already seen on the cursor's day, and the next cursor.
    fn fresh_rows(
        &self,
        rows: Vec<Row>,
        cursor: &ChangeCursor,
        key: impl Fn(&Row) -> String,
        day: impl Fn(&Row) -> Result<Date, ColumnError>,
    ) -> Result<(Vec<Row>, ChangeCursor), QadError> {
        let mut stamped = Vec::new();
        for row in &rows {
            let day = day(row).map_err(|error| QadError::undecodable("browse", error))?;
            stamped.push((key(row), row_digest(row), day));
        }
        let (keep, next) = advance(cursor, stamped.into_iter());
        let fresh = rows
            .into_iter()
            .zip(keep)
            .filter_map(|(row, keep)| keep.then_some(row))
            .collect();
        Ok((fresh, next))
    }
}

/// A digest of a row's content.
fn row_digest(row: &Row) -> String {
    let parts: Vec<String> = row
        .iter()
        .map(|(k, v)| format!("{k}={}", v.get()))
        .collect();
    crate::digest::short(&parts.iter().map(String::as_bytes).collect::<Vec<_>>(), 8)
}

/// Which records (key, digest, day) to report, and the next cursor: a record stamped on
/// the cursor's day whose digest was seen then is not reported again. The next cursor is
/// the latest day read, with the digests of every record stamped that day.
fn advance(
    cursor: &ChangeCursor,
    records: impl Iterator<Item = (String, String, Date)>,
) -> (Vec<bool>, ChangeCursor) {
    let previous_day = cursor.day.as_deref().and_then(browse::parse_date);
    let records: Vec<(String, String, Date)> = records.collect();
    let keep: Vec<bool> = records
        .iter()
        .map(|(key, digest, day)| {
            !(Some(*day) == previous_day && cursor.seen.get(key) == Some(digest))
        })
        .collect();
    let latest = records.iter().map(|(_, _, day)| *day).max();
    let next = match (latest, previous_day) {
        (None, _) => cursor.clone(),
        (Some(latest), Some(previous)) if latest < previous => cursor.clone(),
        (Some(latest), previous) => {
            let mut seen: BTreeMap<String, String> = if previous == Some(latest) {
                cursor.seen.clone()
            } else {
                BTreeMap::new()
            };
            for (key, digest, day) in &records {
                if *day == latest {
                    seen.insert(key.clone(), digest.clone());
                }
            }
            ChangeCursor {
                day: Some(browse::format_date(latest)),
                seen,
            }
        }
    };
    (keep, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn rec(key: &str, digest: &str, day: Date) -> (String, String, Date) {
        (key.into(), digest.into(), day)
    }

    #[test]
    fn the_boundary_day_is_read_again_without_reporting_what_was_seen() {
        let start = ChangeCursor::default();
        let (keep, cursor) = advance(
            &start,
            vec![
                rec("A", "a1", date!(2026 - 11 - 25)),
                rec("B", "b1", date!(2026 - 11 - 26)),
            ]
            .into_iter(),
        );
        assert_eq!(keep, [true, true]);
        assert_eq!(cursor.day.as_deref(), Some("2026-11-26"));
        assert_eq!(cursor.seen.len(), 1);
        // Next poll: B unchanged on the boundary day, C new that day, B2 changed.
        let (keep, cursor) = advance(
            &cursor,
            vec![
                rec("B", "b1", date!(2026 - 11 - 26)),
                rec("C", "c1", date!(2026 - 11 - 26)),
            ]
            .into_iter(),
        );
        assert_eq!(keep, [false, true]);
        assert_eq!(cursor.seen.len(), 2);
        let (keep, cursor) = advance(
            &cursor,
            vec![
                rec("B", "b2", date!(2026 - 11 - 26)),
                rec("C", "c1", date!(2026 - 11 - 26)),
                rec("D", "d1", date!(2026 - 11 - 27)),
            ]
            .into_iter(),
        );
        assert_eq!(keep, [true, false, true]);
        assert_eq!(cursor.day.as_deref(), Some("2026-11-27"));
        assert_eq!(cursor.seen.keys().collect::<Vec<_>>(), ["D"]);
    }
}
