//! `ml-connector-sim`: runs the simulators as a standalone process, for trying
//! ml-connector by hand or driving it from another tool. Prints each store's (or QAD
//! tenant's) address and credentials as one JSON line, then serves until interrupted. The
//! control APIs are under `/_sim/` and `/_sim/qad/` (see the `control` modules).

use std::time::Duration;

use clap::{Parser, Subcommand};
use ml_connector_sim::bigcommerce::{BigCommerceSim, SimOptions, SimStore};
use ml_connector_sim::qad::{QadOptions, QadSim, SimTenant};
use time::OffsetDateTime;

#[derive(Parser)]
#[command(version, about = "Simulators of BigCommerce and QAD on 127.0.0.1")]
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
    /// A QAD Adaptive ERP simulator.
    Qad {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Number of tenants (acme, beta, gamma, ...; beta lacks `/api/erp/glPeriods`).
        #[arg(long, default_value_t = 1)]
        tenants: u32,
    },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Bigcommerce {
            port,
            stores,
            orders,
            seed,
            quota,
            window_ms,
            speedup,
        } => bigcommerce(port, stores, orders, seed, quota, window_ms, speedup).await,
        Command::Qad { port, tenants } => qad(port, tenants).await,
    }
}

async fn bigcommerce(
    port: u16,
    stores: u32,
    orders: u64,
    seed: u64,
    quota: u32,
    window_ms: u64,
    speedup: u32,
) -> Result<(), Box<dyn std::error::Error>> {
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

/// Tenant names in order; beyond them `tenant<n>`.
const TENANT_NAMES: [&str; 6] = ["acme", "beta", "gamma", "delta", "epsilon", "zeta"];

async fn qad(port: u16, count: u32) -> Result<(), Box<dyn std::error::Error>> {
    let tenants: Vec<SimTenant> = (0..count as usize)
        .map(|n| {
            let name = TENANT_NAMES
                .get(n)
                .map_or_else(|| format!("tenant{}", n + 1), |name| name.to_string());
            let tenant = SimTenant::demo(&name);
            if name == "beta" {
                tenant.without("/api/erp/glPeriods")
            } else {
                tenant
            }
        })
        .collect();
    let listed = tenants.clone();
    let bind = format!("127.0.0.1:{port}");
    let sim = QadSim::start_with(tenants, QadOptions::default(), &bind).await?;
    for tenant in listed {
        let users: Vec<_> = tenant
            .users
            .iter()
            .map(|u| serde_json::json!({"username": u.username, "password": u.password, "can_write": u.can_write}))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "tenant": tenant.name,
                "base_url": sim.base_url(&tenant.name),
                "client_id": tenant.client_id,
                "users": users,
                "static_token": tenant.static_tokens.first(),
                "disabled_paths": tenant.disabled_paths,
                "qxtend_url": sim.qxtend_url(),
                "qxtend_receiver": tenant.qxtend_receiver,
                "control": format!("{}/_sim/qad/{}", sim.root_url(), tenant.name),
            })
        );
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
