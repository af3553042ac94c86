//! `ml-connector init`: writes a commented `connector.toml` to start from (the same
//! template as `examples/connector.toml`), refusing to overwrite one that exists.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

/// The template: every section, with what each key means.
const TEMPLATE: &str = include_str!("../../../examples/connector.toml");

#[derive(Args)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(
        long,
        env = "ML_CONNECTOR_CONFIG",
        value_name = "FILE",
        default_value = "connector.toml"
    )]
    config: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
}

pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(&args.config).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} exists; give --force to replace it",
                args.config.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot write {}", args.config.display()))
        }
    })?;
    file.write_all(TEMPLATE.as_bytes())
        .with_context(|| format!("cannot write {}", args.config.display()))?;
    println!(
        "wrote {}: fill in the store hash, the QAD tenant and the account map, store the \
         credentials (`ml-connector secrets set NAME`), then run `ml-connector check`",
        args.config.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_template_is_a_valid_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connector.toml");
        let args = InitArgs {
            config: path.clone(),
            force: false,
        };
        run(&args).unwrap();
        let config = Config::load(&path).unwrap();
        assert!(config.connections["main"].catalog.is_some());
        let again = run(&args).unwrap_err();
        assert!(again.to_string().contains("--force"), "{again}");
        run(&InitArgs {
            config: path,
            force: true,
        })
        .unwrap();
    }
}
