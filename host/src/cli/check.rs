//! `ml-connector check`: tries each configured connection against the real systems before
//! `sync` runs, one line per check, PASS or FAIL with what to do: the BigCommerce token and
//! its scopes (store information, orders, refunds, hooks), the QAD login and workspace,
//! every configured entity path in the tenant's OpenAPI document, every account the
//! plugin settings name (`account.*`) in the chart of accounts, the current GL period
//! open, and the plugin loading with its settings. Exit code 1 when any check fails. Only
//! reads: nothing is posted, and the store is not opened.

use std::collections::HashMap;
use std::process::ExitCode;

use clap::Args;
use time::OffsetDateTime;

use super::Cli;
use super::connections::{ConnectionArgs, selected};
use crate::bigcommerce::{self, ClientError};
use crate::config::ConnectionConfig;
use crate::connection::{bigcommerce_client, load_plugin, qad_tenant};
use crate::error::chain;
use crate::plugins::World;
use crate::qad::{Qad, QadError};
use crate::secrets::Secrets;

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    connections: ConnectionArgs,
}

/// One check's outcome: what passed, or what is wrong and what to do.
type Outcome = Result<String, String>;

/// The lines of one connection's checks, printed as they complete.
struct Report {
    connection: String,
    failed: bool,
}

impl Report {
    fn line(&mut self, check: &str, outcome: Outcome) {
        match outcome {
            Ok(detail) => println!("PASS  {}  {check:<20} {detail}", self.connection),
            Err(problem) => {
                self.failed = true;
                println!("FAIL  {}  {check:<20} {problem}", self.connection);
            }
        }
    }

    /// A risk to know of, which does not fail the check.
    fn warn(&mut self, check: &str, risk: &str) {
        println!("WARN  {}  {check:<20} {risk}", self.connection);
    }

    fn skip(&mut self, check: &str, because: &str) {
        self.failed = true;
        println!(
            "SKIP  {}  {check:<20} not checked: {because}",
            self.connection
        );
    }
}

