//! What processing a QDoc found (`temp_err_msg` rows, the `ds<Object>Response` detail)
//! and the `<qdoc>Response` written from it.

use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::response::Response;
use ml_connector_xml::{Element, escape};
use time::OffsetDateTime;

use super::super::answers::FieldError;
use super::super::model::timestamp;
use super::soap::{Admitted, xml_response};
use super::{COMMON_NS, QDOC_NS, SOAP_NS, UNUSED, WSA_NS};

/// One `temp_err_msg` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Message {
    pub(super) error: bool,
    pub(super) number: String,
    pub(super) description: String,
    pub(super) field: String,
    pub(super) context: String,
    pub(super) data: String,
    pub(super) keys: String,
}

/// What processing found and what the answer carries besides.
#[derive(Debug, Default)]
pub(super) struct Reply {
    pub(super) messages: Vec<Message>,
    /// The `ds<Object>Response` element, written.
    pub(super) detail: Option<String>,
}

impl Reply {
    pub(super) fn error(&mut self, field: &str, context: &str, description: impl Into<String>) {
        self.messages.push(Message {
            error: true,
            number: String::new(),
            description: description.into(),
            field: field.into(),
            context: context.into(),
            data: String::new(),
            keys: String::new(),
        });
    }

    pub(super) fn errors(&self) -> usize {
        self.messages.iter().filter(|m| m.error).count()
    }

    fn result(&self) -> &'static str {
        if self.errors() > 0 {
            "error"
        } else if self.messages.is_empty() {
            "success"
        } else {
            "warning"
        }
    }

    /// A warning for every child of `element` whose name is not in `known`.
    pub(super) fn unused(&mut self, element: &Element, known: &[&str], context: &str) {
        for child in &element.children {
            if !known.contains(&child.name.as_str()) {
                self.messages.push(Message {
                    error: false,
                    number: String::new(),
                    description: UNUSED.into(),
                    field: child.name.clone(),
                    context: format!("{context} field({})", child.name),
                    data: child.value().to_string(),
                    keys: String::new(),
                });
            }
        }
    }

    /// A validation error found in REST terms, reported in the QDoc's.
    pub(super) fn field_error(
        &mut self,
        error: &FieldError,
        field: String,
        context: &str,
        keys: &str,
    ) {
        self.messages.push(Message {
            error: true,
            number: String::new(),
            description: error.message.clone(),
            context: format!("{context} field({field})"),
            field,
            data: error.value.clone(),
            keys: keys.into(),
        });
    }
}

/// `<qdoc>Response`: the result, the session echoed, the exceptions and the detail.
pub(super) fn answer(message: &Admitted, reply: &Reply, now: OffsetDateTime) -> Response {
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"{SOAP_NS}\" xmlns:wsa=\"{WSA_NS}\"><soapenv:Header>"
    );
    if !message.message_id.is_empty() {
        leaf(&mut out, "wsa:RelatesTo", &message.message_id);
    }
    let name = format!("ns1:{}Response", message.qdoc.name);
    let _ = write!(
        out,
        "</soapenv:Header><soapenv:Body>\
         <{name} xmlns:ns1=\"{QDOC_NS}\" xmlns:ns2=\"{COMMON_NS}\">"
    );
    leaf(&mut out, "ns1:result", reply.result());
    out.push_str("<ns2:dsSessionContext>");
    for (property, value) in &message.session.0 {
        let value = if property == "password" { "" } else { value };
        out.push_str("<ns2:ttContext>");
        leaf(&mut out, "ns2:propertyQualifier", "QAD");
        leaf(&mut out, "ns2:propertyName", property);
        leaf(&mut out, "ns2:propertyValue", value);
        out.push_str("</ns2:ttContext>");
    }
    out.push_str("</ns2:dsSessionContext><ns2:dsExceptions>");
    let datetime = timestamp(now);
    for (index, m) in reply.messages.iter().enumerate() {
        out.push_str("<ns2:temp_err_msg>");
        leaf(&mut out, "ns2:tt_level", "");
        leaf(&mut out, "ns2:tt_msg_context", &m.context);
        leaf(&mut out, "ns2:tt_msg_data", &m.data);
        leaf(&mut out, "ns2:tt_msg_datetime", &datetime);
        leaf(&mut out, "ns2:tt_msg_desc", &m.description);
        leaf(&mut out, "ns2:tt_msg_field", &m.field);
        leaf(&mut out, "ns2:tt_msg_index", &index.to_string());
        leaf(&mut out, "ns2:tt_msg_keys", &m.keys);
        leaf(&mut out, "ns2:tt_msg_nbr", &m.number);
        leaf(&mut out, "ns2:tt_msg_processed", "false");
        let severity = if m.error { "error" } else { "warning" };
        leaf(&mut out, "ns2:tt_msg_sev", severity);
        out.push_str("</ns2:temp_err_msg>");
    }
    out.push_str("</ns2:dsExceptions>");
    if let Some(detail) = &reply.detail {
        out.push_str(detail);
    }
    let _ = write!(out, "</{name}></soapenv:Body></soapenv:Envelope>");
    xml_response(StatusCode::OK, out)
}

/// `<tag>text</tag>`, the text escaped.
pub(super) fn leaf(out: &mut String, tag: &str, text: &str) {
    let _ = write!(out, "<{tag}>{}</{tag}>", escape(text));
}

/// The write permission a QDoc's changes need.
pub(super) fn may_write(message: &Admitted, reply: &mut Reply, context: &str) -> bool {
    if !message.can_write {
        reply.error(
            "",
            context,
            format!(
                "User {} has no access to {} (menu access is required to change data).",
                message.username, message.qdoc.name
            ),
        );
    }
    message.can_write
}
