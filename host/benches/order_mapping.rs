//! One order mapped by the default `order-to-gl` plugin and by the JavaScript and Python
//! examples (`examples/js-order-to-gl`, `examples/py-order-to-gl`, when built): one record,
//! a batch of 100 (each record in a fresh instance of its own, as the host always maps),
//! and the Rust mapping compiled natively, for the ratio. Each measures the host's whole
//! call path: input size check, instantiation, fuel and deadline, the call, and output
//! validation. Before the timings it prints each plugin's fuel and peak memory per order,
//! and each example component's compile time against a load from the compile cache.
//!
//! Run: `cargo bench -p ml-connector --bench order_mapping`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ml_connector::plugins::builtin::builtin;
use std::path::Path;
use std::time::Instant;

use ml_connector::plugins::fixture::Fixture;
use ml_connector::plugins::types as host;
use ml_connector::plugins::{CompileCache, Limits, LoadedPlugin};
use ml_connector_plugin as guest;

const FIXTURE: &str = include_str!("../../examples/fixtures/order-basic.json");
const BATCH: usize = 100;

fn bench(c: &mut Criterion) {
    let fixture = Fixture::parse(FIXTURE).unwrap();
    let order: host::Order = serde_json::from_value(fixture.input.clone()).unwrap();
    let settings = fixture.settings();
    let plugin = LoadedPlugin::load(
        "order-to-gl",
        builtin("order-to-gl").unwrap(),
        Limits::default(),
        settings.clone(),
        &CompileCache::none(),
    )
    .unwrap();
    let orders: Vec<host::Order> = (0..BATCH)
        .map(|i| host::Order {
            id: format!("{}", 1000 + i),
            ..order.clone()
        })
        .collect();
    assert!(
        plugin
            .map_orders(&orders, None)
            .results
            .iter()
            .all(Result::is_ok)
    );

    report("order-to-gl", &plugin, &order);
    let examples: Vec<(&str, LoadedPlugin)> = [
        ("js", "js-order-to-gl", "npm ci && npm run build"),
        ("py", "py-order-to-gl", "./build.sh"),
    ]
    .into_iter()
    .filter_map(|(short, name, build)| Some((short, example_plugin(name, build, &order)?)))
    .collect();

    let mut group = c.benchmark_group("order_mapping");
    group.throughput(Throughput::Elements(1));
    group.bench_function("wasm_fresh_instance_per_record", |b| {
        b.iter(|| {
            let mapped = plugin.map_orders(std::slice::from_ref(&order), None);
            assert!(mapped.results[0].is_ok());
        })
    });
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("wasm_batch_of_100", |b| {
        b.iter(|| {
            let mapped = plugin.map_orders(&orders, None);
            assert_eq!(mapped.report.instances, BATCH as u32);
        })
    });
    for (short, example) in &examples {
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{short}_fresh_instance_per_record"), |b| {
            b.iter(|| {
                let mapped = example.map_orders(std::slice::from_ref(&order), None);
                assert!(mapped.results[0].is_ok());
            })
        });
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(format!("{short}_batch_of_100"), |b| {
            b.iter(|| {
                let mapped = example.map_orders(&orders, None);
                assert_eq!(mapped.report.instances, BATCH as u32);
            })
        });
    }
    let native_order = to_guest(&order);
    group.throughput(Throughput::Elements(1));
    group.bench_function("native_rust", |b| {
        b.iter(|| {
            let policy = order_to_gl::Policy::new(guest::Settings::new(&settings)).unwrap();
            let journal = order_to_gl::map_order(&policy, &native_order);
            assert!(journal.is_ok());
        })
    });
    group.finish();
}

