//! Hostile plugins, each built by this test suite from `plugins/testing/`: every one is
//! stopped or refused with an error that names the plugin and the limit, and the host
//! keeps serving other calls.

use std::time::{Duration, Instant};

use ml_connector::plugins::types::{ErpItem, ErpPrice};
use ml_connector::plugins::{FaultKind, Limits, LoadError, LoadedPlugin, RecordError, Refusal};
use ml_connector_tests::test_plugins::*;
use ml_connector_tests::*;

fn map_one(plugin: &LoadedPlugin) -> Result<(), RecordError> {
    let mapped = plugin.map_orders(&[example_order()], None);
    mapped.results.into_iter().next().unwrap().map(|_| ())
}

fn fault_of(error: RecordError) -> ml_connector::plugins::Fault {
    match error {
        RecordError::Fault(fault) => fault,
        other => panic!("expected a sandbox fault, got {other:?}"),
    }
}

/// The default plugin still maps the example order exactly as its fixture says.
fn host_still_serves() {
    let plugin = default_order_plugin();
    let mapped = plugin.map_orders(&[example_order()], None);
    let entry = mapped
        .results
        .into_iter()
        .next()
        .unwrap()
        .expect("the default plugin maps the example order");
    assert_eq!(
        serde_json::to_value(&entry).unwrap(),
        order_fixture().expected().unwrap().clone()
    );
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let plugin = load_file(INFINITE_LOOP, vec![]).unwrap();
    let fault = fault_of(map_one(&plugin).unwrap_err());
    assert_eq!(
        fault.kind,
        FaultKind::OutOfFuel {
            limit: Limits::default().fuel_per_record
        }
    );
    let message = fault.to_string();
    assert!(
        message.starts_with("plugin `infinite-loop` 0.1.0"),
        "{message}"
    );
    assert!(
        message.contains("ran out of fuel (CPU limit of 100000000 units)"),
        "{message}"
    );
    host_still_serves();
}

#[test]
fn an_infinite_loop_with_fuel_to_spare_hits_the_wall_clock_deadline() {
    let limits = Limits {
        fuel_per_record: u64::MAX / 4,
        time_per_record_ms: 200,
        ..Limits::default()
    };
    let plugin = load_with_limits(INFINITE_LOOP, vec![], limits).unwrap();
    let fault = fault_of(map_one(&plugin).unwrap_err());
    assert_eq!(fault.kind, FaultKind::Timeout { limit_ms: 200 });
    assert!(
        fault
            .to_string()
            .contains("ran past its time limit of 200 ms"),
        "{fault}"
    );
    host_still_serves();
}

#[test]
fn a_memory_bomb_stops_at_the_memory_cap() {
    let plugin = load_file(MEMORY_BOMB, vec![]).unwrap();
    let fault = fault_of(map_one(&plugin).unwrap_err());
    let FaultKind::MemoryLimit { limit, requested } = fault.kind else {
        panic!("expected a memory fault, got {fault}")
    };
    assert_eq!(limit, 32 * 1024 * 1024);
    assert!(requested > limit);
    assert!(
        fault
            .to_string()
            .contains("exceeded its memory limit of 33554432 bytes"),
        "{fault}"
    );
    host_still_serves();
}

#[test]
fn a_trap_is_reported_with_the_panic_message_and_the_store_is_discarded() {
    let plugin = load_file(TRAP, vec![]).unwrap();
    let fault = fault_of(
        plugin
            .map_orders(&[order_with_id("panic-1")], None)
            .results
            .remove(0)
            .unwrap_err(),
    );
    let FaultKind::Trap(detail) = &fault.kind else {
        panic!("expected a trap, got {fault}")
    };
    assert!(detail.contains("unreachable"), "{detail}");
    assert!(
        detail.contains("cannot map order panic-1"),
        "the panic message is kept: {detail}"
    );
    assert!(
        fault.to_string().starts_with("plugin `trap` 0.1.0"),
        "{fault}"
    );
    // A fresh store per call: the next record is mapped normally.
    assert!(map_one(&plugin).is_ok());
    host_still_serves();
}

