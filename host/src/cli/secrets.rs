//! `ml-connector secrets set|list|rm NAME`: keeps credentials encrypted in the secrets
//! file beside the store, for `connector.toml` to name as `secret:NAME`. A value is read
//! from standard input (when it is not a terminal) or asked for without echo, never taken
//! from the command line, and never printed.

use anyhow::Context;
use std::process::ExitCode;

use clap::Subcommand;

use super::Cli;
use crate::secrets::{MasterKey, check_name, value_from_prompt, value_from_stdin};
use crate::store::millis_text;

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Store a credential under NAME, sealed with the master key (ML_CONNECTOR_MASTER_KEY
    /// or ML_CONNECTOR_MASTER_KEY_FILE). The value is read from standard input, or asked
    /// for without echo on a terminal.
    Set { name: String },
    /// The stored names and when each was set; never the values.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove a stored credential. Exit code 1 when there is none by that name.
    Rm { name: String },
}

pub fn run(cli: &Cli, command: &SecretsCommand) -> anyhow::Result<ExitCode> {
    let secrets = cli.secrets();
    match command {
        SecretsCommand::Set { name } => {
            check_name(name)?;
            let key = MasterKey::from_environment()?;
            let value =
                match value_from_stdin().context("cannot read the value from standard input")? {
                    Some(value) => value,
                    None => value_from_prompt(name)
                        .context("cannot read the value from the terminal")?,
                };
            if value.is_empty() {
                return Err(anyhow::anyhow!(
                    "the value of secret {name} is empty; nothing stored"
                ));
            }
            secrets.set(name, value.as_bytes(), &key)?;
            eprintln!("secret {name} stored in {}", secrets.path().display());
            Ok(ExitCode::SUCCESS)
        }
        SecretsCommand::List { json } => {
            let list = secrets.list()?;
            if *json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|s| serde_json::json!({"name": s.name, "set_at": millis_text(s.set_at)}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if list.is_empty() {
                eprintln!("no secrets in {}", secrets.path().display());
            } else {
                for secret in &list {
                    println!("{:<32} set {}", secret.name, millis_text(secret.set_at));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        SecretsCommand::Rm { name } => {
            if secrets.remove(name)? {
                eprintln!("secret {name} removed");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("no secret {name} in {}", secrets.path().display());
                Ok(ExitCode::from(1))
            }
        }
    }
}
