//! Every parser of outside input, given anything: none may panic. Each is fed random bytes
//! and random edits of a well-formed sample (so that the fuzzing reaches past the first
//! character): BigCommerce's webhook bodies and signature headers, its order, line,
//! transaction, refund, customer and catalog JSON, money and dates; QAD's error answers,
//! QXtend's SOAP answers and XML, QAD's browse dates; `connector.toml`; plugin fixtures; the console's cookies, forms and
//! times.
//! Case counts are bounded so that `cargo test` stays quick.

use std::path::Path;

use proptest::prelude::*;

use crate::bigcommerce::WebhookAuth;
use crate::bigcommerce::{catalog, customers, orders, wire};

/// A well-formed sample with up to eight random edits (replace, insert or delete a byte).
fn edited(sample: &'static str) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..8).prop_map(move |edits| {
        let mut bytes = sample.as_bytes().to_vec();
        for (at, byte, op) in edits {
            let at = if bytes.is_empty() {
                0
            } else {
                at % bytes.len()
            };
            match op {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                _ => bytes.push(byte),
            }
        }
        bytes
    })
}

/// Random bytes, or an edited `sample`.
fn input(sample: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        edited(sample)
    ]
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const WEBHOOK: &str = r#"{"scope":"store/order/updated","store_id":"1","producer":"stores/shop1","data":{"type":"order","id":101,"status":{"previous_status_id":1,"new_status_id":11}},"hash":"x","created_at":1700000000}"#;

const ORDER: &str = r#"{"id":101,"customer_id":7,"status_id":11,"status":"Awaiting Fulfillment","date_created":"Tue, 20 Nov 2012 00:00:00 +0000","date_modified":"2026-11-02T10:00:00Z","currency_code":"USD","default_currency_code":"USD","store_default_to_transactional_exchange_rate":"1.0000000000","subtotal_ex_tax":"25.0000","subtotal_inc_tax":"25.0000","subtotal_tax":"0.0000","shipping_cost_ex_tax":"0.0000","shipping_cost_tax":"0.0000","handling_cost_ex_tax":"0.0000","handling_cost_tax":"0.0000","wrapping_cost_ex_tax":"0.0000","wrapping_cost_tax":"0.0000","total_ex_tax":"25.0000","total_inc_tax":"25.0000","total_tax":"0.0000","discount_amount":"0.0000","coupon_discount":"0.0000","gift_certificate_amount":"0.0000","store_credit_amount":"0.0000","payment_method":"Manual","payment_status":"","billing_address":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","street_1":"1 Main St","city":"Austin","zip":"78701","country_iso2":"US"}}"#;

const LINE: &str = r#"{"id":1000,"order_id":101,"product_id":7,"name":"Widget","sku":"W-1","quantity":2,"price_ex_tax":"12.5000","price_inc_tax":"12.5000","price_tax":"0.0000","total_ex_tax":"25.0000","total_inc_tax":"25.0000","total_tax":"0.0000","quantity_refunded":0,"applied_discounts":[{"id":"SAVE","amount":"1.0000","code":"SAVE"}]}"#;

const TRANSACTION: &str = r#"{"id":5,"order_id":"101","event":"purchase","method":"credit_card","amount":25.00,"currency":"USD","gateway":"stripe","status":"ok","date_created":"2026-11-02T10:00:00+00:00"}"#;

const REFUND: &str = r#"{"id":7,"order_id":101,"created":"2026-11-03T10:00:00+00:00","reason":"damaged","total_amount":12.5,"total_tax":0,"items":[{"item_type":"PRODUCT","item_id":1000,"quantity":1,"requested_amount":"12.50"}],"payments":[{"id":1,"provider_id":"stripe","amount":12.5,"offline":false,"is_declined":false}]}"#;

const CUSTOMER: &str = r#"{"id":7,"email":"ada@example.com","first_name":"Ada","last_name":"Lovelace","company":"","phone":"","date_created":"2026-11-01T10:00:00Z","date_modified":"2026-11-02T10:00:00Z"}"#;

const PRODUCT: &str = r#"{"id":7,"name":"Widget","sku":"W-1","price":12.5,"sale_price":0,"cost_price":null,"inventory_level":3,"is_visible":true,"date_modified":"2026-11-02T10:00:00+00:00"}"#;

const VARIANT: &str = r#"{"id":9,"product_id":7,"sku":"W-1-R","price":null,"sale_price":"9.99","purchasing_disabled":false,"inventory_level":1}"#;

const QAD_ERROR: &str = r#"{"errors":[{"field":"glCode","message":"account 9999 is not postable"}],"error_description":"invalid"}"#;

const SOAP: &str = r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><maintainJournalEntryResponse><qdocHeader/><qdocResult>success</qdocResult><dsExceptions><temp_err_msg><tt_msg_desc>closed period</tt_msg_desc></temp_err_msg></dsExceptions></maintainJournalEntryResponse></soapenv:Body></soapenv:Envelope>"#;

const CONFIG: &str = "[connections.main]\nstore_hash = \"shop1\"\nbigcommerce_token = \"env:BC\"\n[connections.main.qad]\nbase_url = \"https://qad.example.com\"\nworkspace = \"10USA\"\nclient_id = \"env:C\"\nusername = \"env:U\"\npassword = \"env:P\"\n[connections.main.posting]\nentity = \"10USACO\"\nbase_currency = \"USD\"\nguest_customer = \"GUEST\"\n[connections.main.plugin]\nname = \"order-to-gl\"\nsettings = { daybook = \"SO\" }\n[connections.main.schedules]\nreconcile = \"*/15 * * * *\"\n";

