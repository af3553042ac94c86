//! The QXtend endpoint of the QAD simulator over real HTTP: SOAP Faults for what fails
//! before processing, `maintainCustomer` adding, getting and modifying the customers REST
//! reads, `createJournalEntry` posting through the REST validations and ledger with
//! success, warning and error answers, and injected faults.

mod common;

use std::time::Duration;

use ml_connector_sim::qad::{DuplicateGuard, PeriodStatus, QadFault, QadFaultAction, QadSim};
use ml_connector_xml::{self as xml, Element};
use reqwest::StatusCode;
use serde_json::Value;

use common::{CUSTOMER_VIEW, JOURNAL_VIEW, start};

fn endpoint(sim: &QadSim) -> String {
    sim.qxtend_url()
}

/// A QDoc in its SOAP envelope: `session` rows, then `dataset` as written.
fn envelope(receiver: &str, qdoc: &str, session: &[(&str, &str)], dataset: &str) -> String {
    let rows: String = session
        .iter()
        .map(|(name, value)| {
            format!(
                "<qcom:ttContext><qcom:propertyQualifier>QAD</qcom:propertyQualifier>\
                 <qcom:propertyName>{name}</qcom:propertyName>\
                 <qcom:propertyValue>{}</qcom:propertyValue></qcom:ttContext>",
                xml::escape(value)
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns="urn:schemas-qad-com:xml-services"
  xmlns:qcom="urn:schemas-qad-com:xml-services:common"
  xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:wsa="http://www.w3.org/2005/08/addressing">
  <soapenv:Header>
    <wsa:Action/>
    <wsa:To>urn:services-qad-com:{receiver}</wsa:To>
    <wsa:MessageID>urn:services-qad-com::{receiver}</wsa:MessageID>
    <wsa:ReferenceParameters><qcom:suppressResponseDetail>false</qcom:suppressResponseDetail></wsa:ReferenceParameters>
    <wsa:ReplyTo><wsa:Address>urn:services-qad-com:</wsa:Address></wsa:ReplyTo>
  </soapenv:Header>
  <soapenv:Body><{qdoc}><qcom:dsSessionContext>{rows}</qcom:dsSessionContext>{dataset}</{qdoc}></soapenv:Body>
</soapenv:Envelope>"#
    )
}

const SESSION: [(&str, &str); 7] = [
    ("domain", "10USA"),
    ("entity", "10USACO"),
    ("action", "create"),
    ("version", "ERP3_2"),
    ("scopeTransaction", "true"),
    ("username", "connector"),
    ("password", "s3cret"),
];

/// The standard session with `name` set to `value` (`None`: left out).
fn session_with(name: &str, value: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut rows: Vec<(&str, &str)> = SESSION
        .iter()
        .copied()
        .filter(|(n, _)| *n != name)
        .collect();
    if let Some(value) = value {
        let name: &'static str = SESSION
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("unknown", |(n, _)| n);
        rows.push((name, value));
    }
    rows
}

fn journal_line(gl: &str, sub: &str, debit: &str, credit: &str, extra: &str) -> String {
    format!(
        "<tPostingLine><tcGLCode>{gl}</tcGLCode><tcDivisionCode>{sub}</tcDivisionCode>\
         <tcCostCentreCode/><tcProjectCode/><tcCurrencyCode>USD</tcCurrencyCode>\
         <PostingLineDebitTC>{debit}</PostingLineDebitTC><PostingLineCreditTC>{credit}</PostingLineCreditTC>\
         <PostingLineText>Line {gl}</PostingLineText>{extra}</tPostingLine>"
    )
}

/// A balanced USD order entry in March 2026 with `lines` (the standard three when empty).
fn journal(reference: &str, period: u32, date: &str, lines: &str, extra: &str) -> String {
    let lines = if lines.is_empty() {
        [
            journal_line("1150", "", "108.25", "0", ""),
            journal_line("4000", "WEB", "0", "100.00", ""),
            journal_line("2200", "", "0", "8.25", ""),
        ]
        .concat()
    } else {
        lines.to_string()
    };
    format!(
        "<dsJournalEntry><tPosting><tcJournalCode>SO</tcJournalCode>\
         <PostingDate>{date}</PostingDate><PostingYear>2026</PostingYear>\
         <PostingPeriod>{period}</PostingPeriod><tcLayerCode>OFFICIAL</tcLayerCode>\
         <PostingText>Web order &amp; more</PostingText>\
         <externalReference>{reference}</externalReference>{extra}{lines}</tPosting></dsJournalEntry>"
    )
}

fn march(reference: &str) -> String {
    journal(reference, 3, "2026-03-02", "", "")
}

async fn send_raw(
    sim: &QadSim,
    body: String,
    content_type: Option<&str>,
    action: Option<&str>,
) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().post(endpoint(sim)).body(body);
    if let Some(kind) = content_type {
        request = request.header("content-type", kind);
    }
    if let Some(action) = action {
        request = request.header("soapaction", action);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn send(sim: &QadSim, body: String) -> (StatusCode, Element) {
    let (status, text) = send_raw(sim, body, Some("text/xml; charset=UTF-8"), Some("\"\"")).await;
    (
        status,
        xml::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

/// The `<qdoc>Response` of an answer that must not be a Fault.
async fn answered(sim: &QadSim, body: String) -> Element {
    let (status, envelope) = send(sim, body).await;
    assert_eq!(status, StatusCode::OK, "{envelope:?}");
    envelope.child("Body").unwrap().children[0].clone()
}

fn result(response: &Element) -> &str {
    response.child_value("result").unwrap()
}

/// `(severity, field, description)` of every `temp_err_msg`.
fn messages(response: &Element) -> Vec<(String, String, String)> {
    response
        .find("dsExceptions")
        .into_iter()
        .flat_map(|e| e.all("temp_err_msg"))
        .map(|m| {
            let text = |name: &str| m.child_value(name).unwrap_or_default().to_string();
            (
                text("tt_msg_sev"),
                text("tt_msg_field"),
                text("tt_msg_desc"),
            )
        })
        .collect()
}

fn fields(response: &Element) -> Vec<String> {
    messages(response).into_iter().map(|(_, f, _)| f).collect()
}

/// `(faultcode, faultstring)` of a Fault answer (HTTP 500).
async fn fault(
    sim: &QadSim,
    body: String,
    content_type: Option<&str>,
    action: Option<&str>,
) -> (String, String) {
    let (status, text) = send_raw(sim, body, content_type, action).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{text}");
    let envelope = xml::parse(&text).unwrap();
    let fault = envelope
        .find("Fault")
        .unwrap_or_else(|| panic!("no Fault: {text}"));
    (
        fault.child_value("faultcode").unwrap().to_string(),
        fault.child_value("faultstring").unwrap().to_string(),
    )
}

async fn rest_get(sim: &QadSim, path_and_query: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path_and_query}", sim.base_url("acme")))
        .basic_auth("connector", Some("s3cret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn what_fails_before_processing_is_a_soap_fault() {
    let sim = start().await;
    let good = || envelope("ACME", "createJournalEntry", &SESSION, &march("f-1"));
    let xml_type = Some("text/xml");
    let empty = Some("\"\"");
    let cases: Vec<(String, Option<&str>, Option<&str>, &str)> = vec![
        (good(), Some("application/json"), empty, "Content-Type"),
        (good(), None, empty, "Content-Type"),
        (good(), xml_type, None, "SOAPAction"),
        (good(), xml_type, Some("\"urn:other\""), "SOAPAction"),
        (
            "<soapenv:Envelope><Body>".into(),
            xml_type,
            empty,
            "Malformed XML",
        ),
        ("<a/>".into(), xml_type, empty, "not a SOAP envelope"),
        (
            envelope("NOPE", "createJournalEntry", &SESSION, &march("f-2")),
            xml_type,
            empty,
            "urn:services-qad-com:NOPE is not defined",
        ),
        (
            envelope("ACME", "maintainWidget", &SESSION, ""),
            xml_type,
            empty,
            "no API for QDoc maintainWidget",
        ),
        (
            envelope(
                "ACME",
                "createJournalEntry",
                &session_with("version", None),
                &march("f-3"),
            ),
            xml_type,
            empty,
            "version is mandatory",
        ),
        (
            envelope(
                "ACME",
                "createJournalEntry",
                &session_with("password", Some("wrong")),
                &march("f-4"),
            ),
            xml_type,
            empty,
            "could not be authenticated",
        ),
        (
            envelope(
                "ACME",
                "createJournalEntry",
                &session_with("username", None),
                &march("f-5"),
            ),
            xml_type,
            empty,
            "could not be authenticated",
        ),
    ];
    let count = cases.len() as u64;
    for (body, content_type, action, wanted) in cases {
        let (code, text) = fault(&sim, body, content_type, action).await;
        assert_eq!(code, "soapenv:Client", "{text}");
        assert!(text.contains(wanted), "{wanted}: {text}");
    }
    assert!(sim.ledger("acme").is_empty());
    let counters = sim.counters();
    assert_eq!(counters.soap_faults, count);
    assert_eq!(counters.qdocs, 0);

    // A charset is fine; the receiver picks the tenant.
    let (status, _) = send_raw(
        &sim,
        envelope("BETA", "createJournalEntry", &SESSION, &march("b-1")),
        Some("text/xml;charset=utf-8"),
        Some(""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sim.ledger("beta").len(), 1);
    assert!(sim.ledger("acme").is_empty());

    let wsdl = reqwest::get(format!("{}?wsdl", endpoint(&sim)))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let definitions = xml::parse(&wsdl).unwrap();
    assert_eq!(definitions.name, "definitions");
    assert!(wsdl.contains("name=\"processQdocMessage\""), "{wsdl}");
}

fn customer(operation: &str, code: &str, extra: &str) -> String {
    format!(
        "<dsCustomer><customer><operation>{operation}</operation><cmAddr>{code}</cmAddr>\
         <adName>Jane Doe</adName><adLine1>1 Main St</adLine1><adCity>Santa Barbara</adCity>\
         <adState>CA</adState><adZip>93108</adZip><adCtry>US</adCtry><adPhone>+1 805 555 0100</adPhone>\
         <cmCurr>USD</cmCurr><cmSite>10-200</cmSite><cmCrTerms>NET10</cmCrTerms>{extra}</customer></dsCustomer>"
    )
}

#[tokio::test]
async fn customers_are_added_got_and_modified_in_the_shared_set_rest_reads() {
    let sim = start().await;
    let session = [
        ("domain", "10USA"),
        ("version", "eB2_2"),
        ("username", "mfg@qad.com"),
        ("password", ""),
    ];
    let added = answered(
        &sim,
        envelope(
            "ACME",
            "maintainCustomer",
            &session,
            &customer("A", "WEB00001", ""),
        ),
    )
    .await;
    assert_eq!(result(&added), "success", "{added:?}");
    assert_eq!(added.name, "maintainCustomerResponse");
    let row = added
        .find("dsCustomerResponse")
        .unwrap()
        .child("customer")
        .unwrap();
    assert_eq!(row.child_value("cmAddr"), Some("WEB00001"));
    assert_eq!(row.child_value("cmSite"), Some("10-200"));
    // The echoed session keeps the properties and blanks the password.
    let echoed = added.find("dsSessionContext").unwrap();
    assert_eq!(echoed.all("ttContext").count(), 4);

    // REST reads see it, with no email (QXtend has none) and the defaults filled in.
    let rest = rest_get(
        &sim,
        &format!("/api/erp/customerV2s?customerCode=WEB00001&viewUri={CUSTOMER_VIEW}"),
    )
    .await;
    let stored = &rest["data"]["customerV2s"][0];
    assert_eq!(stored["businessRelationName"], "Jane Doe");
    assert_eq!(stored["EMail"], "");
    assert_eq!(stored["creditTermsCode"], "NET10");
    assert_eq!(stored["sharedSetCode"], "QMI-CUST");
    let domains = &sim
        .customers("acme")
        .into_iter()
        .find(|c| c.code == "WEB00001")
        .unwrap()
        .domains;
    assert_eq!(domains.len(), 2, "a record in every domain");

    // Adding it again is an error on cmAddr; nothing changes.
    let again = answered(
        &sim,
        envelope(
            "ACME",
            "maintainCustomer",
            &session,
            &customer("A", "WEB00001", ""),
        ),
    )
    .await;
    assert_eq!(result(&again), "error");
    assert_eq!(fields(&again), ["cmAddr"]);
    assert!(messages(&again)[0].2.contains("already exists"));

    // G answers with the stored fields; an element the QDoc does not know is a warning.
    let got = answered(
        &sim,
        envelope(
            "ACME",
            "maintainCustomer",
            &session,
            &customer("G", "WEB00001", "<adEmail>j@x.org</adEmail>"),
        ),
    )
    .await;
    assert_eq!(result(&got), "warning", "{got:?}");
    assert_eq!(
        messages(&got),
        [(
            "warning".to_string(),
            "adEmail".to_string(),
            "Field was unused, see context for details.".to_string()
        )]
    );
    let row = got
        .find("dsCustomerResponse")
        .unwrap()
        .child("customer")
        .unwrap();
    assert_eq!(row.child_value("adCity"), Some("Santa Barbara"));
    let missing = answered(
        &sim,
        envelope(
            "ACME",
            "maintainCustomer",
            &session,
            &customer("G", "NOSUCH", ""),
        ),
    )
    .await;
    assert_eq!(result(&missing), "error");

    // The same checks as REST: unknown currency and site, in the QDoc's field names.
    let bad = customer("A", "WEB00002", "")
        .replace(">USD<", ">XXX<")
        .replace(">10-200<", ">11-100<");
    let refused = answered(&sim, envelope("ACME", "maintainCustomer", &session, &bad)).await;
    assert_eq!(result(&refused), "error");
    assert_eq!(fields(&refused), ["cmCurr", "cmSite"]);

    // M changes the stored customer; a read-only user may get but not change.
    let modified = answered(
        &sim,
        envelope(
            "ACME",
            "maintainCustomer",
            &session,
            &customer("M", "WEB00001", "").replace("Santa Barbara", "Goleta"),
        ),
    )
    .await;
    assert_eq!(result(&modified), "success");
    let customers = sim.customers("acme");
    assert_eq!(
        customers
            .iter()
            .find(|c| c.code == "WEB00001")
            .unwrap()
            .city,
        "Goleta"
    );
    let readonly = [
        ("domain", "10USA"),
        ("version", "eB2_2"),
        ("username", "readonly"),
        ("password", "readonly"),
    ];
    let denied = answered(
        &sim,
        envelope(
            "ACME",
            "maintainCustomer",
            &readonly,
            &customer("A", "WEB00003", ""),
        ),
    )
    .await;
    assert_eq!(result(&denied), "error");
    assert!(messages(&denied)[0].2.contains("no access"), "{denied:?}");
    let read = answered(
        &sim,
        envelope(
            "ACME",
            "maintainCustomer",
            &readonly,
            &customer("G", "WEB00001", ""),
        ),
    )
    .await;
    assert_eq!(result(&read), "success");

    // scopeTransaction: all or nothing by default; false keeps the rows that pass.
    let two = |first: &str, second: &str| {
        let one = customer("A", first, "");
        let other = customer("A", second, "").replace(">USD<", ">XXX<");
        format!(
            "<dsCustomer>{}{}</dsCustomer>",
            one.trim_start_matches("<dsCustomer>")
                .trim_end_matches("</dsCustomer>"),
            other
                .trim_start_matches("<dsCustomer>")
                .trim_end_matches("</dsCustomer>")
        )
    };
    let all = answered(
        &sim,
        envelope(
            "ACME",
            "maintainCustomer",
            &session,
            &two("WEB00010", "WEB00011"),
        ),
    )
    .await;
    assert_eq!(result(&all), "error");
    assert!(
        !sim.customers("acme").iter().any(|c| c.code == "WEB00010"),
        "backed out"
    );
    let partial_session = [
        ("domain", "10USA"),
        ("version", "eB2_2"),
        ("scopeTransaction", "false"),
        ("username", "connector"),
        ("password", "s3cret"),
    ];
    let partial = answered(
        &sim,
        envelope(
            "ACME",
            "maintainCustomer",
            &partial_session,
            &two("WEB00010", "WEB00011"),
        ),
    )
    .await;
    assert_eq!(result(&partial), "error");
    assert_eq!(fields(&partial), ["cmCurr", ""]);
    assert!(
        sim.customers("acme").iter().any(|c| c.code == "WEB00010"),
        "the first is kept"
    );
    assert!(!sim.customers("acme").iter().any(|c| c.code == "WEB00011"));
    let counters = sim.counters();
    assert_eq!(counters.qdocs, 10);
    assert_eq!(counters.qdoc_errors, 6);
}

#[tokio::test]
async fn journals_post_through_the_same_validations_and_ledger_as_rest() {
    let sim = start().await;
    let posted = answered(
        &sim,
        envelope(
            "ACME",
            "createJournalEntry",
            &SESSION,
            &march("bc:order:1:v1"),
        ),
    )
    .await;
    assert_eq!(result(&posted), "success", "{posted:?}");
    assert_eq!(posted.name, "createJournalEntryResponse");
    let voucher = posted
        .find("dsJournalEntryResponse")
        .unwrap()
        .find("voucher")
        .unwrap()
        .value()
        .to_string();
    assert_eq!(voucher, "2026/SO/000001");
    let ledger = sim.ledger("acme");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].description, "Web order & more");
    assert_eq!(ledger[0].lines[1].sub_account, "WEB");
    assert_eq!(ledger[0].lines[0].debit_tc, 1_082_500);
    let found = rest_get(&sim, &format!("/api/erp/journalEntries?entityCode=10USACO&externalReference=bc:order:1:v1&viewUri={JOURNAL_VIEW}")).await;
    assert_eq!(
        found["data"]["journalEntries"][0]["voucher"],
        voucher.as_str()
    );

    // An unknown element: a warning, and the entry still posts.
    let extra = journal("bc:order:2:v1", 3, "2026-03-02", "", "<tcFoo>bar</tcFoo>");
    let warned = answered(
        &sim,
        envelope("ACME", "createJournalEntry", &SESSION, &extra),
    )
    .await;
    assert_eq!(result(&warned), "warning");
    assert_eq!(fields(&warned), ["tcFoo"]);
    assert_eq!(sim.ledger("acme").len(), 2);

    // Errors in the QDoc's field names: a closed period, an unbalanced entry, a header
    // account and an account that needs a sub-account, all at once.
    sim.set_period_status("acme", "10USACO", 2026, 3, PeriodStatus::Closed);
    let closed = answered(
        &sim,
        envelope(
            "ACME",
            "createJournalEntry",
            &SESSION,
            &march("bc:order:3:v1"),
        ),
    )
    .await;
    assert_eq!(result(&closed), "error");
    assert_eq!(fields(&closed), ["PostingPeriod"]);
    assert!(messages(&closed)[0].2.contains("is Closed"));
    sim.set_period_status("acme", "10USACO", 2026, 3, PeriodStatus::Open);
    let lines = [
        journal_line("1000", "", "10", "0", ""),
        journal_line("6200", "", "5", "0", ""),
        journal_line("4000", "", "0", "14", ""),
    ]
    .concat();
    let bad = answered(
        &sim,
        envelope(
            "ACME",
            "createJournalEntry",
            &SESSION,
            &journal("bc:order:4:v1", 3, "2026-03-02", &lines, ""),
        ),
    )
    .await;
    assert_eq!(fields(&bad), ["tcGLCode", "tcDivisionCode"]);
    let contexts: Vec<String> = bad
        .find("dsExceptions")
        .unwrap()
        .all("temp_err_msg")
        .map(|m| m.child_value("tt_msg_context").unwrap().to_string())
        .collect();
    assert_eq!(
        contexts,
        [
            "tPosting#1(bc:order:4:v1).tPostingLine#1 field(tcGLCode)",
            "tPosting#1(bc:order:4:v1).tPostingLine#2 field(tcDivisionCode)"
        ]
    );
    let unbalanced = [
        journal_line("1150", "", "10", "0", ""),
        journal_line("4000", "", "0", "9.99", ""),
    ]
    .concat();
    let answer = answered(
        &sim,
        envelope(
            "ACME",
            "createJournalEntry",
            &SESSION,
            &journal("bc:order:5:v1", 3, "2026-03-02", &unbalanced, ""),
        ),
    )
    .await;
    assert_eq!(fields(&answer), ["balance"]);

    // The session needs entity and action; the duplicate guard is the tenant's.
    let answer = answered(
        &sim,
        envelope(
            "ACME",
            "createJournalEntry",
            &session_with("entity", None),
            &march("x"),
        ),
    )
    .await;
    assert_eq!(fields(&answer), ["entity"]);
    let answer = answered(
        &sim,
        envelope(
            "ACME",
            "createJournalEntry",
            &session_with("entity", Some("99XXCO")),
            &march("x"),
        ),
    )
    .await;
    // An unknown entity: as over REST, its daybook is unknown too.
    assert_eq!(fields(&answer), ["entity", "tcJournalCode"], "{answer:?}");
    let duplicate = answered(
        &sim,
        envelope(
            "ACME",
            "createJournalEntry",
            &SESSION,
            &march("bc:order:1:v1"),
        ),
    )
    .await;
    assert_eq!(fields(&duplicate), ["externalReference"]);
    assert!(messages(&duplicate)[0].2.contains("already exists"));
    sim.set_duplicate_guard("acme", DuplicateGuard::ReturnExisting);
    let existing = answered(
        &sim,
        envelope(
            "ACME",
            "createJournalEntry",
            &SESSION,
            &march("bc:order:1:v1"),
        ),
    )
    .await;
    assert_eq!(result(&existing), "success");
    assert_eq!(existing.find("voucher").unwrap().value(), voucher);
    let readonly = session_with("username", Some("readonly"));
    let mut readonly: Vec<_> = readonly
        .into_iter()
        .filter(|(n, _)| *n != "password")
        .collect();
    readonly.push(("password", "readonly"));
    let denied = answered(
        &sim,
        envelope("ACME", "createJournalEntry", &readonly, &march("ro")),
    )
    .await;
    assert_eq!(result(&denied), "error");
    assert_eq!(sim.ledger("acme").len(), 2, "only the two good entries");
    let counters = sim.counters();
    assert_eq!(
        (
            counters.journals_posted,
            counters.duplicates_refused,
            counters.duplicates_returned
        ),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn injected_faults_hit_qdocs_after_the_soap_checks() {
    let sim = start().await;
    // A Fault before processing does not use the fault up.
    sim.inject(
        "acme",
        QadFault::new(QadFaultAction::DropAfterCommit, 1)
            .on("QdocWebService")
            .for_method("POST"),
    );
    let wrong = envelope(
        "ACME",
        "createJournalEntry",
        &session_with("password", Some("x")),
        &march("d-0"),
    );
    assert_eq!(
        fault(&sim, wrong, Some("text/xml"), Some("\"\"")).await.0,
        "soapenv:Client"
    );
    let sent = reqwest::Client::new()
        .post(endpoint(&sim))
        .header("content-type", "text/xml")
        .header("soapaction", "\"\"")
        .body(envelope(
            "ACME",
            "createJournalEntry",
            &SESSION,
            &march("d-1"),
        ))
        .send()
        .await;
    let seen = match sent {
        Ok(response) => response.text().await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(seen.is_err(), "the client never sees the answer");
    assert_eq!(sim.ledger("acme").len(), 1, "but the entry was committed");

    // Faults can aim at one QDoc; a 500 is a Server Fault, a gateway's 502 is HTML.
    sim.inject(
        "acme",
        QadFault::new(QadFaultAction::Http500, 1).on("createJournalEntry"),
    );
    sim.inject(
        "acme",
        QadFault::new(QadFaultAction::Html502, 1).on("QdocWebService"),
    );
    let (code, _) = fault(
        &sim,
        envelope("ACME", "createJournalEntry", &SESSION, &march("d-2")),
        Some("text/xml"),
        Some("\"\""),
    )
    .await;
    assert_eq!(code, "soapenv:Server");
    let (status, body) = send_raw(
        &sim,
        envelope("ACME", "createJournalEntry", &SESSION, &march("d-2")),
        Some("text/xml"),
        Some("\"\""),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.contains("502 Bad Gateway"));
    sim.inject(
        "acme",
        QadFault::new(QadFaultAction::Delay(Duration::from_millis(100)), 1).on("QdocWebService"),
    );
    let started = std::time::Instant::now();
    let posted = answered(
        &sim,
        envelope("ACME", "createJournalEntry", &SESSION, &march("d-2")),
    )
    .await;
    assert_eq!(result(&posted), "success");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(sim.ledger("acme").len(), 2);
    assert_eq!(sim.counters().faults_injected, 4);
}
