//! What a plugin instance can touch: the per-store state (memory limiter, bounded log,
//! deterministic WASI context, virtual monotonic time) and the one linker, which holds
//! only the host `log` and the deterministic WASI stand-ins listed in
//! `inspect::ALLOWED_IMPORTS`. Files, sockets, HTTP and the environment are simply not in
//! the linker.
//!
//! Nothing a plugin can call blocks the host thread. Its streams are always ready, and its
//! monotonic clock is virtual: a sleep (`subscribe-duration` or `subscribe-instant`, then
//! `poll`) moves the plugin's clock forward at once instead of waiting, and a sleep that
//! would carry it past the call's time limit stops the call as a timeout. The epoch
//! deadline only interrupts guest code, so a host call that really slept would hold a
//! worker thread and a pool slot for as long as the plugin asked.

use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use wasmtime::component::{HasData, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{ResourceLimiter, Result};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::pipe::ClosedInputStream;
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{Deterministic, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::{v0_1, v0_2};
use super::engine::engine;
use super::text::printable;

/// The fixed instant a plugin's wall clock reads: 2000-01-01T00:00:00Z. Mappings must
/// take dates from their input, never from the clock.
const FIXED_WALL_CLOCK: Duration = Duration::from_secs(946_684_800);

/// Seed of every plugin's random numbers: the same input always gives the same output.
const RANDOM_SEED: u128 = 0x6d6c_2d63_6f6e_6e65_6374_6f72_2d73_6565;

/// State of one store: one call (one record, or `describe` or `validate-config`).
pub struct State {
    pub(super) memory: MemoryLimiter,
    pub(super) log: LogBuffer,
    pub(super) time: VirtualTime,
    table: ResourceTable,
    wasi: Option<Wasi>,
}

struct Wasi {
    ctx: WasiCtx,
    stdout: CappedOutput,
    stderr: CappedOutput,
}

impl State {
    /// `time_limit`: the call's wall-clock budget, which the plugin's sleeps count against.
    pub fn new(memory_bytes: usize, log_bytes: usize, time_limit: Duration) -> Self {
        State {
            memory: MemoryLimiter {
                cap: memory_bytes,
                peak: 0,
                refused: None,
            },
            log: LogBuffer::new(log_bytes),
            time: VirtualTime {
                now: Duration::ZERO,
                limit: time_limit,
                overslept: None,
            },
            table: ResourceTable::new(),
            wasi: None,
        }
    }

    /// Everything the plugin wrote, host `log` lines first, then stdout and stderr, each
    /// one printable line.
    pub fn take_log(&mut self) -> Vec<String> {
        let mut lines = std::mem::take(&mut self.log.lines);
        if let Some(wasi) = &self.wasi {
            for (stream, pipe) in [("stdout", &wasi.stdout), ("stderr", &wasi.stderr)] {
                let bytes = pipe.contents();
                if !bytes.is_empty() {
                    let full = if bytes.len() >= pipe.capacity {
                        " [cut at the log budget]"
                    } else {
                        ""
                    };
                    // Escaping may lengthen the text: the budget holds for what is shown.
                    let mut text = printable(String::from_utf8_lossy(&bytes).trim_end());
                    text.truncate(text.floor_char_boundary(pipe.capacity));
                    lines.push(format!("[{stream}] {text}{full}"));
                }
            }
        }
        if self.log.dropped > 0 {
            lines.push(format!(
                "[host] {} more log lines dropped (log budget {} bytes)",
                self.log.dropped, self.log.budget
            ));
        }
        lines
    }
}

impl Wasi {
    /// A deterministic WASI context: stdout and stderr share the log budget (each is
    /// capped at the whole of it).
    fn new(log_bytes: usize) -> Wasi {
        let stdout = CappedOutput::new(log_bytes);
        let stderr = CappedOutput::new(log_bytes);
        let ctx = WasiCtxBuilder::new()
            .stdin(ClosedInputStream)
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FixedClock)
            .secure_random(Deterministic::new(RANDOM_SEED.to_le_bytes().to_vec()))
            .insecure_random(Deterministic::new(RANDOM_SEED.to_be_bytes().to_vec()))
            .insecure_random_seed(RANDOM_SEED)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Wasi {
            ctx,
            stdout,
            stderr,
        }
    }
}

impl WasiView for State {
    /// Built on the first WASI call, not with the store: Rust std guests import WASI
    /// (for panic messages) but most calls never use it, and building a context for
    /// every fresh instance would cost more than the rest of instantiation.
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let budget = self.log.budget;
        let wasi = self.wasi.get_or_insert_with(|| Wasi::new(budget));
        WasiCtxView {
            ctx: &mut wasi.ctx,
            table: &mut self.table,
        }
    }
}

