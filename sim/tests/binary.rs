//! The standalone simulator binary: it starts on 127.0.0.1, prints each store's API root
//! and credentials as a JSON line, serves the API with them, and takes control requests.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_seeded_stores_and_its_control_api() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_ml-connector-sim"))
            .args(["bigcommerce", "--stores", "2", "--orders", "30"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the simulator starts"),
    );
    let mut lines = BufReader::new(child.0.stdout.take().expect("stdout")).lines();
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
