//! Hostile plugins, each built by this test suite from `plugins/testing/`: every one is
//! stopped or refused with an error that names the plugin and the limit, and the host
//! keeps serving other calls.

use ml_connector::plugins::{FaultKind, Isolation, Limits, LoadError, LoadedPlugin, RecordError};
use ml_connector_tests::test_plugins::*;
use ml_connector_tests::*;

fn map_one(plugin: &LoadedPlugin) -> Result<(), RecordError> {
    let mapped = plugin.map_orders(&[example_order()], Isolation::Record, None);
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
    let mapped = plugin.map_orders(&[example_order()], Isolation::Batch, None);
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
        time_per_record_ms: 50,
        min_call_ms: 200,
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
            .map_orders(&[order_with_id("panic-1")], Isolation::Record, None)
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
    let mapped = plugin.map_orders(&[order_with_id("panic-7")], Isolation::Record, None);
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
fn a_fault_in_a_batch_lands_only_on_the_record_that_caused_it() {
    let plugin = load_file(TRAP, vec![]).unwrap();
    let orders = [
        order_with_id("1"),
        order_with_id("panic-2"),
        order_with_id("3"),
    ];
    let mapped = plugin.map_orders(&orders, Isolation::Batch, None);
    assert!(mapped.results[0].is_ok());
    assert!(
        matches!(&mapped.results[1], Err(RecordError::Fault(f)) if matches!(f.kind, FaultKind::Trap(_)))
    );
    assert!(mapped.results[2].is_ok());
    // One batch instance, then one per record for the retry.
    assert_eq!(mapped.report.instances, 4);
}

#[test]
fn a_large_batch_is_split_across_fresh_instances() {
    let plugin = default_order_plugin();
    let orders: Vec<_> = (0..600).map(|i| order_with_id(&i.to_string())).collect();
    let mapped = plugin.map_orders(&orders, Isolation::Batch, None);
    assert_eq!(mapped.report.instances, 3, "256 + 256 + 88 records");
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
    let mapped = plugin.map_orders(&orders, Isolation::Batch, None);
    assert!(mapped.results[0].is_ok() && mapped.results[2].is_ok());
    let error = mapped.results[1].as_ref().unwrap_err();
    assert!(
        matches!(error, RecordError::InputTooLarge { limit: 262_144, .. }),
        "{error:?}"
    );
    assert_eq!(mapped.report.instances, 1);
}

#[test]
fn a_chatty_plugin_keeps_working_and_its_output_is_bounded() {
    let plugin = load_file(CHATTY, vec![]).unwrap();
    let mapped = plugin.map_orders(&[example_order()], Isolation::Record, None);
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
        reason,
    } = &error
    else {
        panic!("expected invalid output, got {error:?}")
    };
    assert_eq!(name, "huge-output");
    assert!(reason.contains("over the limit of 65536"), "{reason}");
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
        let _ = plugin.map_orders(&[order_with_id("panic")], Isolation::Record, None);
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
             (export "ml-connector:mapping/plugin@0.2.0" (instance $i))
             (export "ml-connector:mapping/orders@0.2.0" (instance $i)))"#,
    );
    let error = load_bytes("future", &future).unwrap_err();
    assert_eq!(
        error.to_string(),
        "was built against contract version 0.2.0; this host supports 0.1.x"
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

fn wasmtime_wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("valid WebAssembly text")
}
