//! QXtend's answers: a `<qdoc>Response` read by local name (whatever its prefixes), its
//! `result` (`success`, `warning` with its messages logged, `error` with the
//! `temp_err_msg` rows as a business error), a SOAP Fault (refused before processing:
//! credentials, configuration, or a transient server fault), or no SOAP answer at all.

use ml_connector_xml::{self as xml, Element};

use super::super::error::{FieldMessage, QadError};
use crate::http::{Delivery, Resend};

/// How a QDoc may be sent again: a read (a G) freely, a write only when surely
/// unprocessed.
pub(super) fn resend(write: bool) -> Resend {
    if write {
        Resend::OnlyIfUnprocessed
    } else {
        Resend::Idempotent
    }
}

/// One answer as the `<qdoc>Response`, or the error it stands for.
pub(crate) fn decode(
    qdoc: &str,
    url: &str,
    status: u16,
    body: &[u8],
    write: bool,
) -> Result<Element, QadError> {
    let what = format!("QXtend {qdoc}");
    let envelope = std::str::from_utf8(body)
        .ok()
        .and_then(|text| xml::parse(text).ok())
        .filter(|root| root.name == "Envelope");
    let soap_body = envelope.as_ref().and_then(|e| e.child("Body"));
    if let Some(fault) = soap_body.and_then(|b| b.child("Fault")) {
        return Err(fault_error(&what, fault));
    }
    let answer = soap_body
        .and_then(|b| b.children.first())
        .filter(|_| (200..300).contains(&status));
    let Some(answer) = answer else {
        let no_soap = || format!("{what}: HTTP {status} with no SOAP answer");
        return Err(match status {
            // A 2xx whose answer is cut or unreadable: a write may have been applied.
            200..=299 => QadError::unanswered(
                resend(write),
                Delivery::MaybeProcessed,
                format!("{what}: the answer was not a complete SOAP envelope").into(),
            ),
            401 => QadError::Auth(format!("{what}: HTTP 401 from {url}").into()),
            403 => QadError::Permission(format!("{what}: HTTP 403 from {url}")),
            404 => QadError::Config(
                format!("no QXtend endpoint at {url} (404); check its URL and instance").into(),
            ),
            // A gateway's page: a write may have reached QXtend before it failed.
            500..=599 => {
                QadError::unanswered(resend(write), Delivery::MaybeProcessed, no_soap().into())
            }
            _ => QadError::decode(url, no_soap()),
        });
    };
    let expected = format!("{qdoc}Response");
    if answer.name != expected {
        return Err(QadError::decode(
            url,
            format!("expected {expected}, got {}", answer.name),
        ));
    }
    let messages = exceptions(answer);
    match answer.child_value("result").unwrap_or_default() {
        "success" => Ok(answer.clone()),
        "warning" => {
            for m in &messages {
                tracing::warn!(qdoc, field = %m.field, message = %m.message, "QXtend accepted the QDoc with a warning");
            }
            Ok(answer.clone())
        }
        "error" => {
            let errors: Vec<&Exception> = messages.iter().filter(|m| m.error).collect();
            let chosen = if errors.is_empty() {
                messages.iter().collect()
            } else {
                errors
            };
            Err(QadError::Business(
                chosen
                    .into_iter()
                    .map(|m| FieldMessage {
                        field: m.field.clone(),
                        message: m.message.clone(),
                    })
                    .collect(),
            ))
        }
        other => Err(QadError::decode(
            url,
            format!("{expected} has result `{other}`, not success, warning or error"),
        )),
    }
}

/// One `temp_err_msg`.
struct Exception {
    error: bool,
    field: String,
    /// The description, with its context when there is one.
    message: String,
}

fn exceptions(answer: &Element) -> Vec<Exception> {
    answer
        .find("dsExceptions")
        .into_iter()
        .flat_map(|e| e.all("temp_err_msg"))
        .map(|row| {
            let text = |name: &str| row.child_value(name).unwrap_or_default();
            let description = text("tt_msg_desc");
            let context = text("tt_msg_context");
            Exception {
                error: text("tt_msg_sev").eq_ignore_ascii_case("error"),
                field: text("tt_msg_field").to_string(),
                message: if context.is_empty() {
                    description.to_string()
                } else {
                    format!("{description} (at {context})")
                },
            }
        })
        .collect()
}

