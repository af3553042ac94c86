//! A BigCommerce store simulator (Management API), served over real HTTP on 127.0.0.1.
//!
//! Several stores, each with its API account (access token, client id and secret), quota
//! window and seeded data ([`model`]). Every request under `/stores/{hash}/` passes one
//! gate ([`gate`]): injected faults first (500s, slow answers, dropped connections, 429
//! bursts without headers), then the token (401 in the V2 or V3 error shape), then the
//! account's scopes (403 when it lacks the one the endpoint needs), then the quota window with BigCommerce's `X-Rate-Limit-*` headers on every answer and a 429 with
//! `X-Retry-After` once it is spent. The endpoints are in [`routes`] (orders, transactions,
//! refunds, customers, catalog, store information) and [`hooks`] (webhook management and
//! signed delivery with retries and deactivation), answering in the shapes of [`answers`];
//! [`control`] is the test-side API to seed, advance the clock, inject faults and inspect,
//! over HTTP under `/_sim/` and as methods on [`BigCommerceSim`].
//!
//! Time: the simulator's clock runs `speedup` times faster than the wall clock and can be
//! moved forward, so the 48-hour webhook retry window fits in a test. The quota window is
//! real time (the client's pacer lives in real time).

mod answers;
pub mod control;
mod gate;
pub mod hooks;
pub mod model;
pub mod routes;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use time::OffsetDateTime;

pub use control::{DeliveryView, Fault, FaultKind};
pub use hooks::Hook;
pub use model::{Seed, StoreData};

use crate::rng::Rng;
use crate::sync::lock;

/// The store resource scopes the simulated endpoints need (each also exists as
/// `<scope>_read_only`, enough for GET); webhooks need none beyond the default.
pub const SCOPES: [&str; 6] = [
    "store_v2_orders",
    "store_v2_transactions",
    "store_v2_customers",
    "store_v2_products",
    "store_v2_information",
    "store_v2_marketing",
];

/// One store and its API account.
#[derive(Debug, Clone)]
pub struct SimStore {
    pub hash: String,
    /// The account's access token (`X-Auth-Token`).
    pub token: String,
    pub client_id: String,
    /// Signs webhook deliveries (Standard Webhooks, keyed with the secret's bytes).
    pub client_secret: String,
    /// The account's OAuth scopes (`store_v2_orders`, `store_v2_orders_read_only`, ...);
    /// by default every scope the simulated endpoints need, with modify rights.
    pub scopes: Vec<String>,
    /// Requests per window (BigCommerce Standard and Plus: 150 per 30 s).
    pub quota: u32,
    pub window: Duration,
    pub data: StoreData,
}

impl SimStore {
    /// An empty store with the Standard plan's quota.
    pub fn new(hash: &str, token: &str) -> SimStore {
        SimStore {
            hash: hash.into(),
            token: token.into(),
            client_id: format!("client-{hash}"),
            client_secret: format!("secret-{hash}"),
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            quota: 150,
            window: Duration::from_secs(30),
            data: StoreData::default(),
        }
    }

    /// The account with only these scopes.
    pub fn with_scopes(mut self, scopes: &[&str]) -> SimStore {
        self.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn with_quota(mut self, quota: u32, window: Duration) -> SimStore {
        self.quota = quota;
        self.window = window;
        self
    }

    /// Seeded data: `orders` orders from `start`, one minute apart, with a catalog of 40
    /// products and one registered customer for every three orders.
    pub fn with_orders(mut self, orders: u64, start: OffsetDateTime, seed: u64) -> SimStore {
        self.data = StoreData::generate(&Seed {
            seed,
            orders,
            products: 40,
            customers: orders / 3 + 1,
            start,
        });
        self
    }
}

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Simulated seconds per real second (webhook retry schedules, event times).
    pub speedup: u32,
    /// The clock's starting time.
    pub start: OffsetDateTime,
    /// Keep every request and answer for [`BigCommerceSim::exchanges`].
    pub record: bool,
    /// Time a refund takes to be accepted; a second refund on the order meanwhile is
    /// refused.
    pub refund_processing: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            speedup: 1,
            start: OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .expect("valid"),
            record: false,
            refund_processing: Duration::from_millis(20),
        }
    }
}

/// What the simulator saw, for tests to assert on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    pub rejected_401: u64,
    /// Refused for a scope the account lacks.
    pub rejected_403: u64,
    pub rejected_429: u64,
    pub faults_injected: u64,
    /// Refunds refused because another refund on the same order was in progress.
    pub refunds_refused_in_progress: u64,
    pub webhooks_delivered: u64,
    pub webhooks_failed_attempts: u64,
}

