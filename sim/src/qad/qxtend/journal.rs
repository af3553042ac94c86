//! `createJournalEntry`: one `dsJournalEntry/tPosting` mapped onto the REST entry's
//! fields and posted through the same validations, duplicate guard and ledger; its errors
//! mapped back to the QDoc's fields.

use ml_connector_xml::Element;
use serde_json::{Map, Value};

use super::super::journals::post_entry;
use super::super::model::day;
use super::super::scope::Scope;
use super::reply::{Reply, leaf, may_write};
use super::soap::Admitted;
use crate::wire::RawObject;

/// `tPosting` elements and the REST entry fields they map to.
const POSTING_FIELDS: [(&str, &str); 7] = [
    ("tcJournalCode", "daybookCode"),
    ("PostingDate", "postingDate"),
    ("PostingYear", "postingYear"),
    ("PostingPeriod", "postingPeriod"),
    ("tcLayerCode", "layerCode"),
    ("PostingText", "description"),
    ("externalReference", "externalReference"),
];

/// `tPostingLine` elements and the REST line fields they map to.
const LINE_FIELDS: [(&str, &str); 10] = [
    ("tcGLCode", "glCode"),
    ("tcDivisionCode", "subAccountCode"),
    ("tcCostCentreCode", "costCenterCode"),
    ("tcProjectCode", "projectCode"),
    ("tcCurrencyCode", "currencyCode"),
    ("PostingLineDebitTC", "debitTC"),
    ("PostingLineCreditTC", "creditTC"),
    ("ExchangeRate", "exchangeRate"),
    ("tcTaxCode", "taxCode"),
    ("PostingLineText", "description"),
];

pub(super) fn create_journal_entry(scope: &mut Scope, message: &Admitted, reply: &mut Reply) {
    let session = &message.session;
    for property in ["entity", "action"] {
        if session.get(property).is_none() {
            reply.error(
                property,
                "dsSessionContext",
                format!(
                    "The session context property {property} is mandatory for Financials QDocs."
                ),
            );
        }
    }
    if let Some(action) = session.get("action")
        && !action.eq_ignore_ascii_case("create")
    {
        reply.error(
            "action",
            "dsSessionContext",
            format!("createJournalEntry takes the action create; got {action}."),
        );
    }
    reply.unused(
        &message.qdoc,
        &["dsSessionContext", "dsJournalEntry"],
        "createJournalEntry",
    );
    let postings: Vec<&Element> = match message.qdoc.child("dsJournalEntry") {
        Some(dataset) => {
            reply.unused(dataset, &["tPosting"], "dsJournalEntry");
            dataset.all("tPosting").collect()
        }
        None => Vec::new(),
    };
    if postings.len() != 1 {
        reply.error(
            "tPosting",
            "dsJournalEntry",
            format!(
                "Send one journal entry (dsJournalEntry/tPosting) per createJournalEntry; got {}.",
                postings.len()
            ),
        );
    }
    if reply.errors() > 0 || !may_write(message, reply, "createJournalEntry") {
        return;
    }
    let posting = postings[0];
    let entity = session.get("entity").unwrap_or_default();
    let reference = posting.child_value("externalReference").unwrap_or_default();
    let context = format!("tPosting#1({reference})");
    let mut known: Vec<&str> = POSTING_FIELDS.iter().map(|(x, _)| *x).collect();
    known.push("tPostingLine");
    reply.unused(posting, &known, &context);
    let data = &scope.tenant.account.data;
    let domain = session.get("domain");
    scope.workspace = match data.workspace_for_entity(entity) {
        Some(workspace) if domain.is_some_and(|d| d != workspace.domain) => {
            let domain = domain.unwrap_or_default();
            reply.error(
                "domain",
                "dsSessionContext",
                format!("Entity {entity} is not in domain {domain}."),
            );
            return;
        }
        Some(workspace) => workspace.clone(),
        // The entry's checks report the unknown entity, as REST's do for an entity
        // outside the request's workspace.
        None => data
            .workspaces
            .iter()
            .find(|w| domain.is_none_or(|d| d == w.domain))
            .cloned()
            .unwrap_or_default(),
    };
    let mut record = Map::new();
    record.insert("entityCode".into(), Value::String(entity.into()));
    copy_fields(posting, &POSTING_FIELDS, &mut record);
    let lines: Vec<Value> = posting
        .all("tPostingLine")
        .enumerate()
        .map(|(i, line)| {
            let known: Vec<&str> = LINE_FIELDS.iter().map(|(x, _)| *x).collect();
            reply.unused(line, &known, &format!("{context}.tPostingLine#{}", i + 1));
            let mut fields = Map::new();
            copy_fields(line, &LINE_FIELDS, &mut fields);
            Value::Object(fields)
        })
        .collect();
    record.insert("lines".into(), Value::Array(lines));
    // Only strings went in, so the text is the QDoc's exactly.
    let text = Value::Object(record).to_string();
    let entry = match RawObject::parse(text.as_bytes()) {
        Ok(entry) => entry,
        Err(problem) => {
            reply.error("tPosting", &context, problem.to_string());
            return;
        }
    };
    match post_entry(scope, &entry) {
        Ok(posted) => {
            if !message.suppress_detail {
                let journal = &scope.tenant.account.data.journals[posted.index];
                let mut out = String::from("<ns1:dsJournalEntryResponse><ns1:tPosting>");
                for (tag, value) in [
                    ("voucher", journal.voucher.clone()),
                    ("tcEntityCode", journal.entity.clone()),
                    ("tcJournalCode", journal.daybook.clone()),
                    ("PostingDate", day(journal.posting_date)),
                    ("PostingYear", journal.year.to_string()),
                    ("PostingPeriod", journal.period.to_string()),
                    ("externalReference", journal.external_reference.clone()),
                ] {
                    leaf(&mut out, &format!("ns1:{tag}"), &value);
                }
                out.push_str("</ns1:tPosting></ns1:dsJournalEntryResponse>");
                reply.detail = Some(out);
            }
        }
        Err(errors) => {
            for error in &errors {
                let (field, at) = journal_field(&error.field, &context);
                reply.field_error(error, field, &at, reference);
            }
        }
    }
}

