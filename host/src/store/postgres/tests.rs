//! The store contract on PostgreSQL, each check in a schema of its own that is dropped
//! after it. The server is named by `ML_CONNECTOR_TEST_POSTGRES` (a URL); without it the
//! checks skip with a message, and fail under `CI=true` (CI starts a server).

use std::sync::atomic::{AtomicU32, Ordering};

use super::PostgresStore;
use crate::store::Clock;

/// The environment variable naming the test server.
pub const SERVER: &str = "ML_CONNECTOR_TEST_POSTGRES";

/// The test server's URL, or `None` (with a message) when none is named outside CI.
pub fn server() -> Option<String> {
    match std::env::var(SERVER) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{SERVER} is not set: CI must start PostgreSQL and name it")
        }
        _ => {
            eprintln!(
                "skipped: set {SERVER} to a PostgreSQL URL to run the PostgreSQL store's checks"
            );
            None
        }
    }
}

/// A schema made for one check, dropped with it.
pub struct Schema {
    url: String,
    pub name: String,
}

impl Schema {
    /// Creates a fresh schema on the server at `url`.
    pub async fn create(url: &str) -> Schema {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst),
            crate::store::system_clock()
        );
        execute(url, &format!("CREATE SCHEMA {name}")).await;
        Schema {
            url: url.to_string(),
            name,
        }
    }
}

impl Schema {
    /// The server's URL with the schema's name as the sessions' application name, so
    /// that the drop can end any a check left open.
    fn url_for_sessions(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}application_name={}", self.url, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // The check's sessions carry the schema's name as their application name; any
        // still open (a check that failed half-way) would keep the schema locked.
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = '{name}' AND pid <> pg_backend_pid();
             DROP SCHEMA {name} CASCADE",
            name = self.name
        );
        let url = self.url.clone();
        // Drop may run inside a runtime; the schema is dropped from a thread of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for dropping a test schema")
                .block_on(execute(&url, &sql));
        })
        .join();
    }
}

async fn execute(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the test server answers");
    let driver = tokio::spawn(connection);
    client.batch_execute(sql).await.expect(sql);
    drop(client);
    let _ = driver.await;
}

/// A store in a fresh schema on the test server, on `clock`; `None` when there is no
/// test server (outside CI).
pub async fn open(clock: Clock) -> Option<(PostgresStore, Schema)> {
    let url = server()?;
    let schema = Schema::create(&url).await;
    let store =
        PostgresStore::open_with(&schema.url_for_sessions(), Some(&schema.name), Some(clock))
            .await
            .expect("the store opens in a fresh schema");
    Some((store, schema))
}

crate::store::contract::store_contract_tests!(maybe async |clock: Clock| open(clock).await);

