//! The QAD simulator's browses over real HTTP: the case-sensitive email browse, item pages
//! holding still under a `callId` with date-only stamps, and price rows whose amounts come
//! from the detail.

mod common;

use serde_json::{Value, json};

use common::{
    CUSTOMERS_BROWSE, Client, ITEM_VIEW, ITEMS_BROWSE, PRICE_VIEW, PRICES_BROWSE, error_fields,
    start,
};

fn column<'a>(answer: &'a Value, name: &str) -> Vec<&'a str> {
    answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[name].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_email_browse_is_case_sensitive_and_may_match_several_customers() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let by_email = |email: &str| format!("customerV2.EMail,eq,{email},literal");
    let shared = client
        .browse(
            CUSTOMERS_BROWSE,
            &[("filter", &by_email("shared@example.com"))],
        )
        .await;
    assert_eq!(
        column(&shared, "customerV2.customerCode"),
        ["C0002", "C0003"]
    );
    assert_eq!(shared["auxillaryData"]["HasMoreParams"], "false");
    let lower = client
        .browse(
            CUSTOMERS_BROWSE,
            &[("filter", &by_email("mixed.case@example.com"))],
        )
        .await;
    assert_eq!(lower["data"], json!([]));
    let stored = client
        .browse(
            CUSTOMERS_BROWSE,
            &[("filter", &by_email("Mixed.Case@Example.com"))],
        )
        .await;
    assert_eq!(stored["data"][0]["customerV2.customerCode"], "C0004");
    assert_eq!(stored["data"][0]["customerV2.sharedSetCode"], "QMI-CUST");
    let contains = client
        .browse(
            CUSTOMERS_BROWSE,
            &[("filter", "customerV2.EMail,cn,@example.com,literal")],
        )
        .await;
    assert_eq!(contains["data"].as_array().unwrap().len(), 3);

    let unknown = client.browse("urn:browse:mfg:nope", &[]).await;
    assert_eq!(error_fields(&unknown), ["browseId"]);
    let bad_filter = client
        .browse(
            CUSTOMERS_BROWSE,
            &[("filter", "customerV2.EMail,like,x,literal")],
        )
        .await;
    assert_eq!(error_fields(&bad_filter), ["filter"]);
    let bad_field = client
        .browse(
            CUSTOMERS_BROWSE,
            &[("filter", "customerV2.Phone,eq,x,literal")],
        )
        .await;
    assert_eq!(error_fields(&bad_field), ["filter"]);
}