const FIXTURE: &str = include_str!("../../examples/fixtures/shared/order-basic.json");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn console_requests(
        cookies in input("theme=dark; mlc_session=0f1e2d3c; mlc_login=a1b2"),
        form in input("csrf=0f1e&job=12&job=13&reason=posted+by+hand%2C+voucher+4711"),
        since in input("2026-11-02T10:15"),
        day in input("2026-11-02"),
    ) {
        let _ = crate::console::auth::cookie(&text(&cookies), crate::console::auth::COOKIE);
        let form = crate::console::Form::parse(&text(&form));
        let _ = (form.get("csrf"), form.all("job").count());
        let _ = crate::console::since_of(&text(&since));
        let _ = crate::cli::reconcile::bound(&text(&day), true, "to");
    }

    #[test]
    fn webhook_bodies(body in input(WEBHOOK)) {
        let _ = crate::sources::webhooks::jobs_for("main", "shop1", "msg_1", &body);
    }

    #[test]
    fn webhook_signature_headers(
        id in input("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
        timestamp in input("1700000000"),
        signature in input("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
        body in input(WEBHOOK),
    ) {
        let auth = WebhookAuth {
            client_secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            shared_header: Some(("x-secret".into(), "s".into())),
        };
        let (id, timestamp, signature) = (text(&id), text(&timestamp), text(&signature));
        let header = |name: &str| match name {
            "webhook-id" => Some(id.as_str()),
            "webhook-timestamp" => Some(timestamp.as_str()),
            "webhook-signature" => Some(signature.as_str()),
            "x-secret" => Some("s"),
            _ => None,
        };
        let _ = auth.verify(header, &body, 1_700_000_000);
    }

    #[test]
    fn bigcommerce_records(
        order in input(ORDER),
        line in input(LINE),
        transaction in input(TRANSACTION),
        refund in input(REFUND),
        customer in input(CUSTOMER),
        product in input(PRODUCT),
        variant in input(VARIANT),
    ) {
        let _ = serde_json::from_slice::<orders::Order>(&order);
        let _ = serde_json::from_slice::<orders::OrderProduct>(&line);
        let _ = serde_json::from_slice::<orders::Transaction>(&transaction);
        let _ = serde_json::from_slice::<orders::Refund>(&refund);
        let _ = serde_json::from_slice::<customers::Customer>(&customer);
        let _ = serde_json::from_slice::<catalog::Product>(&product);
        let _ = serde_json::from_slice::<catalog::Variant>(&variant);
    }

    #[test]
    fn bigcommerce_money_and_dates(amount in input("\"-12.3400\""), date in input("Tue, 20 Nov 2012 00:00:00 +0000")) {
        let _ = wire::parse_amount(&text(&amount));
        if let Ok(at) = wire::parse_date(&text(&date)) {
            let _ = wire::to_rfc3339(at);
        }
    }

    #[test]
    fn qad_answers(status in 100u16..600, body in input(QAD_ERROR), date in input("2026-11-02")) {
        let _ = crate::qad::error::from_status(status, &body, "a journal");
        let _ = crate::qad::browse::parse_date(&text(&date));
    }

    #[test]
    fn qxtend_answers(status in 100u16..600, body in input(SOAP), write in any::<bool>()) {
        let _ = crate::qad::qxtend::answer::decode("maintainJournalEntry", "https://q/x", status, &body, write);
        let _ = ml_connector_xml::parse(&text(&body));
    }

    #[test]
    fn connections_files(config in input(CONFIG)) {
        let _ = crate::config::Config::from_text(&text(&config), Path::new("connector.toml"));
    }

    #[test]
    fn plugin_fixtures(fixture in input(FIXTURE)) {
        let _ = crate::plugins::fixture::Fixture::parse(&text(&fixture));
    }
}

/// The samples parse as they are, so that their edits reach past the first checks.
#[test]
fn the_samples_are_well_formed() {
    let (_, jobs) =
        crate::sources::webhooks::jobs_for("main", "shop1", "msg_1", WEBHOOK.as_bytes())
            .unwrap_or_else(|_| panic!("the webhook sample"));
    assert_eq!(jobs.len(), 1);
    serde_json::from_str::<orders::Order>(ORDER).unwrap();
    serde_json::from_str::<orders::OrderProduct>(LINE).unwrap();
    serde_json::from_str::<orders::Transaction>(TRANSACTION).unwrap();
    serde_json::from_str::<orders::Refund>(REFUND).unwrap();
    serde_json::from_str::<customers::Customer>(CUSTOMER).unwrap();
    serde_json::from_str::<catalog::Product>(PRODUCT).unwrap();
    serde_json::from_str::<catalog::Variant>(VARIANT).unwrap();
    assert!(wire::parse_amount("\"-12.3400\"").is_some());
    assert!(crate::qad::browse::parse_date("2026-11-02").is_some());
    assert!(ml_connector_xml::parse(SOAP).is_ok());
    crate::config::Config::from_text(CONFIG, Path::new("connector.toml")).unwrap();
    crate::plugins::fixture::Fixture::parse(FIXTURE).unwrap();
    assert!(crate::console::since_of("2026-11-02T10:15").is_some());
}
