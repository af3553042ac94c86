//! A PostgreSQL store for a test of the real binary: a schema of its own on the server
//! named by `ML_CONNECTOR_TEST_POSTGRES`, dropped when the test ends. Without that variable
//! the test skips with a message, and fails under `CI=true` (CI starts a server).

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable naming the test server.
pub const SERVER: &str = "ML_CONNECTOR_TEST_POSTGRES";

/// A schema made for one test, dropped with it.
pub struct Schema {
    server: String,
    pub name: String,
}

impl Schema {
    /// A fresh schema on the test server, its URL written to `dir/store.url` so that the
    /// binary run over `dir` uses it ([`super::store_of`]); `None` (having said why) when
    /// no server is named outside CI.
    pub async fn create(dir: &Path) -> Option<Schema> {
        let server = match std::env::var(SERVER) {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("{SERVER} is not set: CI must start PostgreSQL and name it")
            }
            _ => {
                eprintln!(
                    "skipped: set {SERVER} to a PostgreSQL URL to run this test on PostgreSQL"
                );
                return None;
            }
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "e2e_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
        );
        execute(&server, &format!("CREATE SCHEMA {name}")).await;
        let schema = Schema { server, name };
        std::fs::write(dir.join("store.url"), schema.url()).unwrap();
        Some(schema)
    }

    /// The store's URL: the schema as the sessions' search path and application name.
    pub fn url(&self) -> String {
        let separator = if self.server.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-csearch_path%3D{name}&application_name={name}",
            self.server,
            name = self.name
        )
    }

    /// Runs `sql` in the schema, returning the first column of each row as text.
    pub async fn query(&self, sql: &str) -> Vec<String> {
        let (client, connection) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
            .await
            .expect("the test server answers");
        let driver = tokio::spawn(connection);
        let rows = client.simple_query(sql).await.expect(sql);
        drop(client);
        let _ = driver.await;
        rows.into_iter()
            .filter_map(|message| match message {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some(row.get(0).unwrap_or_default().to_string())
                }
                _ => None,
            })
            .collect()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = '{name}' AND pid <> pg_backend_pid();
             DROP SCHEMA {name} CASCADE",
            name = self.name
        );
        let server = self.server.clone();
        // Drop may run inside a runtime; the schema is dropped from a thread of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for dropping a test schema")
                .block_on(execute(&server, &sql));
        })
        .join();
    }
}

async fn execute(server: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .expect("the test server answers");
    let driver = tokio::spawn(connection);
    client.batch_execute(sql).await.expect(sql);
    drop(client);
    let _ = driver.await;
}
