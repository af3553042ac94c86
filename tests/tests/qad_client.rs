//! The QAD client against the QAD simulator over real HTTP on 127.0.0.1: logins, token
//! expiry and refresh, permissions, path discovery, customers by email and their
//! two-step creation, day-granular change polling, journal posting with its validations,
//! and lost answers resolved by external reference so nothing is posted twice.

use std::time::Duration;

use ml_connector::qad::{
    Auth, ChangeCursor, JournalEntry, JournalLine, NewCustomer, Posted, QadClient, QadError,
    TenantConfig,
};
use ml_connector_sim::qad::{
    DuplicateGuard, PeriodStatus, QadFault, QadFaultAction, QadSim, SimTenant,
};
use time::macros::date;

fn password(client_id: &str, user: &str, secret: &str) -> Auth {
    Auth::Password {
        client_id: client_id.into(),
        username: user.into(),
        password: secret.into(),
    }
}

fn config(sim: &QadSim, tenant: &SimTenant, auth: Auth) -> TenantConfig {
    let mut config = TenantConfig::new(&sim.base_url(&tenant.name), auth);
    config.workspace = Some("10USA_10USACO".into());
    config.timeout = Duration::from_secs(2);
    config
}

async fn started() -> (QadSim, SimTenant, QadClient) {
    let tenant = SimTenant::demo("acme");
    let sim = QadSim::start(vec![tenant.clone()]).await.unwrap();
    let client = QadClient::new(config(
        &sim,
        &tenant,
        password(&tenant.client_id, "connector", "s3cret"),
    ))
    .unwrap();
    (sim, tenant, client)
}

fn line(account: &str, debit: i64, credit: i64) -> JournalLine {
    ml_connector_tests::qad_line(account, debit, credit, &format!("line {account}"))
}

fn entry(reference: &str, lines: Vec<JournalLine>) -> JournalEntry {
    ml_connector_tests::qad_entry(reference, "Web order 100", lines)
}

fn balanced(reference: &str) -> JournalEntry {
    entry(
        reference,
        vec![
            line("1151", 1_082_500, 0),
            line("4000", 0, 1_000_000),
            line("2200", 0, 82_500),
        ],
    )
}

