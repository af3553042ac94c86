//! The standalone simulator binary: it starts on 127.0.0.1, prints each store's (or QAD
//! tenant's) address and credentials as a JSON line, serves the API with them, and takes
//! control requests.

mod common;

use std::io::{BufRead, BufReader, Lines};
use std::process::{ChildStdout, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{client_id, password_grant};

/// The simulator's process, killed when the test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The simulator binary run with `args`, and the lines it prints.
fn spawn(args: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_ml-connector-sim"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the simulator starts"),
    );
    let lines = BufReader::new(child.0.stdout.take().expect("stdout")).lines();
    (child, lines)
}

#[tokio::test]
async fn the_binary_serves_seeded_stores_and_its_control_api() {
    let (_child, mut lines) = spawn(&["bigcommerce", "--stores", "2", "--orders", "30"]);
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["store_hash"], "store1");
    assert_eq!(second["store_hash"], "store2");
    let root = first["api_root"].as_str().unwrap();
    assert!(root.starts_with("http://127.0.0.1:"));
    let token = first["access_token"].as_str().unwrap();

    let http = reqwest::Client::new();
    let orders: Value = http
        .get(format!("{root}/v2/orders?limit=250"))
        .header("x-auth-token", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orders.as_array().unwrap().len(), 30);
    // Store 2's token does not open store 1.
    let refused = http
        .get(format!("{root}/v2/orders"))
        .header("x-auth-token", second["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let control = first["control"].as_str().unwrap();
    let placed: Value = http
        .post(format!("{control}/orders"))
        .json(&serde_json::json!({ "count": 2 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(placed["ids"].as_array().unwrap().len(), 2);
    let summary: Value = http
        .get(control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["orders"], 32);
}

#[tokio::test]
async fn the_binary_serves_qad_tenants() {
    let (_child, mut lines) = spawn(&["qad", "--tenants", "2"]);
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