#[test]
fn a_no_std_plugin_reports_its_panic_message_through_the_host_log() {
    let plugin = load_file(TRAP_NO_STD, vec![]).unwrap();
    assert!(
        !plugin
            .inspection()
            .imports
            .iter()
            .any(|i| i.starts_with("wasi:")),
        "a no_std plugin imports no WASI: {:?}",
        plugin.inspection().imports
    );
    let mapped = plugin.map_orders(&[order_with_id("panic-7")], None);
    let fault = fault_of(mapped.results.into_iter().next().unwrap().unwrap_err());
    assert!(matches!(fault.kind, FaultKind::Trap(_)), "{fault}");
    assert!(
        mapped
            .report
            .logs
            .iter()
            .any(|l| l.starts_with("[error] panicked") && l.contains("cannot map order panic-7")),
        "{:?}",
        mapped.report.logs
    );
}

#[test]
fn a_fault_lands_only_on_the_record_that_caused_it() {
    let plugin = load_file(TRAP, vec![]).unwrap();
    let orders = [
        order_with_id("1"),
        order_with_id("panic-2"),
        order_with_id("3"),
    ];
    let mapped = plugin.map_orders(&orders, None);
    assert!(mapped.results[0].is_ok());
    assert!(
        matches!(&mapped.results[1], Err(RecordError::Fault(f)) if matches!(f.kind, FaultKind::Trap(_)))
    );
    assert!(mapped.results[2].is_ok());
    assert_eq!(mapped.report.instances, 3, "one instance per record");
}

#[test]
fn every_record_is_mapped_in_a_fresh_instance() {
    let plugin = default_order_plugin();
    let orders: Vec<_> = (0..600).map(|i| order_with_id(&i.to_string())).collect();
    let mapped = plugin.map_orders(&orders, None);
    assert_eq!(mapped.report.instances, 600);
    assert_eq!(mapped.results.len(), 600);
    assert!(mapped.results.iter().all(Result::is_ok));
    assert_eq!(
        mapped.results[599].as_ref().unwrap().description,
        "Order 599"
    );
}

#[test]
fn an_oversized_record_is_refused_before_the_call_and_the_rest_are_mapped() {
    let plugin = default_order_plugin();
    let mut big = order_with_id("big");
    big.attributes = vec![("note".to_string(), "x".repeat(300 * 1024))];
    let orders = [order_with_id("1"), big, order_with_id("3")];
    let mapped = plugin.map_orders(&orders, None);
    assert!(mapped.results[0].is_ok() && mapped.results[2].is_ok());
    let error = mapped.results[1].as_ref().unwrap_err();
    assert!(
        matches!(error, RecordError::InputTooLarge { limit: 262_144, .. }),
        "{error:?}"
    );
    assert_eq!(mapped.report.instances, 2);
}

#[test]
fn a_chatty_plugin_keeps_working_and_its_output_is_bounded() {
    let plugin = load_file(CHATTY, vec![]).unwrap();
    let mapped = plugin.map_orders(&[example_order()], None);
    assert!(mapped.results[0].is_ok(), "{:?}", mapped.results[0]);
    let budget = Limits::default().log_bytes_per_call;
    let kept: usize = mapped.report.logs.iter().map(String::len).sum();
    // Host log lines, stdout and stderr: each within the budget, plus the headers.
    assert!(kept <= 3 * budget + 200, "kept {kept} bytes of logs");
    assert!(
        mapped
            .report
            .logs
            .iter()
            .any(|l| l.starts_with("[stdout] 0 xxx"))
    );
    assert!(
        mapped
            .report
            .logs
            .iter()
            .any(|l| l.starts_with("[stderr] 0 xxx"))
    );
    let dropped = mapped.report.logs.last().unwrap();
    assert!(
        dropped.starts_with("[host] ") && dropped.contains("more log lines dropped"),
        "{dropped}"
    );
}

#[test]
fn a_huge_output_is_refused_by_size() {
    let plugin = load_file(HUGE_OUTPUT, vec![]).unwrap();
    let error = map_one(&plugin).unwrap_err();
    let RecordError::Invalid {
        plugin: name,
        refusal: Refusal::TooLarge { limit, .. },
    } = &error
    else {
        panic!("expected output refused by size, got {error:?}")
    };
    assert_eq!(name, "huge-output");
    assert_eq!(*limit, 65536);
    host_still_serves();
}

#[test]
fn an_unbalanced_journal_is_refused() {
    let plugin = load_file(UNBALANCED, vec![]).unwrap();
    let error = map_one(&plugin).unwrap_err();
    assert_eq!(
        error.to_string(),
        "plugin `unbalanced` produced invalid output: journal does not balance: debits 1.0000 and credits 0.9900 USD"
    );
    host_still_serves();
}

