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

/// A fixture's input, typed by its function.
#[derive(Debug, Clone)]
pub enum Input {
    Order(Box<Order>),
    Refund(Box<Refund>),
    Customer(Box<Customer>),
    Item(Box<ErpItem>),
}

/// The outcome of running a fixture.
#[derive(Debug)]
pub struct FixtureRun {
    pub output: Result<serde_json::Value, RecordError>,
    pub report: CallReport,
}

impl Fixture {
    /// Parses a fixture and its input; the error says where the JSON is wrong.
    pub fn parse(text: &str) -> Result<Fixture, String> {
        let fixture: Fixture =
            serde_json::from_str(text).map_err(|e| format!("fixture does not parse: {e}"))?;
        fixture.typed_input()?;
        Ok(fixture)
    }

    pub fn settings(&self) -> Vec<(String, String)> {
        self.config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The input as the record its function takes.
    pub fn typed_input(&self) -> Result<Input, String> {
        fn input<T: serde::de::DeserializeOwned>(
            value: &serde_json::Value,
            what: &str,
        ) -> Result<T, String> {
            T::deserialize(value).map_err(|e| format!("fixture input is not a valid {what}: {e}"))
        }
        Ok(match self.function {
            Function::MapOrder => Input::Order(input(&self.input, "order")?),
            Function::MapRefund => Input::Refund(input(&self.input, "refund")?),
            Function::MapCustomer => Input::Customer(input(&self.input, "customer")?),
            Function::MapItem => Input::Item(input(&self.input, "item")?),
        })
    }

    /// Runs the fixture's call on `plugin` (loaded with [`Fixture::settings`]), on a fresh
    /// instance.
    pub fn run(&self, plugin: &LoadedPlugin) -> Result<FixtureRun, String> {
        fn finish<T: Serialize>(mapped: super::plugin::Mapped<T>) -> FixtureRun {
            let result = mapped
                .results
                .into_iter()
                .next()
                .expect("one result per record");
            FixtureRun {
                output: result
                    .map(|value| serde_json::to_value(value).expect("plugin outputs serialise")),
                report: mapped.report,
            }
        }
        let isolation = Isolation::Record;
        Ok(match self.typed_input()? {
            Input::Order(order) => finish(plugin.map_orders(&[*order], isolation, None)),
            Input::Refund(refund) => finish(plugin.map_refunds(&[*refund], isolation, None)),
            Input::Customer(customer) => finish(plugin.map_customers(&[*customer], isolation)),
            Input::Item(item) => finish(plugin.map_items(&[*item], isolation)),
        })
    }
}
