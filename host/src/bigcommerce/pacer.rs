//! Pacing one store's API calls from its rate-limit headers.
//!
//! BigCommerce gives each store one quota per window (e.g. 150 requests per 30 s on
//! Standard plans), shared by every app on the store, and reports it on every response:
//! `X-Rate-Limit-Requests-Left`, `-Requests-Quota`, `-Time-Reset-Ms` and `-Time-Window-Ms`.
//! The pacer is shared by every caller of one store. It counts the requests it lets out
//! against what the last response said was left, and makes callers wait for the window
//! to reset before the quota runs out, so 429s stay rare. Order work may use the whole
//! quota; catalog work leaves a reserve for it. After a 429 everyone waits the longer of
//! the reset header and `X-Retry-After`; a 429 without headers backs off exponentially
//! with jitter.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// Which work a request is for. Order work goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Orders,
    Catalog,
}

/// The rate-limit headers of one response (all optional: a proxy may strip them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    pub requests_left: Option<u32>,
    pub requests_quota: Option<u32>,
    pub time_reset_ms: Option<u64>,
    pub time_window_ms: Option<u64>,
    /// `X-Retry-After`, in seconds.
    pub retry_after_s: Option<u64>,
}

impl RateHeaders {
    /// Reads the headers through `get` (a lookup by lowercase name).
    pub fn read<'a>(get: impl Fn(&str) -> Option<&'a str>) -> RateHeaders {
        let number = |name: &str| get(name).and_then(|v| v.trim().parse::<u64>().ok());
        RateHeaders {
            requests_left: number("x-rate-limit-requests-left")
                .map(|v| v.min(u32::MAX as u64) as u32),
            requests_quota: number("x-rate-limit-requests-quota")
                .map(|v| v.min(u32::MAX as u64) as u32),
            time_reset_ms: number("x-rate-limit-time-reset-ms"),
            time_window_ms: number("x-rate-limit-time-window-ms"),
            retry_after_s: number("x-retry-after"),
        }
    }
}

/// Share of the quota catalog work leaves for order work.
const CATALOG_RESERVE_PERCENT: u32 = 20;
/// Backoff after a 429 without headers: doubles from this, capped at `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct State {
    /// Requests left in the current window, as last reported minus those let out since.
    left: Option<u32>,
    /// Requests let out and not yet answered (not in the store's count yet).
    in_flight: u32,
    quota: Option<u32>,
    /// When the current window resets.
    resets_at: Option<Instant>,
    /// Nobody sends before this (after a 429).
    blocked_until: Option<Instant>,
    /// 429s in a row without rate-limit headers.
    bare_429s: u32,
    /// Jitter source: a small xorshift, seeded per pacer.
    jitter: u64,
}

/// The pacer of one store.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new()
    }
}

impl Pacer {
    pub fn new() -> Pacer {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            | 1;
        Pacer {
            state: Mutex::new(State {
                left: None,
                in_flight: 0,
                quota: None,
                resets_at: None,
                blocked_until: None,
                bare_429s: 0,
                jitter: seed,
            }),
        }
    }

    /// Waits until a request of this priority may be sent, and counts it as sent.
    pub async fn acquire(&self, priority: Priority) {
        loop {
            let wait_until = {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                if let Some(resets_at) = state.resets_at
                    && now >= resets_at
                {
                    // A new window: the quota is back (the next response will confirm).
                    state.left = state.quota;
                    state.resets_at = None;
                }
                match state.blocked_until {
                    Some(until) if until > now => Some(until),
                    _ => {
                        let reserve = match (priority, state.quota) {
                            (Priority::Catalog, Some(quota)) => {
                                (quota * CATALOG_RESERVE_PERCENT).div_ceil(100)
                            }
                            _ => 0,
                        };
                        match state.left {
                            Some(left) if left <= reserve => {
                                // Spent (for this priority): wait for the window to reset,
                                // or a short while if the reset time is unknown.
                                Some(state.resets_at.unwrap_or(now + Duration::from_secs(1)))
                            }
                            Some(left) => {
                                state.left = Some(left - 1);
                                state.in_flight += 1;
                                None
                            }
                            None => {
                                state.in_flight += 1;
                                None
                            }
                        }
                    }
                }
            };
            match wait_until {
                None => return,
                Some(until) => sleep_until(until).await,
            }
        }
    }

    /// Updates the pacer from a response's status and headers. Every `acquire` is
    /// followed by one `observe`; a request that got no response at all reports status 0
    /// and no headers.
    pub fn observe(&self, status: u16, headers: &RateHeaders) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        state.in_flight = state.in_flight.saturating_sub(1);
        if let Some(quota) = headers.requests_quota {
            state.quota = Some(quota);
        }
        if let Some(reset) = headers.time_reset_ms {
            state.resets_at = Some(now + Duration::from_millis(reset));
        }
        if let Some(left) = headers.requests_left {
            // The store's count is the truth (other apps share the quota), less the
            // requests already let out and not yet answered.
            state.left = Some(left.saturating_sub(state.in_flight));
        }
        if status != 429 {
            state.bare_429s = 0;
            return;
        }
        let from_headers = [
            headers.time_reset_ms.map(Duration::from_millis),
            headers.retry_after_s.map(Duration::from_secs),
        ]
        .into_iter()
        .flatten()
        .max();
        let wait = match from_headers {
            Some(wait) => {
                // The quota is spent until the window resets.
                state.bare_429s = 0;
                state.left = Some(0);
                wait
            }
            None => {
                // Platform load, not the quota: back off, but the window's count stands
                // (zeroing it would hold every caller until the window resets).
                let doubling = FIRST_BACKOFF
                    .saturating_mul(1 << state.bare_429s.min(6))
                    .min(MAX_BACKOFF);
                state.bare_429s += 1;
                doubling + jitter(&mut state.jitter, doubling / 5)
            }
        };
        state.blocked_until = Some(
            state
                .blocked_until
                .map_or(now + wait, |until| until.max(now + wait)),
        );
        if state
            .resets_at
            .is_none_or(|resets_at| resets_at < now + wait)
        {
            state.resets_at = Some(now + wait);
        }
    }

    /// Requests the pacer believes are left in the current window (for `status`).
    pub fn requests_left(&self) -> Option<u32> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).left
    }
}