/// Example plugin `name`, if built (by `build` in its folder), with its fixture's settings;
/// prints what its compilation costs with and without the compile cache.
fn example_plugin(name: &str, build: &str, order: &host::Order) -> Option<LoadedPlugin> {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    let Ok(bytes) = std::fs::read(project.join("dist/plugin.wasm")) else {
        eprintln!(
            "{name} is not built ({build} in {}); its cases are skipped",
            project.display()
        );
        return None;
    };
    let settings = Fixture::load(&project.join("fixtures/order-basic.json"))
        .unwrap()
        .settings();
    let load = |cache: &CompileCache| {
        let started = Instant::now();
        let plugin =
            LoadedPlugin::load(name, &bytes, Limits::default(), settings.clone(), cache).unwrap();
        (plugin, started.elapsed())
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = CompileCache::at(dir.path()).unwrap();
    let (_, compiled) = load(&CompileCache::none());
    let (_, stored) = load(&cache);
    let (plugin, cached) = load(&cache);
    eprintln!(
        "{name}: {} bytes; load compiling {compiled:.2?}, compiling and caching {stored:.2?}, from the cache {cached:.2?}",
        bytes.len()
    );
    report(name, &plugin, order);
    Some(plugin)
}

/// Prints the fuel and peak linear memory of one order.
fn report(name: &str, plugin: &LoadedPlugin, order: &host::Order) {
    let one = plugin.map_orders(std::slice::from_ref(order), None);
    assert!(one.results.iter().all(Result::is_ok));
    eprintln!(
        "{name}: one order {} fuel, {} KiB peak memory",
        one.report.fuel_consumed,
        one.report.memory_peak / 1024,
    );
}

/// The host's order as the guest SDK's type, field by field, for the native baseline.
fn to_guest(o: &host::Order) -> guest::Order {
    let currency = guest::Currency {
        code: o.currency.code.clone(),
        decimals: o.currency.decimals,
    };
    let address = |a: &host::Address| guest::Address {
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        company: a.company.clone(),
        street1: a.street1.clone(),
        street2: a.street2.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        zip: a.zip.clone(),
        country: a.country.clone(),
        phone: a.phone.clone(),
    };
    let c = &o.customer;
    guest::Order {
        id: o.id.clone(),
        store: o.store.clone(),
        status_id: o.status_id,
        status: o.status.clone(),
        created_at: o.created_at.clone(),
        modified_at: o.modified_at.clone(),
        currency,
        exchange_rate: guest::Decimal {
            digits: o.exchange_rate.digits,
            scale: o.exchange_rate.scale,
        },
        customer: guest::Customer {
            id: c.id.clone(),
            email: c.email.clone(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            company: c.company.clone(),
            phone: c.phone.clone(),
            group: c.group.clone(),
            billing_address: c.billing_address.as_ref().map(address),
        },
        erp_customer: o.erp_customer.clone(),
        lines: o
            .lines
            .iter()
            .map(|l| guest::OrderLine {
                id: l.id.clone(),
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                total_ex_tax: l.total_ex_tax,
                total_tax: l.total_tax,
                discount: l.discount,
                tax_class: l.tax_class.clone(),
                product_id: l.product_id.clone(),
                variant_id: l.variant_id.clone(),
                cost_price: l.cost_price,
            })
            .collect(),
        subtotal_ex_tax: o.subtotal_ex_tax,
        shipping_ex_tax: o.shipping_ex_tax,
        shipping_tax: o.shipping_tax,
        handling_ex_tax: o.handling_ex_tax,
        handling_tax: o.handling_tax,
        wrapping_ex_tax: o.wrapping_ex_tax,
        wrapping_tax: o.wrapping_tax,
        discounts: o
            .discounts
            .iter()
            .map(|d| guest::Discount {
                kind: match d.kind {
                    host::DiscountKind::Coupon => guest::DiscountKind::Coupon,
                    host::DiscountKind::Automatic => guest::DiscountKind::Automatic,
                    host::DiscountKind::Manual => guest::DiscountKind::Manual,
                },
                code: d.code.clone(),
                amount: d.amount,
            })
            .collect(),
        taxes: o
            .taxes
            .iter()
            .map(|t| guest::TaxLine {
                code: t.code.clone(),
                name: t.name.clone(),
                amount: t.amount,
            })
            .collect(),
        total_tax: o.total_tax,
        total_inc_tax: o.total_inc_tax,
        payments: o
            .payments
            .iter()
            .map(|p| guest::PaymentTransaction {
                id: p.id.clone(),
                event: match p.event {
                    host::TransactionEvent::Purchase => guest::TransactionEvent::Purchase,
                    host::TransactionEvent::Authorization => guest::TransactionEvent::Authorization,
                    host::TransactionEvent::Capture => guest::TransactionEvent::Capture,
                    host::TransactionEvent::Refund => guest::TransactionEvent::Refund,
                    host::TransactionEvent::Void => guest::TransactionEvent::Void,
                    host::TransactionEvent::Pending => guest::TransactionEvent::Pending,
                    host::TransactionEvent::Settled => guest::TransactionEvent::Settled,
                },
                method: p.method.clone(),
                gateway: p.gateway.clone(),
                amount: p.amount,
                succeeded: p.succeeded,
                date: p.date.clone(),
                test: p.test,
            })
            .collect(),
        tenders: o
            .tenders
            .iter()
            .map(|t| guest::Tender {
                kind: match t.kind {
                    host::TenderKind::GiftCertificate => guest::TenderKind::GiftCertificate,
                    host::TenderKind::StoreCredit => guest::TenderKind::StoreCredit,
                    host::TenderKind::Offline => guest::TenderKind::Offline,
                },
                name: t.name.clone(),
                amount: t.amount,
                transaction_id: t.transaction_id.clone(),
            })
            .collect(),
        payment_status: o.payment_status.clone(),
        payment_method: o.payment_method.clone(),
        channel_id: o.channel_id,
        source: o.source.clone(),
        attributes: o.attributes.clone(),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
