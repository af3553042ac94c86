//! `ml-connector-sim`: runs the simulators as a standalone process, for trying
//! ml-connector by hand or driving it from another tool. Prints each store's API root and
//! credentials as one JSON line, then serves until interrupted. The control API is under
//! `/_sim/` (see the `control` module).

use std::time::Duration;

use clap::{Parser, Subcommand};
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimOptions, SimStore};
use time::OffsetDateTime;

#[derive(Parser)]
#[command(
    version,
    about = "Simulators of BigCommerce (and, later, QAD) on 127.0.0.1"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A BigCommerce Management API simulator.
    Bigcommerce {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Number of stores (hashes store1, store2, ...).
        #[arg(long, default_value_t = 1)]
        stores: u32,
        /// Seeded orders per store.
        #[arg(long, default_value_t = 100)]
        orders: u64,
        /// Seed for the generated data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Requests per quota window.
        #[arg(long, default_value_t = 150)]
        quota: u32,
        /// Quota window length in milliseconds.
        #[arg(long, default_value_t = 30_000)]
        window_ms: u64,
        /// Simulated seconds per real second (compresses webhook retry schedules).
        #[arg(long, default_value_t = 1)]
        speedup: u32,
    },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Command::Bigcommerce {
        port,
        stores,
        orders,
        seed,
        quota,
        window_ms,
        speedup,
    } = Cli::parse().command;
    let start = OffsetDateTime::now_utc() - time::Duration::minutes(orders as i64 + 1);
    let stores: Vec<SimStore> = (1..=stores)
        .map(|n| {
            SimStore::new(&format!("store{n}"), &format!("token-store{n}"))
                .with_quota(quota, Duration::from_millis(window_ms))
                .with_orders(orders, start, seed + u64::from(n))
        })
        .collect();
    let accounts: Vec<(String, String, String)> = stores
        .iter()
        .map(|s| (s.hash.clone(), s.token.clone(), s.client_secret.clone()))
        .collect();
    let options = SimOptions {
        speedup,
        ..SimOptions::default()
    };
    let sim = BigCommerceSim::start_with(stores, options, &format!("127.0.0.1:{port}")).await?;
    for (hash, token, secret) in accounts {
        println!(
            "{}",
            serde_json::json!({
                "store_hash": hash,
                "api_root": sim.api_root(&hash),
                "access_token": token,
                "client_secret": secret,
                "control": format!("{}/_sim/stores/{hash}", sim.base_url()),
            })
        );
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
