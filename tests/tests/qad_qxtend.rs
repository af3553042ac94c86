//! `Qad` against the QAD simulator over real HTTP on 127.0.0.1, with writes over QXtend
//! (QDocs in SOAP envelopes) and reads over REST: journals posted over QXtend land in the
//! same ledger REST reads, refusals name their QDoc fields, a lost answer is settled by
//! reference without a second posting, customers added over QXtend are found by code over
//! REST, and refused credentials or receivers are clear errors. `Qad::Rest` is the REST
//! client unchanged.

use std::time::Duration;

use ml_connector::qad::{
    Auth, JournalEntry, JournalLine, NewCustomer, Posted, Qad, QadClient, QadError, QxtendClient,
    QxtendConfig, QxtendCustomer, TenantConfig,
};
use ml_connector_sim::qad::{
    DuplicateGuard, PeriodStatus, QadFault, QadFaultAction, QadSim, SimTenant,
};

fn rest(sim: &QadSim) -> QadClient {
    let mut config = TenantConfig::new(
        &sim.base_url("acme"),
        Auth::Basic {
            username: "connector".into(),
            password: "s3cret".into(),
        },
    );
    config.workspace = Some("10USA_10USACO".into());
    config.timeout = Duration::from_secs(2);
    QadClient::new(config).unwrap()
}

fn qxtend_config(sim: &QadSim, receiver: &str, password: &str) -> QxtendConfig {
    let mut config = QxtendConfig::new(&sim.qxtend_url(), receiver, "connector", password);
    config.domain = "10USA".into();
    config.entity = "10USACO".into();
    config.timeout = Duration::from_secs(2);
    config
}

fn qxtend(sim: &QadSim, receiver: &str, password: &str) -> Qad {
    Qad::Qxtend {
        writes: QxtendClient::new(qxtend_config(sim, receiver, password)).unwrap(),
        reads: rest(sim),
    }
}

async fn started() -> (QadSim, Qad) {
    let sim = QadSim::start(vec![SimTenant::demo("acme")]).await.unwrap();
    let qad = qxtend(&sim, "ACME", "s3cret");
    (sim, qad)
}

fn line(account: &str, debit: i64, credit: i64) -> JournalLine {
    ml_connector_tests::qad_line(account, debit, credit, &format!("line {account} & co"))
}

fn balanced(reference: &str) -> JournalEntry {
    ml_connector_tests::qad_entry(
        reference,
        "Web order <100>",
        vec![
            line("1151", 1_082_500, 0),
            line("4000", 0, 1_000_000),
            line("2200", 0, 82_500),
        ],
    )
}

#[tokio::test]
async fn a_journal_posted_over_qxtend_is_in_the_ledger_and_found_over_rest() {
    let (sim, qad) = started().await;
    assert!(qad.missing_paths().await.unwrap().is_empty());
    let posted = qad.post_journal(&balanced("order:200:r1")).await.unwrap();
    let Posted::New(journal) = &posted else {
        panic!("{posted:?}")
    };
    assert_eq!(journal.voucher, "2026/SO/000001");
    assert_eq!(journal.external_reference, "order:200:r1");
    let ledger = sim.ledger("acme");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].description, "Web order <100>");
    assert_eq!(ledger[0].lines[0].debit_tc, 1_082_500);
    assert_eq!(ledger[0].lines[1].description, "line 4000 & co");
    let found = qad
        .find_journal("10USACO", "order:200:r1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.voucher, journal.voucher);
    let counters = sim.counters();
    assert_eq!((counters.qdocs, counters.journals_posted), (1, 1));

    // The same reference again: refused by the guard, settled as the existing entry.
    let again = qad.post_journal(&balanced("order:200:r1")).await.unwrap();
    assert!(matches!(again, Posted::Existing(_)), "{again:?}");
    assert_eq!(again.journal().voucher, journal.voucher);
    assert_eq!(sim.ledger("acme").len(), 1);
}

#[tokio::test]
async fn refusals_name_the_qdoc_field() {
    let (sim, qad) = started().await;
    sim.set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Closed);
    let error = qad
        .post_journal(&balanced("order:201:r1"))
        .await
        .unwrap_err();
    let QadError::Business(messages) = &error else {
        panic!("{error}")
    };
    assert_eq!(messages.len(), 1, "{error}");
    assert_eq!(messages[0].field, "PostingPeriod");
    assert!(messages[0].message.contains("is Closed"), "{error}");
    assert!(!error.is_retryable());

    sim.set_period_status("acme", "10USACO", 2026, 11, PeriodStatus::Open);
    let mut header = balanced("order:202:r1");
    header.lines = vec![line("1000", 10_000, 0), line("4000", 0, 10_000)];
    let error = qad.post_journal(&header).await.unwrap_err();
    assert!(error.to_string().contains("tcGLCode"), "{error}");
    assert!(error.to_string().contains("tPostingLine#1"), "{error}");
    assert!(sim.ledger("acme").is_empty(), "nothing posted");
}

