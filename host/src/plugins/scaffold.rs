//! `ml-connector plugins new`: a plugin project in Rust, JavaScript or Python for either
//! world, ready to build with one command and to pass `plugins test` and `plugins check`.
//!
//! A project is made of the templates in `host/templates/` (`<language>/common/` for the
//! build files, `<language>/<world>/` for the mapping, `README.md`), the newest contract's
//! WIT, the shared fixture cases of its world, and the template's fixtures: the shared
//! cases with the settings and the answers the template gives. The three languages
//! implement the same mapping, so one set of fixtures per world serves all three (the
//! tests build each and run them). All of it is embedded in the binary at build time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::World;
use super::bindings::{Contract, PACKAGE};
use super::fixture::Function;

include!(concat!(env!("OUT_DIR"), "/scaffold_files.rs"));

/// The languages a project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    Rust,
    Javascript,
    Python,
}

impl Language {
    /// The template folder.
    fn folder(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Javascript => "javascript",
            Language::Python => "python",
        }
    }

    /// `Rust`, `JavaScript`, `Python`.
    pub fn title(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Javascript => "JavaScript",
            Language::Python => "Python",
        }
    }

    /// The one command that builds a project into `dist/plugin.wasm`.
    pub fn build_command(self) -> &'static str {
        match self {
            Language::Rust | Language::Python => "./build.sh",
            Language::Javascript => "npm run build",
        }
    }

    /// What the build command needs on the machine.
    fn requires(self) -> &'static str {
        match self {
            Language::Rust => {
                "It needs Rust 1.85 or newer with the `wasm32-wasip2` target (the script adds \
                 it when rustup manages the toolchain)."
            }
            Language::Javascript => {
                "It needs Node.js 20 or newer; the first build installs the pinned \
                 componentize-js (`package-lock.json`) into `node_modules/`."
            }
            Language::Python => {
                "It needs Python 3.9 or newer; the first build installs the pinned \
                 componentize-py (`requirements.txt`) into `.venv/`."
            }
        }
    }
}

/// Why a project could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "`{0}` is not a plugin name: use lowercase letters, digits and single dashes, starting with a letter (at most 64)"
    )]
    Name(String),
    #[error("{} already exists and is not empty", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
}

/// A project written by [`create`].
#[derive(Debug)]
pub struct Project {
    pub dir: PathBuf,
    /// The files written, relative to `dir`, sorted.
    pub files: Vec<PathBuf>,
    /// How many fixtures it has (besides their shared cases).
    pub fixtures: usize,
}

/// Writes a new `world` plugin project named `name` in `language` into `dir`, which must
/// not exist or be empty.
pub fn create(
    dir: &Path,
    name: &str,
    world: World,
    language: Language,
) -> Result<Project, ScaffoldError> {
    if !is_plugin_name(name) {
        return Err(ScaffoldError::Name(name.to_string()));
    }
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ScaffoldError::Exists(dir.to_path_buf()));
    }
    let files = project_files(name, world, language);
    let fixtures = files
        .keys()
        .filter(|path| path.parent() == Some(Path::new("fixtures")))
        .count();
    for (relative, contents) in &files {
        let path = dir.join(relative);
        let write = |path: &Path| -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, contents)?;
            if path.extension().is_some_and(|ext| ext == "sh") {
                executable(path)?;
            }
            Ok(())
        };
        write(&path).map_err(|cause| ScaffoldError::Write { path, cause })?;
    }
    Ok(Project {
        dir: dir.to_path_buf(),
        files: files.into_keys().collect(),
        fixtures,
    })
}

