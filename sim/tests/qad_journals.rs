//! QAD journal entries over real HTTP: posting and reading back by reference, prefix and
//! voucher, exact amounts converted to the entity's base, every validation with its own
//! field, the duplicate guards, and a post dropped after commit.

mod common;

use ml_connector_sim::qad::{DuplicateGuard, PeriodStatus, QadFault, QadFaultAction};
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{Client, JOURNAL_VIEW, error_fields, first_message, line, order_entry, start};

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
        change: |e| e["lines"][2]["glCode"] = json!("2390"),
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