#[test]
fn a_plugin_importing_the_filesystem_is_refused_before_compiling() {
    let error = load_file(FILESYSTEM, vec![]).unwrap_err();
    assert!(
        error.starts_with(
            "plugin `filesystem` imports what plugins are not given: wasi:filesystem/"
        ),
        "{error}"
    );
    assert!(error.contains("(file access)"), "{error}");
    host_still_serves();
}

#[test]
fn a_plugin_importing_sockets_is_refused_before_compiling() {
    let error = load_file(SOCKETS, vec![]).unwrap_err();
    assert!(
        error.starts_with("plugin `sockets` imports what plugins are not given: "),
        "{error}"
    );
    assert!(
        error.contains("wasi:sockets/") && error.contains("(network access)"),
        "{error}"
    );
    host_still_serves();
}

#[test]
fn a_plugin_that_keeps_faulting_is_quarantined() {
    let plugin = load_file(TRAP, vec![]).unwrap();
    let faults = Limits::default().quarantine_after_faults;
    for i in 0..faults {
        assert!(
            !plugin.is_quarantined(),
            "quarantined after only {i} faults"
        );
        let _ = plugin.map_orders(&[order_with_id("panic")], None);
    }
    assert!(plugin.is_quarantined());
    let fault = fault_of(map_one(&plugin).unwrap_err());
    assert_eq!(fault.kind, FaultKind::Quarantined { faults });
    assert!(
        fault
            .to_string()
            .contains("quarantined after 5 consecutive faults"),
        "{fault}"
    );
    host_still_serves();
}

#[test]
fn hostile_calls_running_beside_good_ones_do_not_disturb_them() {
    let bomb = load_file(MEMORY_BOMB, vec![]).unwrap();
    let looping = load_file(INFINITE_LOOP, vec![]).unwrap();
    let good = default_order_plugin();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..3 {
                assert!(map_one(&bomb).is_err());
            }
        });
        scope.spawn(|| {
            for _ in 0..3 {
                assert!(map_one(&looping).is_err());
            }
        });
        for _ in 0..50 {
            map_one(&good).expect("good calls succeed while hostile ones run");
        }
    });
}

#[test]
fn bad_binaries_get_a_one_line_reason() {
    let garbage = load_bytes("garbage", b"\0asm\x0d\0\x01\0not really");
    assert!(matches!(garbage, Err(LoadError::Invalid(_))));
    let core = wasmtime_wat("(module (func (export \"map-order\")))");
    let error = load_bytes("core", &core).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("is a core WebAssembly module, not a component"),
        "{error}"
    );
    let future = wasmtime_wat(
        r#"(component
             (instance $i)
             (export "ml-connector:mapping/plugin@0.3.0" (instance $i))
             (export "ml-connector:mapping/orders@0.3.0" (instance $i)))"#,
    );
    let error = load_bytes("future", &future).unwrap_err();
    assert_eq!(
        error.to_string(),
        "was built against contract version 0.3.0; this host supports 0.1.x or 0.2.x"
    );
    for error in [garbage.unwrap_err().to_string(), error.to_string()] {
        assert!(!error.contains('\n'), "one line: {error}");
    }
}

#[test]
fn a_component_with_the_right_names_but_wrong_types_is_refused_by_name() {
    let impostor = wasmtime_wat(
        r#"(component
             (core module $m (func (export "f") (result i32) i32.const 0))
             (core instance $i (instantiate $m))
             (func $f (result u32) (canon lift (core func $i "f")))
             (instance $plugin (export "describe" (func $f)) (export "validate-config" (func $f)))
             (instance $orders
               (export "map-order" (func $f)) (export "map-refund" (func $f))
               (export "map-customer" (func $f)) (export "map-orders" (func $f))
               (export "map-refunds" (func $f)) (export "map-customers" (func $f)))
             (export "ml-connector:mapping/plugin@0.1.0" (instance $plugin))
             (export "ml-connector:mapping/orders@0.1.0" (instance $orders)))"#,
    );
    let error = load_bytes("impostor", &impostor).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("does not match its world: export `describe`"),
        "{message}"
    );

    let missing = wasmtime_wat(
        r#"(component
             (core module $m (func (export "f") (result i32) i32.const 0))
             (core instance $i (instantiate $m))
             (func $f (result u32) (canon lift (core func $i "f")))
             (instance $plugin (export "describe" (func $f)) (export "validate-config" (func $f)))
             (instance $orders (export "map-order" (func $f)))
             (export "ml-connector:mapping/plugin@0.1.0" (instance $plugin))
             (export "ml-connector:mapping/orders@0.1.0" (instance $orders)))"#,
    );
    let error = load_bytes("partial", &missing).unwrap_err();
    assert_eq!(
        error.to_string(),
        "does not match its world: it does not export function `map-refund`"
    );
}

