//! The QAD simulator over real HTTP: authentication and workspaces, the OpenAPI document,
//! customers in two steps, browses with paging snapshots and date-only stamps, prices,
//! journal posting with every validation, duplicate guards, faults, the control API and
//! the standalone binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ml_connector_sim::qad::{
    DuplicateGuard, PeriodStatus, QadFault, QadFaultAction, QadSim, SimTenant,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const JOURNAL_VIEW: &str = "urn:be:com.qad.financials.generalledger.journalentry.IJournalEntry";
const CUSTOMER_VIEW: &str = "urn:be:com.qad.base.customer.ICustomerV2";
const MFG_VIEW: &str = "urn:be:com.qad.base.customer.IMfgCustomer";
const ITEM_VIEW: &str = "urn:be:com.qad.base.item.IItem";
const PRICE_VIEW: &str = "urn:be:com.qad.sales.pricing.IPriceListV2";
const ITEMS_BROWSE: &str = "urn:browse:mfg:gp340";
const CUSTOMERS_BROWSE: &str = "urn:browse:bebrowse:com.qad.erp.base.customerV2s";
const PRICES_BROWSE: &str = "urn:browse:bebrowse:com.qad.erp.sales.priceListV2s";

async fn start() -> QadSim {
    QadSim::start(vec![
        SimTenant::demo("acme"),
        SimTenant::demo("beta").without("/api/erp/glPeriods"),
    ])
    .await
    .expect("the simulator starts")
}

/// A client of one tenant, logged in as one user.
struct Client {
    http: reqwest::Client,
    base: String,
    auth: String,
    workspace: Option<String>,
}

impl Client {
    async fn login(sim: &QadSim, tenant: &str, user: &str, password: &str) -> Client {
        let base = sim.base_url(tenant);
        let http = reqwest::Client::new();
        let token = password_grant(&http, &base, &client_id(tenant), user, password).await;
        assert_eq!(token.0, StatusCode::OK, "{}", token.1);
        Client {
            http,
            base,
            auth: format!("Bearer {}", token.1["access_token"].as_str().unwrap()),
            workspace: None,
        }
    }

    async fn connector(sim: &QadSim) -> Client {
        Client::login(sim, "acme", "connector", "s3cret").await
    }

    fn request(&self, method: reqwest::Method, path_and_query: &str) -> reqwest::RequestBuilder {
        let builder = self
            .http
            .request(method, format!("{}{path_and_query}", self.base))
            .header("authorization", &self.auth);
        match &self.workspace {
            Some(id) => builder.header("x-qad-workspace-id", id),
            None => builder,
        }
    }

