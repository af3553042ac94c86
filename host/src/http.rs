//! The one way ml-connector builds an HTTP client for an outside system (BigCommerce, a
//! QAD tenant, QXtend), and the rule its base URLs follow.
//!
//! Every request carries a credential (a header, a login form, a SOAP body), so none may
//! reach another origin: redirects are never followed (a 3xx is an answer like any other,
//! reported as the unexpected status it is), and a base URL must be `https`, except on
//! the loopback interface (simulators and local proxies), and carry no user info.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::HeaderMap;

/// A client that follows no redirect, with `headers` on every request.
pub fn client(headers: HeaderMap, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .default_headers(headers)
        .user_agent(concat!("ml-connector/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Checks a configured base URL: `https`, or `http` to a loopback address; no user info.
pub fn check_base_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "`{url}` carries user info; give credentials in their own settings"
        ));
    }
    let Some(host) = parsed.host_str() else {
        return Err(format!("`{url}` has no host"));
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!(
            "`{url}` is plain http; credentials travel only over https (http is for 127.0.0.1)"
        )),
        other => Err(format!("`{url}` has scheme `{other}`; use https")),
    }
}

/// Checks a configured path below a base URL: it starts with one `/` and cannot name
/// another host (`//host`, `@`, `\`) or carry a query or fragment.
pub fn check_path(path: &str) -> Result<(), String> {
    let plain = path.starts_with('/')
        && !path.starts_with("//")
        && !path
            .chars()
            .any(|c| matches!(c, '@' | '\\' | '?' | '#') || c.is_whitespace() || c.is_control());
    if plain {
        Ok(())
    } else {
        Err(format!(
            "`{path}` is not a plain path: it must start with one `/` and have no `@`, `\\`, `?`, `#` or spaces"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_https_or_loopback_and_carry_no_user_info() {
        for good in [
            "https://api.bigcommerce.com/stores/abc",
            "http://127.0.0.1:8080/stores/abc",
            "http://localhost:9000",
            "http://[::1]:9000",
        ] {
            assert_eq!(check_base_url(good), Ok(()), "{good}");
        }
        for bad in [
            "http://acme.qad.com/clouderp",
            "http://10.0.0.5/clouderp",
            "https://user:pw@acme.qad.com",
            "ftp://acme.qad.com",
            "not a url",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_cannot_change_the_host() {
        assert_eq!(check_path("/api/erp/journals"), Ok(()));
        for bad in [
            "api/x", "//evil/x", "@evil/x", "/x@evil", "/a\\b", "/x?y", "/a b",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }
}