/// The mapped elements of `element` as JSON strings (absent elements stay absent).
fn copy_fields(element: &Element, fields: &[(&str, &str)], into: &mut Map<String, Value>) {
    for (qdoc, rest) in fields {
        if let Some(child) = element.child(qdoc) {
            into.insert((*rest).into(), Value::String(child.value().into()));
        }
    }
}

/// A REST entry field (`lines[2].glCode`) as the QDoc field and the context it is in
/// (`tcGLCode`, `tPosting#1(ref).tPostingLine#3`).
fn journal_field(rest: &str, context: &str) -> (String, String) {
    let qdoc_name = |fields: &[(&str, &str)], name: &str| {
        fields
            .iter()
            .find(|(_, r)| *r == name)
            .map_or(name.to_string(), |(q, _)| (*q).to_string())
    };
    if let Some((index, name)) = rest.strip_prefix("lines[").and_then(|r| r.split_once("]."))
        && let Ok(index) = index.parse::<usize>()
    {
        let at = format!("{context}.tPostingLine#{}", index + 1);
        return (qdoc_name(&LINE_FIELDS, name), at);
    }
    let field = match rest {
        "entityCode" => "entity".to_string(),
        "lines" => "tPostingLine".to_string(),
        other => qdoc_name(&POSTING_FIELDS, other),
    };
    (field, context.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_fields_map_back_to_qdoc_fields() {
        let at = "tPosting#1(r)";
        assert_eq!(
            journal_field("lines[2].glCode", at),
            ("tcGLCode".into(), "tPosting#1(r).tPostingLine#3".into())
        );
        assert_eq!(
            journal_field("postingPeriod", at),
            ("PostingPeriod".into(), at.into())
        );
        assert_eq!(journal_field("entityCode", at).0, "entity");
        assert_eq!(journal_field("balance.base", at).0, "balance.base");
        assert_eq!(
            journal_field("lines[0].subAccountCode", at).0,
            "tcDivisionCode"
        );
    }
}