#[test]
fn a_config_the_plugin_rejects_keeps_it_inactive_with_the_reason() {
    let bytes = ml_connector::plugins::builtin::builtin("order-to-gl").unwrap();
    let settings = vec![
        ("account.revenue".to_string(), "4000".to_string()),
        ("acount.tax".to_string(), "2200".to_string()),
    ];
    let error = LoadedPlugin::load(
        "order-to-gl",
        bytes,
        Limits::default(),
        settings,
        &Default::default(),
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("rejected its configuration: "),
        "{message}"
    );
    assert!(
        message.contains("setting `account.tax` is required [missing-setting] at `account.tax`"),
        "{message}"
    );
    assert!(
        message.contains("unknown setting `acount.tax` [unknown-setting]"),
        "{message}"
    );
}

// Sleeping: a plugin's sleeps move its own virtual clock at once; one that would sleep
// past the call's time limit is stopped there, and no host thread ever waits for it.

/// The sleeper plugin with `sleep.map` (or `sleep.validate`) set.
fn sleeper(key: &str, value: &str) -> Result<LoadedPlugin, String> {
    load_file(SLEEPER, vec![(key.to_string(), value.to_string())])
}

#[test]
fn a_sleep_within_the_time_limit_passes_on_the_plugins_clock_without_waiting() {
    let plugin = sleeper("sleep.map", "500").unwrap();
    let started = Instant::now();
    let entry = plugin
        .map_orders(&[example_order()], None)
        .results
        .remove(0)
        .unwrap();
    // The plugin's monotonic clock moved by what it slept...
    assert_eq!(entry.lines[0].memo, "slept 500 ms");
    // ...but the host did not wait for it (a generous bound: half a second was asked).
    assert!(
        started.elapsed() < Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_sleep_past_the_time_limit_is_stopped_as_a_timeout() {
    for asked in ["5000", "forever"] {
        let plugin = sleeper("sleep.map", asked).unwrap();
        let started = Instant::now();
        let fault = fault_of(map_one(&plugin).unwrap_err());
        assert_eq!(
            fault.kind,
            FaultKind::Timeout { limit_ms: 1_000 },
            "{asked}"
        );
        assert!(
            fault
                .to_string()
                .contains("ran past its time limit of 1000 ms"),
            "{fault}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{asked}: {:?}",
            started.elapsed()
        );
    }
    host_still_serves();
}

#[test]
fn sleeping_in_describe_or_validate_config_fails_the_load_at_once() {
    let started = Instant::now();
    let error = sleeper("sleep.validate", "forever").unwrap_err();
    assert!(
        error.contains("faulted in `validate-config`") && error.contains("ran past its time limit"),
        "{error}"
    );
    let error = load_file(SLEEPY_DESCRIBE, vec![]).unwrap_err();
    assert!(
        error.contains("faulted in `describe`") && error.contains("ran past its time limit"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // A short sleep while loading is only a moment on the plugin's clock.
    assert!(sleeper("sleep.validate", "200").is_ok());
}

#[test]
fn more_sleepers_than_pool_slots_leave_the_pool_free() {
    let plugin = sleeper("sleep.map", "forever").unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..40 {
                    let _ = plugin.map_orders(&[example_order()], None);
                }
            });
        }
    });
    // 160 sleeping calls, more than the pool's 64 slots: each gave its slot back.
    host_still_serves();
}

// Isolation: no record can see another's.

fn item(sku: &str, price: i64) -> ErpItem {
    ErpItem {
        sku: sku.to_string(),
        description: format!("Item {sku}"),
        description2: String::new(),
        status: "ACTIVE".to_string(),
        unit_of_measure: "EA".to_string(),
        changed_on: "2026-11-20".to_string(),
        prices: vec![ErpPrice {
            price_list: "RETAIL".to_string(),
            currency: "USD".to_string(),
            amount: price,
            effective_from: "2026-01-01".to_string(),
        }],
    }
}