/// A SOAP Fault: QXtend refused the message before processing it.
fn fault_error(what: &str, fault: &Element) -> QadError {
    let code = fault.child_value("faultcode").unwrap_or_default();
    let text = fault.child_value("faultstring").unwrap_or_default();
    let exception = fault
        .child("detail")
        .and_then(|d| d.find("qdocException"))
        .map(Element::value)
        .unwrap_or_default();
    let side = code.rsplit(':').next().unwrap_or_default();
    if side.starts_with("Server") {
        return QadError::Transient(format!("{what}: SOAP Fault {code}: {text}").into());
    }
    let credentials = exception.contains("Authentication")
        || text.to_lowercase().contains("authenticat")
        || text.to_lowercase().contains("password");
    if credentials {
        return QadError::Auth(format!("{what}: QXtend refused the session's user: {text}").into());
    }
    QadError::Config(
        format!("{what}: QXtend refused the message (SOAP Fault {code}): {text}").into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> String {
        format!(
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
        )
    }

    fn message(severity: &str, field: &str, description: &str) -> String {
        format!(
            "<ns2:temp_err_msg><ns2:tt_msg_context>customer#1(W1) field({field})</ns2:tt_msg_context>\
             <ns2:tt_msg_desc>{description}</ns2:tt_msg_desc><ns2:tt_msg_field>{field}</ns2:tt_msg_field>\
             <ns2:tt_msg_sev>{severity}</ns2:tt_msg_sev></ns2:temp_err_msg>"
        )
    }

    fn response(result: &str, messages: &str) -> String {
        answer(&format!(
            "<ns1:maintainCustomerResponse xmlns:ns1=\"urn:schemas-qad-com:xml-services\" \
             xmlns:ns2=\"urn:schemas-qad-com:xml-services:common\"><ns1:result>{result}</ns1:result>\
             <ns2:dsExceptions>{messages}</ns2:dsExceptions></ns1:maintainCustomerResponse>"
        ))
    }

    fn decoded(status: u16, body: &str, write: bool) -> Result<Element, QadError> {
        decode(
            "maintainCustomer",
            "http://q/qxi",
            status,
            body.as_bytes(),
            write,
        )
    }

    #[test]
    fn results_decode_by_local_name() {
        let ok = decoded(200, &response("success", ""), true).unwrap();
        assert_eq!(ok.name, "maintainCustomerResponse");
        let warned = response(
            "warning",
            &message(
                "warning",
                "adEmail",
                "Field was unused, see context for details.",
            ),
        );
        assert!(decoded(200, &warned, true).is_ok());
        let refused = response(
            "error",
            &[
                message("warning", "adEmail", "Field was unused."),
                message("error", "cmCurr", "ERROR: Currency does not exist."),
            ]
            .concat(),
        );
        let error = decoded(200, &refused, true).unwrap_err();
        assert_eq!(
            error,
            QadError::Business(vec![FieldMessage {
                field: "cmCurr".into(),
                message: "ERROR: Currency does not exist. (at customer#1(W1) field(cmCurr))".into(),
            }])
        );
        assert!(matches!(
            decoded(200, &response("maybe", ""), true),
            Err(QadError::Decode { .. })
        ));
    }

    #[test]
    fn faults_and_bare_statuses_say_what_to_do() {
        let fault = |code: &str, text: &str, exception: &str| {
            answer(&format!(
                "<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{text}</faultstring>\
                 <detail><qdocException>{exception}</qdocException></detail></soapenv:Fault>"
            ))
        };
        let receiver = decoded(
            500,
            &fault(
                "soapenv:Client",
                "Receiver urn:services-qad-com:X is not defined.",
                "ReceiverException",
            ),
            true,
        )
        .unwrap_err();
        assert!(
            matches!(&receiver, QadError::Config(t) if t.to_string().contains("is not defined")),
            "{receiver}"
        );
        let login = decoded(
            500,
            &fault(
                "soapenv:Client",
                "User x could not be authenticated.",
                "AuthenticationException",
            ),
            true,
        )
        .unwrap_err();
        assert!(matches!(login, QadError::Auth(_)), "{login}");
        let server =
            decoded(500, &fault("soapenv:Server", "Internal error.", ""), true).unwrap_err();
        assert!(matches!(server, QadError::Transient(_)), "{server}");

        let html = "<html><body>502 Bad Gateway</body></html>";
        assert!(matches!(
            decoded(502, html, false),
            Err(QadError::Transient(_))
        ));
        assert!(matches!(
            decoded(502, html, true),
            Err(QadError::Ambiguous(_))
        ));
        let cut = &response("success", "")[..60];
        assert!(matches!(
            decoded(200, cut, true),
            Err(QadError::Ambiguous(_))
        ));
        assert!(matches!(decoded(404, "", true), Err(QadError::Config(_))));
        assert!(matches!(decoded(401, "", false), Err(QadError::Auth(_))));
    }
}