    async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        let response = self
            .request(reqwest::Method::GET, path_and_query)
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Posts a body given as text, so numbers reach the simulator exactly as written.
    async fn post(&self, path_and_query: &str, body: &str) -> (StatusCode, Value) {
        let response = self
            .request(reqwest::Method::POST, path_and_query)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn post_journal(&self, entry: &Value) -> Value {
        let body = json!({"supplementaryMessages": [], "journalEntries": [entry]}).to_string();
        let (status, answer) = self
            .post(
                &format!("/api/erp/journalEntries?viewUri={JOURNAL_VIEW}"),
                &body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    async fn browse(&self, browse_id: &str, query: &[(&str, &str)]) -> Value {
        let mut pairs = vec![("browseId", browse_id)];
        pairs.extend_from_slice(query);
        let query = serde_urlencoded::to_string(&pairs).unwrap();
        let (status, answer) = self.get(&format!("/api/qracore/browses?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }
}

fn client_id(tenant: &str) -> String {
    SimTenant::demo(tenant).client_id
}

async fn password_grant(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    user: &str,
    password: &str,
) -> (StatusCode, Value) {
    let response = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", client_id),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// The `fieldName`s of a `submitResult` failure, in order.
fn error_fields(answer: &Value) -> Vec<String> {
    assert_eq!(answer["submitResult"]["success"], false, "{answer}");
    answer["submitResult"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fieldName"].as_str().unwrap().to_string())
        .collect()
}

fn first_message(answer: &Value) -> String {
    answer["submitResult"]["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn line(gl: &str, currency: &str, debit: &str, credit: &str) -> Value {
    json!({
        "glCode": gl, "subAccountCode": "", "costCenterCode": "", "projectCode": "",
        "currencyCode": currency, "debitTC": debit, "creditTC": credit, "description": gl,
    })
}

/// A balanced USD order entry in March 2026.
fn order_entry(reference: &str) -> Value {
    json!({
        "entityCode": "10USACO", "daybookCode": "SO", "layerCode": "OFFICIAL",
        "postingDate": "2026-03-02", "postingYear": 2026, "postingPeriod": 3,
        "description": "Web order 100", "externalReference": reference,
        "lines": [
            line("1150", "USD", "108.25", "0"),
            line("4000", "USD", "0", "100.00"),
            line("2200", "USD", "0", "8.25"),
        ],
    })
}

#[tokio::test]
async fn tokens_are_issued_refreshed_once_and_expire_on_the_simulated_clock() {
    let sim = start().await;
    let base = sim.base_url("acme");
    let http = reqwest::Client::new();
    let id = client_id("acme");

    let (status, bad) = password_grant(&http, &base, &id, "connector", "wrong").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"], "invalid_grant");
    let (status, bad) = password_grant(&http, &base, &"0".repeat(32), "connector", "s3cret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad["error"], "invalid_client");
    let (status, mfg) = password_grant(&http, &base, &id, "mfg@qad.com", "").await;
    assert_eq!(status, StatusCode::OK, "{mfg}");

    // Parameters in the query string with an empty body work too.
    let query = serde_urlencoded::to_string([
        ("grant_type", "password"),
        ("client_id", id.as_str()),
        ("username", "connector"),
        ("password", "s3cret"),
    ])
    .unwrap();
    let token: Value = http
        .post(format!("{base}/oauth/token?{query}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 300);
    let access = token["access_token"].as_str().unwrap();
    let items =
        format!("{base}/api/erp/items?domainCode=10USA&itemCode=SKU-0100&viewUri={ITEM_VIEW}");
    let call = |auth: String| {
        let http = http.clone();
        let items = items.clone();
        async move {
            http.get(items)
                .header("authorization", auth)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        call(format!("Bearer {access}")).await.status(),
        StatusCode::OK
    );

    let refresh = |token: String| {
        let http = http.clone();
        let (base, id) = (base.clone(), id.clone());
        async move {
            http.post(format!("{base}/oauth/token"))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", id.as_str()),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let first_refresh = token["refresh_token"].as_str().unwrap().to_string();
    let renewed = refresh(first_refresh.clone()).await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let renewed: Value = renewed.json().await.unwrap();
    let reused = refresh(first_refresh).await;
    assert_eq!(
        reused.status(),
        StatusCode::BAD_REQUEST,
        "a refresh token is single use"
    );
    assert_eq!(
        reused.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    sim.advance(Duration::from_secs(301));
    let expired = call(format!("Bearer {access}")).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        expired.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    let renewed_access = renewed["access_token"].as_str().unwrap();
    assert_eq!(
        call(format!("Bearer {renewed_access}")).await.status(),
        StatusCode::UNAUTHORIZED,
        "the refreshed token expired as well"
    );
    // Static tokens and Basic do not expire.
    assert_eq!(
        call("Bearer static-jwt-acme".into()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        call("Basic Y29ubmVjdG9yOnMzY3JldA==".into()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        call("Basic Y29ubmVjdG9yOndyb25n".into()).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call("Bearer static-jwt-beta".into()).await.status(),
        StatusCode::UNAUTHORIZED,
        "another tenant's token"
    );
    let missing = http.get(&items).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);

    let counters = sim.counters();
    assert_eq!((counters.logins, counters.refreshes), (2, 1));
    assert_eq!(counters.rejected_401, 5);
}

#[tokio::test]
async fn read_only_users_and_unknown_workspaces_get_the_grounded_403() {
    let sim = start().await;
    let mut reader = Client::login(&sim, "acme", "readonly", "readonly").await;
    let (status, _) = reader
        .get("/api/erp/glAccounts?entityCode=10USACO&viewUri=urn:be:com.qad.base.coa.IGLAccount")
        .await;
    assert_eq!(status, StatusCode::OK);
    let entry = json!({"supplementaryMessages": [], "journalEntries": [order_entry("r-1")]});
    let (status, body) = reader
        .post(
            &format!("/api/erp/journalEntries?viewUri={JOURNAL_VIEW}"),
            &entry.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"errors": [{"severity": 1, "code": "403", "message": "Access is denied", "fieldName": ""}]})
    );
    reader.workspace = Some("99XXX_99XXXCO".into());
    let (status, body) = reader
        .get(&format!(
            "/api/erp/items?itemCode=SKU-0100&viewUri={ITEM_VIEW}"
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["errors"][0]["message"], "Access is denied");
    assert!(sim.ledger("acme").is_empty());
    assert_eq!(sim.counters().rejected_403, 2);
}

#[tokio::test]
async fn the_openapi_document_lists_the_enabled_paths_only() {
    let sim = start().await;
    let http = reqwest::Client::new();
    let doc: Value = http
        .get(format!("{}/api-docs/openapi.json", sim.base_url("acme")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = &doc["paths"];
    for (path, methods) in [
        ("/api/erp/customerV2s", &["get", "post"][..]),
        ("/api/erp/mfgCustomers", &["get", "post"]),
        ("/api/erp/items", &["delete", "get", "post"]),
        ("/api/erp/priceListV2s", &["get"]),
        ("/api/erp/journalEntries", &["get", "post"]),
        ("/api/erp/glAccounts", &["get"]),
        ("/api/erp/glPeriods", &["get"]),
        ("/api/qracore/browses", &["get"]),
        ("/oauth/token", &["post"]),
    ] {
        // serde_json keeps object keys sorted.
        let listed: Vec<&String> = paths[path].as_object().unwrap().keys().collect();
        assert_eq!(listed, methods, "{path}");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["oauth2"]["flows"]["password"]["tokenUrl"],
        "oauth/token"
    );
    assert_eq!(schemes["basic"]["scheme"], "basic");

    // beta has no glPeriods: not in its document, and a 404 (under either context root).
    let beta_root = sim.base_url("beta").replace("/clouderp", "/qad-central");
    let beta: Value = http
        .get(format!("{beta_root}/api-docs/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(beta["paths"].get("/api/erp/glPeriods").is_none());
    assert!(beta["paths"].get("/api/erp/glAccounts").is_some());
    let periods = http
        .get(format!(
            "{beta_root}/api/erp/glPeriods?entityCode=10USACO&viewUri=urn:be:com.qad.financials.generalledger.IGLPeriod"
        ))
        .header("authorization", "Bearer static-jwt-beta")
        .send()
        .await
        .unwrap();
    assert_eq!(periods.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        periods.json::<Value>().await.unwrap()["errors"][0]["code"],
        "404"
    );
}

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

#[tokio::test]
async fn a_balanced_journal_posts_and_reads_back_by_reference_and_voucher() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let answer = client.post_journal(&order_entry("bc:order:100:v1")).await;
    assert_eq!(answer["submitResult"]["success"], true, "{answer}");
    let posted = &answer["journalEntries"][0];
    assert_eq!(posted["voucher"], "2026/SO/000001");
    assert_eq!(posted["lines"][0]["debitLC"], "108.25");
    let second = client.post_journal(&order_entry("bc:order:101:v1")).await;
    assert_eq!(second["journalEntries"][0]["voucher"], "2026/SO/000002");

    let ledger = sim.ledger("acme");
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0].external_reference, "bc:order:100:v1");
    assert_eq!(ledger[0].lines[0].debit_tc, 1_082_500);
    assert_eq!(ledger[0].lines[2].credit_base, 82_500);

    let (_, found) = client
        .get(&format!("/api/erp/journalEntries?entityCode=10USACO&externalReference=bc:order:100:v1&viewUri={JOURNAL_VIEW}"))
        .await;
    assert_eq!(
        found["data"]["journalEntries"][0]["voucher"],
        "2026/SO/000001"
    );
    let (_, by_voucher) = client
        .get(&format!("/api/erp/journalEntries?entityCode=10USACO&daybookCode=SO&voucher=2026/SO/000002&viewUri={JOURNAL_VIEW}"))
        .await;
    assert_eq!(
        by_voucher["data"]["journalEntries"][0]["externalReference"],
        "bc:order:101:v1"
    );
    let (_, none) = client
        .get(&format!("/api/erp/journalEntries?entityCode=10USACO&externalReference=nope&viewUri={JOURNAL_VIEW}"))
        .await;
    assert_eq!(none["data"]["journalEntries"], json!([]));
    assert_eq!(sim.counters().journals_posted, 2);
}

#[tokio::test]
async fn a_documents_entries_read_back_by_prefix_and_the_control_api_deletes_or_duplicates_one() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    for reference in ["bc:order:7:r1", "bc:order:7:r2", "bc:order:70:r1"] {
        let answer = client.post_journal(&order_entry(reference)).await;
        assert_eq!(answer["submitResult"]["success"], true, "{answer}");
    }
    let by_prefix = |prefix: &str| {
        format!(
            "/api/erp/journalEntries?entityCode=10USACO&externalReferencePrefix={prefix}&viewUri={JOURNAL_VIEW}"
        )
    };
    let references = |answer: &Value| -> Vec<String> {
        answer["data"]["journalEntries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["externalReference"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, found) = client.get(&by_prefix("bc:order:7:")).await;
    assert_eq!(references(&found), ["bc:order:7:r1", "bc:order:7:r2"]);
    assert_eq!(
        found["data"]["journalEntries"][0]["lines"][1]["creditTC"],
        "100.00"
    );

    let http = reqwest::Client::new();
    let control = format!("{}/_sim/qad/acme/journals", sim.root_url());
    let post = |path: &str, reference: &str| {
        http.post(format!("{control}/{path}"))
            .json(&json!({"external_reference": reference}))
            .send()
    };
    let duplicated = post("duplicate", "bc:order:7:r1").await.unwrap();
    assert_eq!(duplicated.status(), StatusCode::OK);
    let voucher: Value = duplicated.json().await.unwrap();
    assert_eq!(voucher["voucher"], "2026/SO/000004");
    let deleted = post("delete", "bc:order:7:r2").await.unwrap();
    assert_eq!(deleted.json::<Value>().await.unwrap()["deleted"], 1);
    let (_, found) = client.get(&by_prefix("bc:order:7:")).await;
    assert_eq!(references(&found), ["bc:order:7:r1", "bc:order:7:r1"]);
    let unknown = post("delete", "bc:order:7:r2").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn journal_amounts_are_read_exactly_and_converted_to_the_entity_base() {
    let sim = start().await;
    let mut client = Client::connector(&sim).await;
    // JSON numbers (not strings), in EUR: 0.1 + 0.2 must be exactly 0.3.
    let body = r#"{"supplementaryMessages": [], "journalEntries": [{
        "entityCode": "10USACO", "daybookCode": "WEBSALES", "layerCode": "OFFICIAL",
        "postingDate": "2026-11-02", "postingYear": 2026, "postingPeriod": 11,
        "description": "EUR order", "externalReference": "eur-1",
        "lines": [
          {"glCode": "1150", "currencyCode": "EUR", "debitTC": 0.3, "creditTC": 0},
          {"glCode": "4000", "currencyCode": "EUR", "debitTC": 0, "creditTC": 0.1},
          {"glCode": "4100", "currencyCode": "EUR", "debitTC": 0, "creditTC": 0.2}]}]}"#;
    let (_, answer) = client
        .post(
            &format!("/api/erp/journalEntries?viewUri={JOURNAL_VIEW}"),
            body,
        )
        .await;
    // 0.3 × 1.085 = 0.3255 → 0.33, but 0.1085 → 0.11 and 0.217 → 0.22: 0.33 = 0.33.
    assert_eq!(answer["submitResult"]["success"], true, "{answer}");
    assert_eq!(answer["journalEntries"][0]["lines"][0]["debitLC"], "0.33");
    assert_eq!(
        answer["journalEntries"][0]["lines"][0]["exchangeRate"],
        "1.0850"
    );

    // In the Canadian workspace, USD converts to CAD at 1.37.
    client.workspace = Some("11CAN_11CANCO".into());
    let mut entry = order_entry("cad-1");
    entry["entityCode"] = json!("11CANCO");
    let answer = client.post_journal(&entry).await;
    assert_eq!(answer["submitResult"]["success"], true, "{answer}");
    let lines = &answer["journalEntries"][0]["lines"];
    assert_eq!(lines[0]["debitLC"], "148.30");
    assert_eq!(lines[1]["creditLC"], "137.00");
    assert_eq!(lines[2]["creditLC"], "11.30");
    assert_eq!(sim.ledger("acme")[1].base_currency, "CAD");
}

/// One invalid entry and the fields its errors must name, in order.
struct Case {
    name: &'static str,
    change: fn(&mut Value),
    fields: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "unbalanced by 0.01",
        change: |e| e["lines"][2]["creditTC"] = json!("8.24"),
        fields: &["balance"],
    },
    Case {
        name: "closed period",
        change: |e| {
            e["postingDate"] = json!("2026-09-15");
            e["postingPeriod"] = json!(9);
        },
        fields: &["postingPeriod"],
    },
    Case {
        name: "locked period",
        change: |e| {
            e["postingDate"] = json!("2026-10-15");
            e["postingPeriod"] = json!(10);
        },
        fields: &["postingPeriod"],
    },
    Case {
        name: "a 2025 period",
        change: |e| {
            e["postingDate"] = json!("2025-12-31");
            e["postingYear"] = json!(2025);
            e["postingPeriod"] = json!(12);
        },
        fields: &["postingPeriod"],
    },
    Case {
        name: "date outside the period",
        change: |e| e["postingDate"] = json!("2026-04-01"),
        fields: &["postingDate"],
    },
    Case {
        name: "header account",
        change: |e| e["lines"][0]["glCode"] = json!("1000"),
        fields: &["lines[0].glCode"],
    },
    Case {
        name: "inactive account",
        change: |e| e["lines"][1]["glCode"] = json!("9999"),
        fields: &["lines[1].glCode"],
    },
    Case {
        name: "unknown account",
        change: |e| e["lines"][2]["glCode"] = json!("2300"),
        fields: &["lines[2].glCode"],
    },
    Case {
        name: "missing cost centre",
        change: |e| e["lines"][0]["glCode"] = json!("6100"),
        fields: &["lines[0].costCenterCode"],
    },
    Case {
        name: "missing sub-account",
        change: |e| e["lines"][0]["glCode"] = json!("6200"),
        fields: &["lines[0].subAccountCode"],
    },
    Case {
        name: "missing tax code",
        change: |e| e["lines"][2]["glCode"] = json!("2210"),
        fields: &["lines[2].taxCode"],
    },
    Case {
        name: "inactive daybook",
        change: |e| e["daybookCode"] = json!("OLDBOOK"),
        fields: &["daybookCode"],
    },
    Case {
        name: "daybook of type Invoices",
        change: |e| e["daybookCode"] = json!("INV"),
        fields: &["daybookCode"],
    },
    Case {
        name: "daybook longer than 8 characters",
        change: |e| e["daybookCode"] = json!("WEBSALES1"),
        fields: &["daybookCode"],
    },
    Case {
        name: "entity outside the workspace",
        change: |e| e["entityCode"] = json!("11CANCO"),
        fields: &["entityCode"],
    },
    Case {
        name: "KWD without a rate",
        change: |e| {
            e["lines"] = json!([
                line("1150", "KWD", "1.250", ""),
                line("4000", "KWD", "", "1.250")
            ]);
        },
        fields: &["lines[0].exchangeRate", "lines[1].exchangeRate"],
    },
    Case {
        name: "JPY with decimals",
        change: |e| {
            e["lines"] = json!([
                line("1150", "JPY", "1500.5", "0"),
                line("4000", "JPY", "0", "1500.5")
            ]);
        },
        fields: &["lines[0].debitTC", "lines[1].creditTC"],
    },
    Case {
        name: "EUR balanced in TC but not in base",
        change: |e| {
            e["lines"] = json!([
                line("1150", "EUR", "1.00", "0"),
                line("4000", "EUR", "0", "0.50"),
                line("4100", "EUR", "0", "0.50"),
            ]);
        },
        fields: &["balance.base"],
    },
    Case {
        name: "several problems at once",
        change: |e| {
            e["daybookCode"] = json!("OLDBOOK");
            e["lines"][0]["glCode"] = json!("1000");
            e["lines"][2]["creditTC"] = json!("8.24");
        },
        fields: &["daybookCode", "lines[0].glCode"],
    },
];

#[tokio::test]
async fn every_journal_validation_fails_with_its_own_field() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    for (n, case) in CASES.iter().enumerate() {
        let mut entry = order_entry(&format!("case-{n}"));
        (case.change)(&mut entry);
        let answer = client.post_journal(&entry).await;
        assert_eq!(
            error_fields(&answer),
            case.fields,
            "{}: {answer}",
            case.name
        );
    }
    assert!(sim.ledger("acme").is_empty(), "all or nothing");
    assert_eq!(sim.counters().business_errors, CASES.len() as u64);

    // With an explicit rate, KWD posts; reopening September lets that period post.
    let mut kwd = order_entry("kwd-ok");
    let mut debit = line("1150", "KWD", "1.250", "");
    debit["exchangeRate"] = json!("3.2500");
    let mut credit = line("4000", "KWD", "", "1.250");
    credit["exchangeRate"] = json!("3.25");
    kwd["lines"] = json!([debit, credit]);
    let answer = client.post_journal(&kwd).await;
    assert_eq!(
        answer["journalEntries"][0]["lines"][0]["debitLC"], "4.06",
        "{answer}"
    );
    sim.set_period_status("acme", "10USACO", 2026, 9, PeriodStatus::Open);
    let mut september = order_entry("sept");
    september["postingDate"] = json!("2026-09-15");
    september["postingPeriod"] = json!(9);
    assert_eq!(
        client.post_journal(&september).await["submitResult"]["success"],
        true
    );
    assert_eq!(sim.ledger("acme").len(), 2);
}

#[tokio::test]
async fn the_duplicate_guard_rejects_returns_or_allows_a_second_post() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let entry = order_entry("bc:order:7:v1");
    let first = client.post_journal(&entry).await;
    let voucher = first["journalEntries"][0]["voucher"].clone();

    let refused = client.post_journal(&entry).await;
    assert_eq!(error_fields(&refused), ["externalReference"]);
    assert!(first_message(&refused).contains("already exists"));

    sim.set_duplicate_guard("acme", DuplicateGuard::ReturnExisting);
    let returned = client.post_journal(&entry).await;
    assert_eq!(returned["submitResult"]["success"], true);
    assert_eq!(returned["journalEntries"][0]["voucher"], voucher);
    assert_eq!(sim.ledger("acme").len(), 1);

    sim.set_duplicate_guard("acme", DuplicateGuard::Off);
    let again = client.post_journal(&entry).await;
    assert_eq!(again["journalEntries"][0]["voucher"], "2026/SO/000002");
    assert_eq!(sim.ledger("acme").len(), 2);
    let counters = sim.counters();
    assert_eq!(
        (
            counters.duplicates_refused,
            counters.duplicates_returned,
            counters.journals_posted
        ),
        (1, 1, 2)
    );
}

#[tokio::test]
async fn a_post_dropped_after_commit_is_in_the_ledger_and_found_by_reference() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    sim.inject(
        "acme",
        QadFault::new(QadFaultAction::DropAfterCommit, 1)
            .on("journalEntries")
            .for_method("POST"),
    );
    let body =
        json!({"supplementaryMessages": [], "journalEntries": [order_entry("bc:order:9:v1")]});
    let sent = client
        .request(
            reqwest::Method::POST,
            &format!("/api/erp/journalEntries?viewUri={JOURNAL_VIEW}"),
        )
        .json(&body)
        .send()
        .await;
    let answer = match sent {
        Ok(response) => response.text().await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(answer.is_err(), "the client never sees the answer");
    assert_eq!(sim.ledger("acme").len(), 1, "but the entry was committed");
    let (_, found) = client
        .get(&format!("/api/erp/journalEntries?entityCode=10USACO&externalReference=bc:order:9:v1&viewUri={JOURNAL_VIEW}"))
        .await;
    assert_eq!(
        found["data"]["journalEntries"][0]["voucher"],
        "2026/SO/000001"
    );
    assert_eq!(sim.counters().faults_injected, 1);
}

#[tokio::test]
async fn injected_faults_have_their_shapes() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let items = format!("/api/erp/items?itemCode=SKU-0100&viewUri={ITEM_VIEW}");
    let raw = |path: String| {
        let request = client.request(reqwest::Method::GET, &path);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let kind = response.headers().get("content-type").cloned();
            (status, kind, response.text().await.unwrap())
        }
    };
    for action in [
        QadFaultAction::Html502,
        QadFaultAction::Http500,
        QadFaultAction::TruncateJson,
        QadFaultAction::Unauthorized401Once,
    ] {
        sim.inject("acme", QadFault::new(action, 1).on("/api/erp/items"));
    }
    let (status, kind, body) = raw(items.clone()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(kind.unwrap(), "text/html");
    assert!(body.contains("<title>502 Bad Gateway</title>"));
    let (status, _, body) = raw(items.clone()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["code"], "500");
    let (status, _, body) = raw(items.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        serde_json::from_str::<Value>(&body).is_err(),
        "truncated: {body}"
    );
    assert!(body.starts_with("{\"data\""));
    let (status, _, _) = raw(items.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = raw(items.clone()).await;
    assert_eq!(status, StatusCode::OK, "the faults are used up");

    sim.inject(
        "acme",
        QadFault::new(QadFaultAction::Delay(Duration::from_millis(150)), 1),
    );
    let started = Instant::now();
    assert_eq!(raw(items).await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(sim.counters().faults_injected, 5);
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
    assert_eq!(accounts.len(), 19);
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

#[tokio::test]
async fn the_control_api_drives_the_simulator_over_http() {
    let sim = start().await;
    let client = Client::connector(&sim).await;
    let http = reqwest::Client::new();
    let control = format!("{}/_sim/qad/acme", sim.root_url());
    let post = |path: &str, body: Value| http.post(format!("{control}{path}")).json(&body).send();
    assert_eq!(
        post("/duplicate-guard", json!({"mode": "off"}))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        post("/duplicate-guard", json!({"mode": "maybe"}))
            .await
            .unwrap()
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    client.post_journal(&order_entry("x")).await;
    client.post_journal(&order_entry("x")).await;
    let ledger: Value = http
        .get(format!("{control}/ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger.as_array().unwrap().len(), 2);

    let touched = post("/items/SKU-0100/touch", json!({"list_price": "19.95"}))
        .await
        .unwrap();
    assert_eq!(touched.status(), StatusCode::OK);
    let item = sim
        .items("acme")
        .into_iter()
        .find(|i| i.code == "SKU-0100")
        .unwrap();
    assert_eq!(item.list_price, 199_500);
    assert_eq!(
        post("/items/NOPE/touch", json!({"list_price": 1}))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    // Items added, renamed and repriced, and price list rows set, over HTTP.
    let added = post(
        "/items",
        json!({"code": "NEW-1", "description": "New", "list_price": 12.5}),
    );
    assert_eq!(added.await.unwrap().status(), StatusCode::OK);
    let again = post(
        "/items",
        json!({"code": "NEW-1", "description": "New", "list_price": 1}),
    );
    assert_eq!(
        again.await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let renamed = post("/items/NEW-1/touch", json!({"description": "Renamed"}));
    assert_eq!(renamed.await.unwrap().status(), StatusCode::OK);
    let empty = post("/items/NEW-1/touch", json!({}));
    assert_eq!(
        empty.await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let item = sim
        .items("acme")
        .into_iter()
        .find(|i| i.code == "NEW-1")
        .unwrap();
    assert_eq!(
        (
            item.description.as_str(),
            item.list_price,
            item.status.as_str()
        ),
        ("Renamed", 125_000, "ACTIVE")
    );
    let row = json!({"price_list": "WEB", "item": "NEW-1", "currency": "USD",
        "start": "2026-01-01", "list_price": "11.00"});
    assert_eq!(
        post("/prices", row.clone()).await.unwrap().status(),
        StatusCode::OK
    );
    let mut cheaper = row.clone();
    cheaper["list_price"] = json!("10.00");
    assert_eq!(
        post("/prices", cheaper).await.unwrap().status(),
        StatusCode::OK
    );
    let rows: Vec<_> = sim
        .data("acme")
        .prices
        .into_iter()
        .filter(|p| p.item == "NEW-1")
        .collect();
    assert_eq!(rows.len(), 1, "the same row is updated, not added twice");
    assert_eq!(rows[0].list_price, 100_000);
    let mut bad_date = row.clone();
    bad_date["start"] = json!("01/01/2026");
    assert_eq!(
        post("/prices", bad_date).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut no_item = row;
    no_item["item"] = json!("NOPE");
    assert_eq!(
        post("/prices", no_item).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let fault = json!({"action": "http500", "count": 1, "path_contains": "glAccounts"});
    assert_eq!(
        post("/faults", fault).await.unwrap().status(),
        StatusCode::OK
    );
    let (status, _) = client
        .get("/api/erp/glAccounts?viewUri=urn:be:com.qad.base.coa.IGLAccount")
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    let before = sim.now();
    let advanced = http
        .post(format!("{}/_sim/qad/clock", sim.root_url()))
        .json(&json!({"seconds": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(advanced.status(), StatusCode::OK);
    assert!(sim.now() - before >= Duration::from_secs(3600));
    let customers: Value = http
        .get(format!("{control}/customers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(customers[0]["domains"].as_array().unwrap().len(), 2);
    let counters: Value = http
        .get(format!("{}/_sim/qad/counters", sim.root_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["journals_posted"], 2);
    let unknown = http
        .get(format!("{}/_sim/qad/nobody", sim.root_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_qad_tenants() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_ml-connector-sim"))
            .args(["qad", "--tenants", "2"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the simulator starts"),
    );
    let mut lines = BufReader::new(child.0.stdout.take().expect("stdout")).lines();
    let acme: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let beta: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(
        (acme["tenant"].as_str(), beta["tenant"].as_str()),
        (Some("acme"), Some("beta"))
    );
    assert_eq!(beta["disabled_paths"], json!(["/api/erp/glPeriods"]));
    assert_eq!(acme["client_id"], client_id("acme"));
    assert_eq!(acme["users"][0]["username"], "connector");

    let http = reqwest::Client::new();
    let base = acme["base_url"].as_str().unwrap();
    let (status, token) =
        password_grant(&http, base, &client_id("acme"), "connector", "s3cret").await;
    assert_eq!(status, StatusCode::OK);
    let periods = |base: &str, auth: String| {
        http.get(format!(
            "{base}/api/erp/glPeriods?viewUri=urn:be:com.qad.financials.generalledger.IGLPeriod"
        ))
        .header("authorization", auth)
        .send()
    };
    let access = format!("Bearer {}", token["access_token"].as_str().unwrap());
    assert_eq!(
        periods(base, access).await.unwrap().status(),
        StatusCode::OK
    );
    let beta_token = format!("Bearer {}", beta["static_token"].as_str().unwrap());
    let beta_base = beta["base_url"].as_str().unwrap();
    assert_eq!(
        periods(beta_base, beta_token).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let summary: Value = http
        .get(acme["control"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["items"], 73);
}
