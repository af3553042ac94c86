//! `ml-connector console`: the operator console over a store without the service
//! (`console serve`; `run` serves it too when the connections file has a `[console]`
//! section), and its operator accounts (`console add-operator|remove-operator|operators`),
//! kept as sealed password hashes with the other secrets.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;

use super::Cli;
use super::connections::{ConnectionArgs, open_live_connections};
use crate::config::{Config, ConsoleConfig};
use crate::console::auth::{Operators, Sessions};
use crate::console::{self, Console};
use crate::flows::worker::Worker;
use crate::secrets::{MasterKey, value_from_prompt, value_from_stdin};
use crate::server;
use crate::store::SessionsOf;

#[derive(Subcommand)]
pub enum ConsoleCommand {
    /// Serve the console over the store, without the service: a replayed record is run
    /// here. Listens on `console.listen` in the connections file, else 127.0.0.1:8081.
    Serve {
        #[command(flatten)]
        connections: ConnectionArgs,
        /// The address to listen on (beyond the loopback only with `console.public_url`).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Add an operator (or set a new password): the password is read from standard input,
    /// or asked for without echo on a terminal; at least 12 characters. Needs the master
    /// key.
    AddOperator { name: String },
    /// Remove an operator, ending their open sessions. Exit code 1 when there is none by
    /// that name.
    RemoveOperator { name: String },
    /// The operators' names.
    Operators,
}

fn operators(cli: &Cli) -> anyhow::Result<Operators> {
    let key = MasterKey::from_environment()
        .context("the console's operators are sealed with the master key")?;
    Ok(Operators::new(cli.secrets(), Arc::new(key)))
}

/// How the console is served: its operators and where it listens.
pub(super) struct Setup {
    pub operators: Operators,
    pub listen: String,
    pub origin: Option<String>,
}

/// The console's setup from its section (and a `--listen`), refused when no operator can
/// log in.
pub(super) fn setup(
    cli: &Cli,
    config: &ConsoleConfig,
    listen: Option<&str>,
) -> anyhow::Result<Setup> {
    let (listen, origin) = config.address(listen)?;
    let operators = operators(cli)?;
    if operators.names()?.is_empty() {
        return Err(anyhow::anyhow!(
            "the console has no operators: add one with `ml-connector console add-operator NAME`"
        ));
    }
    Ok(Setup {
        operators,
        listen,
        origin,
    })
}

impl Setup {
    /// The console over `store` and `flows`; `replayed` is told each connection whose
    /// job was put back in line; `plugins`, the service's registry.
    pub fn console(
        self,
        store: Arc<dyn crate::store::Store>,
        flows: BTreeMap<String, Arc<crate::flows::orders::OrderFlow>>,
        replayed: Arc<dyn Fn(&str) + Send + Sync>,
        plugins: Option<Arc<crate::plugins::Registry>>,
    ) -> Arc<Console> {
        Arc::new(Console {
            sessions: Sessions::new(store.clone()),
            store,
            connections: flows,
            operators: self.operators,
            secure: self.origin.is_some(),
            origin: self.origin,
            replayed,
            reconciles: Default::default(),
            plugins,
        })
    }
}

pub fn run(cli: &Cli, command: &ConsoleCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConsoleCommand::AddOperator { name } => {
            let operators = operators(cli)?;
            let password =
                match value_from_stdin().context("cannot read the password from standard input")? {
                    Some(value) => value,
                    None => value_from_prompt(&format!("password for operator {name}"))
                        .context("cannot read the password from the terminal")?,
                };
            operators.add(name, password.trim_end_matches(['\r', '\n']))?;
            eprintln!("operator {name} can log in to the console");
            Ok(ExitCode::SUCCESS)
        }
        ConsoleCommand::RemoveOperator { name } => {
            if operators(cli)?.remove(name)? {
                let store = cli.open_store()?;
                let ended = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(store.end_sessions(&SessionsOf::Operator(name.clone())))?;
                eprintln!("operator {name} removed; {ended} open sessions of theirs ended");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("no operator {name}");
                Ok(ExitCode::from(1))
            }
        }
        ConsoleCommand::Operators => {
            for name in operators(cli)?.names()? {
                println!("{name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        ConsoleCommand::Serve {
            connections,
            listen,
        } => serve(cli, connections, listen.as_deref()),
    }
}

fn serve(cli: &Cli, args: &ConnectionArgs, listen: Option<&str>) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let section = config.console.clone().unwrap_or(ConsoleConfig {
        listen: None,
        public_url: None,
    });
    let setup = setup(cli, &section, listen)?;
    // Plugins through a registry over the plugin directory (not watched: an upload
    // reloads it), so that its page lists and takes versions as `run`'s does.
    let ((store, connections), registry) = open_live_connections(cli, args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let workers: BTreeMap<String, Worker> = connections
            .iter()
            .map(|c| {
                let mut worker = Worker::new(c.orders.clone(), "console");
                worker.catalog = c.catalog.clone();
                (c.name.clone(), worker)
            })
            .collect();
        let flows = connections
            .iter()
            .map(|c| (c.name.clone(), c.orders.clone()))
            .collect();
        let runner = Arc::new(Replays {
            workers,
            running: Mutex::new(BTreeMap::new()),
        });
        let replayed: Arc<dyn Fn(&str) + Send + Sync> = {
            let runner = runner.clone();
            Arc::new(move |connection: &str| runner.clone().start(connection))
        };
        let listen = setup.listen.clone();
        let console = setup.console(store, flows, replayed, Some(registry));
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        println!("console on http://{}", listener.local_addr()?);
        server::serve(
            listener,
            console::router(console),
            server::Limits::default(),
            async {
                super::run::shutdown_signal().await;
                Instant::now() + Duration::from_secs(5)
            },
        )
        .await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs each connection's queue after a replay, one drain per connection at a time; a
/// replay during a drain has it run once more, so no replayed record waits.
struct Replays {
    workers: BTreeMap<String, Worker>,
    /// The connections draining, each with whether another replay came meanwhile.
    running: Mutex<BTreeMap<String, bool>>,
}

impl Replays {
    fn start(self: Arc<Self>, connection: &str) {
        if !self.workers.contains_key(connection) {
            return;
        }
        {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(again) = running.get_mut(connection) {
                *again = true;
                return;
            }
            running.insert(connection.to_string(), false);
        }
        let connection = connection.to_string();
        tokio::spawn(async move {
            let worker = &self.workers[&connection];
            loop {
                match worker.drain(Duration::from_secs(120)).await {
                    Ok(stats) => tracing::info!(%connection, ?stats, "replayed records run"),
                    Err(error) => tracing::error!(%connection, %error, "replayed records not run"),
                }
                if let Err(error) = worker.release().await {
                    tracing::warn!(%connection, %error, "leases not released; they run out by themselves");
                }
                let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
                match running.get_mut(&connection) {
                    Some(again) if *again => *again = false,
                    _ => {
                        running.remove(&connection);
                        break;
                    }
                }
            }
        });
    }
}
