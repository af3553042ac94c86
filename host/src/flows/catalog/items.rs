//! The item as the catalog plugin sees it: the item master record with its list price and
//! the price list rows in effect on the day, in the item's unit.

use super::*;

/// A price row of an item whose dates cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("price list {price_list} row of item {item} from `{start}`: the {which} is not a date")]
pub struct UnreadableRow {
    pub price_list: String,
    pub item: String,
    pub start: String,
    /// `start date`, or the expiry date with its text.
    pub which: String,
}

/// The item as the plugin sees it: its prices are the item master's list price (as
/// [`ITEM_PRICE_LIST`]) and the price list rows in effect on `today` in the item's
/// unit. A row whose dates cannot be read fails the item.
pub(super) fn erp_item(
    item: &ItemChange,
    prices: &[PriceChange],
    item_currency: &str,
    today: Date,
) -> Result<ErpItem, UnreadableRow> {
    let mut erp_prices = vec![ErpPrice {
        price_list: ITEM_PRICE_LIST.into(),
        currency: item_currency.to_string(),
        amount: item.list_price,
        effective_from: browse::format_date(item.changed_on),
    }];
    for price in prices.iter().filter(|p| p.unit == item.unit) {
        let unreadable = |which: String| UnreadableRow {
            price_list: price.price_list.clone(),
            item: item.item_code.clone(),
            start: price.start_date.clone(),
            which,
        };
        let start =
            browse::parse_date(&price.start_date).ok_or_else(|| unreadable("start date".into()))?;
        let expire = match price.expire_date.trim() {
            "" => None,
            text => Some(
                browse::parse_date(text)
                    .ok_or_else(|| unreadable(format!("expiry date `{text}`")))?,
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(bad.unwrap_err().to_string().contains("`soon`"));
        let bad = erp_item(
            &item,
            &[price("WEB", "EA", "2026-01-01", "31/12", 1)],
            "USD",
            today,
        );
        assert!(bad.unwrap_err().to_string().contains("`31/12`"));
    }
}
