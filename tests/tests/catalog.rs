//! The catalog flow end to end over both simulators (real HTTP on 127.0.0.1), the durable
//! store and the built-in `item-to-catalog` plugin: QAD name and price changes of 300
//! items (products and variants) reach the store's catalog in batches of 10 products and
//! 50 variants; SKUs the store does not have, and items a 207 or a refused variant batch
//! names, are parked with their reason and replayed by the worker once fixed; a run with
//! no QAD change sends nothing, and five changed items send five updates; a SKU whose
//! product was replaced is found again; a price row starting or ending on its dates
//! reaches the store with no change in QAD; a run repeated from reset cursors (a crash
//! before the cursors moved) sends nothing twice; and a merchant's edit in the store is
//! reported or restored without an edit loop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use ml_connector::bigcommerce::catalog::{ProductUpdate, VariantUpdate};
use ml_connector::bigcommerce::wire::Number;
use ml_connector::connection::Connection;
use ml_connector::flows::Outcome;
use ml_connector::flows::catalog::{
    CatalogFlow, CatalogStats, DriftPolicy, ITEM_PRICE_LIST, JOB_KIND, product_job,
};
use ml_connector::flows::worker::Worker;
use ml_connector::plugins::{CompileCache, Limits, LoadedPlugin, PluginSlot};
use ml_connector::qad::ChangeCursor;
use ml_connector::store::{Job, JobState, SqliteStore, Store};
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimOptions, SimStore, StoreData};
use ml_connector_sim::qad::{PriceRow, QadSim, SimTenant};
use ml_connector_tests::default_order_plugin;
use time::macros::{date, datetime};

const PRODUCTS: usize = 200;
const VARIANT_PRODUCTS: usize = 20;
const VARIANTS_EACH: usize = 5;
const UNKNOWN: usize = 10;
/// QAD's seeded items the store lacks: `sku-0101` (case differs), SKU-0998, SKU-0999.
const SEEDED_UNKNOWN: usize = 3;

struct Rig {
    bigcommerce: BigCommerceSim,
    qad: QadSim,
    flow: Arc<CatalogFlow>,
    store: Arc<dyn Store>,
    connection: Connection,
    _dir: tempfile::TempDir,
}

fn product_sku(n: usize) -> String {
    format!("CAT-P-{n:04}")
}

fn variant_sku(p: usize, v: usize) -> String {
    format!("CAT-V-{p:02}-{v}")
}

fn unknown_sku(n: usize) -> String {
    format!("CAT-X-{n:02}")
}

/// Every SKU of the larger catalog: products first, then variants.
fn catalog_skus() -> Vec<String> {
    let mut skus: Vec<String> = (0..PRODUCTS).map(product_sku).collect();
    for p in 0..VARIANT_PRODUCTS {
        skus.extend((0..VARIANTS_EACH).map(|v| variant_sku(p, v)));
    }
    skus
}

/// Ten-thousandths: 10.00 plus n cents.
fn price_of(n: usize, round: i64) -> i64 {
    100_000 + n as i64 * 100 + round * 10_000
}