#[tokio::test]
async fn a_login_is_refreshed_once_when_the_token_expires() {
    let (sim, _tenant, client) = started().await;
    assert!(
        !client
            .chart_of_accounts("10USACO")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(sim.counters().logins, 1);
    sim.advance(Duration::from_secs(3_600));
    assert!(!client.periods("10USACO").await.unwrap().is_empty());
    let counters = sim.counters();
    assert_eq!(counters.logins + counters.refreshes, 2, "renewed once");
    assert_eq!(counters.rejected_401, 1);
}

#[tokio::test]
async fn wrong_credentials_and_missing_permissions_are_clear_and_not_retried() {
    let (sim, tenant, _) = started().await;
    let wrong = QadClient::new(config(
        &sim,
        &tenant,
        password(&tenant.client_id, "connector", "wrong"),
    ))
    .unwrap();
    let error = wrong.periods("10USACO").await.unwrap_err();
    assert!(matches!(error, QadError::Auth(_)), "{error}");
    assert!(error.to_string().contains("login refused"), "{error}");

    let readonly = QadClient::new(config(
        &sim,
        &tenant,
        password(&tenant.client_id, "readonly", "readonly"),
    ))
    .unwrap();
    let before = sim.counters().requests;
    let error = readonly.post_journal(&balanced("ro-1")).await.unwrap_err();
    assert!(matches!(error, QadError::Permission(_)), "{error}");
    assert!(!error.is_retryable());
    // Login, the OpenAPI document, the refused post: nothing more.
    assert!(sim.counters().requests - before <= 3);
    assert!(sim.ledger("acme").is_empty());

    let mut elsewhere = config(
        &sim,
        &tenant,
        password(&tenant.client_id, "connector", "s3cret"),
    );
    elsewhere.workspace = Some("99XXX_99XXXCO".into());
    let error = QadClient::new(elsewhere)
        .unwrap()
        .periods("10USACO")
        .await
        .unwrap_err();
    assert!(matches!(error, QadError::Permission(_)), "{error}");
}

#[tokio::test]
async fn a_bearer_token_and_basic_auth_work_too() {
    let (sim, tenant, _) = started().await;
    let bearer = QadClient::new(config(
        &sim,
        &tenant,
        Auth::Bearer {
            token: "static-jwt-acme".into(),
        },
    ))
    .unwrap();
    assert!(!bearer.periods("10USACO").await.unwrap().is_empty());
    let basic = QadClient::new(config(
        &sim,
        &tenant,
        Auth::Basic {
            username: "connector".into(),
            password: "s3cret".into(),
        },
    ))
    .unwrap();
    assert!(!basic.periods("10USACO").await.unwrap().is_empty());
    let forged = QadClient::new(config(
        &sim,
        &tenant,
        Auth::Bearer {
            token: "forged".into(),
        },
    ))
    .unwrap();
    assert!(matches!(
        forged.periods("10USACO").await.unwrap_err(),
        QadError::Auth(_)
    ));
}

#[tokio::test]
async fn paths_missing_from_the_openapi_document_are_named_before_anything_is_posted() {
    let mut tenant = SimTenant::demo("beta");
    tenant.disabled_paths = vec!["/api/erp/glPeriods".into()];
    let sim = QadSim::start(vec![tenant.clone()]).await.unwrap();
    let client = QadClient::new(config(
        &sim,
        &tenant,
        password(&tenant.client_id, "connector", "s3cret"),
    ))
    .unwrap();
    let missing = client.missing_paths().await.unwrap();
    assert_eq!(
        missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["GET /api/erp/glPeriods (periods)"]
    );
    let error = client.post_journal(&balanced("beta-1")).await.unwrap_err();
    assert!(
        error.to_string().contains("GET /api/erp/glPeriods"),
        "{error}"
    );
    assert!(sim.ledger("beta").is_empty());

    let (sim, tenant, _) = started().await;
    let mut moved = config(
        &sim,
        &tenant,
        password(&tenant.client_id, "connector", "s3cret"),
    );
    moved.paths.journals.path = "/api/erp/journalEntryV2s".into();
    let missing = QadClient::new(moved)
        .unwrap()
        .missing_paths()
        .await
        .unwrap();
    assert_eq!(
        missing.len(),
        2,
        "GET and POST of the moved path: {missing:?}"
    );
}

#[tokio::test]
async fn customers_are_found_by_email_and_created_in_two_recoverable_steps() {
    let (sim, _tenant, client) = started().await;
    assert_eq!(
        client
            .find_customers_by_email(" ADA@example.com ")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        client
            .find_customers_by_email("shared@example.com")
            .await
            .unwrap()
            .len(),
        2,
        "two customers share this address"
    );
    assert_eq!(
        client
            .find_customers_by_email("Mixed.Case@Example.com")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        client
            .find_customers_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_empty()
    );

    let shopper = NewCustomer {
        email: "New.Shopper@Example.org".into(),
        name: "New Shopper".into(),
        street: "1 Main St".into(),
        city: "Austin".into(),
        zip: "78701".into(),
        country: "US".into(),
    };
    // Step two fails once: the customer exists, its domain record is not finished.
    sim.inject(
        "acme",
        QadFault {
            action: QadFaultAction::Http500,
            count: 1,
            path_contains: Some("mfgCustomers".into()),
            method: Some("POST".into()),
        },
    );
    let error = client.create_customer(&shopper).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    let created = client.create_customer(&shopper).await.unwrap();
    assert_eq!(created.email, "new.shopper@example.org");
    assert_eq!(created.code.len(), 8);
    let again = client.create_customer(&shopper).await.unwrap();
    assert_eq!(again.code, created.code, "the same shopper, the same code");
    let customers = sim.customers("acme");
    let ours: Vec<_> = customers
        .iter()
        .filter(|c| c.code == created.code)
        .collect();
    assert_eq!(ours.len(), 1, "created once");
    assert_eq!(
        client
            .find_customers_by_email("new.shopper@example.org")
            .await
            .unwrap()[0]
            .code,
        created.code
    );
}

#[tokio::test]
async fn item_changes_are_polled_by_day_without_repeats() {
    let (sim, tenant, _) = started().await;
    let mut small_pages = config(
        &sim,
        &tenant,
        password(&tenant.client_id, "connector", "s3cret"),
    );
    small_pages.page_size = 10;
    let client = QadClient::new(small_pages).unwrap();
    let (all, cursor) = client
        .items_changed_since(&ChangeCursor::default())
        .await
        .unwrap();
    assert!(all.len() > 40, "{} items", all.len());
    assert!(cursor.day.is_some());
    let (again, cursor) = client.items_changed_since(&cursor).await.unwrap();
    assert!(
        again.is_empty(),
        "the boundary day again, nothing new: {again:?}"
    );
    sim.touch_item("acme", "SKU-0105", 123_400);
    let (changed, cursor) = client.items_changed_since(&cursor).await.unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].item_code, "SKU-0105");
    assert_eq!(changed[0].list_price, 123_400);
    let (none, _) = client.items_changed_since(&cursor).await.unwrap();
    assert!(none.is_empty());

    let (prices, cursor) = client
        .prices_changed_since(&ChangeCursor::default())
        .await
        .unwrap();
    assert!(!prices.is_empty());
    assert!(prices.iter().all(|p| p.list_price > 0));
    let (again, _) = client.prices_changed_since(&cursor).await.unwrap();
    assert!(again.is_empty());
}

