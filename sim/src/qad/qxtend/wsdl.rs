//! `GET …?wsdl`: a minimal WSDL naming the one operation and its WS-Addressing headers
//! (without `?wsdl`, a line saying what the endpoint takes).

use axum::extract::RawQuery;
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ml_connector_xml::escape;

use super::soap::{header, xml_response};
use super::{PATH, QDOC_NS, WSA_NS};

/// `?wsdl`: a minimal WSDL naming the one operation and its WS-Addressing header.
pub(super) async fn wsdl(headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let asked = query.is_some_and(|q| {
        q.split('&').any(|p| {
            p.split('=')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("wsdl"))
        })
    });
    if !asked {
        return (
            StatusCode::OK,
            [(CONTENT_TYPE, "text/plain; charset=utf-8")],
            "QdocWebService: POST QDocs here (processQdocMessage); ?wsdl for its WSDL.\n",
        )
            .into_response();
    }
    let host = header(&headers, HOST.as_str()).unwrap_or("127.0.0.1");
    let location = format!("http://{host}{PATH}");
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="QdocWebService" targetNamespace="urn:services-qad-com:"
  xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:tns="urn:services-qad-com:" xmlns:qdoc="{QDOC_NS}" xmlns:wsa="{WSA_NS}">
  <wsdl:message name="processQdocMessageRequest">
    <wsdl:part name="qdoc" element="qdoc:qdocRequest"/>
    <wsdl:part name="To" element="wsa:To"/>
    <wsdl:part name="MessageID" element="wsa:MessageID"/>
  </wsdl:message>
  <wsdl:message name="processQdocMessageResponse">
    <wsdl:part name="qdoc" element="qdoc:qdocResponse"/>
  </wsdl:message>
  <wsdl:portType name="QdocWebService">
    <wsdl:operation name="processQdocMessage">
      <wsdl:input message="tns:processQdocMessageRequest"/>
      <wsdl:output message="tns:processQdocMessageResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="QdocWebServiceSoapBinding" type="tns:QdocWebService">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="processQdocMessage">
      <soap:operation soapAction=""/>
      <wsdl:input>
        <soap:header message="tns:processQdocMessageRequest" part="To" use="literal"/>
        <soap:header message="tns:processQdocMessageRequest" part="MessageID" use="literal"/>
        <soap:body use="literal" parts="qdoc"/>
      </wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="QdocWebService">
    <wsdl:port name="QdocWebService" binding="tns:QdocWebServiceSoapBinding">
      <soap:address location="{}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"#,
        escape(&location)
    );
    xml_response(StatusCode::OK, body)
}