#[tokio::test]
async fn item_pages_hold_still_under_a_call_id_while_an_item_changes() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let items = sim.items("acme");
    assert_eq!(items.len(), 73);
    let oldest_day = items.iter().map(|i| i.stamp.modified.date()).min().unwrap();
    let since = oldest_day.next_day().unwrap();
    let mut expected: Vec<&str> = items
        .iter()
        .filter(|i| i.stamp.modified.date() >= since)
        .map(|i| i.code.as_str())
        .collect();
    expected.sort();
    let outside = items
        .iter()
        .filter(|i| i.stamp.modified.date() < since)
        .map(|i| i.code.as_str())
        .min()
        .unwrap();
    let page_size = expected.len().div_ceil(3);
    let filter = format!("pt_mstr.pt_mod_date,ge,{since},literal");

    let count: Value = client
        .get(&format!(
            "/api/qracore/browses/totalCount/?{}",
            serde_urlencoded::to_string([("browseId", ITEMS_BROWSE), ("filter", &filter)]).unwrap()
        ))
        .await
        .1;
    assert_eq!(count["data"]["totalCount"], expected.len());

    let size = page_size.to_string();
    let page = |n: usize| {
        let (filter, size) = (filter.clone(), size.clone());
        let client = &client;
        async move {
            let page = n.to_string();
            let action = if n == 1 { "first" } else { "next" };
            client
                .browse(
                    ITEMS_BROWSE,
                    &[
                        ("filter", &filter),
                        ("page", &page),
                        ("pageSize", &size),
                        ("pageAction", action),
                        ("callId", "scan-1"),
                    ],
                )
                .await
        }
    };
    let first = page(1).await;
    // Mid-scan, an item outside the filter changes in QAD and now matches it.
    sim.touch_item("acme", outside, 43_210_000);
    let (second, third) = (page(2).await, page(3).await);
    let flags: Vec<&Value> = [&first, &second, &third]
        .iter()
        .map(|p| &p["auxillaryData"]["HasMoreParams"])
        .collect();
    assert_eq!(flags, [&json!("true"), &json!("true"), &json!("false")]);
    let scanned: Vec<&str> = [&first, &second, &third]
        .iter()
        .flat_map(|p| column(p, "pt_mstr.pt_part"))
        .collect();
    assert_eq!(scanned, expected, "the snapshot's rows, each once");

    // A new scan sees the change; its stamp is a date only, today's.
    let fresh = client
        .browse(
            ITEMS_BROWSE,
            &[
                ("filter", &filter),
                ("pageSize", "1000"),
                ("callId", "scan-2"),
            ],
        )
        .await;
    assert_eq!(fresh["data"].as_array().unwrap().len(), expected.len() + 1);
    let touched = client
        .browse(
            ITEMS_BROWSE,
            &[("filter", &format!("pt_mstr.pt_part,eq,{outside},literal"))],
        )
        .await;
    let today = sim.now().date().to_string();
    assert_eq!(touched["data"][0]["pt_mstr.pt_mod_date"], today);
    assert_eq!(touched["data"][0]["pt_mstr.pt_price"], json!(4321.0));
    for row in fresh["data"].as_array().unwrap() {
        let code = row["pt_mstr.pt_part"].as_str().unwrap();
        let item = sim
            .items("acme")
            .into_iter()
            .find(|i| i.code == code)
            .unwrap();
        assert_eq!(
            row["pt_mstr.pt_mod_date"],
            item.stamp.modified.date().to_string()
        );
    }
    // The item record keeps the full time.
    let (_, record) = client
        .get(&format!(
            "/api/erp/items?domainCode=10USA&itemCode={outside}&viewUri={ITEM_VIEW}"
        ))
        .await;
    let modified = record["data"]["items"][0]["lastModifiedDate"]
        .as_str()
        .unwrap();
    assert!(
        modified.starts_with(&today) && modified.len() == 24,
        "{modified}"
    );
    // Item codes are case-sensitive.
    let lower = client
        .browse(
            ITEMS_BROWSE,
            &[("filter", "pt_mstr.pt_part,eq,sku-0101,literal")],
        )
        .await;
    assert_eq!(
        column(&lower, "pt_mstr.pt_desc1"),
        ["Product 101 (lower-case code)"]
    );
}

#[tokio::test]
async fn price_rows_come_from_the_browse_and_amounts_from_the_detail() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let rows = client.browse(PRICES_BROWSE, &[("pageSize", "1000")]).await;
    let rows = rows["data"].as_array().unwrap();
    assert!(rows.len() > 30, "{}", rows.len());
    assert!(
        rows.iter()
            .all(|r| r.get("priceListV2.listPrice").is_none())
    );
    assert!(
        rows.iter()
            .any(|r| r["priceListV2.expireDate"] == "2025-12-31")
    );
    let row = &rows[1];
    let query = serde_urlencoded::to_string([
        ("domainCode", "10USA"),
        (
            "priceListCode",
            row["priceListV2.priceListCode"].as_str().unwrap(),
        ),
        ("itemCode", row["priceListV2.itemCode"].as_str().unwrap()),
        ("currencyCode", "USD"),
        ("unitOfMeasure", "EA"),
        ("startDate", row["priceListV2.startDate"].as_str().unwrap()),
        ("viewUri", PRICE_VIEW),
    ])
    .unwrap();
    let response = client
        .request(
            reqwest::Method::GET,
            &format!("/api/erp/priceListV2s?{query}"),
        )
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    let expected = sim
        .data("acme")
        .prices
        .into_iter()
        .find(|p| {
            p.item == row["priceListV2.itemCode"]
                && p.start.to_string() == row["priceListV2.startDate"]
        })
        .unwrap()
        .list_price;
    let exact = format!(
        "\"listPrice\":{}.{:02}",
        expected / 10_000,
        expected % 10_000 / 100
    );
    assert!(text.contains(&exact), "{exact} in {text}");
    let since = client
        .browse(
            PRICES_BROWSE,
            &[(
                "filter",
                "priceListV2.lastModifiedDate,ge,2026-11-16,literal",
            )],
        )
        .await;
    assert!(since["data"].as_array().unwrap().len() < rows.len());
}