#[tokio::test]
async fn a_balanced_journal_posts_once_and_a_lost_answer_is_found_by_reference() {
    let (sim, _tenant, client) = started().await;
    let posted = client
        .post_journal(&balanced("order:100:r1"))
        .await
        .unwrap();
    assert!(matches!(posted, Posted::New(_)), "{posted:?}");
    assert!(!posted.journal().voucher.is_empty());
    // The same reference again: the tenant's guard refuses, the client returns the entry.
    let again = client
        .post_journal(&balanced("order:100:r1"))
        .await
        .unwrap();
    assert!(matches!(again, Posted::Existing(_)), "{again:?}");
    assert_eq!(again.journal().voucher, posted.journal().voucher);
    assert_eq!(sim.ledger("acme").len(), 1);

    // Committed, then the connection is cut: found by reference, not posted twice.
    sim.inject(
        "acme",
        QadFault {
            action: QadFaultAction::DropAfterCommit,
            count: 1,
            path_contains: Some("journalEntries".into()),
            method: Some("POST".into()),
        },
    );
    let recovered = client
        .post_journal(&balanced("order:101:r1"))
        .await
        .unwrap();
    assert!(matches!(recovered, Posted::Existing(_)), "{recovered:?}");
    assert_eq!(sim.ledger("acme").len(), 2);

    // With the guard off, the reference lookup still prevents a second post.
    sim.set_duplicate_guard("acme", DuplicateGuard::Off);
    sim.inject(
        "acme",
        QadFault {
            action: QadFaultAction::DropAfterCommit,
            count: 1,
            path_contains: Some("journalEntries".into()),
            method: Some("POST".into()),
        },
    );
    client
        .post_journal(&balanced("order:102:r1"))
        .await
        .unwrap();
    assert_eq!(sim.ledger("acme").len(), 3);
    assert!(
        client
            .find_journal("10USACO", "order:102:r1")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn journal_errors_come_back_with_their_fields() {
    let (sim, _tenant, client) = started().await;
    let unbalanced = entry(
        "bad:1",
        vec![line("1151", 1_082_500, 0), line("4000", 0, 1_082_400)],
    );
    let error = client.post_journal(&unbalanced).await.unwrap_err();
    let QadError::Business(messages) = &error else {
        panic!("{error}")
    };
    assert!(messages.iter().any(|m| m.field == "balance"), "{error}");
    assert!(!error.is_retryable());

    sim.set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Closed);
    let error = client.post_journal(&balanced("bad:2")).await.unwrap_err();
    assert!(error.to_string().contains("postingPeriod"), "{error}");
    sim.set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Open);

    let header = entry(
        "bad:3",
        vec![line("1000", 10_000, 0), line("4000", 0, 10_000)],
    );
    let error = client.post_journal(&header).await.unwrap_err();
    assert!(error.to_string().contains("glCode"), "{error}");
    assert!(sim.ledger("acme").is_empty(), "nothing posted");

    // A gateway's HTML page on a read is transient and retried.
    sim.inject(
        "acme",
        QadFault {
            action: QadFaultAction::Html502,
            count: 1,
            path_contains: Some("glAccounts".into()),
            method: None,
        },
    );
    let chart = client.chart_of_accounts("10USACO").await.unwrap();
    assert!(
        chart
            .iter()
            .any(|a| a.gl_code == "2210" && a.requires_tax_code)
    );
    assert!(chart.iter().any(|a| a.gl_code == "1000" && !a.is_postable));
    let periods = client.periods("10USACO").await.unwrap();
    let november = periods
        .iter()
        .find(|p| p.posting_year == 2026 && p.posting_period == 11)
        .unwrap();
    assert!(november.is_open());
    assert!(november.contains(date!(2026 - 11 - 20)));
}

