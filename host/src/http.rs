//! The one way ml-connector builds an HTTP client for an outside system (BigCommerce, a
//! QAD tenant, QXtend), the rule its base URLs follow, and how every one of those clients
//! retries a failed request.
//!
//! Every request carries a credential (a header, a login form, a SOAP body), so none may
//! reach another origin: redirects are never followed (a 3xx is an answer like any other,
//! reported as the unexpected status it is), and a base URL must be `https`, except on
//! the loopback interface (simulators and local proxies), and carry no user info.
//!
//! Retries. Whether a failed request may be sent again is decided here, once per kind of
//! failure ([`Resend::allows`]): a request that surely was not processed (no connection
//! was made, or the server refused it before processing) may always be sent again; one
//! that may have been processed (a timeout, a cut answer, a 5xx, an unreadable answer)
//! only when sending it twice has the effect of once. The delay before each retry is
//! [`backoff`]: 200 ms, doubling, at most 10 s, without jitter (a store's 429s get their
//! own jittered wait from its pacer, which also honours `X-Retry-After` and the quota's
//! reset). [`retry`] runs the loop.
//!
//! The loop is the `backon` crate's (maintained; the `backoff` crate it replaced across
//! the ecosystem is flagged unmaintained, RUSTSEC-2025-0012), without its default
//! features, driven by our own delays and sleep rather than its `ExponentialBuilder` and
//! `TokioSleeper`, for two measured differences: the builder doubles each delay in `f32`
//! seconds (it gives 200 ms, 400.000006 ms, 800.000012 ms, 1.600000024 s, ...), and a
//! zero wait through `tokio::time::sleep` waits for the timer's next millisecond tick
//! (about 1.1 ms each on a current-thread runtime, against well under a microsecond for
//! not sleeping). Here the schedule is integer arithmetic and a zero wait does not
//! sleep, so the delays are exactly those the clients used before.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use backon::Retryable as _;
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

/// Why a configured base URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("`{url}` is not a URL ({source})")]
    Malformed {
        url: String,
        #[source]
        source: url::ParseError,
    },
    #[error("`{url}` carries user info; give credentials in their own settings")]
    UserInfo { url: String },
    #[error("`{url}` has no host")]
    NoHost { url: String },
    #[error("`{url}` is plain http; credentials travel only over https (http is for 127.0.0.1)")]
    PlainHttp { url: String },
    #[error("`{url}` has scheme `{scheme}`; use https")]
    Scheme { url: String, scheme: String },
}

/// A configured path that could name another host or carry a query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{path}` is not a plain path: it must start with one `/` and have no `@`, `\\`, `?`, `#` or spaces"
)]
pub struct PathError {
    pub path: String,
}

/// Checks a configured base URL: `https`, or `http` to a loopback address; no user info.
pub fn check_base_url(url: &str) -> Result<(), UrlError> {
    let parsed = reqwest::Url::parse(url).map_err(|source| UrlError::Malformed {
        url: url.to_string(),
        source,
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlError::UserInfo { url: url.into() });
    }
    let Some(host) = parsed.host_str() else {
        return Err(UrlError::NoHost { url: url.into() });
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
        "http" => Err(UrlError::PlainHttp { url: url.into() }),
        other => Err(UrlError::Scheme {
            url: url.into(),
            scheme: other.into(),
        }),
    }
}

/// Checks a configured path below a base URL: it starts with one `/` and cannot name
/// another host (`//host`, `@`, `\`) or carry a query or fragment.
pub fn check_path(path: &str) -> Result<(), PathError> {
    let plain = path.starts_with('/')
        && !path.starts_with("//")
        && !path
            .chars()
            .any(|c| matches!(c, '@' | '\\' | '?' | '#') || c.is_whitespace() || c.is_control());
    if plain {
        Ok(())
    } else {
        Err(PathError { path: path.into() })
    }
}

/// Whether sending a request again could repeat its effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// The same request twice has the effect of once (reads; BigCommerce's PUT and DELETE).
    Idempotent,
    /// Sent again only when it surely was not processed (a POST, any QAD write).
    OnlyIfUnprocessed,
}

/// What a failure says about whether the server processed the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// It surely was not: no connection was made, or the server refused it before
    /// processing (a 429, a SOAP fault).
    Unprocessed,
    /// It may have been: a timeout, a cut connection or answer, a 5xx, an unreadable
    /// answer.
    MaybeProcessed,
}