#[test]
fn a_plugin_keeping_a_static_sees_no_other_record() {
    let plugin = load_file(STATEFUL_CATALOG, vec![]).unwrap();
    let items: Vec<ErpItem> = (0..73)
        .map(|i| item(&format!("SKU-{i}"), 10_000 + i))
        .collect();
    let mapped = plugin.map_items(&items);
    for (i, result) in mapped.results.iter().enumerate() {
        let update = result.as_ref().unwrap().as_ref().unwrap();
        assert_eq!(update.name.as_deref(), Some("saw nothing"), "item {i}");
    }
    // And across calls: the same item always maps the same way.
    let again = plugin.map_items(&items[..1]);
    assert_eq!(
        again.results[0]
            .as_ref()
            .unwrap()
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("saw nothing")
    );
}

// Host-owned facts: a journal must carry its order's currency, rate and customer, be
// dated near it, be no larger than it, and not be empty; the host posts it normalised.

fn lie(how: &str) -> Result<ml_connector::plugins::types::JournalEntry, RecordError> {
    let plugin = load_file(LIAR, vec![("lie".to_string(), how.to_string())]).unwrap();
    plugin
        .map_orders(&[example_order()], None)
        .results
        .remove(0)
}

#[test]
fn journals_that_misstate_their_order_are_refused() {
    for (how, reason) in [
        ("rate", "journal exchange rate"),
        ("rate-negative", "journal exchange rate"),
        ("rate-overflow", "journal exchange rate"),
        ("currency", "journal currency `XAU` differs from the order"),
        ("customer", "journal customer `SOMEONE-ELSE` differs"),
        ("empty", "journal is empty, but the order"),
        ("zero-lines", "journal is empty, but the order"),
        // 922,337,203,685,477.58 on each side of an order of about a hundred dollars.
        ("huge", "more than the"),
        (
            "date-month",
            "effective date `2026-13-45` is not a calendar date",
        ),
        (
            "date-zero",
            "effective date `0000-00-00` is not a calendar date",
        ),
        ("date-far", "effective date 1999-01-01 is outside"),
    ] {
        let error = lie(how).unwrap_err();
        let RecordError::Invalid { refusal, .. } = &error else {
            panic!("{how}: expected invalid output, got {error:?}")
        };
        let got = refusal.to_string();
        assert!(got.contains(reason), "{how}: {got}");
    }
}

#[test]
fn facts_left_to_the_host_or_written_loosely_are_posted_as_the_orders() {
    let order = example_order();
    let zero = lie("rate-zero").unwrap();
    assert_eq!(zero.exchange_rate, order.exchange_rate);
    let lower = lie("currency-case").unwrap();
    assert_eq!(lower.currency, order.currency.code);
    let padded = lie("padded-account").unwrap();
    assert_eq!(padded.lines[0].account, "1200");
    assert_eq!(padded.lines[1].account, "4000");
    assert_eq!(padded.erp_customer, order.erp_customer);
}

// Text a plugin writes is printable wherever the host shows it.

const FORBIDDEN: [char; 5] = ['\u{1b}', '\n', '\r', '\u{202e}', '\u{7}'];

fn assert_printable(text: &str) {
    assert!(
        !text.contains(FORBIDDEN),
        "raw control characters in {text:?}"
    );
}

#[test]
fn plugin_text_reaches_logs_and_errors_escaped() {
    let plugin = load_file(ESCAPES, vec![]).unwrap();
    let info = plugin.info();
    for text in [&info.name, &info.version, &info.description] {
        assert_printable(text);
        assert!(text.contains("\\u{1b}[2J"), "{text}");
    }
    let panicked = plugin.map_orders(&[order_with_id("panic-1")], None);
    let fault = panicked.results[0].as_ref().unwrap_err().to_string();
    assert_printable(&fault);
    assert!(fault.contains("panic \\u{1b}[2J"), "{fault}");
    let declined = plugin.map_orders(&[order_with_id("decline-1")], None);
    assert_printable(&declined.results[0].as_ref().unwrap_err().to_string());
    let mapped = plugin.map_orders(&[example_order()], None);
    assert!(mapped.results[0].is_ok());
    assert!(!mapped.report.logs.is_empty());
    for line in mapped.report.logs.iter().chain(&panicked.report.logs) {
        assert_printable(line);
    }
}

fn wasmtime_wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("valid WebAssembly text")
}
