//! `ml-connector demo`: for now, maps the bundled example order, refund, shopper and item
//! change with the built-in plugins and shows the journals, with the sandbox's figures.

use std::process::ExitCode;

use clap::Args;

use super::Cli;
use crate::plugins::fixture::Fixture;

#[derive(Args)]
pub struct DemoArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "order-to-gl",
        "order",
        include_str!("../../../examples/fixtures/order-basic.json"),
    ),
    (
        "order-to-gl",
        "refund",
        include_str!("../../../examples/fixtures/refund-partial.json"),
    ),
    (
        "order-to-gl",
        "new shopper",
        include_str!("../../../examples/fixtures/customer-new.json"),
    ),
    (
        "item-to-catalog",
        "item change",
        include_str!("../../../examples/fixtures/item-price-change.json"),
    ),
];

pub fn run(cli: &Cli, args: &DemoArgs) -> Result<ExitCode, String> {
    let mut all_match = true;
    let mut summary = Vec::new();
    for (plugin, what, text) in EXAMPLES {
        let fixture = Fixture::parse(text)?;
        let loaded = cli.load_for_fixture(plugin, &fixture)?;
        let run = fixture.run(&loaded)?;
        let output = run.output.map_err(|e| format!("{what}: {e}"))?;
        let matches = fixture
            .expected
            .as_ref()
            .is_none_or(|expected| *expected == output);
        all_match &= matches;
        if args.json {
            summary.push(serde_json::json!({
                "example": what, "plugin": plugin, "version": loaded.info().version,
                "output": output, "as_expected": matches,
                "fuel_consumed": run.report.fuel_consumed, "elapsed_us": run.report.elapsed.as_micros() as u64,
            }));
            continue;
        }
        println!(
            "== {what}: {} ({plugin} {})",
            fixture.description,
            loaded.info().version
        );
        print_output(&output);
        println!(
            "   fuel {}  memory {} KiB  time {} us  {}\n",
            run.report.fuel_consumed,
            run.report.memory_peak / 1024,
            run.report.elapsed.as_micros(),
            if matches {
                "as expected"
            } else {
                "DIFFERS FROM THE FIXTURE'S EXPECTED OUTPUT"
            }
        );
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"examples": summary, "all_as_expected": all_match})
        );
    }
    Ok(if all_match {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Journals as a debit/credit table; anything else as JSON.
fn print_output(output: &serde_json::Value) {
    let Some(lines) = output.get("lines").and_then(|l| l.as_array()) else {
        println!(
            "{}",
            serde_json::to_string_pretty(output).unwrap_or_default()
        );
        return;
    };
    println!("   {:<8} {:>12} {:>12}  MEMO", "ACCOUNT", "DEBIT", "CREDIT");
    let amount = |v: &serde_json::Value| {
        v.as_i64()
            .filter(|a| *a != 0)
            .map(crate::money::format)
            .unwrap_or_default()
    };
    for line in lines {
        println!(
            "   {:<8} {:>12} {:>12}  {}",
            line["account"].as_str().unwrap_or_default(),
            amount(&line["debit"]),
            amount(&line["credit"]),
            line["memo"].as_str().unwrap_or_default()
        );
    }
}