/// Both simulators with the larger catalog in the store and its items (plus some the
/// store lacks) in QAD, and a catalog flow on a fresh store.
async fn rig() -> Rig {
    let start = datetime!(2026-11-02 08:00 UTC);
    let shop = SimStore::new("shop1", "bc-token")
        .with_quota(100_000, Duration::from_secs(30))
        .with_orders(0, start, 21);
    let options = SimOptions {
        record: true,
        ..SimOptions::default()
    };
    let bigcommerce = BigCommerceSim::start_with(vec![shop], options, "127.0.0.1:0")
        .await
        .unwrap();
    for n in 0..PRODUCTS {
        bigcommerce
            .add_product("shop1", &product_sku(n), &format!("Old {n}"), 50_000, &[])
            .unwrap();
    }
    for p in 0..VARIANT_PRODUCTS {
        let variants: Vec<String> = (0..VARIANTS_EACH).map(|v| variant_sku(p, v)).collect();
        let variants: Vec<&str> = variants.iter().map(String::as_str).collect();
        bigcommerce
            .add_product("shop1", &format!("CAT-V-{p:02}"), "Old", 50_000, &variants)
            .unwrap();
    }
    let tenant = SimTenant::demo("acme");
    let qad = QadSim::start(vec![tenant.clone()]).await.unwrap();
    for (n, sku) in catalog_skus().iter().enumerate() {
        qad.add_item("acme", sku, &format!("Item {n}"), price_of(n, 0));
    }
    for n in 0..UNKNOWN {
        qad.add_item("acme", &unknown_sku(n), "Not sold online", 10_000);
    }

    let plugin = LoadedPlugin::load(
        "item-to-catalog",
        ml_connector::plugins::builtin::builtin("item-to-catalog").unwrap(),
        Limits::default(),
        vec![
            ("price-list".into(), ITEM_PRICE_LIST.into()),
            ("currency".into(), "USD".into()),
        ],
        &CompileCache::none(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("store.db")).unwrap());
    let connection = ml_connector_tests::connection(
        "main",
        "shop1",
        "bc-token",
        &bigcommerce,
        &qad,
        &tenant,
        store.clone(),
        default_order_plugin(),
        Some(plugin),
    );
    let flow = connection.catalog.clone().unwrap();
    Rig {
        bigcommerce,
        qad,
        flow,
        store,
        connection,
        _dir: dir,
    }
}

impl Rig {
    /// Catalog PUT requests so far: (products, variants).
    fn catalog_puts(&self) -> (usize, usize) {
        let puts = |path: &str| {
            self.bigcommerce
                .exchanges()
                .iter()
                .filter(|e| e.method == "PUT" && e.path == path)
                .count()
        };
        (puts("/v3/catalog/products"), puts("/v3/catalog/variants"))
    }

    fn catalog(&self) -> StoreData {
        self.bigcommerce.data("shop1").unwrap()
    }

    async fn parked(&self) -> Vec<Job> {
        self.store
            .jobs_in(JobState::Parked, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.kind == JOB_KIND)
            .collect()
    }

    /// Parked SKU to its reason.
    async fn parked_reasons(&self) -> BTreeMap<String, String> {
        self.parked()
            .await
            .into_iter()
            .map(|j| {
                let sku = j.document.strip_prefix("item:").unwrap().to_string();
                (sku, j.last_error.unwrap_or_default())
            })
            .collect()
    }

    /// A worker that runs catalog jobs.
    fn worker(&self) -> Worker {
        let mut worker = Worker::new(self.connection.orders.clone(), "worker-1");
        worker.catalog = Some(self.flow.clone());
        worker.backoff = Duration::from_millis(20);
        worker
    }

    /// Renames and reprices catalog item `n` in QAD.
    fn change(&self, n: usize, round: i64) {
        let sku = &catalog_skus()[n];
        self.qad.touch_item("acme", sku, price_of(n, round));
        self.qad
            .rename_item("acme", sku, &format!("Item {n} round {round}"));
    }
}

/// Name and price of a product, or price of a variant, by SKU.
fn listing(data: &StoreData, sku: &str) -> Option<(Option<String>, Option<i64>)> {
    for product in &data.products {
        if product.sku == sku {
            return Some((Some(product.name.clone()), Some(product.price)));
        }
        if let Some(variant) = product.variants.iter().find(|v| v.sku == sku) {
            return Some((None, variant.price));
        }
    }
    None
}