/// Up to `max` of random extra wait, so many callers do not retry in step.
fn jitter(seed: &mut u64, max: Duration) -> Duration {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    let millis = max.as_millis() as u64;
    if millis == 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(*seed % millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(left: u32, quota: u32, reset_ms: u64) -> RateHeaders {
        RateHeaders {
            requests_left: Some(left),
            requests_quota: Some(quota),
            time_reset_ms: Some(reset_ms),
            time_window_ms: Some(30_000),
            retry_after_s: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requests_flow_freely_while_quota_is_left() {
        let pacer = Pacer::new();
        pacer.observe(200, &headers(100, 150, 20_000));
        let start = Instant::now();
        for _ in 0..50 {
            pacer.acquire(Priority::Orders).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(pacer.requests_left(), Some(50));
    }

    #[tokio::test(start_paused = true)]
    async fn an_exhausted_quota_waits_for_the_window_to_reset() {
        let pacer = Pacer::new();
        pacer.observe(200, &headers(2, 150, 12_000));
        let start = Instant::now();
        pacer.acquire(Priority::Orders).await;
        pacer.acquire(Priority::Orders).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        pacer.acquire(Priority::Orders).await;
        assert_eq!(start.elapsed(), Duration::from_millis(12_000));
    }

    #[tokio::test(start_paused = true)]
    async fn catalog_work_leaves_a_reserve_for_orders() {
        let pacer = Pacer::new();
        // 20% of 150 (30 requests) is kept back from catalog work.
        pacer.observe(200, &headers(31, 150, 10_000));
        let start = Instant::now();
        pacer.acquire(Priority::Catalog).await;
        assert_eq!(pacer.requests_left(), Some(30));
        pacer.acquire(Priority::Orders).await;
        assert_eq!(pacer.requests_left(), Some(29));
        // The store reports 29 left after the first answer; one request is still out.
        pacer.observe(200, &headers(29, 150, 10_000));
        assert_eq!(pacer.requests_left(), Some(28));
        assert_eq!(start.elapsed(), Duration::ZERO);
        pacer.acquire(Priority::Catalog).await;
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(10_000),
            "catalog waited for the reset"
        );
        assert_eq!(pacer.requests_left(), Some(149));

        // Once the store reports a fresh window, its count wins over the estimate.
        pacer.observe(200, &headers(140, 150, 30_000));
        assert_eq!(
            pacer.requests_left(),
            Some(139),
            "one catalog request is still out"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_waits_the_longer_of_reset_and_retry_after() {
        let pacer = Pacer::new();
        let start = Instant::now();
        pacer.observe(
            429,
            &RateHeaders {
                time_reset_ms: Some(2_000),
                retry_after_s: Some(5),
                ..headers(0, 150, 2_000)
            },
        );
        pacer.acquire(Priority::Orders).await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_bare_429_backs_off_exponentially_with_jitter() {
        let pacer = Pacer::new();
        let mut waits = Vec::new();
        for _ in 0..4 {
            let start = Instant::now();
            pacer.observe(429, &RateHeaders::default());
            pacer.acquire(Priority::Orders).await;
            waits.push(start.elapsed());
        }
        for (i, wait) in waits.iter().enumerate() {
            let base = FIRST_BACKOFF * (1 << i);
            assert!(
                *wait >= base && *wait <= base + base / 5,
                "wait {i} was {wait:?}"
            );
        }
        // A success resets the doubling.
        pacer.observe(200, &RateHeaders::default());
        let start = Instant::now();
        pacer.observe(429, &RateHeaders::default());
        pacer.acquire(Priority::Orders).await;
        assert!(start.elapsed() <= FIRST_BACKOFF + FIRST_BACKOFF / 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bare_429_does_not_hold_callers_until_the_window_resets() {
        let pacer = Pacer::new();
        pacer.acquire(Priority::Orders).await;
        pacer.observe(200, &headers(100, 150, 30_000));
        let start = Instant::now();
        pacer.acquire(Priority::Orders).await;
        pacer.observe(429, &RateHeaders::default());
        pacer.acquire(Priority::Orders).await;
        let waited = start.elapsed();
        assert!(
            waited >= FIRST_BACKOFF && waited <= FIRST_BACKOFF + FIRST_BACKOFF / 5,
            "waited {waited:?}: the platform-load backoff, not the 30 s window"
        );
    }

    #[test]
    fn headers_are_read_by_name() {
        let read = RateHeaders::read(|name| match name {
            "x-rate-limit-requests-left" => Some("148"),
            "x-rate-limit-requests-quota" => Some("150"),
            "x-rate-limit-time-reset-ms" => Some("29000"),
            "x-rate-limit-time-window-ms" => Some("30000"),
            "x-retry-after" => Some("not a number"),
            _ => None,
        });
        assert_eq!(
            read,
            RateHeaders {
                requests_left: Some(148),
                requests_quota: Some(150),
                time_reset_ms: Some(29_000),
                time_window_ms: Some(30_000),
                retry_after_s: None,
            }
        );
    }
}