#[tokio::test]
async fn every_journal_validation_comes_back_naming_its_field() {
    let (sim, _tenant, client) = started().await;
    sim.set_period_status("acme", "10USACO", 2026, 10, PeriodStatus::Locked);
    let with = |change: &dyn Fn(&mut JournalEntry)| {
        let mut entry = balanced("check");
        change(&mut entry);
        entry
    };
    let cases: Vec<(&str, JournalEntry)> = vec![
        (
            "balance",
            entry("c1", vec![line("1151", 10_100, 0), line("4000", 0, 10_000)]),
        ),
        (
            "postingPeriod",
            with(&|e| {
                e.posting_date = date!(2026 - 10 - 20);
                e.period = 10;
            }),
        ),
        (
            "glCode",
            entry("c3", vec![line("1000", 10_000, 0), line("4000", 0, 10_000)]),
        ),
        (
            "glCode",
            entry("c4", vec![line("9999", 10_000, 0), line("4000", 0, 10_000)]),
        ),
        (
            "costCenterCode",
            entry("c5", vec![line("6100", 10_000, 0), line("4000", 0, 10_000)]),
        ),
        (
            "subAccountCode",
            entry("c6", vec![line("6200", 10_000, 0), line("4000", 0, 10_000)]),
        ),
        (
            "taxCode",
            entry("c7", vec![line("1151", 10_000, 0), line("2210", 0, 10_000)]),
        ),
        ("daybookCode", with(&|e| e.daybook = "OLDBOOK".into())),
        ("daybookCode", with(&|e| e.daybook = "INV".into())),
        ("daybookCode", with(&|e| e.daybook = "WEBSALES-LONG".into())),
        ("entityCode", with(&|e| e.entity = "11CANCO".into())),
        (
            "exchangeRate",
            with(&|e| {
                for l in &mut e.lines {
                    l.currency = "KWD".into();
                }
            }),
        ),
        (
            "TC",
            with(&|e| {
                for l in &mut e.lines {
                    l.currency = "JPY".into();
                }
            }),
        ),
    ];
    for (field, entry) in cases {
        let error = client.post_journal(&entry).await.unwrap_err();
        let QadError::Business(messages) = &error else {
            panic!("{field}: {error}")
        };
        assert!(
            messages.iter().any(|m| m.field.contains(field)),
            "expected a message on {field}: {error}"
        );
    }
    assert!(sim.ledger("acme").is_empty(), "nothing was posted");
}

#[tokio::test]
async fn a_record_changing_mid_scan_is_neither_skipped_nor_repeated() {
    let (sim, tenant, _) = started().await;
    let mut small_pages = config(
        &sim,
        &tenant,
        password(&tenant.client_id, "connector", "s3cret"),
    );
    small_pages.page_size = 5;
    let client = QadClient::new(small_pages).unwrap();
    // Every browse page is slow, so the item changes while the scan is under way.
    sim.inject(
        "acme",
        QadFault::new(QadFaultAction::Delay(Duration::from_millis(30)), 1_000).on("browses"),
    );
    let scan = tokio::spawn({
        let client = client.clone();
        async move { client.items_changed_since(&ChangeCursor::default()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    sim.touch_item("acme", "SKU-0101", 777_700);
    let (items, cursor) = scan.await.unwrap().unwrap();
    let codes: Vec<&str> = items.iter().map(|i| i.item_code.as_str()).collect();
    let unique: std::collections::BTreeSet<&str> = codes.iter().copied().collect();
    assert_eq!(unique.len(), codes.len(), "no item twice");
    assert_eq!(codes.len(), sim.items("acme").len(), "no item skipped");
    // The change shows on the next poll.
    let (next, _) = client.items_changed_since(&cursor).await.unwrap();
    assert!(
        next.iter()
            .any(|i| i.item_code == "SKU-0101" && i.list_price == 777_700),
        "{next:?}"
    );
}

#[tokio::test]
async fn a_redirect_of_the_login_is_not_followed_and_the_password_goes_nowhere_else() {
    // Where a hostile redirect points: it counts every request that reaches it.
    let reached = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = reached.clone();
    let elsewhere = axum::Router::new().fallback(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { "{}" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, elsewhere).await });
    let redirect = axum::Router::new().fallback(move || async move {
        axum::response::Response::builder()
            .status(307)
            .header("location", format!("http://{other}/oauth/token"))
            .body(axum::body::Body::empty())
            .unwrap()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/clouderp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, redirect).await });

    let mut config = TenantConfig::new(&base, password("client", "connector", "s3cret"));
    config.timeout = Duration::from_secs(2);
    config.max_attempts = 1;
    let client = QadClient::new(config).unwrap();
    assert!(client.login().await.is_err());
    assert_eq!(
        reached.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the login form followed the redirect"
    );
}

#[test]
fn a_configured_path_cannot_name_another_host_and_plain_http_is_for_loopback() {
    let auth = || password("client", "connector", "s3cret");
    let mut config = TenantConfig::new("https://acme.qad.com/clouderp", auth());
    config.paths.journals.path = "@evil.example/x".into();
    let error = QadClient::new(config).err().unwrap().to_string();
    assert!(error.contains("the journals path"), "{error}");
    let error = QadClient::new(TenantConfig::new("http://acme.qad.com/clouderp", auth()))
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("is plain http"), "{error}");
}