impl v0_2::host::Host for State {
    fn log(&mut self, level: v0_2::host::LogLevel, message: String) {
        self.log.push(level, &message);
    }
}

impl v0_2::types::Host for State {}

impl v0_1::host::Host for State {
    fn log(&mut self, level: v0_1::host::LogLevel, message: String) {
        let level = match level {
            v0_1::host::LogLevel::Debug => v0_2::host::LogLevel::Debug,
            v0_1::host::LogLevel::Info => v0_2::host::LogLevel::Info,
            v0_1::host::LogLevel::Warn => v0_2::host::LogLevel::Warn,
            v0_1::host::LogLevel::Error => v0_2::host::LogLevel::Error,
        };
        self.log.push(level, &message);
    }
}

impl v0_1::types::Host for State {}

/// Caps linear memory and remembers the peak and any refused growth, so a memory fault
/// can say what was asked for.
pub struct MemoryLimiter {
    cap: usize,
    pub(super) peak: usize,
    pub(super) refused: Option<usize>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        if desired > self.cap {
            self.refused = Some(desired);
            // An error (not `false`) traps the guest at once instead of handing it a
            // failed allocation it may not check.
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes reached",
                self.cap
            ));
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// A bounded log: lines past the budget are counted, not kept; long lines are cut.
pub struct LogBuffer {
    budget: usize,
    used: usize,
    lines: Vec<String>,
    dropped: u32,
}

impl LogBuffer {
    fn new(budget: usize) -> Self {
        LogBuffer {
            budget,
            used: 0,
            lines: Vec::new(),
            dropped: 0,
        }
    }

    /// Keeps `[level] message`, made printable, within the budget (the prefix counts
    /// too), cutting the message at a character boundary; lines past the budget are only
    /// counted.
    fn push(&mut self, level: v0_2::host::LogLevel, message: &str) {
        use v0_2::host::LogLevel;
        let prefix = match level {
            LogLevel::Debug => "[debug] ",
            LogLevel::Info => "[info] ",
            LogLevel::Warn => "[warn] ",
            LogLevel::Error => "[error] ",
        };
        let room = self.budget.saturating_sub(self.used + prefix.len());
        if room == 0 {
            self.dropped += 1;
            return;
        }
        let text = printable(message);
        let cut = text.floor_char_boundary(room);
        self.used += prefix.len() + cut;
        self.lines.push([prefix, &text[..cut]].concat());
    }
}

/// A plugin's stdout or stderr: keeps the first `capacity` bytes and quietly drops the
/// rest. A pipe that refused writes instead would fail a chatty plugin (Rust's `println!`
/// panics when stdout fails).
#[derive(Clone)]
struct CappedOutput {
    capacity: usize,
    kept: Arc<Mutex<Vec<u8>>>,
}

impl CappedOutput {
    fn new(capacity: usize) -> Self {
        CappedOutput {
            capacity,
            kept: Arc::default(),
        }
    }