/// One request and its answer, as recorded for the conformance test.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    /// Below the store root: `/v2/orders/100`.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Lower-case names; the token's value is redacted.
    pub headers: Vec<(String, String)>,
    pub request_body: Option<Value>,
    pub status: u16,
    pub response_body: Option<Value>,
}

/// The simulator's clock: `speedup` times the wall clock, plus manual advances.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    real_start: Instant,
    sim_start: OffsetDateTime,
    speedup: u32,
    advanced: Duration,
}

impl Clock {
    pub(crate) fn now(&self) -> OffsetDateTime {
        let real = self.real_start.elapsed().as_secs_f64() * f64::from(self.speedup);
        self.sim_start + Duration::from_secs_f64(real) + self.advanced
    }
}

pub(crate) struct StoreState {
    pub(crate) account: SimStore,
    window_started: Instant,
    used: u32,
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) hooks: Vec<Hook>,
    pub(crate) deliveries: Vec<hooks::Delivery>,
    pub(crate) refunds_in_progress: HashSet<u64>,
    /// Product and variant ids whose catalog updates are refused, with the reason given.
    pub(crate) refused_updates: HashMap<u64, String>,
}

impl StoreState {
    pub(crate) fn data(&mut self) -> &mut StoreData {
        &mut self.account.data
    }
}

pub(crate) struct Shared {
    pub(crate) stores: HashMap<String, StoreState>,
    pub(crate) counters: Counters,
    pub(crate) clock: Clock,
    pub(crate) options: SimOptions,
    pub(crate) rng: Rng,
    pub(crate) exchanges: Vec<Exchange>,
    pub(crate) base_url: String,
}

pub(crate) type SharedState = Arc<Mutex<Shared>>;

/// A running simulator. Dropping it stops the server and the webhook sender.
pub struct BigCommerceSim {
    base_url: String,
    pub(crate) shared: SharedState,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for BigCommerceSim {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl BigCommerceSim {
    /// Starts the simulator on an ephemeral port of 127.0.0.1 with default options.
    pub async fn start(stores: Vec<SimStore>) -> std::io::Result<BigCommerceSim> {
        BigCommerceSim::start_with(stores, SimOptions::default(), "127.0.0.1:0").await
    }

    /// Starts the simulator on `bind` (a loopback address) with `options`.
    pub async fn start_with(
        stores: Vec<SimStore>,
        options: SimOptions,
        bind: &str,
    ) -> std::io::Result<BigCommerceSim> {
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Mutex::new(Shared {
            stores: stores
                .into_iter()
                .map(|account| {
                    (
                        account.hash.clone(),
                        StoreState {
                            account,
                            window_started: Instant::now(),
                            used: 0,
                            faults: VecDeque::new(),
                            hooks: Vec::new(),
                            deliveries: Vec::new(),
                            refunds_in_progress: HashSet::new(),
                            refused_updates: HashMap::new(),
                        },
                    )
                })
                .collect(),
            counters: Counters::default(),
            clock: Clock {
                real_start: Instant::now(),
                sim_start: options.start,
                speedup: options.speedup.max(1),
                advanced: Duration::ZERO,
            },
            rng: Rng::new(0x5EED),
            options,
            exchanges: Vec::new(),
            base_url: base_url.clone(),
        }));
        let app = routes::router()
            .merge(hooks::router())
            .layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                gate::gate,
            ))
            .merge(control::router())
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let sender = tokio::spawn(hooks::deliver_forever(shared.clone()));
        Ok(BigCommerceSim {
            base_url,
            shared,
            tasks: vec![server, sender],
        })
    }

    /// `http://127.0.0.1:PORT`; a store's API root is `{base_url}/stores/{hash}`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A store's API root, as a client is configured with it.
    pub fn api_root(&self, hash: &str) -> String {
        format!("{}/stores/{hash}", self.base_url)
    }

    pub fn counters(&self) -> Counters {
        lock(&self.shared).counters.clone()
    }

    /// Every request recorded so far (with [`SimOptions::record`]), oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.shared).exchanges.clone()
    }
}

/// Runs `f` on a store (the gate has already checked it exists) with the simulated time.
pub(crate) fn with_store<R>(
    shared: &SharedState,
    hash: &str,
    f: impl FnOnce(&mut StoreState, OffsetDateTime) -> R,
) -> R {
    let mut guard = lock(shared);
    let now = guard.clock.now();
    let store = guard
        .stores
        .get_mut(hash)
        .expect("the gate checked the store");
    f(store, now)
}
