//! Fixtures: one mapping call described in JSON (function, settings, input, and what the
//! plugin should answer), used by `ml-connector plugins test` and `plugins check`.
//!
//! Records use the contract's field names in snake_case (`total_ex_tax`) and enum cases
//! in PascalCase (`"Coupon"`), amounts as integer ten-thousandths (12.50 = 125000).
//!
//! A fixture may take its description, function and input from a shared case file
//! (`"case": "../shared/order-basic.json"`, relative to the fixture), so plugins with
//! different account policies are tested on the same inputs, each with its own settings
//! and expected journal. A plugin's folder carries its fixtures in `fixtures/*.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::bindings::types::*;
use super::error::{LoadError, RecordError};
use super::inspect::World;
use super::plugin::{CallReport, LoadedPlugin};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Function {
    MapOrder,
    MapRefund,
    MapCustomer,
    MapItem,
}

impl Function {
    /// The world whose plugins export the function.
    pub fn world(self) -> World {
        match self {
            Function::MapOrder | Function::MapRefund | Function::MapCustomer => World::OrderToGl,
            Function::MapItem => World::ItemToCatalog,
        }
    }
}

/// A fixture as written: either complete, or naming a shared case for its input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    #[serde(default)]
    description: String,
    /// A shared case file (relative to this file) giving description, function and input.
    #[serde(default)]
    case: Option<PathBuf>,
    #[serde(default)]
    function: Option<Function>,
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    input: Option<serde_json::Value>,
    #[serde(default)]
    expected: Option<serde_json::Value>,
    /// The code of the mapping error the plugin should answer with, instead of an output.
    #[serde(default)]
    expected_error: Option<String>,
}

#[derive(Debug)]
pub struct Fixture {
    pub description: String,
    pub function: Function,
    /// The plugin's settings for this call (override its `plugin.toml`).
    pub config: BTreeMap<String, String>,
    pub input: serde_json::Value,
    /// What the plugin should answer, if the fixture states it.
    pub expectation: Expectation,
    /// The shared case the input came from, if any.
    pub case: Option<PathBuf>,
}

/// What a fixture expects of the plugin.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// Nothing stated: the fixture passes when the record maps.
    Maps,
    /// This output, exactly.
    Output(serde_json::Value),
    /// A mapping error with this code.
    Error(String),
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

/// Whether a run answered what its fixture expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// Why not, ready to print: a line diff of the JSON (`-` expected, `+` got), or the
    /// error that came instead.
    Fail(String),
}

/// Why a fixture cannot be read or run.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    #[error("{}", .path.display())]
    In {
        path: PathBuf,
        #[source]
        cause: Box<FixtureError>,
    },
    #[error("fixture does not parse")]
    Json(#[source] serde_json::Error),
    #[error("a fixture states `expected` or `expected_error`, not both")]
    TwoExpectations,
    #[error("a fixture needs `{0}` (or a `case` to take it from)")]
    Missing(&'static str),
    #[error(
        "a fixture with a `case` takes its function and input from it; remove `function` and `input`"
    )]
    CaseAndOwnInput,
    #[error("a fixture with a `case` must be read from a file")]
    CaseWithoutFile,
    #[error("its case {}", .case.display())]
    Case {
        case: PathBuf,
        #[source]
        cause: Box<FixtureError>,
    },
    #[error("its case {} names a case itself; cases do not nest", .0.display())]
    NestedCase(PathBuf),
    #[error("fixture input is not a valid {what}")]
    Input {
        what: &'static str,
        #[source]
        cause: serde_json::Error,
    },
    #[error("cannot write {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    #[error("no *.json fixtures in {}", .0.display())]
    NoFixtures(PathBuf),
    /// The plugin could not be given the fixture's settings.
    #[error("plugin `{plugin}` {cause}")]
    Settings {
        plugin: String,
        #[source]
        cause: Box<LoadError>,
    },
}

impl Fixture {
    /// Parses a self-contained fixture (no `case`); the error says where the JSON is wrong.
    pub fn parse(text: &str) -> Result<Fixture, FixtureError> {
        Self::parse_in(text, None)
    }

