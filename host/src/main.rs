//! The `ml-connector` binary: parses the command line and hands off to `cli`.

fn main() -> std::process::ExitCode {
    ml_connector::cli::main()
}