fn assert_listed(rig: &Rig, n: usize, round: i64) {
    let sku = &catalog_skus()[n];
    let (name, price) = listing(&rig.catalog(), sku).unwrap();
    assert_eq!(price, Some(price_of(n, round)), "{sku}");
    if n < PRODUCTS {
        let want = if round == 0 {
            format!("Item {n}")
        } else {
            format!("Item {n} round {round}")
        };
        assert_eq!(name.as_deref(), Some(want.as_str()), "{sku}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_changes_reach_the_catalog_in_batches_and_failures_are_parked() {
    let rig = rig().await;
    let total_items = 73 + catalog_skus().len() + UNKNOWN;

    // The first run brings every item over; SKUs the store lacks are parked.
    let first = rig.flow.poll().await.unwrap();
    assert_eq!(first.items_read, total_items as u64);
    assert_eq!(first.parked, (UNKNOWN + SEEDED_UNKNOWN) as u64);
    assert_eq!(
        first.sent + first.unchanged + first.parked,
        first.items_read
    );
    let parked = rig.parked_reasons().await;
    for n in 0..UNKNOWN {
        let reason = &parked[&unknown_sku(n)];
        assert!(reason.contains(&unknown_sku(n)), "{reason}");
        assert!(reason.contains("not in the store's catalog"), "{reason}");
    }
    assert!(parked.contains_key("sku-0101"));
    for n in [0, 1, PRODUCTS - 1, PRODUCTS, catalog_skus().len() - 1] {
        assert_listed(&rig, n, 0);
    }

    // 300 items renamed and repriced: 20 product batches and 2 variant batches.
    for n in 0..catalog_skus().len() {
        rig.change(n, 1);
    }
    let before = rig.catalog_puts();
    let changed = rig.flow.poll().await.unwrap();
    let after = rig.catalog_puts();
    assert_eq!(
        changed,
        CatalogStats {
            items_read: 300,
            sent: 300,
            unchanged: 0,
            parked: 0,
            batches: 22,
        }
    );
    assert_eq!(after.0 - before.0, PRODUCTS / 10);
    assert_eq!(after.1 - before.1, VARIANT_PRODUCTS * VARIANTS_EACH / 50);
    for n in 0..catalog_skus().len() {
        assert_listed(&rig, n, 1);
    }
    let trail = rig
        .store
        .audit_for(&format!("item:{}", product_sku(7)))
        .await
        .unwrap();
    let kinds: Vec<&str> = trail.iter().map(|r| r.entry.kind.as_str()).collect();
    assert!(kinds.ends_with(&["mapped", "sent"]), "{kinds:?}");
    assert!(
        !rig.store
            .audit_for("catalog:poll")
            .await
            .unwrap()
            .is_empty(),
        "the batch requests are audited"
    );

    // Nothing changed in QAD: not one catalog request.
    let quiet = rig.flow.poll().await.unwrap();
    assert_eq!(quiet.items_read, 0);
    assert_eq!(quiet.sent, 0);
    assert_eq!(rig.catalog_puts(), after);

    // Five items changed: five updates, one batch of each kind.
    for n in [3, 4, 5, PRODUCTS + 1, PRODUCTS + 60] {
        rig.change(n, 2);
    }
    let five = rig.flow.poll().await.unwrap();
    assert_eq!((five.items_read, five.sent, five.batches), (5, 5, 2));
    assert_eq!(rig.catalog_puts(), (after.0 + 1, after.1 + 1));
    for n in [3, 4, 5, PRODUCTS + 1, PRODUCTS + 60] {
        assert_listed(&rig, n, 2);
    }

    // The store refuses three products (a 207) and one variant (its batch refused): those
    // four are parked with the store's reason, the six others go through.
    let data = rig.catalog();
    let id_of = |sku: &str| {
        data.products
            .iter()
            .find(|p| p.sku == sku)
            .map(|p| p.id)
            .or_else(|| {
                data.products
                    .iter()
                    .flat_map(|p| &p.variants)
                    .find(|v| v.sku == sku)
                    .map(|v| v.id)
            })
            .unwrap()
    };
    let refused_items = [10, 11, 12, PRODUCTS + 7];
    let refused_ids: Vec<u64> = refused_items
        .iter()
        .map(|n| id_of(&catalog_skus()[*n]))
        .collect();
    rig.bigcommerce
        .refuse_updates(
            "shop1",
            &refused_ids,
            "The product is locked by another app.",
        )
        .unwrap();
    let touched = [
        10,
        11,
        12,
        13,
        14,
        15,
        16,
        PRODUCTS + 7,
        PRODUCTS + 8,
        PRODUCTS + 9,
    ];
    for n in touched {
        rig.change(n, 3);
    }
    let before_parked = rig.parked().await.len();
    let partial = rig.flow.poll().await.unwrap();
    assert_eq!((partial.sent, partial.parked), (6, 4));
    let parked = rig.parked_reasons().await;
    assert_eq!(rig.parked().await.len(), before_parked + 4);
    for n in refused_items {
        let sku = &catalog_skus()[n];
        let reason = &parked[sku];
        assert!(reason.contains(sku), "{reason}");
        assert!(reason.contains("locked by another app"), "{reason}");
    }
    for n in [13, 14, 15, 16, PRODUCTS + 8, PRODUCTS + 9] {
        assert!(!parked.contains_key(&catalog_skus()[n]));
        assert_listed(&rig, n, 3);
    }
    assert_listed(&rig, 10, 1);

    // Once the store accepts them again, replaying the parked jobs sends those four.
    rig.bigcommerce.refuse_updates("shop1", &[], "").unwrap();
    for job in rig.parked().await {
        if refused_items
            .iter()
            .any(|n| job.document == format!("item:{}", catalog_skus()[*n]))
        {
            ml_connector_tests::replay_parked(rig.store.as_ref(), &job).await;
        }
    }
    let stats = rig.worker().drain(Duration::from_secs(30)).await.unwrap();
    assert_eq!((stats.posted, stats.parked), (4, 0));
    for n in refused_items {
        assert_listed(&rig, n, 3);
    }
    assert_eq!(rig.parked().await.len(), before_parked);

    // A product deleted and made again under the same SKU is found at its new id.
    let moved = product_sku(42);
    let old_id = id_of(&moved);
    rig.bigcommerce.remove_product("shop1", old_id).unwrap();
    let new_id = rig
        .bigcommerce
        .add_product("shop1", &moved, "Recreated", 1, &[])
        .unwrap();
    rig.change(42, 4);
    let refound = rig.flow.poll().await.unwrap();
    assert_eq!((refound.sent, refound.parked), (1, 0));
    let product = rig
        .catalog()
        .products
        .into_iter()
        .find(|p| p.id == new_id)
        .unwrap();
    assert_eq!(product.name, "Item 42 round 4");
    assert_eq!(product.price, price_of(42, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_repeated_before_its_cursors_moved_sends_nothing_twice() {
    let rig = rig().await;
    let first = rig.flow.poll().await.unwrap();
    assert!(first.sent >= catalog_skus().len() as u64);
    let parked = rig.parked().await.len();
    let puts = rig.catalog_puts();

    // As if the process died after sending and before moving the cursors.
    let from_the_start = serde_json::to_string(&ChangeCursor::default()).unwrap();
    for cursor in ["catalog-items", "catalog-prices"] {
        rig.store
            .set_cursor("main", cursor, &from_the_start)
            .await
            .unwrap();
    }
    let again = rig.flow.poll().await.unwrap();
    assert_eq!(again.items_read, first.items_read);
    assert_eq!(again.sent, 0);
    assert_eq!(again.batches, 0);
    assert_eq!(again.unchanged, first.sent + first.unchanged);
    assert_eq!(rig.catalog_puts(), puts, "no catalog request at all");
    assert_eq!(
        rig.parked().await.len(),
        parked,
        "each failure is parked once"
    );

    // A change made meanwhile still goes out, once.
    rig.change(9, 1);
    for cursor in ["catalog-items", "catalog-prices"] {
        rig.store
            .set_cursor("main", cursor, &from_the_start)
            .await
            .unwrap();
    }
    let third = rig.flow.poll().await.unwrap();
    assert_eq!((third.sent, third.batches), (1, 1));
    assert_listed(&rig, 9, 1);

    // An order plugin given to the catalog flow fails the run, parking nothing.
    let wrong = CatalogFlow::new(
        "main".into(),
        rig.flow.sink.clone(),
        rig.flow.items.clone(),
        PluginSlot::fixed(default_order_plugin()),
        rig.store.clone(),
    );
    let error = wrong.poll().await.unwrap_err().to_string();
    assert!(error.contains("needs an item-to-catalog plugin"), "{error}");
    assert_eq!(rig.parked().await.len(), parked);

    // A cursor the store cannot read is reported, not guessed at.
    rig.store
        .set_cursor("main", "catalog-items", "not json")
        .await
        .unwrap();
    let error = rig.flow.poll().await.unwrap_err().to_string();
    assert!(error.contains("catalog-items"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_row_starting_or_ending_reaches_the_store_with_no_change_in_qad() {
    let rig = rig().await;
    let plugin = LoadedPlugin::load(
        "item-to-catalog",
        ml_connector::plugins::builtin::builtin("item-to-catalog").unwrap(),
        Limits::default(),
        vec![
            ("price-list".into(), "WEB".into()),
            ("currency".into(), "USD".into()),
        ],
        &CompileCache::none(),
    )
    .unwrap();
    let mut flow = CatalogFlow::new(
        "main".into(),
        rig.flow.sink.clone(),
        rig.flow.items.clone(),
        PluginSlot::fixed(plugin),
        rig.store.clone(),
    );
    let days = Arc::new(AtomicI64::new(0));
    let offset = days.clone();
    flow.today = Arc::new(move || {
        date!(2027 - 03 - 01) + time::Duration::days(offset.load(Ordering::SeqCst))
    });
    let sku = product_sku(1);
    let row = |start, expire, list_price| PriceRow {
        price_list: "WEB".into(),
        item: sku.clone(),
        currency: "USD".into(),
        start,
        expire,
        list_price,
    };
    rig.qad
        .set_price("acme", &row(date!(2026 - 01 - 01), None, 200_000));
    rig.qad.set_price(
        "acme",
        &row(date!(2027 - 03 - 02), Some(date!(2027 - 03 - 03)), 150_000),
    );
    let price = || listing(&rig.catalog(), &sku).unwrap().1;

    // 1 March: the promotion has not started.
    flow.poll().await.unwrap();
    assert_eq!(price(), Some(200_000));
    assert_eq!(flow.poll().await.unwrap().items_read, 0);

    // 2 March: it has, though nothing changed in QAD.
    days.store(1, Ordering::SeqCst);
    let started = flow.poll().await.unwrap();
    assert_eq!((started.items_read, started.sent), (1, 1));
    assert_eq!(price(), Some(150_000));

    // 5 March (two days without a run): it ended on the 3rd.
    days.store(4, Ordering::SeqCst);
    let ended = flow.poll().await.unwrap();
    assert_eq!((ended.items_read, ended.sent), (1, 1));
    assert_eq!(price(), Some(200_000));
    assert_eq!(flow.poll().await.unwrap().items_read, 0);
}

/// The same flow deciding drift by `policy`.
fn with_drift(flow: &CatalogFlow, policy: DriftPolicy) -> CatalogFlow {
    let mut other = CatalogFlow::new(
        flow.connection.clone(),
        flow.sink.clone(),
        flow.items.clone(),
        flow.plugin.clone(),
        flow.store.clone(),
    );
    other.drift = policy;
    other
}

/// A merchant's edits in the store (name, a variant's price) are checked against the item
/// master when their webhook's job runs: reported (parked, nothing written) by default,
/// restored when the connection says so; the webhooks of the connector's own updates find
/// nothing to do, and a store that does not keep what it is sent is reported, not fought.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchants_edit_is_reported_or_restored_and_never_starts_a_loop() {
    let rig = rig().await;
    rig.flow.poll().await.unwrap();
    let id_of = |sku: &str| {
        rig.catalog()
            .products
            .iter()
            .find(|p| p.sku == sku)
            .map(|p| p.id)
            .unwrap()
    };
    let (mug, family) = (id_of(&product_sku(3)), id_of("CAT-V-01"));
    let merchant = &rig.connection.bigcommerce;
    let rename = |id: u64, name: &str| ProductUpdate {
        id,
        name: Some(name.into()),
        ..ProductUpdate::default()
    };

    // In line with QAD: nothing to do.
    assert_eq!(
        rig.flow.check_product(mug).await.unwrap(),
        Outcome::Unchanged
    );

    // Renamed in the store: by default reported with both values, nothing written.
    merchant
        .update_products(&[rename(mug, "Merchant's mug")])
        .await
        .unwrap();
    let puts = rig.catalog_puts();
    let error = rig.flow.check_product(mug).await.unwrap_err().to_string();
    assert!(
        error.contains("Merchant's mug") && error.contains("Item 3"),
        "{error}"
    );
    assert_eq!(rig.catalog_puts(), puts, "a report writes nothing");

    // Restored when the connection asks for it; the check its own update's webhook
    // triggers finds nothing to do.
    let restoring = with_drift(&rig.flow, DriftPolicy::Restore);
    assert!(matches!(
        restoring.check_product(mug).await.unwrap(),
        Outcome::Sent { .. }
    ));
    assert_listed(&rig, 3, 0);
    let puts = rig.catalog_puts();
    assert_eq!(
        restoring.check_product(mug).await.unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(rig.catalog_puts(), puts);

    // Something changes it back at once (another app, a store that does not keep it):
    // reported, not sent again, so no loop can run.
    merchant
        .update_products(&[rename(mug, "Merchant's mug")])
        .await
        .unwrap();
    let error = restoring.check_product(mug).await.unwrap_err().to_string();
    assert!(error.contains("not restored again"), "{error}");
    assert_eq!(
        rig.catalog_puts().0,
        puts.0 + 1,
        "only the merchant's write"
    );

    // A variant's price, by its product (a `store/sku/updated` webhook).
    let variant = rig
        .catalog()
        .products
        .into_iter()
        .find(|p| p.id == family)
        .unwrap()
        .variants[2]
        .clone();
    merchant
        .update_variants(&[VariantUpdate {
            id: variant.id,
            price: Some(Number(1)),
            ..VariantUpdate::default()
        }])
        .await
        .unwrap();
    let n = catalog_skus()
        .iter()
        .position(|s| *s == variant.sku)
        .unwrap();
    assert!(matches!(
        restoring.check_product(family).await.unwrap(),
        Outcome::Sent { .. }
    ));
    assert_listed(&rig, n, 0);

    // A product whose SKUs QAD does not have is not the connector's to judge.
    let foreign = rig
        .bigcommerce
        .add_product("shop1", "NOT-IN-QAD", "Foreign", 10_000, &[])
        .unwrap();
    assert_eq!(
        rig.flow.check_product(foreign).await.unwrap(),
        Outcome::Unchanged
    );

    // Deliveries for one product queue a job each; the worker checks it once and the
    // check covers the others.
    for delivery in ["msg_1", "msg_2", "msg_3"] {
        rig.store
            .enqueue(&product_job("main", family, delivery, "webhook"))
            .await
            .unwrap();
    }
    let stats = rig.worker().drain(Duration::from_secs(30)).await.unwrap();
    assert_eq!((stats.unchanged, stats.parked), (1, 0), "{stats:?}");
    assert!(
        rig.store
            .jobs_in(JobState::Ready, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