    /// Reads the fixture at `path`, with its shared case if it names one.
    pub fn load(path: &Path) -> Result<Fixture, FixtureError> {
        let text = std::fs::read_to_string(path).map_err(|cause| FixtureError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        Self::parse_in(&text, Some(path.parent().unwrap_or(Path::new(".")))).map_err(|cause| {
            FixtureError::In {
                path: path.to_path_buf(),
                cause: Box::new(cause),
            }
        })
    }

    fn parse_in(text: &str, dir: Option<&Path>) -> Result<Fixture, FixtureError> {
        let file: FixtureFile = serde_json::from_str(text).map_err(FixtureError::Json)?;
        let expectation = match (file.expected, file.expected_error) {
            (Some(_), Some(_)) => return Err(FixtureError::TwoExpectations),
            (Some(output), None) => Expectation::Output(output),
            (None, Some(code)) => Expectation::Error(code),
            (None, None) => Expectation::Maps,
        };
        let (description, function, input, case) = match file.case {
            None => {
                let function = file.function.ok_or(FixtureError::Missing("function"))?;
                let input = file.input.ok_or(FixtureError::Missing("input"))?;
                (file.description, function, input, None)
            }
            Some(case) => {
                if file.function.is_some() || file.input.is_some() {
                    return Err(FixtureError::CaseAndOwnInput);
                }
                let dir = dir.ok_or(FixtureError::CaseWithoutFile)?;
                let path = dir.join(&case);
                let shared = Fixture::load(&path).map_err(|cause| FixtureError::Case {
                    case: case.clone(),
                    cause: Box::new(cause),
                })?;
                if shared.case.is_some() {
                    return Err(FixtureError::NestedCase(case));
                }
                let description = if file.description.is_empty() {
                    shared.description
                } else {
                    file.description
                };
                (description, shared.function, shared.input, Some(path))
            }
        };
        let fixture = Fixture {
            description,
            function,
            config: file.config,
            input,
            expectation,
            case,
        };
        fixture.typed_input()?;
        Ok(fixture)
    }

    /// The expected output, if the fixture states one.
    pub fn expected(&self) -> Option<&serde_json::Value> {
        match &self.expectation {
            Expectation::Output(output) => Some(output),
            _ => None,
        }
    }

    pub fn settings(&self) -> Vec<(String, String)> {
        self.config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The input as the record its function takes.
    pub fn typed_input(&self) -> Result<Input, FixtureError> {
        fn input<T: serde::de::DeserializeOwned>(
            value: &serde_json::Value,
            what: &'static str,
        ) -> Result<T, FixtureError> {
            T::deserialize(value).map_err(|cause| FixtureError::Input { what, cause })
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
    pub fn run(&self, plugin: &LoadedPlugin) -> Result<FixtureRun, FixtureError> {
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
        Ok(match self.typed_input()? {
            Input::Order(order) => finish(plugin.map_orders(&[*order], None)),
            Input::Refund(refund) => finish(plugin.map_refunds(&[*refund], None)),
            Input::Customer(customer) => finish(plugin.map_customers(&[*customer])),
            Input::Item(item) => finish(plugin.map_items(&[*item])),
        })
    }

    /// Compares a run with what the fixture expects.
    pub fn verdict(&self, run: &FixtureRun) -> Verdict {
        match (&self.expectation, &run.output) {
            (Expectation::Maps, Ok(_)) => Verdict::Pass,
            (Expectation::Output(expected), Ok(got)) if expected == got => Verdict::Pass,
            (Expectation::Output(expected), Ok(got)) => Verdict::Fail(format!(
                "output differs (- expected, + got):\n{}",
                json_diff(expected, got)
            )),
            (Expectation::Error(code), Err(error)) if error.code() == *code => Verdict::Pass,
            (Expectation::Error(code), Err(error)) => Verdict::Fail(format!(
                "expected error `{code}`, got error `{}`: {error}",
                error.code()
            )),
            (Expectation::Error(code), Ok(got)) => Verdict::Fail(format!(
                "expected error `{code}`, but the record mapped to:\n{}",
                pretty(got)
            )),
            (_, Err(error)) => Verdict::Fail(format!("error `{}`: {error}", error.code())),
        }
    }
}

/// One fixture's run with the plugin reconfigured for it.
#[derive(Debug)]
pub struct Outcome {
    pub path: PathBuf,
    /// The fixture's file name.
    pub name: String,
    pub description: String,
    pub run: Result<(FixtureRun, Verdict), FixtureError>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self.run, Ok((_, Verdict::Pass)))
    }
}

/// Runs each fixture (read from its path) on `base` given that fixture's settings: the
/// plugin is compiled once.
pub fn run_all(base: &LoadedPlugin, paths: &[PathBuf], fixtures: &[Fixture]) -> Vec<Outcome> {
    paths
        .iter()
        .zip(fixtures)
        .map(|(path, fixture)| {
            let run = base
                .with_settings(fixture.settings())
                .map_err(|cause| FixtureError::Settings {
                    plugin: base.name().to_string(),
                    cause: Box::new(cause),
                })
                .and_then(|plugin| fixture.run(&plugin))
                .map(|run| {
                    let verdict = fixture.verdict(&run);
                    (run, verdict)
                });
            Outcome {
                path: path.clone(),
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                description: fixture.description.clone(),
                run,
            }
        })
        .collect()
}

/// Writes what `run` answered into the fixture file at `path` as what it expects
/// (`expected`, or `expected_error` with the error's code), keeping the rest of the file;
/// true when that changed the file. `plugins test --update` records a plugin's answers so.
pub fn record_answer(path: &Path, run: &FixtureRun) -> Result<bool, FixtureError> {
    let read = std::fs::read_to_string(path).map_err(|cause| FixtureError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    let mut fixture: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&read)
        .map_err(|cause| FixtureError::In {
            path: path.to_path_buf(),
            cause: Box::new(FixtureError::Json(cause)),
        })?;
    fixture.remove("expected");
    fixture.remove("expected_error");
    match &run.output {
        Ok(output) => fixture.insert("expected".into(), output.clone()),
        Err(error) => fixture.insert("expected_error".into(), error.code().into()),
    };
    let written = pretty(&serde_json::Value::Object(fixture)) + "\n";
    if written == read {
        return Ok(false);
    }
    std::fs::write(path, written).map_err(|cause| FixtureError::Write {
        path: path.to_path_buf(),
        cause,
    })?;
    Ok(true)
}

/// The `*.json` fixtures in `dir`, sorted by name.
pub fn fixtures_in(dir: &Path) -> Result<Vec<PathBuf>, FixtureError> {
    let entries = std::fs::read_dir(dir).map_err(|cause| FixtureError::Read {
        path: dir.to_path_buf(),
        cause,
    })?;
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(FixtureError::NoFixtures(dir.to_path_buf()));
    }
    Ok(found)
}

/// The fixtures in `dir` ([`fixtures_in`]: at least one), each read, with their paths.
pub fn load_folder(dir: &Path) -> Result<(Vec<PathBuf>, Vec<Fixture>), FixtureError> {
    let paths = fixtures_in(dir)?;
    let fixtures = paths
        .iter()
        .map(|path| Fixture::load(path))
        .collect::<Result<_, _>>()?;
    Ok((paths, fixtures))
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialise")
}

/// A line diff of two JSON values, pretty-printed: unchanged lines are shown around each
/// change (two lines of context), `-` lines are only in `expected`, `+` only in `got`.
pub fn json_diff(expected: &serde_json::Value, got: &serde_json::Value) -> String {
    let (a, b) = (pretty(expected), pretty(got));
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    // Longest common subsequence table, from the ends: fixtures are a few hundred lines.
    let mut lcs = vec![vec![0_u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    const CONTEXT: usize = 2;
    let near_change = |k: usize| {
        let from = k.saturating_sub(CONTEXT);
        let to = (k + CONTEXT + 1).min(ops.len());
        ops[from..to].iter().any(|(op, _)| *op != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if *op == ' ' && !near_change(k) {
            if !skipped {
                out.push_str("  ...\n");
                skipped = true;
            }
            continue;
        }
        skipped = false;
        out.push(*op);
        out.push(' ');
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_diff_shows_the_changed_amount_with_context() {
        let expected = json!({"lines": [{"account": "4000", "credit": 625000}, {"account": "4100", "credit": 80000}]});
        let got = json!({"lines": [{"account": "4000", "credit": 575000}, {"account": "4100", "credit": 80000}]});
        let diff = json_diff(&expected, &got);
        assert!(diff.contains("-       \"credit\": 625000"), "{diff}");
        assert!(diff.contains("+       \"credit\": 575000"), "{diff}");
        assert!(
            diff.contains("  ...") || diff.lines().count() < 12,
            "{diff}"
        );
        assert_eq!(json_diff(&expected, &expected).trim(), "...");
    }

    #[test]
    fn a_fixture_states_an_output_or_an_error_not_both() {
        let text =
            r#"{"function": "map-customer", "input": {}, "expected": {}, "expected_error": "x"}"#;
        assert!(matches!(
            Fixture::parse(text),
            Err(FixtureError::TwoExpectations)
        ));
    }

    #[test]
    fn a_case_needs_a_file_to_resolve_against() {
        let text = r#"{"case": "shared/order-basic.json", "config": {}}"#;
        assert!(matches!(
            Fixture::parse(text),
            Err(FixtureError::CaseWithoutFile)
        ));
    }

    #[test]
    fn a_shared_case_gives_function_and_input_and_the_fixture_its_settings() {
        let dir = tempfile::tempdir().unwrap();
        let input = json!({"id": "9", "email": "a@b.c", "first_name": "A", "last_name": "B",
            "company": "", "phone": "", "group": "", "billing_address": null});
        std::fs::create_dir(dir.path().join("shared")).unwrap();
        std::fs::write(
            dir.path().join("shared/shopper.json"),
            json!({"description": "a shopper", "function": "map-customer", "input": input})
                .to_string(),
        )
        .unwrap();
        let path = dir.path().join("shopper.json");
        std::fs::write(
            &path,
            json!({"case": "shared/shopper.json", "config": {"k": "v"}, "expected_error": "bad-email"})
                .to_string(),
        )
        .unwrap();
        let fixture = Fixture::load(&path).unwrap();
        assert_eq!(fixture.function, Function::MapCustomer);
        assert_eq!(fixture.description, "a shopper");
        assert_eq!(fixture.input, input);
        assert_eq!(fixture.settings(), vec![("k".into(), "v".into())]);
        assert_eq!(fixture.expectation, Expectation::Error("bad-email".into()));
    }
}
