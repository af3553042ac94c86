//! Shared helpers for the end-to-end tests: the test plugins' paths, the example records
//! and settings from `examples/fixtures`, small loaders, the reference specs' location,
//! and the OpenAPI conformance checker.

pub mod openapi;

use ml_connector::plugins::fixture::Fixture;
use ml_connector::plugins::types::{Order, Refund};
use ml_connector::plugins::{CompileCache, Limits, LoadedPlugin, Settings};

/// Paths of the plugins built from `plugins/testing/` for these tests.
pub mod test_plugins {
    include!(concat!(env!("OUT_DIR"), "/test_plugins.rs"));
}

const ORDER_FIXTURE: &str = include_str!("../../examples/fixtures/order-basic.json");
const REFUND_FIXTURE: &str = include_str!("../../examples/fixtures/refund-partial.json");

/// The example order fixture.
pub fn order_fixture() -> Fixture {
    Fixture::parse(ORDER_FIXTURE).expect("the example order fixture parses")
}

/// The example order (two lines, coupon, shipping, handling, tax, paid by card).
pub fn example_order() -> Order {
    serde_json::from_value(order_fixture().input).expect("the example order is an order")
}

/// The example order with another id.
pub fn order_with_id(id: &str) -> Order {
    Order {
        id: id.to_string(),
        ..example_order()
    }
}

/// The example refund.
pub fn example_refund() -> Refund {
    serde_json::from_value(Fixture::parse(REFUND_FIXTURE).unwrap().input)
        .expect("the example refund is a refund")
}

/// The account settings the default order plugin needs.
pub fn order_settings() -> Settings {
    order_fixture().settings()
}

/// Loads plugin bytes with no settings, default limits and no compile cache.
pub fn load_bytes(
    name: &str,
    bytes: &[u8],
) -> Result<LoadedPlugin, ml_connector::plugins::LoadError> {
    LoadedPlugin::load(
        name,
        bytes,
        Limits::default(),
        Vec::new(),
        &CompileCache::none(),
    )
}

/// Loads a plugin file with default limits and no compile cache.
pub fn load_file(path: &str, settings: Settings) -> Result<LoadedPlugin, String> {
    load_with_limits(path, settings, Limits::default())
}

pub fn load_with_limits(
    path: &str,
    settings: Settings,
    limits: Limits,
) -> Result<LoadedPlugin, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let name = std::path::Path::new(path)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .replace('_', "-");
    LoadedPlugin::load(&name, &bytes, limits, settings, &CompileCache::none())
        .map_err(|e| format!("plugin `{name}` {e}"))
}

/// The built-in order-to-gl plugin with the example settings.
pub fn default_order_plugin() -> LoadedPlugin {
    order_plugin_with(order_settings())
}

/// The built-in order-to-gl plugin with these settings.
pub fn order_plugin_with(settings: Settings) -> LoadedPlugin {
    let bytes = ml_connector::plugins::builtin::builtin("order-to-gl").unwrap();
    LoadedPlugin::load(
        "order-to-gl",
        bytes,
        Limits::default(),
        settings,
        &CompileCache::none(),
    )
    .unwrap()
}

/// The shared reference data's BigCommerce specs, when present beside the checkout.
/// Absent on a user's fresh clone: the caller skips with a message. Under `CI=true` their
/// absence is a failure, so CI never silently skips the conformance checks.
pub fn bigcommerce_specs() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/bigcommerce/specs");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the reference specs are missing at {}",
        dir.display()
    );
    eprintln!(
        "skipped: BigCommerce's specs are not at {} (the shared reference data sits beside \
         the checkout in CI)",
        dir.display()
    );
    None
}

/// An example plugin's project folder, `examples/<name>`.
pub fn example_project(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

/// The JavaScript example plugin (`examples/js-order-to-gl`), built by `npm ci && npm run
/// build` there (CI's `.ci/run` does it before the tests). See [`example_plugin_wasm`].
pub fn js_plugin_wasm() -> Option<std::path::PathBuf> {
    example_plugin_wasm("js-order-to-gl", "npm ci && npm run build")
}

/// A Python example plugin (`examples/py-order-to-gl`, `examples/py-item-to-catalog`),
/// built by `./build.sh` there (CI's `.ci/run` does it before the tests). See
/// [`example_plugin_wasm`].
pub fn py_plugin_wasm(name: &str) -> Option<std::path::PathBuf> {
    example_plugin_wasm(name, "./build.sh")
}

/// The component `dist/plugin.wasm` of example plugin `name`, which `build` makes in its
/// folder. Not built on a developer's machine: the caller skips with a message. Under
/// `CI=true` a missing build fails, and a build older than the plugin's sources fails
/// everywhere, so nothing tests a stale one.
pub fn example_plugin_wasm(name: &str, build: &str) -> Option<std::path::PathBuf> {
    let project = example_project(name);
    let wasm = project.join("dist/plugin.wasm");
    if !wasm.is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the example plugin {name} is not built at {} (run `{build}` in {})",
            wasm.display(),
            project.display()
        );
        eprintln!(
            "skipped: the example plugin {name} is not built; run `{build}` in {}",
            project.display()
        );
        return None;
    }
    let built = std::fs::metadata(&wasm).and_then(|m| m.modified()).unwrap();
    for source in std::fs::read_dir(project.join("src")).unwrap().flatten() {
        let changed = source.metadata().and_then(|m| m.modified()).unwrap();
        assert!(
            changed <= built,
            "{} is newer than {}: run `{build}` in {}",
            source.path().display(),
            wasm.display(),
            project.display()
        );
    }
    Some(wasm)
}

