//! The query string's pairs as a handler reads them, repeats kept in order.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

use super::answers::grounded_error;

/// A query string (or form body) that does not decode.
#[derive(Debug, thiserror::Error)]
#[error("Malformed query string: {0}")]
pub(crate) struct MalformedQuery(#[source] serde_urlencoded::de::Error);

/// The query string's pairs, in order (`filter` repeats).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(query: &str) -> Result<Params, MalformedQuery> {
        serde_urlencoded::from_str(query)
            .map(Params)
            .map_err(MalformedQuery)
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, unless empty.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// The first value of `name` unless empty, else `default`.
    pub(crate) fn value_or(&self, name: &str, default: &str) -> String {
        self.value(name).unwrap_or(default).to_string()
    }

    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn extend(&mut self, other: Params) {
        self.0.extend(other.0);
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Params, Response> {
        Params::parse(parts.uri.query().unwrap_or(""))
            .map_err(|error| grounded_error(StatusCode::BAD_REQUEST, &error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_keep_repeats_in_order() {
        let params = Params::parse("filter=a%2Ceq%2Cx%2Cliteral&page=2&filter=b&x=").unwrap();
        assert_eq!(
            params.all("filter").collect::<Vec<_>>(),
            ["a,eq,x,literal", "b"]
        );
        assert_eq!(params.get("page"), Some("2"));
        assert_eq!(params.get("x"), Some(""));
        assert_eq!(params.value("x"), None);
    }
}
