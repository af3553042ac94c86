//! Fixtures: one mapping call described in JSON (function, settings, input, and the
//! expected output), used by `ml-connector plugins test`.
//!
//! Records use the contract's field names in snake_case (`total_ex_tax`) and enum cases
//! in PascalCase (`"Coupon"`), amounts as integer ten-thousandths (12.50 = 125000).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bindings::types::*;
use super::error::RecordError;
use super::plugin::{CallReport, Isolation, LoadedPlugin};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Function {
    MapOrder,
    MapRefund,
    MapCustomer,
    MapItem,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default)]
    pub description: String,
    pub function: Function,
    /// The plugin's settings for this call (override its `plugin.toml`).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    pub input: serde_json::Value,
    /// What the plugin should answer, if the fixture states it.
    #[serde(default)]
    pub expected: Option<serde_json::Value>,
}

/// The outcome of running a fixture.
#[derive(Debug)]
pub struct FixtureRun {
    pub output: Result<serde_json::Value, RecordError>,
    pub report: CallReport,
}

impl Fixture {
    /// Parses a fixture; the error says where the JSON is wrong.
    pub fn parse(text: &str) -> Result<Fixture, String> {
        serde_json::from_str(text).map_err(|e| format!("fixture does not parse: {e}"))
    }

    pub fn settings(&self) -> Vec<(String, String)> {
        self.config.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Runs the fixture's call on `plugin` (loaded with [`Fixture::settings`]).
    pub fn run(&self, plugin: &LoadedPlugin) -> Result<FixtureRun, String> {
        fn input<T: serde::de::DeserializeOwned>(value: &serde_json::Value, what: &str) -> Result<T, String> {
            T::deserialize(value).map_err(|e| format!("fixture input is not a valid {what}: {e}"))
        }
        fn finish<T: Serialize>(mapped: super::plugin::Mapped<T>) -> FixtureRun {
            let result = mapped.results.into_iter().next().expect("one result per record");
            FixtureRun {
                output: result.map(|value| serde_json::to_value(value).expect("plugin outputs serialise")),
                report: mapped.report,
            }
        }
        let isolation = Isolation::Record;
        Ok(match self.function {
            Function::MapOrder => finish(plugin.map_orders(&[input::<Order>(&self.input, "order")?], isolation, None)),
            Function::MapRefund => finish(plugin.map_refunds(&[input::<Refund>(&self.input, "refund")?], isolation, None)),
            Function::MapCustomer => {
                finish(plugin.map_customers(&[input::<Customer>(&self.input, "customer")?], isolation))
            }
            Function::MapItem => finish(plugin.map_items(&[input::<ErpItem>(&self.input, "item")?], isolation)),
        })
    }
}
