//! The QDocs ml-connector sends, written as text: the SOAP 1.1 envelope with its
//! WS-Addressing header and session context, and the datasets of `maintainCustomer`
//! (A to add, G to get) and `createJournalEntry`. Every value is escaped; amounts are
//! written as the REST client writes them.

use std::fmt::Write as _;

use ml_connector_xml::escape;

use super::super::model::{JournalEntry, decimal};
use super::{QxtendConfig, QxtendCustomer, browse};

/// `maintainCustomer` A: add the customer under its code.
pub(super) fn add_customer(config: &QxtendConfig, customer: &QxtendCustomer) -> String {
    let mut row = String::new();
    for (tag, value) in [
        ("operation", "A"),
        ("cmAddr", customer.code.as_str()),
        ("adName", &customer.name),
        ("adLine1", &customer.street),
        ("adCity", &customer.city),
        ("adZip", &customer.zip),
        ("adCtry", &customer.country),
        ("cmCurr", &customer.currency),
        ("cmSite", &customer.site),
        ("cmCrTerms", &customer.credit_terms),
    ] {
        leaf(&mut row, tag, value);
    }
    let dataset = format!("<dsCustomer><customer>{row}</customer></dsCustomer>");
    envelope(config, "maintainCustomer", &session(config, None), &dataset)
}

/// `maintainCustomer` G: get one customer by code.
pub(super) fn get_customer(config: &QxtendConfig, code: &str) -> String {
    let mut row = String::new();
    leaf(&mut row, "operation", "G");
    leaf(&mut row, "cmAddr", code);
    let dataset = format!("<dsCustomer><customer>{row}</customer></dsCustomer>");
    envelope(config, "maintainCustomer", &session(config, None), &dataset)
}

/// `createJournalEntry`: one `tPosting` with its lines, for `entity`.
pub(super) fn create_journal_entry(
    config: &QxtendConfig,
    entity: &str,
    entry: &JournalEntry,
) -> String {
    let mut posting = String::new();
    for (tag, value) in [
        ("tcJournalCode", entry.daybook.clone()),
        ("PostingDate", browse::format_date(entry.posting_date)),
        ("PostingYear", entry.year.to_string()),
        ("PostingPeriod", entry.period.to_string()),
        ("tcLayerCode", entry.layer.clone()),
        ("PostingText", entry.description.clone()),
        ("externalReference", entry.external_reference.clone()),
    ] {
        leaf(&mut posting, tag, &value);
    }
    for line in &entry.lines {
        posting.push_str("<tPostingLine>");
        for (tag, value) in [
            ("tcGLCode", line.account.as_str()),
            ("tcDivisionCode", &line.sub_account),
            ("tcCostCentreCode", &line.cost_center),
            ("tcProjectCode", &line.project),
            ("tcCurrencyCode", &line.currency),
            ("PostingLineDebitTC", &decimal(line.debit)),
            ("PostingLineCreditTC", &decimal(line.credit)),
        ] {
            leaf(&mut posting, tag, value);
        }
        if let Some(rate) = &line.exchange_rate {
            leaf(&mut posting, "ExchangeRate", rate);
        }
        if let Some(tax) = &line.tax_code {
            leaf(&mut posting, "tcTaxCode", tax);
        }
        leaf(&mut posting, "PostingLineText", &line.description);
        posting.push_str("</tPostingLine>");
    }
    let dataset = format!("<dsJournalEntry><tPosting>{posting}</tPosting></dsJournalEntry>");
    let session = session(config, Some((entity, "create")));
    envelope(config, "createJournalEntry", &session, &dataset)
}

/// The session context rows; `financials` adds `entity` and `action`.
pub(super) fn session<'a>(
    config: &'a QxtendConfig,
    financials: Option<(&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let mut rows = Vec::new();
    if !config.domain.is_empty() {
        rows.push(("domain", config.domain.as_str()));
    }
    if let Some((entity, action)) = financials {
        rows.push(("entity", entity));
        rows.push(("action", action));
    }
    rows.extend([
        ("version", config.version.as_str()),
        ("scopeTransaction", "true"),
        ("username", config.username.as_str()),
        ("password", config.password.as_str()),
    ]);
    rows
}

/// The SOAP envelope of one QDoc, every value escaped.
pub(super) fn envelope(
    config: &QxtendConfig,
    qdoc: &str,
    session: &[(&str, &str)],
    dataset: &str,
) -> String {
    let receiver = escape(&config.receiver);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns=\"urn:schemas-qad-com:xml-services\" \
         xmlns:qcom=\"urn:schemas-qad-com:xml-services:common\" \
         xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">\
         <soapenv:Header><wsa:Action/>\
         <wsa:To>urn:services-qad-com:{receiver}</wsa:To>\
         <wsa:MessageID>urn:services-qad-com::{receiver}</wsa:MessageID>\
         <wsa:ReferenceParameters><qcom:suppressResponseDetail>false</qcom:suppressResponseDetail></wsa:ReferenceParameters>\
         <wsa:ReplyTo><wsa:Address>urn:services-qad-com:</wsa:Address></wsa:ReplyTo>\
         </soapenv:Header><soapenv:Body><{qdoc}><qcom:dsSessionContext>"
    );
    for (name, value) in session {
        out.push_str("<qcom:ttContext>");
        leaf(&mut out, "qcom:propertyQualifier", "QAD");
        leaf(&mut out, "qcom:propertyName", name);
        leaf(&mut out, "qcom:propertyValue", value);
        out.push_str("</qcom:ttContext>");
    }
    let _ = write!(
        out,
        "</qcom:dsSessionContext>{dataset}</{qdoc}></soapenv:Body></soapenv:Envelope>"
    );
    out
}

/// `<tag>value</tag>`, the value escaped.
fn leaf(out: &mut String, tag: &str, value: &str) {
    let _ = write!(out, "<{tag}>{}</{tag}>", escape(value));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ml_connector_xml as xml;

    #[test]
    fn envelopes_escape_every_value() {
        let mut config = QxtendConfig::new(
            "https://q/qxi/services/QdocWebService",
            "QAD<ERP>",
            "u&me",
            "p\"w",
        );
        config.domain = "10USA".into();
        let text = envelope(
            &config,
            "maintainCustomer",
            &session(&config, None),
            "<dsCustomer/>",
        );
        let root = xml::parse(&text).unwrap();
        assert_eq!(
            root.find("To").unwrap().value(),
            "urn:services-qad-com:QAD<ERP>"
        );
        let values: Vec<&str> = root
            .find("dsSessionContext")
            .unwrap()
            .all("ttContext")
            .map(|row| row.child_value("propertyValue").unwrap())
            .collect();
        assert_eq!(values, ["10USA", "ERP3_2", "true", "u&me", "p\"w"]);
    }
}