    fn keep(&self, bytes: &[u8]) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.capacity.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn contents(&self) -> Vec<u8> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: wasmtime_wasi_io::bytes::Bytes) -> StreamResult<()> {
        self.keep(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.keep(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// A wall clock that never moves: it reads [`FIXED_WALL_CLOCK`].
struct FixedClock;

impl HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        FIXED_WALL_CLOCK
    }
}

/// The plugin's monotonic clock: it starts at zero for every call and moves only when
/// the plugin sleeps, by what it asked for, without waiting.
pub struct VirtualTime {
    now: Duration,
    limit: Duration,
    /// Set when a sleep would have passed `limit`: the total the plugin asked to sleep.
    pub(super) overslept: Option<Duration>,
}

impl VirtualTime {
    /// Moves the clock to `until`, or stops the call when that is past the time limit.
    fn sleep_until(&mut self, until: Duration) -> Result<()> {
        if until > self.limit {
            self.overslept = Some(until);
            return Err(wasmtime::format_err!(
                "the plugin asked to sleep until {until:?} into a call limited to {:?}",
                self.limit
            ));
        }
        self.now = self.now.max(until);
        Ok(())
    }
}

/// A pollable that is ready at once: what a sleep on the virtual clock waits on.
struct Elapsed;

#[wasmtime_wasi::async_trait]
impl Pollable for Elapsed {
    async fn ready(&mut self) {}
}

/// `wasi:clocks/monotonic-clock` on [`VirtualTime`].
struct VirtualClock;

impl HasData for VirtualClock {
    type Data<'a> = VirtualClockView<'a>;
}

struct VirtualClockView<'a> {
    time: &'a mut VirtualTime,
    table: &'a mut ResourceTable,
}

impl VirtualClockView<'_> {
    fn elapsed(&mut self) -> Result<Resource<DynPollable>> {
        let ready = self.table.push(Elapsed)?;
        wasmtime_wasi_io::poll::subscribe(self.table, ready)
    }
}

impl monotonic_clock::Host for VirtualClockView<'_> {
    fn now(&mut self) -> Result<monotonic_clock::Instant> {
        Ok(u64::try_from(self.time.now.as_nanos()).unwrap_or(u64::MAX))
    }

    fn resolution(&mut self) -> Result<monotonic_clock::Duration> {
        Ok(1)
    }

    fn subscribe_instant(
        &mut self,
        when: monotonic_clock::Instant,
    ) -> Result<Resource<DynPollable>> {
        self.time.sleep_until(Duration::from_nanos(when))?;
        self.elapsed()
    }

    fn subscribe_duration(
        &mut self,
        duration: monotonic_clock::Duration,
    ) -> Result<Resource<DynPollable>> {
        let until = self.time.now.saturating_add(Duration::from_nanos(duration));
        self.time.sleep_until(until)?;
        self.elapsed()
    }
}

/// `wasi:io` is served from the store's resource table alone.
struct Io;

impl HasData for Io {
    type Data<'a> = &'a mut ResourceTable;
}

/// The one linker every plugin is type-checked and instantiated against.
pub fn linker() -> &'static Linker<State> {
    static LINKER: OnceLock<Linker<State>> = OnceLock::new();
    LINKER.get_or_init(|| build_linker().expect("the plugin linker's definitions do not clash"))
}

fn build_linker() -> Result<Linker<State>> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
    use wasmtime_wasi::p2::bindings::{cli, clocks, random, sync};
    use wasmtime_wasi::random::WasiRandom;

    let mut linker = Linker::new(engine());
    let l = &mut linker;
    // Our contract's imports: `host` (log) and the type-only `types`, once per contract
    // version (their names carry it). Both worlds import exactly these, so one
    // registration per version serves both.
    v0_2::order_to_gl::OrderToGl::add_to_linker::<State, HasSelf<State>>(l, |state| state)?;
    v0_1::order_to_gl::OrderToGl::add_to_linker::<State, HasSelf<State>>(l, |state| state)?;

    // WASI, interface by interface, as deterministic stand-ins (see `State::new`).
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<State, Io>(l, |s| &mut s.table)?;
    sync::io::poll::add_to_linker::<State, Io>(l, |s| &mut s.table)?;
    sync::io::streams::add_to_linker::<State, Io>(l, |s| &mut s.table)?;
    cli::exit::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::environment::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::stdin::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::stdout::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::stderr::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_input::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_output::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_stdin::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_stdout::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_stderr::add_to_linker::<State, WasiCli>(l, State::cli)?;
    clocks::wall_clock::add_to_linker::<State, WasiClocks>(l, State::clocks)?;
    clocks::monotonic_clock::add_to_linker::<State, VirtualClock>(l, |s| VirtualClockView {
        time: &mut s.time,
        table: &mut s.table,
    })?;
    random::random::add_to_linker::<State, WasiRandom>(l, |s| s.ctx().ctx.random())?;
    random::insecure::add_to_linker::<State, WasiRandom>(l, |s| s.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<State, WasiRandom>(l, |s| s.ctx().ctx.random())?;
    Ok(linker)
}
