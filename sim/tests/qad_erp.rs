//! The QAD simulator's `api/erp` collections over real HTTP (journal entries apart):
//! customers created in two steps with optimistic locking, the chart of accounts, and GL
//! periods following the control API.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{CUSTOMER_VIEW, Client, ITEM_VIEW, MFG_VIEW, error_fields, first_message, start};

fn new_customer(code: &str) -> Value {
    json!({
        "customerCode": code, "sharedSetCode": "QMI-CUST",
        "businessRelationCode": code, "businessRelationName": "Jane Doe",
        "isCreateBusinessRelationRequired": true, "isActive": true,
        "currencyCode": "USD", "creditTermsCode": "NET30", "invoiceStatusCode": "OPEN",
        "invoiceControlGLProfileCode": "DOMESTIC", "creditNoteControlGLProfileCode": "DOMESTIC",
        "prePaymentControlGLProfileCode": "DOMESTIC", "salesAccountGLProfileCode": "FOREIGN",
        "EMail": "jane.doe@example.com", "addressSearchName": "DOE JANE",
        "street1": "1 Main St", "city": "Santa Barbara", "zipCode": "93108", "countryCode": "US",
    })
}

#[tokio::test]
async fn customers_are_created_in_two_steps_with_optimistic_locking() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let create =
        |record: Value| json!({"supplementaryMessages": [], "customerV2s": [record]}).to_string();
    let customers = format!("/api/erp/customerV2s?viewUri={CUSTOMER_VIEW}");

    let mut bad = new_customer("WEB00001");
    bad["currencyCode"] = json!("XYZ");
    bad["creditTermsCode"] = json!("NET99");
    bad["salesAccountGLProfileCode"] = json!("NOPE");
    bad["addressSearchName"] = json!("");
    let (_, answer) = client.post(&customers, &create(bad)).await;
    assert_eq!(
        error_fields(&answer),
        [
            "AddressSearchName",
            "currencyCode",
            "creditTermsCode",
            "salesAccountGLProfileCode"
        ]
    );
    let (_, answer) = client
        .post(
            &format!("/api/erp/customerV2s?viewUri={ITEM_VIEW}"),
            &create(new_customer("WEB00001")),
        )
        .await;
    assert_eq!(error_fields(&answer), ["viewUri"]);

    let (_, created) = client
        .post(&customers, &create(new_customer("WEB00001")))
        .await;
    assert_eq!(created["submitResult"]["success"], true, "{created}");
    let record = &created["customerV2s"][0];
    assert_eq!(record["uri"], format!("{CUSTOMER_VIEW}:QMI-CUST.WEB00001"));
    assert_eq!(record["lastModifiedUser"], "connector");
    assert!(record["lastModifiedDate"].as_str().unwrap().ends_with('Z'));
    let (_, again) = client
        .post(&customers, &create(new_customer("WEB00001")))
        .await;
    assert_eq!(error_fields(&again), ["customerCode"]);
    assert!(first_message(&again).contains("already exist"));

    // Step 2: the domain record exists, empty; set site and daybook set with its hash.
    let mfg = format!(
        "/api/erp/mfgCustomers?domainContext=10USA&customerCode=WEB00001&viewUri={MFG_VIEW}"
    );
    let (_, read) = client.get(&mfg).await;
    let mut domain = read["data"]["mfgCustomers"][0].clone();
    assert_eq!(
        (
            domain["siteCode"].as_str(),
            domain["daybookSetCode"].as_str()
        ),
        (Some(""), Some(""))
    );
    let stale_hash = domain["concurrencyHash"].clone();
    domain["siteCode"] = json!("11-100");
    domain["daybookSetCode"] = json!("NOPE");
    let update =
        |record: &Value| json!({"supplementaryMessages": [], "mfgCustomers": [record]}).to_string();
    let (_, refused) = client.post(&mfg, &update(&domain)).await;
    assert_eq!(error_fields(&refused), ["siteCode", "daybookSetCode"]);
    domain["siteCode"] = json!("10-200");
    domain["daybookSetCode"] = json!("WEB");
    let (_, updated) = client.post(&mfg, &update(&domain)).await;
    assert_eq!(updated["submitResult"]["success"], true, "{updated}");
    assert_ne!(updated["mfgCustomers"][0]["concurrencyHash"], stale_hash);
    // The same update with the old hash: someone else changed the record since.
    let (_, stale) = client.post(&mfg, &update(&domain)).await;
    assert_eq!(error_fields(&stale), ["concurrencyHash"]);
    assert_eq!(first_message(&stale), "Record was changed by another user.");

    let stored = sim
        .customers("acme")
        .into_iter()
        .find(|c| c.code == "WEB00001")
        .unwrap();
    let domains: Vec<(&str, &str, &str)> = stored
        .domains
        .iter()
        .map(|d| {
            (
                d.domain.as_str(),
                d.site_code.as_str(),
                d.daybook_set_code.as_str(),
            )
        })
        .collect();
    assert_eq!(domains, [("10USA", "10-200", "WEB"), ("11CAN", "", "")]);
    let (_, by_key) = client
        .get(&format!("/api/erp/customerV2s?sharedSetCode=QMI-CUST&customerCode=WEB00001&viewUri={CUSTOMER_VIEW}"))
        .await;
    assert_eq!(
        by_key["data"]["customerV2s"][0]["EMail"],
        "jane.doe@example.com"
    );
    assert_eq!(sim.counters().business_errors, 5);
}

#[tokio::test]
async fn accounts_and_periods_are_readable_and_periods_follow_the_control_api() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let http = reqwest::Client::new();
    let control = format!("{}/_sim/qad/acme", sim.root_url());
    let (_, accounts) = client
        .get("/api/erp/glAccounts?entityCode=10USACO&viewUri=urn:be:com.qad.base.coa.IGLAccount")
        .await;
    let accounts = accounts["data"]["glAccounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 21);
    let header = accounts.iter().find(|a| a["glCode"] == "1000").unwrap();
    assert_eq!(header["isPostable"], false);
    let tax = accounts.iter().find(|a| a["glCode"] == "2210").unwrap();
    assert_eq!(tax["requiresTaxCode"], true);

    let periods = "/api/erp/glPeriods?entityCode=10USACO&postingYear=2026&viewUri=urn:be:com.qad.financials.generalledger.IGLPeriod";
    let status_of = |answer: &Value, period: u64| {
        answer["data"]["glPeriods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["postingPeriod"] == period)
            .unwrap()["status"]
            .clone()
    };
    let (_, before) = client.get(periods).await;
    assert_eq!(before["data"]["glPeriods"].as_array().unwrap().len(), 12);
    assert_eq!(
        (status_of(&before, 9), status_of(&before, 10)),
        (json!("Closed"), json!("Locked"))
    );
    assert_eq!(before["data"]["glPeriods"][1]["endDate"], "2026-02-28");

    let changed = http
        .post(format!("{control}/periods"))
        .json(&json!({"entity": "10USACO", "year": 2026, "period": 11, "status": "Closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let (_, after) = client.get(periods).await;
    assert_eq!(status_of(&after, 11), "Closed");
    let missing = http
        .post(format!("{control}/periods"))
        .json(&json!({"entity": "10USACO", "year": 2030, "period": 1, "status": "Open"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
