//! What the simulator's QAD tests share: the tenants they start, a REST client of one
//! tenant logged in as one user, the password grant, reading a `submitResult` failure, and
//! journal entries to post.

// Each test file uses part of this.
#![allow(dead_code)]

use ml_connector_sim::qad::{QadSim, SimTenant};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const JOURNAL_VIEW: &str = "urn:be:com.qad.financials.generalledger.journalentry.IJournalEntry";
pub const CUSTOMER_VIEW: &str = "urn:be:com.qad.base.customer.ICustomerV2";
pub const MFG_VIEW: &str = "urn:be:com.qad.base.customer.IMfgCustomer";
pub const ITEM_VIEW: &str = "urn:be:com.qad.base.item.IItem";
pub const PRICE_VIEW: &str = "urn:be:com.qad.sales.pricing.IPriceListV2";
pub const ITEMS_BROWSE: &str = "urn:browse:mfg:gp340";
pub const CUSTOMERS_BROWSE: &str = "urn:browse:bebrowse:com.qad.erp.base.customerV2s";
pub const PRICES_BROWSE: &str = "urn:browse:bebrowse:com.qad.erp.sales.priceListV2s";

/// Tenants `acme` and `beta` (without `/api/erp/glPeriods`).
pub async fn start() -> QadSim {
    QadSim::start(vec![
        SimTenant::demo("acme"),
        SimTenant::demo("beta").without("/api/erp/glPeriods"),
    ])
    .await
    .expect("the simulator starts")
}

/// A client of one tenant, logged in as one user.
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: String,
    pub workspace: Option<String>,
}

impl Client {
    pub async fn login(sim: &QadSim, tenant: &str, user: &str, password: &str) -> Client {
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

    pub async fn connector(sim: &QadSim) -> Client {
        Client::login(sim, "acme", "connector", "s3cret").await
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
    ) -> reqwest::RequestBuilder {
        let builder = self
            .http
            .request(method, format!("{}{path_and_query}", self.base))
            .header("authorization", &self.auth);
        match &self.workspace {
            Some(id) => builder.header("x-qad-workspace-id", id),
            None => builder,
        }
    }

    pub async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
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
    pub async fn post(&self, path_and_query: &str, body: &str) -> (StatusCode, Value) {
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

    pub async fn post_journal(&self, entry: &Value) -> Value {
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

    pub async fn browse(&self, browse_id: &str, query: &[(&str, &str)]) -> Value {
        let mut pairs = vec![("browseId", browse_id)];
        pairs.extend_from_slice(query);
        let query = serde_urlencoded::to_string(&pairs).unwrap();
        let (status, answer) = self.get(&format!("/api/qracore/browses?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }
}

pub fn client_id(tenant: &str) -> String {
    SimTenant::demo(tenant).client_id
}

pub async fn password_grant(
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
pub fn error_fields(answer: &Value) -> Vec<String> {
    assert_eq!(answer["submitResult"]["success"], false, "{answer}");
    answer["submitResult"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fieldName"].as_str().unwrap().to_string())
        .collect()
}

pub fn first_message(answer: &Value) -> String {
    answer["submitResult"]["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub fn line(gl: &str, currency: &str, debit: &str, credit: &str) -> Value {
    json!({
        "glCode": gl, "subAccountCode": "", "costCenterCode": "", "projectCode": "",
        "currencyCode": currency, "debitTC": debit, "creditTC": credit, "description": gl,
    })
}

/// A balanced USD order entry in March 2026.
pub fn order_entry(reference: &str) -> Value {
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
