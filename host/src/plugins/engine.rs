//! The one wasmtime [`Engine`] of the process, configured here and nowhere else.
//!
//! Every setting says why it is set and what it costs. Plugins are merchant code we do not
//! trust, run on our hot path, and must give the same answer every time; the settings
//! below follow from those three facts.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use super::limits::Limits;

/// How often the epoch ticks. A call's wall-clock deadline is counted in ticks, so this is
/// the deadline's resolution. 10 ms is Spin's value; the ticker thread costs nothing
/// measurable.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Instances the pool can hold at once (each with its memories and tables). Calls beyond
/// this wait on the invoker's semaphore instead of failing.
pub const POOL_INSTANCES: u32 = 64;

static ENGINE: OnceLock<Engine> = OnceLock::new();

/// The process-wide engine. Built on first use; the epoch ticker starts with it.
pub fn engine() -> &'static Engine {
    ENGINE.get_or_init(|| {
        let engine = Engine::new(&config()).expect("the plugin engine configuration is valid");
        start_epoch_ticker(&engine);
        engine
    })
}

fn config() -> Config {
    let mut config = Config::new();

    // Component model on; its concurrency machinery off (the async proposal and threads
    // are not compiled in at all): plugins are pure synchronous functions, and
    // concurrency support makes every call slower.
    config.wasm_component_model(true);
    config.concurrency_support(false);

    // Two interruption mechanisms, because each covers the other's gap. Fuel is
    // deterministic (the same order always costs the same) and is what a plugin's CPU
    // budget is counted in; it costs about 15% of guest speed. The epoch is a wall-clock
    // backstop for what fuel does not meter well (bulk memory ops copy many bytes per
    // unit of fuel); it costs about another 10%.
    config.consume_fuel(true);
    config.epoch_interruption(true);

    // Determinism: the same plugin on the same input produces the same bits everywhere.
    // NaN canonicalisation costs a little on float-heavy code, which mapping code is not.
    config.cranelift_nan_canonicalization(true);
    config.wasm_relaxed_simd(false);

    // Proposals no mapping needs: less surface for a hostile plugin.
    config.wasm_gc(false);
    config.gc_support(false);
    config.wasm_stack_switching(false);

    // Guests get a modest stack; deep recursion traps cleanly instead of growing.
    config.max_wasm_stack(512 * 1024);
    config.cranelift_opt_level(OptLevel::Speed);

    // The pooling allocator: instance slots are reserved once, so creating the fresh
    // instance every record needs is a few microseconds instead of mmap calls that
    // contend under concurrency. Copy-on-write heap images (on by default) make the
    // guest's data segments free to map.
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * 4)
        .total_memories(POOL_INSTANCES * 2)
        .total_tables(POOL_INSTANCES * 4)
        .max_memories_per_component(2)
        // The ceiling, so an operator can raise a plugin's memory limit; each store's
        // limiter holds the plugin's own. A slot reserves address space, not memory.
        .max_memory_size(Limits::CEILING.memory_bytes)
        // Memory a slot keeps mapped after use. Only the pages an instance dirtied are
        // zeroed on reset (wasmtime reads the page map), so a large value costs little
        // per instance, while pages past it are unmapped and fault in again: 1 MiB covers
        // the largest order a default plugin maps. The price is up to 1 MiB resident per used slot.
        .linear_memory_keep_resident(1024 * 1024)
        .table_keep_resident(16 * 1024);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// A background thread that advances the epoch every [`EPOCH_TICK`], holding only a weak
/// reference so it ends with the engine.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("the epoch ticker thread starts");
}

/// Ticks of [`EPOCH_TICK`] in `limit`, at least one.
pub fn ticks(limit: Duration) -> u64 {
    (limit.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}
