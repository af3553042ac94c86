//! The SOAP side of a QDoc message: the checks QXtend makes before processing (headers,
//! envelope, receiver, QDoc, session, user) and the tenant's faults, the session context
//! as read, and the SOAP Fault that answers a message failing them.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use ml_connector_xml::{self as xml, Element, escape};

use super::super::Shared;
use super::super::faults::{QadFaultAction, take_fault};
use super::{PATH, QDOCS, RECEIVER_PREFIX, SOAP_NS};

/// A SOAP 1.1 Fault: `Client` when the message must change, `Server` otherwise.
pub(super) struct Fault {
    client: bool,
    text: String,
    /// `detail/qdocException`.
    exception: &'static str,
}

impl Fault {
    fn client(exception: &'static str, text: impl Into<String>) -> Fault {
        Fault {
            client: true,
            text: text.into(),
            exception,
        }
    }

    pub(super) fn server(exception: &'static str, text: impl Into<String>) -> Fault {
        Fault {
            client: false,
            text: text.into(),
            exception,
        }
    }

    pub(super) fn response(&self) -> Response {
        let code = if self.client { "Client" } else { "Server" };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <soapenv:Envelope xmlns:soapenv=\"{SOAP_NS}\"><soapenv:Body><soapenv:Fault>\
             <faultcode>soapenv:{code}</faultcode><faultstring>{}</faultstring>\
             <detail><qdocException>{}</qdocException></detail>\
             </soapenv:Fault></soapenv:Body></soapenv:Envelope>",
            escape(&self.text),
            escape(self.exception),
        );
        xml_response(StatusCode::INTERNAL_SERVER_ERROR, body)
    }
}

pub(super) fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// The QDoc's `dsSessionContext`: `ttContext` rows of name and value, in order.
#[derive(Debug, Clone, Default)]
pub(super) struct Session(pub(super) Vec<(String, String)>);

impl Session {
    fn read(qdoc: &Element) -> Session {
        let rows = qdoc
            .child("dsSessionContext")
            .into_iter()
            .flat_map(|context| context.all("ttContext"))
            .map(|row| {
                let name = row.child_value("propertyName").unwrap_or_default();
                let value = row.child_value("propertyValue").unwrap_or_default();
                (name.to_string(), value.to_string())
            })
            .collect();
        Session(rows)
    }

    /// A property's value, unless absent or empty.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// A message that passed the SOAP checks, for the tenant its receiver names.
pub(super) struct Admitted {
    pub(super) tenant: String,
    pub(super) username: String,
    pub(super) can_write: bool,
    pub(super) message_id: String,
    pub(super) suppress_detail: bool,
    pub(super) qdoc: Element,
    pub(super) session: Session,
    pub(super) fault: Option<QadFaultAction>,
}

/// The SOAP checks, in the order QXtend meets them; then the tenant's faults.
pub(super) fn admit(
    shared: &mut Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Admitted, Fault> {
    shared.counters.requests += 1;
    let malformed = |text: String| Fault::client("MalformedMessageException", text);
    let content_type = header(headers, CONTENT_TYPE.as_str());
    let mut parts = content_type.unwrap_or_default().split(';').map(str::trim);
    let media = parts.next().unwrap_or_default();
    let charset = parts
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, value)| value.trim().trim_matches('"'));
    if !media.eq_ignore_ascii_case("text/xml") {
        return Err(malformed(format!(
            "Content-Type must be text/xml for SOAP 1.1; got {}.",
            content_type.unwrap_or("none")
        )));
    }
    if charset.is_some_and(|c| !c.eq_ignore_ascii_case("utf-8")) {
        return Err(malformed("Only UTF-8 messages are accepted.".into()));
    }
    match header(headers, "soapaction").map(str::trim) {
        Some("\"\"" | "") => {}
        Some(other) => {
            return Err(malformed(format!(
                "SOAPAction must be \"\" (processQdocMessage); got {other}."
            )));
        }
        None => return Err(malformed("The SOAPAction header is missing.".into())),
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed("The body is not UTF-8.".into()))?;
    let root = xml::parse(text).map_err(|e| malformed(format!("Malformed XML: {e}.")))?;
    if root.name != "Envelope" {
        return Err(malformed(format!(
            "The message is not a SOAP envelope (its root is {}).",
            root.name
        )));
    }
    let soap_body = root
        .child("Body")
        .ok_or_else(|| malformed("The SOAP envelope has no Body.".into()))?;
    let soap_header = root.child("Header");
    let to = soap_header.and_then(|h| h.child_value("To")).unwrap_or("");
    let receiver = to
        .strip_prefix(RECEIVER_PREFIX)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            Fault::client(
                "ReceiverException",
                format!("wsa:To must name a receiver as {RECEIVER_PREFIX}<receiver>; got `{to}`."),
            )
        })?;
    let Some(tenant) = shared
        .tenants
        .values_mut()
        .find(|t| t.account.qxtend_receiver == receiver)
    else {
        return Err(Fault::client(
            "ReceiverException",
            format!("Receiver {to} is not defined."),
        ));
    };
    let qdoc = soap_body
        .children
        .first()
        .ok_or_else(|| malformed("The SOAP body carries no QDoc.".into()))?;
    if !QDOCS.contains(&qdoc.name.as_str()) {
        return Err(Fault::client(
            "ProcessException001",
            format!("Receiver {receiver} has no API for QDoc {}.", qdoc.name),
        ));
    }
    let session = Session::read(qdoc);
    if session.get("version").is_none() {
        return Err(Fault::client(
            "SessionContextException",
            "The session context property version is mandatory.",
        ));
    }
    let username = session.get("username").unwrap_or_default();
    let password = session
        .0
        .iter()
        .find(|(n, _)| n == "password")
        .map_or("", |(_, v)| v.as_str());
    let Some(user) = tenant
        .account
        .user(username, password)
        .filter(|_| !username.is_empty())
    else {
        return Err(Fault::client(
            "AuthenticationException",
            format!("User `{username}` could not be authenticated: wrong user name or password."),
        ));
    };
    let (username, can_write) = (user.username.clone(), user.can_write);
    let fault = take_fault(tenant, &format!("{PATH}/{}", qdoc.name), &Method::POST);
    let tenant = tenant.account.name.clone();
    if fault.is_some() {
        shared.counters.faults_injected += 1;
    }
    let suppress_detail = soap_header
        .and_then(|h| h.find("suppressResponseDetail"))
        .is_some_and(|s| s.value().eq_ignore_ascii_case("true"));
    Ok(Admitted {
        tenant,
        username,
        can_write,
        message_id: soap_header
            .and_then(|h| h.child_value("MessageID"))
            .unwrap_or_default()
            .to_string(),
        suppress_detail,
        qdoc: qdoc.clone(),
        session,
        fault,
    })
}

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_properties_are_read_by_name() {
        let qdoc = xml::parse(
            "<q><dsSessionContext>\
             <ttContext><propertyName>version</propertyName><propertyValue>eB2_2</propertyValue></ttContext>\
             <ttContext><propertyName>password</propertyName><propertyValue/></ttContext>\
             </dsSessionContext></q>",
        )
        .unwrap();
        let session = Session::read(&qdoc);
        assert_eq!(session.get("version"), Some("eB2_2"));
        assert_eq!(session.get("password"), None);
        assert_eq!(session.0.len(), 2);
    }
}