/// Another replica's store in `schema`, on the database's clock.
async fn replica(schema: &Schema) -> PostgresStore {
    PostgresStore::open_with(&schema.url_for_sessions(), Some(&schema.name), None)
        .await
        .expect("a replica opens the same schema")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_lease_each_job_once_one_document_at_a_time_and_append_one_chain() {
    use std::collections::{BTreeMap, HashSet};
    use std::sync::{Arc, Mutex};

    use crate::store::{AuditEntry, JobEnd, Lease, NewJob, Store};

    let Some(url) = server() else { return };
    let schema = Schema::create(&url).await;
    let replicas: Vec<Arc<PostgresStore>> = vec![
        Arc::new(replica(&schema).await),
        Arc::new(replica(&schema).await),
        Arc::new(replica(&schema).await),
    ];
    for n in 0..120 {
        replicas[n % 3]
            .enqueue(&NewJob {
                connection: "main".into(),
                kind: "order".into(),
                key: format!("k{n}"),
                document: format!("order:{}", n % 20),
                payload: "{}".into(),
                not_before: None,
            })
            .await
            .unwrap();
    }
    // Which documents are being worked on right now, and every job done, by whom.
    let working = Arc::new(Mutex::new(HashSet::<String>::new()));
    let done = Arc::new(Mutex::new(BTreeMap::<i64, usize>::new()));
    let mut tasks = Vec::new();
    for (r, store) in replicas.iter().enumerate() {
        let (store, working, done) = (store.clone(), working.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let owner = format!("run-{r}");
            let mut idle = 0;
            while idle < 20 {
                let jobs = store.lease("main", &owner, 4, 60_000).await.unwrap();
                if jobs.is_empty() {
                    idle += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                }
                idle = 0;
                for job in jobs {
                    assert!(
                        working.lock().unwrap().insert(job.document.clone()),
                        "two replicas hold jobs of {} at once",
                        job.document
                    );
                    store
                        .audit(&AuditEntry {
                            connection: "main".into(),
                            subject: format!("job:{}", job.id),
                            kind: "done".into(),
                            data: format!("{{\"replica\":{r}}}"),
                        })
                        .await
                        .unwrap();
                    working.lock().unwrap().remove(&job.document);
                    store
                        .end_job(
                            &Lease::of(&job, &owner),
                            &JobEnd::Done {
                                covering: None,
                                posted: None,
                            },
                            &[],
                        )
                        .await
                        .unwrap();
                    *done.lock().unwrap().entry(job.id).or_default() += 1;
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let done = done.lock().unwrap().clone();
    assert_eq!(done.len(), 120, "every job was done");
    assert!(done.values().all(|times| *times == 1), "{done:?}");
    assert_eq!(replicas[0].verify_audit(None).await.unwrap().entries, 120);
    drop(replicas);
}

#[tokio::test]
async fn the_audit_table_refuses_edits() {
    use crate::store::{AuditEntry, Store};

    let Some((store, schema)) = open(crate::store::contract::TestClock::default().clock()).await
    else {
        return;
    };
    store
        .audit(&AuditEntry {
            connection: "main".into(),
            subject: "order:1".into(),
            kind: "posted".into(),
            data: "{}".into(),
        })
        .await
        .unwrap();
    let url = server().unwrap();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    for sql in [
        "UPDATE {s}.audit SET data = '{\"x\":1}'",
        "DELETE FROM {s}.audit",
        "TRUNCATE {s}.audit",
    ] {
        let sql = sql.replace("{s}", &schema.name);
        let error = client.batch_execute(&sql).await.unwrap_err();
        assert!(
            format!("{error:?}").contains("the audit log is append-only"),
            "{sql}: {error:?}"
        );
    }
    assert_eq!(store.verify_audit(None).await.unwrap().entries, 1);
    drop(client);
    let _ = driver.await;
    drop(store);
}

#[tokio::test]
async fn a_killed_replicas_leases_and_schedule_claims_are_taken_at_once() {
    use crate::store::{NewJob, ScheduleClaim, Store};

    let Some(url) = server() else { return };
    let schema = Schema::create(&url).await;
    let killed = replica(&schema).await;
    let survivor = replica(&schema).await;
    killed
        .enqueue(&NewJob {
            connection: "main".into(),
            kind: "order".into(),
            key: "wh:1".into(),
            document: "order:1".into(),
            payload: "{}".into(),
            not_before: None,
        })
        .await
        .unwrap();
    // Held for an hour, by a live replica: not taken.
    let hour = 3_600_000;
    assert_eq!(killed.lease("main", "a", 1, hour).await.unwrap().len(), 1);
    assert_eq!(
        killed
            .claim_schedule("main", "reconcile", "a", 0, hour)
            .await
            .unwrap(),
        ScheduleClaim::Claimed
    );
    assert!(
        survivor
            .lease("main", "b", 1, hour)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        survivor
            .claim_schedule("main", "reconcile", "b", 0, hour)
            .await
            .unwrap(),
        ScheduleClaim::Running { owner: "a".into() }
    );
    // The replica goes (its sessions close, as a killed process's do): what it held is
    // taken as soon as the server has seen it go.
    drop(killed);
    let mut taken = Vec::new();
    for _ in 0..100 {
        taken = survivor.lease("main", "b", 1, hour).await.unwrap();
        if !taken.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(taken.len(), 1, "the killed replica's lease was not taken");
    assert_eq!(
        taken[0].attempts, 2,
        "the new lease has a new fencing token"
    );
    assert_eq!(
        survivor
            .claim_schedule("main", "reconcile", "b", 0, hour)
            .await
            .unwrap(),
        ScheduleClaim::Claimed
    );
    drop(survivor);
}

/// A TLS front for the test server on 127.0.0.1, as a PostgreSQL server with TLS
/// answers: it reads the client's SSLRequest, says yes, completes the handshake with a
/// certificate made now for `127.0.0.1`, and passes what is inside on to the server in
/// plain text. Returns its address and the certificate (PEM).
async fn tls_front(server: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let config: tokio_postgres::Config = server.parse().unwrap();
    let backend = match (&config.get_hosts()[0], config.get_ports().first()) {
        (tokio_postgres::config::Host::Tcp(host), port) => {
            format!("{host}:{}", port.copied().unwrap_or(5432))
        }
        _ => panic!("the test server is named by host and port"),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (acceptor, backend) = (acceptor.clone(), backend.clone());
            tokio::spawn(async move {
                // SSLRequest: length 8, code 80877103.
                let mut request = [0u8; 8];
                if client.read_exact(&mut request).await.is_err()
                    || request != [0, 0, 0, 8, 4, 210, 22, 47]
                {
                    return;
                }
                if client.write_all(b"S").await.is_err() {
                    return;
                }
                let Ok(mut secured) = acceptor.accept(client).await else {
                    return;
                };
                let Ok(mut server) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut secured, &mut server).await;
            });
        }
    });
    (address, certified.cert.pem())
}

#[tokio::test]
async fn sslmode_require_speaks_tls_and_checks_the_servers_certificate() {
    use crate::store::Store;

    let Some(url) = server() else { return };
    let schema = Schema::create(&url).await;
    let (front, certificate) = tls_front(&url).await;
    let mut through: url::Url = schema.url_for_sessions().parse().unwrap();
    let (host, port) = front.split_once(':').unwrap();
    through.set_host(Some(host)).unwrap();
    through.set_port(Some(port.parse().unwrap())).unwrap();
    through.query_pairs_mut().append_pair("sslmode", "require");
    let through = through.to_string();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &certificate).unwrap();

    // Vouched for by the CA file: the store works over TLS.
    let store = PostgresStore::connect(&through, Some(&schema.name), None, Some(&ca)).unwrap();
    assert_eq!(store.queue_depth(None).await.unwrap().ready, 0);
    drop(store);

    // Not vouched for (the public roots only): refused, and the store names why.
    let store = PostgresStore::connect(&through, Some(&schema.name), None, None).unwrap();
    let error = store.queue_depth(None).await.unwrap_err();
    let chain = crate::error::chain(&error);
    assert!(
        matches!(error, crate::store::StoreError::Open { .. }),
        "{chain}"
    );
    assert!(chain.contains("certificate"), "{chain}");
    if let Some(password) = url::Url::parse(&url).unwrap().password() {
        assert!(!chain.contains(&format!(":{password}@")), "{chain}");
    }
    drop(store);

    // A CA file that holds no certificate is refused when the store is opened.
    std::fs::write(&ca, "not a certificate").unwrap();
    let refused =
        PostgresStore::connect(&through, Some(&schema.name), None, Some(&ca)).unwrap_err();
    assert!(
        crate::error::chain(&refused).contains("holds no CA certificate"),
        "{}",
        crate::error::chain(&refused)
    );
}