#[cfg(unix)]
fn executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Lowercase letters, digits and single inner dashes, starting with a letter: a name
/// that is also a valid crate, npm package and file name.
pub fn is_plugin_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Every file of the project, by path relative to its folder.
fn project_files(name: &str, world: World, language: Language) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let fixtures = template_fixtures(world);
    let (contract, wit) = newest_wit();
    let vars = Vars {
        name,
        world,
        language,
        contract: &contract,
        settings: fixtures
            .first()
            .map(|(_, fixture)| settings_toml(fixture))
            .unwrap_or_default(),
    };
    let lang = language.folder();
    for (path, text) in under(&format!("templates/{lang}/common/")) {
        // Kept as `gitignore` in the templates, where a `.gitignore` would apply to them.
        let path = if path == "gitignore" {
            ".gitignore"
        } else {
            path
        };
        files.insert(PathBuf::from(path), vars.fill(text));
    }
    for (path, text) in under(&format!("templates/{lang}/{}/", world.name())) {
        files.insert(Path::new("src").join(path), vars.fill(text));
    }
    files.insert("README.md".into(), vars.fill(file("templates/README.md")));
    if language == Language::Javascript {
        files.insert("package-lock.json".into(), package_lock(name));
    }
    for (path, text) in wit {
        files.insert(Path::new("wit").join(path), text.to_string());
    }
    for (case, text) in under("shared/") {
        if case_world(text) == Some(world) {
            files.insert(Path::new("fixtures/shared").join(case), text.to_string());
        }
    }
    for (path, fixture) in fixtures {
        let text = serde_json::to_string_pretty(&fixture).expect("JSON values serialise");
        files.insert(Path::new("fixtures").join(path), text + "\n");
    }
    files
}

/// The placeholders a template may hold, as `{{name}}`.
struct Vars<'a> {
    name: &'a str,
    world: World,
    language: Language,
    contract: &'a str,
    /// The settings of the template's first fixture, as lines of TOML.
    settings: String,
}

impl Vars<'_> {
    fn fill(&self, template: &str) -> String {
        let source = match self.language {
            Language::Rust => "src/lib.rs",
            Language::Javascript => "src/plugin.js",
            Language::Python => "src/plugin.py",
        };
        let (table, record) = match self.world {
            World::OrderToGl => ("plugin", "order:123"),
            World::ItemToCatalog => ("catalog", "item:MUG-01"),
        };
        [
            ("name", self.name),
            ("crate", &self.name.replace('-', "_")),
            ("world", self.world.name()),
            ("contract", self.contract),
            ("language", self.language.title()),
            ("source", source),
            ("build", self.language.build_command()),
            ("requires", self.language.requires()),
            ("table", table),
            ("record", record),
            ("settings", self.settings.trim_end()),
        ]
        .iter()
        .fold(template.to_string(), |text, (key, value)| {
            text.replace(&format!("{{{{{key}}}}}"), value)
        })
    }
}

/// The embedded file `name`.
fn file(name: &str) -> &'static str {
    FILES
        .iter()
        .find(|(path, _)| *path == name)
        .map(|(_, text)| *text)
        .unwrap_or_else(|| panic!("{name} is embedded by build.rs"))
}

/// The embedded files below `prefix`, by their path below it.
fn under(prefix: &str) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    FILES
        .iter()
        .filter_map(move |(path, text)| path.strip_prefix(prefix).map(|rest| (rest, *text)))
}

/// The version and files (by name) of the newest contract's WIT.
fn newest_wit() -> (String, Vec<(&'static str, &'static str)>) {
    let version = FILES
        .iter()
        .filter_map(|(path, _)| path.strip_prefix("wit/mapping@")?.split_once('/'))
        .map(|(version, _)| version)
        .filter(|version| Contract::of(version) == Some(Contract::NEWEST))
        .max()
        .unwrap_or_else(|| panic!("the WIT of {PACKAGE}@{} is embedded", Contract::NEWEST));
    let files = under(&format!("wit/mapping@{version}/")).collect();
    (version.to_string(), files)
}

/// The world whose plugins map a shared case, from its `function`.
fn case_world(case: &str) -> Option<World> {
    let case: serde_json::Value = serde_json::from_str(case).ok()?;
    Function::deserialize(&case["function"])
        .ok()
        .map(Function::world)
}

