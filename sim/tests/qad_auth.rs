//! The QAD simulator's authentication over real HTTP: tokens issued, refreshed once and
//! expiring on the simulated clock, static tokens and Basic; read-only users and unknown
//! workspaces refused; the OpenAPI document listing the enabled paths only.

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{Client, ITEM_VIEW, JOURNAL_VIEW, client_id, order_entry, password_grant, start};

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
