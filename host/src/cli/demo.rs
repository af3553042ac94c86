//! `ml-connector demo`: the whole flow on the built-in simulators, in seconds. Starts a
//! BigCommerce store and a QAD tenant on 127.0.0.1, seeds orders (several lines, tax,
//! coupons, shipping, three currencies, guests and registered shoppers, refunds,
//! cancellations), runs the real pipeline with the built-in plugin (poll, map, post),
//! then changes the store (new orders, an edit, a cancellation, a refund) and runs it
//! again, sends QAD's items and prices to the catalog (then two renamed items), and
//! prints a summary. Exits non-zero when the ledger does not reconcile.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use super::Cli;
use crate::bigcommerce::{self, Pacer, StoreConfig};
use crate::flows::catalog::CatalogFlow;
use crate::flows::orders::{OrderFlow, PostingPolicy};
use crate::flows::worker::{Worker, poll};
use crate::plugins::registry::load_one;
use crate::plugins::{CompileCache, Limits, PluginSlot};
use crate::qad::{Auth, Qad, QadClient, TenantConfig};
use crate::store::{JobState, SqliteStore, Store};
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimStore};
use ml_connector_sim::qad::{QadSim, SimTenant};

#[derive(Args)]
pub struct DemoArgs {
    /// Orders to seed.
    #[arg(long, default_value_t = 200)]
    orders: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

const SETTINGS: &str = include_str!("../../../examples/settings.toml");

pub fn run(cli: &Cli, args: &DemoArgs) -> Result<ExitCode, String> {
    if args.orders == 0 {
        return Err("--orders must be at least 1".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(demo(cli, args))
}

fn progress(json: bool, message: &str) {
    if !json {
        eprintln!("{message}");
    }
}

async fn demo(cli: &Cli, args: &DemoArgs) -> Result<ExitCode, String> {
    let began = Instant::now();
    let start = time::OffsetDateTime::now_utc() - time::Duration::days(5);
    let store = SimStore::new("demo-store", "demo-token")
        // The demo shows the flow, not the Standard plan's 150 requests per 30 s.
        .with_quota(10_000, Duration::from_secs(30))
        .with_orders(args.orders, start, 7);
    let bigcommerce = BigCommerceSim::start(vec![store])
        .await
        .map_err(|e| format!("the BigCommerce simulator did not start: {e}"))?;
    let tenant = SimTenant::demo("acme");
    let qad = QadSim::start(vec![tenant.clone()])
        .await
        .map_err(|e| format!("the QAD simulator did not start: {e}"))?;
    progress(
        args.json,
        &format!(
            "BigCommerce simulator at {}, QAD simulator at {}",
            bigcommerce.base_url(),
            qad.root_url()
        ),
    );

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("demo.db")).map_err(|e| e.to_string())?);
    let settings: BTreeMap<String, BTreeMap<String, String>> =
        toml::from_str(SETTINGS).map_err(|e| format!("examples/settings.toml: {e}"))?;
    let plugin_settings: Vec<(String, String)> = settings
        .get("order-to-gl")
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let plugin = load_one(
        "order-to-gl",
        cli.plugin_dir.as_deref(),
        &plugin_settings,
        &Limits::default(),
        &CompileCache::none(),
    )?;
    let client = bigcommerce::Client::new(
        StoreConfig::at(&bigcommerce.api_root("demo-store"), "demo-token"),
        Arc::new(Pacer::new()),
    )
    .map_err(|e| e.to_string())?;
    let mut tenant_config = TenantConfig::new(
        &qad.base_url("acme"),
        Auth::Password {
            client_id: tenant.client_id.clone(),
            username: "connector".into(),
            password: "s3cret".into(),
        },
    );
    tenant_config.workspace = Some("10USA_10USACO".into());
    let qad_client = QadClient::new(tenant_config).map_err(|e| e.to_string())?;
    let flow = Arc::new(OrderFlow::new(
        "demo",
        "demo-store",
        client,
        Qad::Rest(qad_client),
        PluginSlot::fixed(plugin),
        store.clone(),
        PostingPolicy::default(),
    ));
    let worker = Worker::new(flow.clone(), "demo");
    let customers_before = qad.customers("acme").len();

    progress(
        args.json,
        &format!("posting {} seeded orders...", args.orders),
    );
    let run = || async {
        let polled = poll(&flow).await.map_err(|e| e.to_string())?;
        let stats = worker
            .drain(Duration::from_secs(60))
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((polled, stats))
    };
    let (first_poll, first) = run().await?;
    progress(
        args.json,
        &format!(
            "  {} orders and {} refunds read, {} entries posted, {} parked",
            first_poll.orders_seen, first_poll.refunds_seen, first.posted, first.parked
        ),
    );

    progress(
        args.json,
        "the store changes: new orders, an edit, a cancellation, a refund...",
    );
    let data = bigcommerce.data("demo-store").map_err(|e| e.to_string())?;
    let open: Vec<u64> = data
        .orders
        .iter()
        .filter(|o| o.status_id == 11 && o.coupon.is_none())
        .map(|o| o.id)
        .collect();
    bigcommerce
        .place_orders("demo-store", 5)
        .map_err(|e| e.to_string())?;
    if let [edit, cancel, refund, ..] = open.as_slice() {
        bigcommerce
            .edit_order("demo-store", *edit)
            .map_err(|e| e.to_string())?;
        bigcommerce
            .set_order_status("demo-store", *cancel, 5)
            .map_err(|e| e.to_string())?;
        bigcommerce
            .refund_order("demo-store", *refund, false)
            .map_err(|e| e.to_string())?;
    }
    let (_, second) = run().await?;
    progress(
        args.json,
        &format!(
            "  {} more entries posted, {} parked",
            second.posted, second.parked
        ),
    );

    let order_calls = bigcommerce.counters().requests;

    // The other way: QAD's items and prices to the store's catalog, then two renames.
    progress(
        args.json,
        "QAD items and prices to the catalog (item-to-catalog)...",
    );
    let catalog_settings: Vec<(String, String)> = settings
        .get("item-to-catalog")
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let catalog_plugin = load_one(
        "item-to-catalog",
        cli.plugin_dir.as_deref(),
        &catalog_settings,
        &Limits::default(),
        &CompileCache::none(),
    )?;
    let catalog = CatalogFlow::new(
        "demo".into(),
        Arc::new(flow.bigcommerce.clone()),
        flow.qad.clone(),
        PluginSlot::fixed(catalog_plugin),
        store.clone(),
    );
    let first_catalog = catalog.poll().await.map_err(|e| e.to_string())?;
    qad.rename_item("acme", "SKU-0100", "Product 100, new edition");
    qad.rename_item("acme", "SKU-0104", "Product 104, new edition");
    let second_catalog = catalog.poll().await.map_err(|e| e.to_string())?;
    progress(
        args.json,
        &format!(
            "  {} items read, {} updates sent in {} batches, {} not in the store; \
             after two items were renamed in QAD: {} sent",
            first_catalog.items_read,
            first_catalog.sent,
            first_catalog.batches,
            first_catalog.parked,
            second_catalog.sent
        ),
    );

    // Reconcile: every journal balanced, every posted order and every refund in the
    // ledger once, nothing parked, the audit chain intact.
    let ledger = qad.ledger("acme");
    let balanced = ledger.iter().all(|j| {
        let tc: i64 = j.lines.iter().map(|l| l.debit_tc - l.credit_tc).sum();
        let base: i64 = j.lines.iter().map(|l| l.debit_base - l.credit_base).sum();
        tc == 0 && base == 0
    });
    let references: std::collections::BTreeSet<&str> = ledger
        .iter()
        .map(|j| j.external_reference.as_str())
        .collect();
    let data = bigcommerce.data("demo-store").map_err(|e| e.to_string())?;
    let posted_statuses = PostingPolicy::default().posted_statuses;
    let missing: Vec<String> = data
        .orders
        .iter()
        .filter(|o| posted_statuses.contains(&o.status_id))
        .map(|o| format!("demo-store:order:{}:r1", o.id))
        .chain(
            data.orders
                .iter()
                .flat_map(|o| &o.refunds)
                .map(|r| format!("demo-store:refund:{}:r1", r.id)),
        )
        .filter(|reference| !references.contains(reference.as_str()))
        .collect();
    // Items QAD has and the store does not sell wait for an operator; they are no
    // ledger matter.
    let parked: Vec<_> = store
        .jobs_in(JobState::Parked, 1_000)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|job| job.kind != crate::flows::catalog::JOB_KIND)
        .collect();
    let audit_entries = store.verify_audit().map_err(|e| e.to_string())?;
    let reconciled =
        balanced && missing.is_empty() && parked.is_empty() && references.len() == ledger.len();
    let counters = bigcommerce.counters();
    let refunds: usize = data.orders.iter().map(|o| o.refunds.len()).sum();
    let summary = json!({
        "orders": data.orders.len(),
        "refunds": refunds,
        "journals_posted": ledger.len(),
        "adjustments": ledger.iter().filter(|j| !j.external_reference.ends_with(":r1")).count(),
        "customers_created": qad.customers("acme").len() - customers_before,
        "parked": parked.len(),
        "catalog_updates": first_catalog.sent + second_catalog.sent,
        "catalog_items_not_in_store": first_catalog.parked,
        "bigcommerce_calls": counters.requests,
        "bigcommerce_calls_per_order": order_calls as f64 / data.orders.len() as f64,
        "elapsed_ms": began.elapsed().as_millis() as u64,
        "ledger_balanced": balanced,
        "missing_from_ledger": missing,
        "audit_entries": audit_entries,
        "reconciled": reconciled,
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "\n{} orders and {} refunds -> {} journal entries in QAD ({} adjustments), \
             {} new QAD customers",
            summary["orders"],
            summary["refunds"],
            summary["journals_posted"],
            summary["adjustments"],
            summary["customers_created"]
        );
        println!(
            "{} catalog updates sent ({} QAD items are not in the store)",
            summary["catalog_updates"], summary["catalog_items_not_in_store"]
        );
        println!(
            "{} BigCommerce calls ({:.2} per order), {} ms, audit chain of {} entries intact",
            counters.requests,
            summary["bigcommerce_calls_per_order"]
                .as_f64()
                .unwrap_or(0.0),
            summary["elapsed_ms"],
            audit_entries
        );
        println!(
            "ledger {}",
            if reconciled {
                "reconciles: every entry balanced, every order and refund posted once"
            } else {
                "DOES NOT RECONCILE"
            }
        );
        for job in &parked {
            println!(
                "  parked {}: {}",
                job.document,
                job.last_error.as_deref().unwrap_or_default()
            );
        }
    }
    Ok(if reconciled {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