#[tokio::test]
async fn a_qdoc_answer_lost_after_commit_is_settled_by_reference_without_a_second_posting() {
    let (sim, qad) = started().await;
    // Even without the tenant's duplicate guard the lookup comes first.
    sim.set_duplicate_guard("acme", DuplicateGuard::Off);
    sim.inject(
        "acme",
        QadFault::new(QadFaultAction::DropAfterCommit, 1)
            .on("QdocWebService")
            .for_method("POST"),
    );
    let recovered = qad.post_journal(&balanced("order:203:r1")).await.unwrap();
    assert!(matches!(recovered, Posted::Existing(_)), "{recovered:?}");
    assert_eq!(recovered.journal().voucher, "2026/SO/000001");
    assert_eq!(sim.ledger("acme").len(), 1);
    let counters = sim.counters();
    assert_eq!((counters.faults_injected, counters.journals_posted), (1, 1));

    // A gateway's page on a post: not found by reference, so it is left to a retry.
    sim.inject(
        "acme",
        QadFault::new(QadFaultAction::Html502, 1).on("createJournalEntry"),
    );
    let error = qad
        .post_journal(&balanced("order:204:r1"))
        .await
        .unwrap_err();
    assert!(matches!(error, QadError::Ambiguous(_)), "{error}");
    assert!(error.is_retryable());
    assert_eq!(sim.ledger("acme").len(), 1);
    let retried = qad.post_journal(&balanced("order:204:r1")).await.unwrap();
    assert!(matches!(retried, Posted::New(_)), "{retried:?}");
    assert_eq!(sim.ledger("acme").len(), 2);
}

#[tokio::test]
async fn a_wrong_qxtend_password_is_a_clear_error() {
    let (sim, _) = started().await;
    let wrong = qxtend(&sim, "ACME", "wrong");
    let error = wrong
        .post_journal(&balanced("order:205:r1"))
        .await
        .unwrap_err();
    assert!(matches!(error, QadError::Auth(_)), "{error}");
    assert!(
        error.to_string().contains("could not be authenticated"),
        "{error}"
    );
    assert!(!error.is_retryable());
    assert!(sim.ledger("acme").is_empty());
    assert_eq!(sim.counters().soap_faults, 1);
}

#[tokio::test]
async fn an_unknown_receiver_is_a_fault_surfaced_as_configuration() {
    let (sim, _) = started().await;
    let elsewhere = qxtend(&sim, "NOSUCH", "s3cret");
    let error = elsewhere
        .post_journal(&balanced("order:206:r1"))
        .await
        .unwrap_err();
    assert!(matches!(error, QadError::Config(_)), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("urn:services-qad-com:NOSUCH is not defined"),
        "{text}"
    );
    assert!(text.contains("soapenv:Client"), "{text}");
    assert!(sim.ledger("acme").is_empty());

    // The WSDL check names a wrong endpoint before anything is sent.
    let mut config = qxtend_config(&sim, "ACME", "s3cret");
    config.url = format!("{}/qxi/services/Nothing", sim.root_url());
    let nowhere = Qad::Qxtend {
        writes: QxtendClient::new(config).unwrap(),
        reads: rest(&sim),
    };
    let missing = nowhere.missing_paths().await.unwrap();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].to_string().contains("processQdocMessage"));
    let error = nowhere
        .post_journal(&balanced("order:207:r1"))
        .await
        .unwrap_err();
    assert!(matches!(error, QadError::Config(_)), "{error}");
}

#[tokio::test]
async fn a_customer_created_over_qxtend_is_found_by_code_over_rest() {
    let (sim, qad) = started().await;
    let shopper = NewCustomer {
        email: "Q.Shopper@Example.org".into(),
        name: "Quinn Shopper".into(),
        street: "1 Main St".into(),
        city: "Austin".into(),
        zip: "78701".into(),
        country: "US".into(),
    };
    let created = qad.create_customer(&shopper).await.unwrap();
    assert_eq!(created.code, qad.customer_code("q.shopper@example.org", 0));
    assert_eq!(
        created.code,
        rest(&sim).customer_code("q.shopper@example.org", 0),
        "the same code over either transport"
    );
    assert_eq!(created.shared_set, "QMI-CUST");
    let found = qad.customer_by_code(&created.code).await.unwrap().unwrap();
    assert_eq!(found.name, "Quinn Shopper");
    assert_eq!(found.email, "", "QXtend carries no email");
    let customers = sim.customers("acme");
    let stored = customers.iter().find(|c| c.code == created.code).unwrap();
    let usa = stored.domains.iter().find(|d| d.domain == "10USA").unwrap();
    assert_eq!(usa.site_code, "10-100");

    // Again (a retry, or the next order): the code exists under the shopper's name.
    let again = qad.create_customer(&shopper).await.unwrap();
    assert_eq!(again.code, created.code);
    let count = sim
        .customers("acme")
        .iter()
        .filter(|c| c.code == created.code)
        .count();
    assert_eq!(count, 1, "created once");

    // A code that exists under another name is not this shopper's.
    let writes = QxtendClient::new(qxtend_config(&sim, "ACME", "s3cret")).unwrap();
    let someone = QxtendCustomer {
        name: "Somebody Else".into(),
        ..QxtendCustomer::new(&created.code, &shopper, &rest(&sim).config().customers)
    };
    let error = writes.create_customer(&someone).await.unwrap_err();
    assert!(matches!(error, QadError::Business(_)), "{error}");
    assert!(error.to_string().contains("another customer"), "{error}");
}

#[tokio::test]
async fn rest_behaves_like_the_rest_client() {
    let (sim, _) = started().await;
    let qad = Qad::Rest(rest(&sim));
    let posted = qad.post_journal(&balanced("order:300:r1")).await.unwrap();
    assert!(matches!(posted, Posted::New(_)), "{posted:?}");
    let again = qad.post_journal(&balanced("order:300:r1")).await.unwrap();
    assert!(matches!(again, Posted::Existing(_)), "{again:?}");
    assert_eq!(again.journal().voucher, posted.journal().voucher);
    assert_eq!(
        qad.find_journal("10USACO", "order:300:r1")
            .await
            .unwrap()
            .unwrap()
            .voucher,
        posted.journal().voucher
    );
    assert!(qad.missing_paths().await.unwrap().is_empty());
    assert!(!qad.periods("10USACO").await.unwrap().is_empty());
    let counters = sim.counters();
    assert_eq!((counters.qdocs, counters.journals_posted), (0, 1));
}