/// A webhook destination on 127.0.0.1: answers every POST to `/hook` with `status` and
/// keeps the headers and raw body it got.
pub struct WebhookReceiver {
    pub url: String,
    pub status: std::sync::Arc<std::sync::atomic::AtomicU16>,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, axum::body::Bytes)>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        use std::sync::atomic::Ordering;
        let status = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(200));
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (answer, kept) = (status.clone(), received.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (answer, kept) = (answer.clone(), kept.clone());
                    async move {
                        kept.lock().unwrap().push((headers, body));
                        axum::http::StatusCode::from_u16(answer.load(Ordering::SeqCst))
                            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver {
            url,
            status,
            received,
            server,
        }
    }

    /// The bodies received so far, parsed.
    pub fn payloads(&self) -> Vec<serde_json::Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| serde_json::from_slice(body).expect("a JSON delivery"))
            .collect()
    }
}

/// A connection over the simulators, configured as an operator would write it (store
/// `store_hash` at `bigcommerce` with API token `token`, tenant `tenant` at `qad`, posting in `10USACO` in USD with
/// `GUEST` for guests), credentials given in memory, with `order` (and `catalog`) as its
/// plugins: the wiring `run` and `sync` use.
#[allow(clippy::too_many_arguments)]
pub fn connection(
    name: &str,
    store_hash: &str,
    token: &str,
    bigcommerce: &ml_connector_sim::bigcommerce::BigCommerceSim,
    qad: &ml_connector_sim::qad::QadSim,
    tenant: &ml_connector_sim::qad::SimTenant,
    store: std::sync::Arc<dyn ml_connector::store::Store>,
    order: LoadedPlugin,
    catalog: Option<LoadedPlugin>,
) -> ml_connector::connection::Connection {
    use ml_connector::connection::{Connection, Plugins};
    use ml_connector::plugins::PluginSlot;
    let text = format!(
        "[connections.{name}]\n\
         store_hash = \"{store_hash}\"\n\
         bigcommerce_api_root = \"{}\"\n\
         bigcommerce_token = \"secret:bigcommerce\"\n\
         [connections.{name}.qad]\n\
         base_url = \"{}\"\n\
         workspace = \"10USA_10USACO\"\n\
         client_id = \"secret:qad-client\"\n\
         username = \"secret:qad-user\"\n\
         password = \"secret:qad-password\"\n\
         [connections.{name}.posting]\n\
         entity = \"10USACO\"\n\
         base_currency = \"USD\"\n\
         guest_customer = \"GUEST\"\n\
         [connections.{name}.plugin]\n\
         name = \"{}\"\n{}",
        bigcommerce.api_root(store_hash),
        qad.base_url(&tenant.name),
        order.name(),
        match &catalog {
            Some(plugin) => format!(
                "[connections.{name}.catalog]\nname = \"{}\"\n",
                plugin.name()
            ),
            None => String::new(),
        }
    );
    let mut config: ml_connector::config::Config =
        toml::from_str(&text).expect("the test connection parses");
    let config = config.connections.remove(name).unwrap();
    let secrets = ml_connector::secrets::Given::default()
        .with("bigcommerce", token)
        .with("qad-client", &tenant.client_id)
        .with("qad-user", "connector")
        .with("qad-password", "s3cret");
    let plugins = Plugins::Given {
        order: PluginSlot::fixed(order),
        catalog: catalog.map(PluginSlot::fixed),
    };
    Connection::open(name, &config, store, &secrets, &plugins).expect("the test connection opens")
}

/// A QAD journal line in USD on `account`, described as `description`.
pub fn qad_line(
    account: &str,
    debit: i64,
    credit: i64,
    description: &str,
) -> ml_connector::qad::JournalLine {
    ml_connector::qad::JournalLine {
        account: account.into(),
        sub_account: String::new(),
        cost_center: String::new(),
        project: String::new(),
        currency: "USD".into(),
        debit,
        credit,
        exchange_rate: None,
        tax_code: None,
        description: description.into(),
    }
}

/// A journal entry for QAD in entity 10USACO, daybook SO, official layer, posted on
/// 2026-11-20 (period 11 of 2026), under `reference`.
pub fn qad_entry(
    reference: &str,
    description: &str,
    lines: Vec<ml_connector::qad::JournalLine>,
) -> ml_connector::qad::JournalEntry {
    ml_connector::qad::JournalEntry {
        entity: "10USACO".into(),
        daybook: "SO".into(),
        layer: "OFFICIAL".into(),
        posting_date: time::Date::from_calendar_date(2026, time::Month::November, 20)
            .expect("a date"),
        year: 2026,
        period: 11,
        description: description.into(),
        external_reference: reference.into(),
        lines,
    }
}

/// Puts parked job `job` back in line as an operator's replay does (with its audit entry).
pub async fn replay_parked(store: &dyn ml_connector::store::Store, job: &ml_connector::store::Job) {
    let said = ml_connector::store::AuditEntry {
        connection: job.connection.clone(),
        subject: job.document.clone(),
        kind: "console".into(),
        data: r#"{"action":"replay","operator":"test"}"#.into(),
    };
    let replay = ml_connector::store::ByHand::Replay { payload: None };
    store.settle_parked(job.id, &replay, &said).await.unwrap();
}