/// The template's fixtures of `world` as a project holds them: each names its case in the
/// project's `fixtures/shared/` (the repository's point at the shared cases in place).
fn template_fixtures(world: World) -> Vec<(&'static str, serde_json::Value)> {
    under(&format!("templates/fixtures/{}/", world.name()))
        .map(|(path, text)| {
            let mut fixture: serde_json::Value =
                serde_json::from_str(text).expect("the template fixtures are JSON");
            if let Some(case) = fixture.get("case").and_then(|case| case.as_str()) {
                let case = Path::new(case)
                    .file_name()
                    .expect("a case is a file")
                    .to_string_lossy();
                fixture["case"] = format!("shared/{case}").into();
            }
            (path, fixture)
        })
        .collect()
}

/// A fixture's `config` as TOML lines (`"account.sales" = "4000"`), indented as the
/// README's example block is.
fn settings_toml(fixture: &serde_json::Value) -> String {
    let Some(config) = fixture["config"].as_object() else {
        return String::new();
    };
    config
        .iter()
        .map(|(key, value)| {
            let value = value.as_str().unwrap_or_default();
            format!("    {key:?} = {value:?}\n")
        })
        .collect()
}

/// The JavaScript example's lock file (the one pin of the build tools) with the new
/// project's name and version.
fn package_lock(name: &str) -> String {
    let mut lock: serde_json::Value = serde_json::from_str(file("javascript/package-lock.json"))
        .expect("the example's package-lock.json is JSON");
    lock["name"] = name.into();
    lock["version"] = "0.1.0".into();
    let root = &mut lock["packages"][""];
    root["name"] = name.into();
    root["version"] = "0.1.0".into();
    if let Some(root) = root.as_object_mut() {
        root.remove("license");
    }
    serde_json::to_string_pretty(&lock).expect("JSON values serialise") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_crate_package_and_file_names() {
        for good in ["a", "acme-orders", "gl2", "my-plugin-2"] {
            assert!(is_plugin_name(good), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "", "2gl", "-a", "a-", "a--b", "Acme", "a_b", "a.b", "a/b", "../a", &long,
        ] {
            assert!(!is_plugin_name(bad), "{bad}");
        }
    }

    #[test]
    fn each_project_has_its_build_files_mapping_contract_and_fixtures() {
        for world in [World::OrderToGl, World::ItemToCatalog] {
            for language in [Language::Rust, Language::Javascript, Language::Python] {
                let files = project_files("acme-map", world, language);
                let has = |path: &str| files.contains_key(Path::new(path));
                assert!(has("README.md") && has(".gitignore") && has("wit/worlds.wit"));
                let build = match language {
                    Language::Rust => ["build.sh", "Cargo.toml", "src/lib.rs"],
                    Language::Javascript => ["package.json", "package-lock.json", "src/plugin.js"],
                    Language::Python => ["build.sh", "requirements.txt", "src/plugin.py"],
                };
                assert!(build.iter().all(|path| has(path)), "{language:?} {world:?}");
                for (path, text) in &files {
                    assert!(
                        !text.contains("{{"),
                        "{} keeps a placeholder",
                        path.display()
                    );
                }
                let named = |dir: &str| -> Vec<_> {
                    files
                        .keys()
                        .filter(|p| p.parent() == Some(Path::new(dir)))
                        .map(|p| p.file_name().unwrap().to_owned())
                        .collect()
                };
                let fixtures = named("fixtures");
                assert!(!fixtures.is_empty());
                // Every shared case of the world has a fixture with the template's answer.
                assert_eq!(fixtures, named("fixtures/shared"), "{world:?}");
            }
        }
    }

    #[test]
    fn a_project_is_not_written_over_another() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let error = create(dir.path(), "acme", World::OrderToGl, Language::Rust).unwrap_err();
        assert!(matches!(error, ScaffoldError::Exists(_)), "{error}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let error = create(
            &dir.path().join("x"),
            "Acme",
            World::OrderToGl,
            Language::Rust,
        );
        assert!(matches!(error, Err(ScaffoldError::Name(_))));
    }
}