impl Delivery {
    /// What a failed send says: only a connection never made is surely unprocessed.
    pub fn of(error: &reqwest::Error) -> Delivery {
        if error.is_connect() {
            Delivery::Unprocessed
        } else {
            Delivery::MaybeProcessed
        }
    }
}

impl Resend {
    /// Whether a request of this kind may be sent again after a failure of this kind.
    pub fn allows(self, delivery: Delivery) -> bool {
        self == Resend::Idempotent || delivery == Delivery::Unprocessed
    }
}

/// The first retry's delay; it doubles on every further retry.
const FIRST_RETRY: Duration = Duration::from_millis(200);
/// No retry waits longer.
const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// The delay after failed attempt number `attempt` (1 for the first): 200 ms, 400 ms,
/// 800 ms, ... at most 10 s.
pub fn backoff(attempt: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1 << attempt.saturating_sub(1).min(6))
        .min(LONGEST_RETRY)
}

/// How one failed attempt of [`retry`] ends.
#[derive(Debug)]
pub enum Failed<E> {
    /// Not sent again: it cannot help, or the request may have been applied.
    Stop(E),
    /// Sent again after [`backoff`], while attempts are left.
    Backoff(E),
    /// Sent again without waiting here, while attempts are left: whoever sends it waits
    /// (a store's pacer, after a 429).
    Now(E),
}

impl<E> Failed<E> {
    /// The error, whatever happens next.
    pub fn into_error(self) -> E {
        match self {
            Failed::Stop(error) | Failed::Backoff(error) | Failed::Now(error) => error,
        }
    }
}

/// Runs `attempt` up to `attempts` times in all (at least once) until it succeeds or
/// fails with [`Failed::Stop`], waiting [`backoff`] before each attempt after a
/// [`Failed::Backoff`] and not at all after a [`Failed::Now`]. The last failure is the
/// result; `on_retry` sees each failure that is tried again, with the wait before it.
pub async fn retry<T, E, Fut>(
    attempts: u32,
    attempt: impl FnMut() -> Fut,
    mut on_retry: impl FnMut(&E, Duration),
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, Failed<E>>>,
{
    attempt
        .retry((1..attempts.max(1)).map(backoff))
        .sleep(pause)
        .when(|failed: &Failed<E>| !matches!(failed, Failed::Stop(_)))
        .adjust(|failed, delay| match failed {
            Failed::Now(_) => delay.map(|_| Duration::ZERO),
            _ => delay,
        })
        .notify(|failed, delay| match failed {
            Failed::Stop(error) | Failed::Backoff(error) | Failed::Now(error) => {
                on_retry(error, delay)
            }
        })
        .await
        .map_err(Failed::into_error)
}

/// Waits `delay`; no time at all for zero.
async fn pause(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
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
    fn retries_wait_200_ms_doubling_up_to_10_s() {
        let delays: Vec<u64> = (1..=9).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(
            delays,
            [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
        );
        assert_eq!(backoff(0), Duration::from_millis(200));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_waits_the_backoff_stops_when_told_and_gives_the_last_error() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let started = tokio::time::Instant::now();
        let calls = AtomicU32::new(0);
        let mut waits = Vec::new();
        let result: Result<(), u32> = retry(
            4,
            || async {
                let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
                Err(if call == 2 {
                    Failed::Now(call)
                } else {
                    Failed::Backoff(call)
                })
            },
            |error, wait| waits.push((*error, wait.as_millis())),
        )
        .await;
        assert_eq!(result, Err(4));
        // The second attempt's failure is retried at once, but counts as an attempt.
        assert_eq!(waits, [(1, 200), (2, 0), (3, 800)]);
        assert_eq!(started.elapsed(), Duration::from_millis(1000));

        let calls = AtomicU32::new(0);
        let result: Result<(), &str> = retry(
            5,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Failed::Stop("refused"))
            },
            |_, _| panic!("a stop is not retried"),
        )
        .await;
        assert_eq!((result, calls.into_inner()), (Err("refused"), 1));
        let once: Result<u8, ()> = retry(0, || async { Ok(7) }, |_, _| {}).await;
        assert_eq!(once, Ok(7));
    }

    #[test]
    fn only_an_unprocessed_request_is_sent_again_unless_idempotent() {
        assert!(Resend::Idempotent.allows(Delivery::MaybeProcessed));
        assert!(Resend::Idempotent.allows(Delivery::Unprocessed));
        assert!(Resend::OnlyIfUnprocessed.allows(Delivery::Unprocessed));
        assert!(!Resend::OnlyIfUnprocessed.allows(Delivery::MaybeProcessed));
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