pub fn run(cli: &Cli, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let selected = selected(&args.connections)?;
    let secrets = cli.secrets();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut failed = false;
    for (name, connection) in &selected {
        let mut report = Report {
            connection: name.clone(),
            failed: false,
        };
        runtime.block_on(check(cli, name, connection, &secrets, &mut report));
        failed |= report.failed;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn check(
    cli: &Cli,
    name: &str,
    connection: &ConnectionConfig,
    secrets: &Secrets,
    report: &mut Report,
) {
    match bigcommerce_client(name, connection, secrets) {
        Ok(client) => check_bigcommerce(&client, connection, report).await,
        Err(problem) => {
            report.line("bigcommerce store", Err(chain(&problem)));
            for check in [
                "bigcommerce orders",
                "bigcommerce refunds",
                "bigcommerce hooks",
            ] {
                report.skip(check, "no BigCommerce client");
            }
        }
    }
    let plugin = load_plugin(
        &connection.plugin.name,
        &connection.plugin,
        cli.plugin_dir.as_deref(),
        &cli.cache(),
    );
    match qad_tenant(name, connection, secrets) {
        Ok(qad) => check_qad(&qad, connection, report).await,
        Err(problem) => {
            report.line("qad login", Err(chain(&problem)));
            for check in ["qad workspace", "qad paths", "qad accounts", "qad period"] {
                report.skip(check, "no QAD client");
            }
        }
    }
    report.line(
        "plugin",
        match plugin {
            Ok(plugin) if plugin.world() != World::OrderToGl => Err(format!(
                "{} is an {} plugin; orders need an order-to-gl plugin: name one in \
                 [connections.{name}.plugin]",
                plugin.name(),
                plugin.world().name()
            )),
            Ok(plugin) => Ok(format!(
                "{} {} loaded; its settings validate",
                plugin.name(),
                plugin.info().version
            )),
            Err(problem) => Err(format!(
                "{problem}; fix [connections.{name}.plugin] (its name, or its settings)"
            )),
        },
    );
}

/// What a refused BigCommerce call means for the operator; `scope` is what the API
/// account needs for it.
fn bigcommerce_problem(error: &ClientError, scope: &str) -> String {
    match error.status() {
        Some(401) => "the token was refused (401): set bigcommerce_token to the access token of \
                      this store's API account"
            .into(),
        Some(403) => format!("the API account lacks a scope (403): give it {scope}"),
        Some(404) => "no such store (404): check store_hash and bigcommerce_api_root".into(),
        _ if error.is_retryable() => format!(
            "{error}: check bigcommerce_api_root and that the store can be reached, then try again"
        ),
        _ => error.to_string(),
    }
}

async fn check_bigcommerce(
    client: &bigcommerce::Client,
    connection: &ConnectionConfig,
    report: &mut Report,
) {
    let store = client.store_information().await;
    let reached = match &store {
        Err(error) => error.status() != Some(401),
        Ok(_) => true,
    };
    report.line(
        "bigcommerce store",
        match store {
            Ok(store) if store.id != connection.store_hash => Err(format!(
                "the token reaches store {} (\"{}\"), not store_hash {}: use this store's token \
                 or correct store_hash",
                store.id, store.name, connection.store_hash
            )),
            Ok(store) => Ok(format!(
                "store {} \"{}\" ({})",
                store.id, store.name, store.currency
            )),
            Err(error) => Err(bigcommerce_problem(
                &error,
                "Information read-only (store_v2_information_read_only)",
            )),
        },
    );
    if !reached {
        for check in [
            "bigcommerce orders",
            "bigcommerce refunds",
            "bigcommerce hooks",
        ] {
            report.skip(check, "the token was refused");
        }
        return;
    }
    report.line(
        "bigcommerce orders",
        match client.orders_page(None, 1, 1).await {
            Ok(_) => Ok("orders can be read".into()),
            Err(error) => Err(bigcommerce_problem(
                &error,
                "Orders read-only (store_v2_orders_read_only)",
            )),
        },
    );
    let day_ago = OffsetDateTime::now_utc() - time::Duration::days(1);
    report.line(
        "bigcommerce refunds",
        match client.refunds_created_since(day_ago).await {
            Ok(_) => Ok("refunds can be read".into()),
            Err(error) => Err(bigcommerce_problem(
                &error,
                "Order Transactions read-only (store_v2_transactions_read_only) or Orders \
                 read-only",
            )),
        },
    );
    report.line(
        "bigcommerce hooks",
        match client.hooks().await {
            Ok(hooks) => Ok(format!("{} webhooks registered", hooks.len())),
            Err(error) => Err(bigcommerce_problem(
                &error,
                "the default scope (webhooks come with every API account)",
            )),
        },
    );
}

async fn check_qad(qad: &Qad, connection: &ConnectionConfig, report: &mut Report) {
    duplicate_guard(connection, report);
    // `Config::load` has checked `[posting]` is there.
    let entity = connection
        .posting
        .as_ref()
        .map(|posting| posting.entity.clone())
        .unwrap_or_default();
    if let Err(error) = qad.reads().login().await {
        report.line("qad login", Err(qad_problem(&error)));
        for check in ["qad workspace", "qad paths", "qad accounts", "qad period"] {
            report.skip(check, "the QAD login failed");
        }
        return;
    }
    report.line(
        "qad login",
        Ok(format!("logged in at {}", connection.qad.base_url)),
    );
    // The periods are read in the workspace, so this call proves it as well.
    let periods = match qad.periods(&entity).await {
        Ok(periods) => {
            report.line(
                "qad workspace",
                Ok(format!(
                    "{} reaches entity {entity}",
                    connection
                        .qad
                        .workspace
                        .as_deref()
                        .unwrap_or("the default workspace")
                )),
            );
            Some(periods)
        }
        Err(error) => {
            report.line("qad workspace", Err(qad_problem(&error)));
            None
        }
    };
    report.line(
        "qad paths",
        match qad.missing_paths().await {
            Ok(missing) if missing.is_empty() => {
                Ok("every configured path is in the tenant's OpenAPI document".into())
            }
            Ok(missing) => Err(format!(
                "the tenant's OpenAPI document lacks {}: correct the entity paths in the \
                 tenant's configuration, or ask QAD to enable them",
                missing
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Err(error) => Err(qad_problem(&error)),
        },
    );
    report.line(
        "qad accounts",
        match qad.chart_of_accounts(&entity).await {
            Ok(chart) => accounts_in_chart(connection, &entity, &chart),
            Err(error) => Err(qad_problem(&error)),
        },
    );
    report.line(
        "qad period",
        match periods {
            Some(periods) => current_period_open(&entity, &periods),
            None => Err("the periods could not be read (see qad workspace)".into()),
        },
    );
}

/// Whether a post whose answer is lost can land twice: only the lookup after
/// `settle_after_seconds` stands between it and a second post when the tenant takes a
/// repeated external reference.
fn duplicate_guard(connection: &ConnectionConfig, report: &mut Report) {
    let qad = &connection.qad;
    let settle = qad.settle_after_seconds.unwrap_or(120);
    let risk = |stated: &str| {
        format!(
            "the tenant's guard against a second entry under one external reference is {stated}: a post whose answer is lost is looked up after {settle} s (qad.settle_after_seconds) and posted again if not found then, so that must exceed the longest QAD and any proxy before it take to finish a request; set qad.duplicate_guard = true once the tenant is known to refuse repeats"
        )
    };
    match qad.duplicate_guard {
        Some(true) => report.line(
            "qad duplicates",
            Ok("the tenant refuses a repeated external reference (qad.duplicate_guard)".into()),
        ),
        Some(false) => report.warn("qad duplicates", &risk("off")),
        None => report.warn("qad duplicates", &risk("not known")),
    }
}

fn qad_problem(error: &QadError) -> String {
    let what_to_do = match error {
        QadError::Auth(_) => {
            "check the QAD credentials (client_id, username and password, or bearer_token)"
        }
        QadError::Permission(_) => "check the workspace and the user's roles in QAD",
        QadError::Config(_) | QadError::NotFound(_) | QadError::Decode { .. } => {
            "check base_url and the tenant's entity paths"
        }
        QadError::Transient(_) | QadError::Ambiguous(_) => {
            "check base_url and that the tenant can be reached, then try again"
        }
        QadError::Business(_) => "see QAD's message",
    };
    format!("{error}; {what_to_do}")
}

/// Every `account.*` setting names an active, postable account of the entity.
fn accounts_in_chart(
    connection: &ConnectionConfig,
    entity: &str,
    chart: &[crate::qad::GlAccount],
) -> Outcome {
    let by_code: HashMap<&str, &crate::qad::GlAccount> =
        chart.iter().map(|a| (a.gl_code.as_str(), a)).collect();
    let named: Vec<(&String, &String)> = connection
        .plugin
        .settings
        .iter()
        .filter(|(key, _)| key.starts_with("account."))
        .collect();
    let mut problems = Vec::new();
    for (key, code) in &named {
        match by_code.get(code.as_str()) {
            None => problems.push(format!("{key} = {code} is not in the chart")),
            Some(account) if !account.is_active => {
                problems.push(format!("{key} = {code} is inactive"))
            }
            Some(account) if !account.is_postable => {
                problems.push(format!("{key} = {code} is not postable (a header account)"))
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "the {} accounts the settings name are postable in {entity}",
            named.len()
        ))
    } else {
        Err(format!(
            "{} of entity {entity}: correct the account map in the plugin settings, or open \
             the accounts in QAD",
            problems.join("; ")
        ))
    }
}

/// The GL period that contains today is open.
fn current_period_open(entity: &str, periods: &[crate::qad::Period]) -> Outcome {
    let today = OffsetDateTime::now_utc().date();
    match periods.iter().find(|p| p.contains(today)) {
        None => Err(format!(
            "no GL period of {entity} contains {today}: create the period in QAD"
        )),
        Some(period) if !period.is_open() => Err(format!(
            "GL period {}/{} of {entity} ({} to {}) is {}: open it in QAD, or orders of today \
             are parked until it is",
            period.posting_year,
            period.posting_period,
            period.start_date,
            period.end_date,
            period.status
        )),
        Some(period) => Ok(format!(
            "GL period {}/{} of {entity} is open",
            period.posting_year, period.posting_period
        )),
    }
}
