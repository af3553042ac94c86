//! Conformance checking of HTTP traffic against OpenAPI 3.0 documents, such as BigCommerce's
//! published API specs: requests our API client sends and responses our BigCommerce simulator
//! returns are checked for path, method, parameters, status code and JSON body.
//!
//! Schemas are OpenAPI 3.0 Schema Objects, converted to JSON Schema (draft 7) before validation:
//! `nullable` (and the Swagger-era `x-nullable`) adds `null`, boolean `exclusiveMinimum` /
//! `exclusiveMaximum` become numeric bounds, `$ref` siblings are ignored as OpenAPI 3.0 says
//! (except `nullable`), annotation-only keywords are dropped, and `required` properties that are
//! `readOnly` are not required in requests, nor `writeOnly` ones in responses.
//!
//! `format` is asserted for the text formats a client parses, as BigCommerce writes them:
//! `date-time` is RFC 3339 in whole seconds (BigCommerce's answers and examples carry no
//! fractions; a client with a strict parser fails on more) or RFC 2822 (V2's dates), `date` a
//! calendar day, `email` an address with a local part and a domain. The numeric formats
//! (`int32`, `double`, `decimal`...) and the rest (`ISO-4217`, `url`) are annotations the
//! documents use loosely, and are not asserted.
//!
//! What is checked: the path matches a template of a spec (literal segments preferred over
//! parameters) and has the method; path, query and header parameters (path-level and
//! operation-level merged, text converted to the schema's type, `style: form, explode: false`
//! arrays split on commas); query parameters the operation does not declare; required query
//! parameters and headers; the request body against the `application/json` (or other JSON)
//! media type, and the Content-Type header against the declared media types; the response
//! status (exact, then `2XX`-style range, then `default`) and the response body. Headers the
//! operation does not declare (authentication and the like) are not reported.
//!
//! Validators are compiled once per schema location and cached, so checking many bodies against
//! large documents stays cheap. `$ref`s inside schemas resolve against the document's
//! `components/schemas` (the only place the BigCommerce specs point to); `$ref`s to parameters,
//! request bodies and responses are followed anywhere in the document.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, ValidationError, Validator};
use serde_json::{Map, Value, json};

/// HTTP methods an OpenAPI path item can hold operations for.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Longest message text kept from the validator for one finding, in bytes.
const MAX_MESSAGE: usize = 400;

/// One finding: something in a request or response that the spec does not allow.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The operation, method and path template without the prefix, e.g.
    /// `"GET /orders/{order_id}/products"`; for an unknown path, the method and the path as sent.
    pub operation: String,
    /// Where the problem is, e.g. `"path"`, `"path order_id"`, `"query sort"`,
    /// `"header content-type"`, `"request body /products/0/quantity"`,
    /// `"response 200 body /data/0/amount"`, `"response 418"`.
    pub location: String,
    /// What is wrong, with the validator's message and the schema keyword that failed.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.operation, self.location, self.message)
    }
}

/// Which side of the exchange a schema is applied to; decides `readOnly` / `writeOnly` handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Direction {
    Request,
    Response,
}

impl Direction {
    /// Base URI of the converted `components` document for this direction.
    fn base(self) -> &'static str {
        match self {
            Direction::Request => "urn:openapi:request",
            Direction::Response => "urn:openapi:response",
        }
    }

    /// The schema flag that hides a property from `required` in this direction.
    fn hiding_flag(self) -> &'static str {
        match self {
            Direction::Request => "readOnly",
            Direction::Response => "writeOnly",
        }
    }

    fn index(self) -> usize {
        match self {
            Direction::Request => 0,
            Direction::Response => 1,
        }
    }
}

/// A compiled validator, or why the schema could not be compiled.
type Compiled = Arc<Result<Validator, String>>;

/// Path parameter values from a request path: (template name, percent-decoded value).
type PathParams = Vec<(String, String)>;

/// One segment of a path template.
#[derive(Debug)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One entry of the document's `paths`.
#[derive(Debug)]
struct PathTemplate {
    template: String,
    segments: Vec<Segment>,
}

impl PathTemplate {
    fn parse(template: &str) -> PathTemplate {
        let segments = split_path(template)
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) if !name.contains(['{', '}']) => Segment::Param(name.to_string()),
                    _ => Segment::Literal(s.to_string()),
                },
            )
            .collect();
        PathTemplate {
            template: template.to_string(),
            segments,
        }
    }

    /// Matches the path's segments; on success, gives the path parameters (percent-decoded)
    /// and the template's shape (true for each literal segment) for ranking.
    fn matches(&self, segments: &[&str]) -> Option<(PathParams, Vec<bool>)> {
        if segments.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        let mut shape = Vec::with_capacity(segments.len());
        for (have, want) in segments.iter().zip(&self.segments) {
            match want {
                Segment::Literal(lit) => {
                    if have != lit {
                        return None;
                    }
                    shape.push(true);
                }
                Segment::Param(name) => {
                    if have.is_empty() {
                        return None;
                    }
                    params.push((name.clone(), percent_decode(have)));
                    shape.push(false);
                }
            }
        }
        Some((params, shape))
    }
}

/// One parsed OpenAPI 3.0 document.
pub struct Spec {
    /// File name, for messages.
    name: String,
    doc: Value,
    paths: Vec<PathTemplate>,
    /// The converted `components` document as a schema registry, per direction; built on first use.
    registries: [OnceLock<Result<Registry<'static>, String>>; 2],
    /// Compiled validators by direction and JSON pointer into `doc`.
    validators: Mutex<HashMap<(Direction, String), Compiled>>,
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field("name", &self.name)
            .field("paths", &self.paths.len())
            .finish_non_exhaustive()
    }
}

impl Spec {
    /// Reads and parses an OpenAPI 3.0 document (YAML or JSON).
    pub fn load(path: &Path) -> Result<Spec, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let doc: Value = serde_yaml_ng::from_str(&text)
            .map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Spec::from_value(name, doc)
    }

    /// Builds a spec from an already parsed document; `name` appears in messages.
    fn from_value(name: String, doc: Value) -> Result<Spec, String> {
        match doc.get("openapi").and_then(Value::as_str) {
            Some(v) if v.starts_with("3.") => {}
            Some(v) => return Err(format!("{name}: OpenAPI version {v} is not 3.x")),
            None => return Err(format!("{name}: no `openapi` version field")),
        }
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{name}: no `paths` object"))?
            .keys()
            .map(|t| PathTemplate::parse(t))
            .collect();
        Ok(Spec {
            name,
            doc,
            paths,
            registries: [OnceLock::new(), OnceLock::new()],
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// The converted `components/schemas` of this document, as a registry for `$ref`s.
    fn registry(&self, dir: Direction) -> Result<&Registry<'static>, String> {
        self.registries[dir.index()]
            .get_or_init(|| {
                let conv = Converter {
                    doc: &self.doc,
                    dir,
                };
                let schemas: Map<String, Value> = self
                    .doc
                    .pointer("/components/schemas")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), conv.schema(v, &[])))
                            .collect()
                    })
                    .unwrap_or_default();
                let resource = json!({ "components": { "schemas": schemas } });
                Registry::new()
                    .draft(Draft::Draft7)
                    .add(dir.base(), resource)
                    .and_then(|b| b.prepare())
                    .map_err(|e| format!("{}: cannot index components: {e}", self.name))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The validator for the schema at `pointer` in the document, compiled on first use.
    fn validator(&self, dir: Direction, pointer: &str) -> Compiled {
        let key = (dir, pointer.to_string());
        if let Some(v) = lock(&self.validators).get(&key) {
            return Arc::clone(v);
        }
        let compiled = Arc::new(self.compile(dir, pointer));
        Arc::clone(lock(&self.validators).entry(key).or_insert(compiled))
    }

    fn compile(&self, dir: Direction, pointer: &str) -> Result<Validator, String> {
        let schema = self
            .doc
            .pointer(pointer)
            .ok_or_else(|| format!("{}: no schema at #{pointer}", self.name))?;
        let registry = self.registry(dir)?;
        let converted = Converter {
            doc: &self.doc,
            dir,
        }
        .schema(schema, &[]);
        jsonschema::options()
            .with_draft(Draft::Draft7)
            .should_validate_formats(true)
            .with_format("date-time", formats::date_time)
            .with_format("date", formats::date)
            .with_format("email", formats::email)
            .with_registry(registry)
            .build(&converted)
            .map_err(|e| format!("{}: cannot compile schema #{pointer}: {e}", self.name))
    }

    /// Validates `instance` against the schema at `pointer`, adding a violation per error.
    /// With `pointer_in_location`, the failing instance's JSON pointer is appended to `location`;
    /// otherwise it goes in the message.
    fn validate(&self, ctx: &Ctx<'_>, pointer: &str, instance: &Value, pointer_in_location: bool) {
        let compiled = self.validator(ctx.dir, pointer);
        let validator = match compiled.as_ref() {
            Ok(v) => v,
            Err(e) => return ctx.push(ctx.location.clone(), e.clone()),
        };
        let mut found = Vec::new();
        for error in validator.iter_errors(instance) {
            leaf_errors(&error, ctx.dir, pointer, &mut found);
        }
        let mut seen: Vec<(String, String)> = Vec::new();
        for (at, detail) in found {
            let (location, message) = if at.is_empty() {
                (ctx.location.clone(), detail)
            } else if pointer_in_location {
                (format!("{} {at}", ctx.location), detail)
            } else {
                (ctx.location.clone(), format!("at {at}: {detail}"))
            };
            // Schemas that repeat a constraint (e.g. through `allOf`) report it once.
            if !seen.iter().any(|(l, m)| *l == location && *m == message) {
                seen.push((location.clone(), message.clone()));
                ctx.push(location, message);
            }
        }
    }

    /// Follows `$ref`s from the value at `pointer`; gives the target and its pointer.
    fn resolve<'a>(&'a self, value: &'a Value, pointer: String) -> (&'a Value, String) {
        resolve_in(&self.doc, value, pointer)
    }

    /// The parameters of an operation: path-level ones overridden by operation-level ones
    /// (same name and `in`), `$ref`s resolved. Each with the pointer of the resolved object.
    fn parameters<'a>(&'a self, route: &Route<'a>) -> Vec<Param<'a>> {
        let mut out: Vec<Param<'a>> = Vec::new();
        let lists = [
            (route.path_item, route.path_item_ptr.clone()),
            (route.op, route.op_ptr.clone()),
        ];
        for (holder, holder_ptr) in lists {
            let Some(list) = holder.get("parameters").and_then(Value::as_array) else {
                continue;
            };
            for (i, raw) in list.iter().enumerate() {
                let (p, ptr) = self.resolve(raw, format!("{holder_ptr}/parameters/{i}"));
                let (Some(name), Some(location)) = (
                    p.get("name").and_then(Value::as_str),
                    p.get("in").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let param = Param {
                    name,
                    location,
                    required: p.get("required").and_then(Value::as_bool) == Some(true),
                    // Defaults: style `form` for query and cookie, `simple` for path and
                    // header; explode only for `form`.
                    explode: p
                        .get("explode")
                        .and_then(Value::as_bool)
                        .unwrap_or_else(|| {
                            let default_style = match location {
                                "query" | "cookie" => "form",
                                _ => "simple",
                            };
                            p.get("style")
                                .and_then(Value::as_str)
                                .unwrap_or(default_style)
                                == "form"
                        }),
                    schema_ptr: p.get("schema").map(|_| format!("{ptr}/schema")),
                };
                match out
                    .iter_mut()
                    .find(|q| q.name == name && q.location.eq_ignore_ascii_case(location))
                {
                    Some(q) => *q = param,
                    None => out.push(param),
                }
            }
        }
        out
    }

    /// The schema type of a parameter (after `$ref`s), and of its items for arrays.
    fn param_types(&self, schema_ptr: &str) -> (Option<&str>, Option<&str>) {
        let Some(raw) = self.doc.pointer(schema_ptr) else {
            return (None, None);
        };
        let (schema, ptr) = self.resolve(raw, schema_ptr.to_string());
        let ty = schema.get("type").and_then(Value::as_str);
        let item_ty = schema.get("items").and_then(|items| {
            let (items, _) = self.resolve(items, format!("{ptr}/items"));
            items.get("type").and_then(Value::as_str)
        });
        (ty, item_ty)
    }

    /// Converts raw parameter text to the JSON value its schema describes, validates it.
    fn check_param(&self, ctx: &Ctx<'_>, param: &Param<'_>, values: &[&str]) {
        let Some(schema_ptr) = &param.schema_ptr else {
            return;
        };
        let (ty, item_ty) = self.param_types(schema_ptr);
        if ty == Some("array") {
            let items: Vec<Value> = if param.explode {
                values.iter().map(|v| coerce(v, item_ty)).collect()
            } else {
                values
                    .iter()
                    .flat_map(|v| v.split(','))
                    .map(|v| coerce(v, item_ty))
                    .collect()
            };
            self.validate(ctx, schema_ptr, &Value::Array(items), false);
            return;
        }
        if values.len() > 1 {
            ctx.push(
                ctx.location.clone(),
                format!("given {} times, but it is not an array", values.len()),
            );
        }
        for v in values {
            self.validate(ctx, schema_ptr, &coerce(v, ty), false);
        }
    }
}

/// Several specs, each serving paths under a prefix, e.g. `"/v2"` → `orders.v2.oas2.yml`,
/// `"/v3"` → `orders.v3.yml` + `customers.v3.yml` + `webhooks.v3.yml` + catalog specs.
///
/// A path is looked up under the longest prefix it starts with; among the specs sharing that
/// prefix, the best-matching path template wins (literal segments beat parameters, earlier
/// segments first), and ties go to the spec added first.
#[derive(Debug, Default)]
pub struct SpecSet {
    groups: Vec<(String, Vec<Spec>)>,
}

/// One matched operation.
struct Route<'a> {
    spec: &'a Spec,
    /// e.g. `"GET /orders/{order_id}"`.
    operation: String,
    path_item: &'a Value,
    path_item_ptr: String,
    op: &'a Value,
    op_ptr: String,
    /// Path parameter values from the request path, by template name.
    path_params: PathParams,
}

/// One parameter declaration.
struct Param<'a> {
    name: &'a str,
    location: &'a str,
    required: bool,
    explode: bool,
    schema_ptr: Option<String>,
}

/// Where findings go, and what they are about.
struct Ctx<'a> {
    operation: &'a str,
    location: String,
    dir: Direction,
    out: &'a std::cell::RefCell<Vec<Violation>>,
}

impl Ctx<'_> {
    fn at(&self, location: String) -> Ctx<'_> {
        Ctx {
            operation: self.operation,
            location,
            dir: self.dir,
            out: self.out,
        }
    }

    fn push(&self, location: String, message: String) {
        self.out.borrow_mut().push(Violation {
            operation: self.operation.to_string(),
            location,
            message,
        });
    }
}

impl SpecSet {
    /// An empty set.
    pub fn new() -> SpecSet {
        SpecSet::default()
    }

    /// Adds a spec serving paths under `prefix` (e.g. `"/v3"`; `""` for none). Several specs may
    /// share a prefix; the operation is looked up in each until one matches.
    pub fn add(&mut self, prefix: &str, spec: Spec) {
        let prefix = prefix.trim_end_matches('/').to_string();
        match self.groups.iter_mut().find(|(p, _)| *p == prefix) {
            Some((_, specs)) => specs.push(spec),
            None => {
                self.groups.push((prefix, vec![spec]));
                self.groups.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
            }
        }
    }

    /// Finds the operation for `method` and `path` (the API path after the store root).
    fn route(&self, method: &str, path: &str) -> Result<Route<'_>, Violation> {
        let method_lc = method.to_ascii_lowercase();
        let unknown = |message: String| Violation {
            operation: format!("{} {path}", method.to_ascii_uppercase()),
            location: "path".to_string(),
            message,
        };
        for (prefix, specs) in &self.groups {
            let Some(rest) = path.strip_prefix(prefix.as_str()) else {
                continue;
            };
            if !(rest.is_empty() || rest.starts_with('/')) {
                continue;
            }
            let segments: Vec<&str> = split_path(rest).collect();
            let mut candidates = Vec::new();
            for (order, spec) in specs.iter().enumerate() {
                for t in &spec.paths {
                    if let Some((params, shape)) = t.matches(&segments) {
                        candidates.push((shape, order, spec, t, params));
                    }
                }
            }
            if candidates.is_empty() {
                continue;
            }
            // Literal segments first (true > false), then the spec added first.
            candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            for (_, _, spec, t, params) in &candidates {
                let path_item_ptr = format!("/paths/{}", escape_pointer(&t.template));
                let Some(raw_item) = spec.doc.pointer(&path_item_ptr) else {
                    continue;
                };
                let (path_item, path_item_ptr) = spec.resolve(raw_item, path_item_ptr);
                if let Some(op) = path_item.get(&method_lc).filter(|o| o.is_object()) {
                    return Ok(Route {
                        spec,
                        operation: format!("{} {}", method.to_ascii_uppercase(), t.template),
                        path_item,
                        op_ptr: format!("{path_item_ptr}/{method_lc}"),
                        path_item_ptr,
                        op,
                        path_params: params.clone(),
                    });
                }
            }
            let (_, _, spec, best, _) = &candidates[0];
            let allowed: Vec<String> = candidates
                .iter()
                .filter(|c| c.3.template == best.template)
                .flat_map(|c| {
                    let item =
                        c.2.doc
                            .pointer(&format!("/paths/{}", escape_pointer(&c.3.template)))
                            .map(|i| c.2.resolve(i, String::new()).0);
                    METHODS
                        .iter()
                        .filter(move |m| item.and_then(|i| i.get(**m)).is_some())
                        .map(|m| m.to_ascii_uppercase())
                })
                .collect();
            return Err(unknown(format!(
                "path {prefix}{} (in {}) has no {} operation; it has: {}",
                best.template,
                spec.name,
                method.to_ascii_uppercase(),
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        Err(unknown(format!(
            "no path template of the specs matches this path (prefixes served: {})",
            list_or_none(self.groups.iter().map(|(p, _)| p.as_str()))
        )))
    }

    /// Checks one request: `path` is the API path after the store root, e.g.
    /// `"/v2/orders/100/products"` or `"/v3/catalog/products"` (no query string); `query` is the
    /// decoded query pairs; `headers` are (name, value) pairs, names compared case-insensitively.
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        headers: &[(String, String)],
        body: Option<&Value>,
    ) -> Vec<Violation> {
        let route = match self.route(method, path) {
            Ok(r) => r,
            Err(v) => return vec![v],
        };
        let spec = route.spec;
        let out = std::cell::RefCell::new(Vec::new());
        let ctx = Ctx {
            operation: &route.operation,
            location: String::new(),
            dir: Direction::Request,
            out: &out,
        };
        let params = spec.parameters(&route);

        // Path parameters.
        for (name, value) in &route.path_params {
            let ctx = ctx.at(format!("path {name}"));
            match params
                .iter()
                .find(|p| p.location == "path" && p.name == name)
            {
                Some(p) => spec.check_param(&ctx, p, &[value.as_str()]),
                None => ctx.push(
                    ctx.location.clone(),
                    "the path template has this parameter but the operation does not declare it"
                        .to_string(),
                ),
            }
        }

        // Query parameters.
        let mut given: Vec<(&str, Vec<&str>)> = Vec::new();
        for (k, v) in query {
            match given.iter_mut().find(|(n, _)| n == k) {
                Some((_, vs)) => vs.push(v),
                None => given.push((k, vec![v])),
            }
        }
        let declared: Vec<&Param<'_>> = params.iter().filter(|p| p.location == "query").collect();
        for (name, values) in &given {
            let ctx = ctx.at(format!("query {name}"));
            match declared.iter().find(|p| p.name == *name) {
                Some(p) => spec.check_param(&ctx, p, values),
                None => ctx.push(
                    ctx.location.clone(),
                    format!(
                        "unknown query parameter; the operation declares: {}",
                        list_or_none(declared.iter().map(|p| p.name))
                    ),
                ),
            }
        }
        for p in declared.iter().filter(|p| p.required) {
            if !given.iter().any(|(n, _)| *n == p.name) {
                ctx.push(
                    format!("query {}", p.name),
                    "required query parameter missing".to_string(),
                );
            }
        }

        // Header parameters.
        for p in params.iter().filter(|p| p.location == "header") {
            let ctx = ctx.at(format!("header {}", p.name.to_ascii_lowercase()));
            let values: Vec<&str> = headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(p.name))
                .map(|(_, v)| v.as_str())
                .collect();
            if values.is_empty() {
                if p.required {
                    ctx.push(ctx.location.clone(), "required header missing".to_string());
                }
            } else {
                spec.check_param(&ctx, p, &values);
            }
        }

        // Body.
        let ctx = ctx.at("request body".to_string());
        let request_body = route
            .op
            .get("requestBody")
            .map(|rb| spec.resolve(rb, format!("{}/requestBody", route.op_ptr)));
        match (request_body, body) {
            (None, None) => {}
            (None, Some(_)) => ctx.push(
                ctx.location.clone(),
                "the operation declares no request body, but one was sent".to_string(),
            ),
            (Some((rb, _)), None) => {
                if rb.get("required").and_then(Value::as_bool) == Some(true) {
                    ctx.push(
                        ctx.location.clone(),
                        "request body is required but none was sent".to_string(),
                    );
                }
            }
            (Some((rb, rb_ptr)), Some(body)) => {
                let content_type = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    .map(|(_, v)| v.as_str());
                check_content(spec, &ctx, rb, &rb_ptr, content_type, body);
            }
        }
        out.into_inner()
    }

    /// Checks one response to the request `method` `path`: `status` must be declared (exactly,
    /// as `NXX`, or by `default`) and `body` (`None` for an empty one) must match its JSON schema.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Vec<Violation> {
        let route = match self.route(method, path) {
            Ok(r) => r,
            Err(v) => return vec![v],
        };
        let spec = route.spec;
        let out = std::cell::RefCell::new(Vec::new());
        let ctx = Ctx {
            operation: &route.operation,
            location: format!("response {status}"),
            dir: Direction::Response,
            out: &out,
        };
        let responses = route.op.get("responses").and_then(Value::as_object);
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        let range_lc = range.to_ascii_lowercase();
        let key = responses.and_then(|r| {
            [code.as_str(), range.as_str(), range_lc.as_str(), "default"]
                .into_iter()
                .find(|k| r.contains_key(*k))
        });
        let Some(key) = key else {
            ctx.push(
                ctx.location.clone(),
                format!(
                    "status not declared; the operation declares: {}",
                    list_or_none(
                        responses
                            .into_iter()
                            .flat_map(|r| r.keys().map(String::as_str))
                    )
                ),
            );
            return out.into_inner();
        };
        let (response, response_ptr) = spec.resolve(
            &responses.expect("key came from responses")[key],
            format!("{}/responses/{}", route.op_ptr, escape_pointer(key)),
        );
        let ctx = ctx.at(format!("response {status} body"));
        let content = response
            .get("content")
            .and_then(Value::as_object)
            .filter(|c| !c.is_empty());
        match (content, body) {
            (None, None) => {}
            (None, Some(_)) => ctx.push(
                ctx.location.clone(),
                format!("the spec declares no content for response {key}, but a body was returned"),
            ),
            // No body is ever allowed on these, whatever the spec says.
            (Some(_), None) if status == 204 || status == 304 => {}
            (Some(content), None) => {
                if let Some((media, m)) = json_media(content) {
                    let schema = m.get("schema");
                    let accepts_anything =
                        schema.is_none_or(|s| s.as_object().is_some_and(serde_json::Map::is_empty));
                    if !accepts_anything {
                        ctx.push(
                            ctx.location.clone(),
                            format!(
                                "no body, but the spec gives a {media} schema for response {key}"
                            ),
                        );
                    }
                }
            }
            (Some(_), Some(body)) => check_content(spec, &ctx, response, &response_ptr, None, body),
        }
        out.into_inner()
    }
}

/// Checks a JSON `body` against the `content` of a request body or response object at `ptr`.
fn check_content(
    spec: &Spec,
    ctx: &Ctx<'_>,
    holder: &Value,
    ptr: &str,
    content_type: Option<&str>,
    body: &Value,
) {
    let Some(content) = holder.get("content").and_then(Value::as_object) else {
        return ctx.push(
            ctx.location.clone(),
            "the spec declares no content here, but a body was sent".to_string(),
        );
    };
    if let Some(ct) = content_type {
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !content.keys().any(|k| k.eq_ignore_ascii_case(essence)) {
            ctx.push(
                "header content-type".to_string(),
                format!(
                    "{essence:?} is not a declared media type: {}",
                    list_or_none(content.keys().map(String::as_str))
                ),
            );
        }
    }
    let Some((media, m)) = json_media(content) else {
        return ctx.push(
            ctx.location.clone(),
            format!(
                "a JSON body was sent, but the spec declares only: {}",
                list_or_none(content.keys().map(String::as_str))
            ),
        );
    };
    if m.get("schema").is_some() {
        let schema_ptr = format!("{ptr}/content/{}/schema", escape_pointer(media));
        spec.validate(ctx, &schema_ptr, body, true);
    }
}

/// The JSON media type of a `content` map: `application/json`, else any `…/json` or `…+json`.
fn json_media(content: &Map<String, Value>) -> Option<(&str, &Value)> {
    content
        .get_key_value("application/json")
        .or_else(|| {
            content.iter().find(|(k, _)| {
                let base = k
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                base.starts_with("application/")
                    && (base.ends_with("/json") || base.ends_with("+json"))
            })
        })
        .map(|(k, v)| (k.as_str(), v))
}

/// OpenAPI 3.0 Schema Object → JSON Schema (draft 7) conversion, for one direction.
struct Converter<'a> {
    doc: &'a Value,
    dir: Direction,
}

impl Converter<'_> {
    /// Converts `s`; `hidden` are property names not to be required in this direction
    /// (declared `readOnly`/`writeOnly` by an enclosing schema).
    fn schema(&self, s: &Value, hidden: &[String]) -> Value {
        let Some(obj) = s.as_object() else {
            return s.clone();
        };
        let nullable = obj.get("nullable") == Some(&Value::Bool(true))
            || obj.get("x-nullable") == Some(&Value::Bool(true));
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            // OpenAPI 3.0: siblings of `$ref` are ignored; `nullable` is honoured as meant.
            let target = if r.starts_with('#') {
                format!("{}{r}", self.dir.base())
            } else {
                r.to_string()
            };
            let reference = json!({ "$ref": target });
            return if nullable {
                json!({ "anyOf": [reference, { "type": "null" }] })
            } else {
                reference
            };
        }

        // Property names hidden here: inherited, own, and those of `allOf` members.
        let mut hidden = hidden.to_vec();
        self.collect_hidden(s, &mut hidden, 0);

        let mut out = Map::new();
        for (k, v) in obj {
            let converted = match k.as_str() {
                "properties" | "patternProperties" => match v.as_object() {
                    Some(props) => Value::Object(
                        props
                            .iter()
                            .map(|(name, p)| (name.clone(), self.schema(p, &[])))
                            .collect(),
                    ),
                    None => v.clone(),
                },
                "items" | "additionalProperties" | "additionalItems" | "not" => self.schema(v, &[]),
                "allOf" | "anyOf" | "oneOf" => match v.as_array() {
                    Some(members) => {
                        Value::Array(members.iter().map(|m| self.schema(m, &hidden)).collect())
                    }
                    None => v.clone(),
                },
                "required" => match v.as_array() {
                    Some(names) => Value::Array(
                        names
                            .iter()
                            .filter(|n| !n.as_str().is_some_and(|n| hidden.iter().any(|h| h == n)))
                            .cloned()
                            .collect(),
                    ),
                    // e.g. a Swagger 2 style `required: true` on a property: meaningless here.
                    None => continue,
                },
                "exclusiveMinimum" | "exclusiveMaximum" => {
                    if v.is_number() {
                        v.clone()
                    } else {
                        continue; // boolean form: applied to minimum/maximum below
                    }
                }
                // The formats checked (see `formats`); the others are annotations here.
                "format" if matches!(v.as_str(), Some("date-time" | "date" | "email")) => v.clone(),
                "nullable" | "x-nullable" | "discriminator" | "xml" | "example" | "examples"
                | "externalDocs" | "readOnly" | "writeOnly" | "deprecated" | "format"
                | "description" | "title" => continue,
                other if other.starts_with("x-") => continue,
                _ => v.clone(),
            };
            out.insert(k.clone(), converted);
        }
        for (flag, bound) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            if obj.get(flag) == Some(&Value::Bool(true))
                && let Some(b) = out.remove(bound)
            {
                out.insert(flag.to_string(), b);
            }
        }
        if !nullable {
            return Value::Object(out);
        }
        if let Some(values) = out.get_mut("enum").and_then(Value::as_array_mut)
            && !values.contains(&Value::Null)
        {
            values.push(Value::Null);
        }
        let composite = ["allOf", "anyOf", "oneOf", "not"]
            .iter()
            .any(|k| out.contains_key(*k));
        match out.get_mut("type") {
            Some(Value::String(t)) if !composite => {
                let t = std::mem::take(t);
                out.insert("type".to_string(), json!([t, "null"]));
                Value::Object(out)
            }
            Some(Value::Array(types)) if !composite => {
                if !types.contains(&json!("null")) {
                    types.push(json!("null"));
                }
                Value::Object(out)
            }
            _ => json!({ "anyOf": [Value::Object(out), { "type": "null" }] }),
        }
    }

    /// Adds the names of properties of `s` (following `$ref`s and `allOf`) that carry this
    /// direction's hiding flag.
    fn collect_hidden(&self, s: &Value, hidden: &mut Vec<String>, depth: usize) {
        if depth > 8 {
            return;
        }
        let (s, _) = resolve_in(self.doc, s, String::new());
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (name, p) in props {
                if self.is_hidden(p) && !hidden.contains(name) {
                    hidden.push(name.clone());
                }
            }
        }
        if let Some(members) = s.get("allOf").and_then(Value::as_array) {
            for m in members {
                self.collect_hidden(m, hidden, depth + 1);
            }
        }
    }

    /// Whether a property schema (or what its `$ref` chain leads to) carries the hiding flag.
    fn is_hidden(&self, p: &Value) -> bool {
        let flag = self.dir.hiding_flag();
        let mut cur = p;
        for _ in 0..16 {
            if cur.get(flag) == Some(&Value::Bool(true)) {
                return true;
            }
            match cur
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|r| self.doc.pointer(r))
            {
                Some(next) => cur = next,
                None => return false,
            }
        }
        false
    }
}

/// Follows local `$ref`s from `value` (found at `pointer`) in `doc`; gives the target and its
/// pointer. Stops at a dangling or cyclic reference, giving the last object reached.
fn resolve_in<'a>(
    doc: &'a Value,
    mut value: &'a Value,
    mut pointer: String,
) -> (&'a Value, String) {
    for _ in 0..16 {
        let Some(target) = value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        else {
            break;
        };
        let Some(next) = doc.pointer(target) else {
            break;
        };
        value = next;
        pointer = target.to_string();
    }
    (value, pointer)
}

/// Adds (instance pointer, description) for `error`. A failed `anyOf: [X, {type: null}]`
/// (what `nullable` becomes) on a non-null value is replaced by X's own errors, so they keep
/// their precise instance pointers.
fn leaf_errors(
    error: &ValidationError<'_>,
    dir: Direction,
    schema_ptr: &str,
    found: &mut Vec<(String, String)>,
) {
    if let ValidationErrorKind::AnyOf { context } = error.kind()
        && context.len() == 2
    {
        let null_miss = |errors: &Vec<ValidationError<'static>>| {
            errors.len() == 1
                && matches!(errors[0].kind(), ValidationErrorKind::Type { .. })
                && errors[0].to_string().ends_with("is not of type \"null\"")
        };
        let other = match (null_miss(&context[0]), null_miss(&context[1])) {
            (false, true) => Some(&context[0]),
            (true, false) => Some(&context[1]),
            _ => None,
        };
        if let Some(errors) = other {
            for e in errors {
                leaf_errors(e, dir, schema_ptr, found);
            }
            return;
        }
    }
    found.push((
        error.instance_path().as_str().to_string(),
        describe(error, dir, schema_ptr),
    ));
}

/// Describes one validation error: the validator's message (instances too long to quote are
/// masked), the schema keyword that failed, and for `anyOf`/`oneOf` what each branch rejected.
/// `schema_ptr` is where the validated schema sits in the spec.
fn describe(error: &ValidationError<'_>, dir: Direction, schema_ptr: &str) -> String {
    let mut msg = short_message(error);
    msg.push_str(&format!(
        " [schema {}]",
        keyword_location(error, dir, schema_ptr)
    ));
    let branches = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            Some(context)
        }
        _ => None,
    };
    if let Some(branches) = branches {
        let mut parts = Vec::new();
        for (i, errors) in branches.iter().enumerate() {
            // The `{"type": "null"}` branch added for `nullable` says nothing useful.
            let useful: Vec<String> = errors
                .iter()
                .filter(|e| !e.to_string().ends_with("is not of type \"null\""))
                .take(2)
                .map(|e| {
                    let at = e.instance_path().as_str();
                    let at = if at.is_empty() { "/" } else { at };
                    format!("{at}: {}", short_message(e))
                })
                .collect();
            if !useful.is_empty() {
                parts.push(format!("branch {i}: {}", useful.join("; ")));
            }
        }
        if !parts.is_empty() {
            msg.push_str(" — ");
            msg.push_str(&truncate(parts.join(" | "), MAX_MESSAGE * 2));
        }
    }
    msg
}

/// The validator's message, with the instance masked when quoting it would be too long, and
/// with every allowed value for an `enum` failure.
fn short_message(error: &ValidationError<'_>) -> String {
    if let ValidationErrorKind::Enum { options } = error.kind() {
        let instance = truncate(error.instance().to_string(), MAX_MESSAGE / 4);
        return truncate(format!("{instance} is not one of {options}"), MAX_MESSAGE);
    }
    let full = error.to_string();
    if full.len() <= MAX_MESSAGE / 2 {
        return full;
    }
    truncate(error.masked().to_string(), MAX_MESSAGE)
}

/// Where in the spec the failing keyword is, as a JSON pointer into the spec: inside a
/// component (`#/components/schemas/…`) when reached through a `$ref`, else inside the schema
/// at `schema_ptr`. Positions are those of the converted schema, which follows the spec's
/// layout except where `nullable` wrapped a schema in `anyOf`.
fn keyword_location(error: &ValidationError<'_>, dir: Direction, schema_ptr: &str) -> String {
    error
        .absolute_keyword_location()
        .and_then(|uri| uri.as_str().strip_prefix(dir.base()).map(str::to_string))
        .unwrap_or_else(|| format!("#{schema_ptr}{}", error.schema_path()))
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// Query/path/header text → JSON value of the schema's type; text that does not parse stays a
/// string, so the validator reports the type mismatch.
fn coerce(text: &str, ty: Option<&str>) -> Value {
    match ty {
        Some("integer") => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<u64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(text.to_string())),
        Some("number") => text
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or_else(|| Value::String(text.to_string())),
        Some("boolean") => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
        _ => Value::String(text.to_string()),
    }
}

/// The segments of a path, without the leading slash; `""` has none.
fn split_path(path: &str) -> impl Iterator<Item = &str> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    trimmed.split('/').filter(move |_| !trimmed.is_empty())
}

/// Escapes a key for use as a JSON pointer segment.
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Decodes `%XX` escapes in a path segment (invalid escapes are kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a, b, c`, or `none`.
fn list_or_none<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// Locks a mutex, ignoring poisoning (the map stays consistent: entries are inserted whole).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The `format`s checked (see the module note), as BigCommerce writes them.
mod formats {
    use time::format_description::well_known::{Rfc2822, Rfc3339};
    use time::macros::format_description;
    use time::{Date, OffsetDateTime};

    /// RFC 3339 in whole seconds, or RFC 2822.
    pub(super) fn date_time(text: &str) -> bool {
        let rfc3339 = OffsetDateTime::parse(text, &Rfc3339).is_ok() && !text.contains('.');
        rfc3339 || OffsetDateTime::parse(text, &Rfc2822).is_ok()
    }

    /// `YYYY-MM-DD`, a day that exists.
    pub(super) fn date(text: &str) -> bool {
        Date::parse(text, format_description!("[year]-[month]-[day]")).is_ok()
    }

    /// One `@` between a local part and a dotted domain, no spaces.
    pub(super) fn email(text: &str) -> bool {
        match text.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.split('.').count() >= 2
                    && domain.split('.').all(|label| !label.is_empty())
                    && !text.chars().any(char::is_whitespace)
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Instant;

    /// The spec directory, or `None` (with a note) when it is not there; CI requires it.
    fn spec_dir() -> Option<PathBuf> {
        crate::bigcommerce_specs()
    }

    const V2: [&str; 2] = ["orders.v2.oas2.yml", "store_information.v2.yml"];
    const V3: [&str; 5] = [
        "orders.v3.yml",
        "customers.v3.yml",
        "webhooks.v3.yml",
        "catalog/products_catalog.v3.yml",
        "catalog/product-variants_catalog.v3.yml",
    ];

    fn load(dir: &Path, name: &str) -> Spec {
        Spec::load(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn specs(dir: &Path) -> SpecSet {
        let mut set = SpecSet::new();
        for name in V2 {
            set.add("/v2", load(dir, name));
        }
        for name in V3 {
            set.add("/v3", load(dir, name));
        }
        set
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn json_headers() -> Vec<(String, String)> {
        pairs(&[
            ("accept", "application/json"),
            ("content-type", "application/json"),
        ])
    }

    #[test]
    fn set_is_shareable_between_threads() {
        fn check<T: Send + Sync>() {}
        check::<SpecSet>();
    }

    /// Compiles every `components/schemas` entry of `spec` for both directions; gives the
    /// number compiled and the errors.
    fn compile_components(spec: &Spec) -> (usize, Vec<String>) {
        let names: Vec<String> = spec
            .doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let mut failures = Vec::new();
        for name in &names {
            for dir in [Direction::Request, Direction::Response] {
                let ptr = format!("/components/schemas/{}", escape_pointer(name));
                if let Err(e) = spec.validator(dir, &ptr).as_ref() {
                    failures.push(e.clone());
                }
            }
        }
        (names.len() * 2, failures)
    }

    #[test]
    fn loads_every_spec_and_compiles_every_component_schema() {
        let Some(dir) = spec_dir() else { return };
        let started = Instant::now();
        let set = specs(&dir);
        println!(
            "loaded {} specs in {:?}",
            V2.len() + V3.len(),
            started.elapsed()
        );
        let started = Instant::now();
        let mut failures = Vec::new();
        let mut count = 0;
        for spec in set.groups.iter().flat_map(|(_, specs)| specs) {
            let (n, errors) = compile_components(spec);
            count += n;
            failures.extend(errors);
        }
        println!(
            "compiled {count} component schemas in {:?}",
            started.elapsed()
        );
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn other_specs_load_and_compile() {
        let Some(dir) = spec_dir() else { return };
        for name in ["customers.v2.yml", "inventory.v3.yml", "price_lists.v3.yml"] {
            let (_, failures) = compile_components(&load(&dir, name));
            assert!(failures.is_empty(), "{failures:#?}");
        }
    }

    #[test]
    fn get_orders_with_paging_and_date_filter_passes() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let query = pairs(&[
            ("page", "2"),
            ("limit", "250"),
            ("min_date_modified", "2024-01-01T00:00:00Z"),
        ]);
        let v = set.check_request("GET", "/v2/orders", &query, &json_headers()[..1], None);
        assert!(v.is_empty(), "{v:#?}");
    }

    #[test]
    fn sort_with_direction_suffix_is_reported() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let query = pairs(&[("sort", "date_modified:asc")]);
        let v = set.check_request("GET", "/v2/orders", &query, &json_headers()[..1], None);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].operation, "GET /orders");
        assert_eq!(v[0].location, "query sort");
        assert!(v[0].message.contains("date_modified:asc"), "{}", v[0]);
        // The plain field name is in the enum.
        let query = pairs(&[("sort", "date_modified")]);
        let v = set.check_request("GET", "/v2/orders", &query, &json_headers()[..1], None);
        assert!(v.is_empty(), "{v:#?}");
    }

    #[test]
    fn unknown_and_mistyped_query_parameters_are_reported() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let query = pairs(&[("pagesize", "10"), ("min_id", "ten")]);
        let v = set.check_request("GET", "/v2/orders", &query, &json_headers()[..1], None);
        assert_eq!(v.len(), 2, "{v:#?}");
        assert_eq!(v[0].location, "query pagesize");
        assert!(v[0].message.contains("unknown query parameter"), "{}", v[0]);
        assert_eq!(v[1].location, "query min_id");
        assert!(v[1].message.contains("integer"), "{}", v[1]);
    }

    #[test]
    fn comma_separated_in_filters_are_arrays() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let headers = json_headers();
        let query = pairs(&[("id:in", "1,2,3"), ("include", "variants,images")]);
        let v = set.check_request("GET", "/v3/catalog/products", &query, &headers, None);
        assert!(v.is_empty(), "{v:#?}");
        let query = pairs(&[("id:in", "1,x")]);
        let v = set.check_request("GET", "/v3/catalog/products", &query, &headers, None);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "query id:in");
        assert!(v[0].message.contains("/1"), "{}", v[0]);
    }

    #[test]
    fn missing_required_header_is_reported() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let v = set.check_request("GET", "/v2/orders/1", &[], &[], None);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "header accept");
        let headers = pairs(&[("AcCePt", "application/json")]);
        let v = set.check_request("GET", "/v2/orders/1", &[], &headers, None);
        assert!(v.is_empty(), "{v:#?}");
    }

    #[test]
    fn path_parameters_are_typed() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let v = set.check_request("GET", "/v2/orders/abc", &[], &json_headers()[..1], None);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].operation, "GET /orders/{order_id}");
        assert_eq!(v[0].location, "path order_id");
    }

    #[test]
    fn unknown_path_and_method_are_reported() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let v = set.check_request("GET", "/v2/nothing/here", &[], &[], None);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "path");
        let v = set.check_request("PATCH", "/v2/orders/1", &[], &[], None);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "path");
        assert!(v[0].message.contains("GET, PUT, DELETE"), "{}", v[0]);
        let v = set.check_response("GET", "/v4/orders", 200, None);
        assert_eq!(v[0].location, "path");
    }

    #[test]
    fn product_price_must_be_a_number() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let headers = json_headers();
        let bad = json!({ "price": "12.34" });
        let v = set.check_request("PUT", "/v3/catalog/products/77", &[], &headers, Some(&bad));
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].operation, "PUT /catalog/products/{product_id}");
        assert_eq!(v[0].location, "request body /price");
        assert!(v[0].message.contains("number"), "{}", v[0]);
        let good = json!({ "price": 12.34 });
        let v = set.check_request("PUT", "/v3/catalog/products/77", &[], &headers, Some(&good));
        assert!(v.is_empty(), "{v:#?}");
    }

    #[test]
    fn create_customers_takes_an_array() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let headers = json_headers();
        let one = json!({
            "email": "jane@example.com",
            "first_name": "Jane",
            "last_name": "Doe"
        });
        let v = set.check_request("POST", "/v3/customers", &[], &headers, Some(&one));
        assert!(!v.is_empty());
        assert!(v.iter().all(|v| v.location == "request body"), "{v:#?}");
        let many = Value::Array(vec![one]);
        let v = set.check_request("POST", "/v3/customers", &[], &headers, Some(&many));
        assert!(v.is_empty(), "{v:#?}");
    }

    #[test]
    fn request_body_presence_is_checked() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let headers = json_headers();
        let v = set.check_request("GET", "/v2/orders", &[], &headers, Some(&json!({})));
        assert!(v.iter().any(|v| v.location == "request body"), "{v:#?}");
        let v = set.check_request("POST", "/v3/customers", &[], &headers, None);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "request body");
    }

    #[test]
    fn spec_example_order_validates() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let spec = &set.groups.iter().find(|(p, _)| p == "/v2").unwrap().1[0];
        let response = &spec.doc["components"]["responses"]["order_Resp"];
        let media = &response["content"]["application/json"];
        let example = media
            .get("example")
            .or_else(|| {
                media["examples"]
                    .as_object()
                    .and_then(|m| m.values().next())
                    .map(|e| &e["value"])
            })
            .expect("order_Resp has an example");
        let v = set.check_response("GET", "/v2/orders/100", 200, Some(example));
        assert!(v.is_empty(), "{v:#?}");
        let mut broken = example.clone();
        broken["items_total"] = json!("three");
        let v = set.check_response("GET", "/v2/orders/100", 200, Some(&broken));
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "response 200 body /items_total");
    }

    #[test]
    fn response_statuses_are_checked() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        // The spec declares only 200 for GET /v2/orders, so a 204 is reported.
        let v = set.check_response("GET", "/v2/orders", 204, None);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "response 204");
        // DELETE /v2/orders/{order_id} declares 204 without content.
        let v = set.check_response("DELETE", "/v2/orders/1", 204, None);
        assert!(v.is_empty(), "{v:#?}");
        let v = set.check_response("DELETE", "/v2/orders/1", 204, Some(&json!({})));
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "response 204 body");
        // A declared schema needs a body.
        let v = set.check_response("GET", "/v2/orders/1", 200, None);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "response 200 body");
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let route = set
            .route("GET", "/v3/orders/payment_actions/refunds")
            .expect("routes");
        assert_eq!(route.operation, "GET /orders/payment_actions/refunds");
        let route = set.route("GET", "/v3/orders/12/payment_actions/refunds");
        assert_eq!(
            route.expect("routes").operation,
            "GET /orders/{order_id}/payment_actions/refunds"
        );
    }

    /// A small document exercising what the BigCommerce specs do not.
    fn synthetic() -> SpecSet {
        let doc = json!({
            "openapi": "3.0.3",
            "paths": {
                "/things/{id}": {
                    "parameters": [
                        { "name": "id", "in": "path", "required": true,
                          "schema": { "type": "integer" } }
                    ],
                    "put": {
                        "parameters": [
                            { "$ref": "#/components/parameters/Weight" },
                            { "name": "tags", "in": "query",
                              "schema": { "type": "array", "items": { "type": "string" } } }
                        ],
                        "requestBody": {
                            "required": true,
                            "content": { "application/json": {
                                "schema": { "$ref": "#/components/schemas/Thing" } } }
                        },
                        "responses": {
                            "2XX": { "description": "ok", "content": { "application/json": {
                                "schema": { "$ref": "#/components/schemas/Thing" } } } },
                            "default": { "description": "error", "content": {
                                "application/problem+json": {
                                    "schema": { "type": "object", "required": ["title"] } } } }
                        }
                    }
                }
            },
            "components": {
                "parameters": {
                    "Weight": { "name": "weight", "in": "query", "required": true,
                                "schema": { "type": "number", "minimum": 0,
                                            "exclusiveMinimum": true } }
                },
                "schemas": {
                    "Thing": {
                        "type": "object",
                        "required": ["id", "secret", "parent"],
                        "properties": {
                            "id": { "type": "integer", "readOnly": true },
                            "secret": { "type": "string", "writeOnly": true },
                            "parent": { "$ref": "#/components/schemas/Thing", "nullable": true }
                        }
                    }
                }
            }
        });
        let mut set = SpecSet::new();
        set.add(
            "/api/",
            Spec::from_value("synthetic".to_string(), doc).expect("valid"),
        );
        set
    }

    #[test]
    fn synthetic_spec_covers_ranges_defaults_and_read_only() {
        let set = synthetic();
        let q = pairs(&[("weight", "0.5"), ("tags", "a"), ("tags", "b")]);
        let request = json!({ "secret": "s", "parent": null });
        let v = set.check_request("PUT", "/api/things/7", &q, &[], Some(&request));
        assert!(v.is_empty(), "{v:#?}");
        // Exclusive minimum, missing required parameter, request body required.
        let v = set.check_request(
            "PUT",
            "/api/things/7",
            &pairs(&[("weight", "0")]),
            &[],
            None,
        );
        let locations: Vec<&str> = v.iter().map(|v| v.location.as_str()).collect();
        assert_eq!(locations, ["query weight", "request body"], "{v:#?}");
        let v = set.check_request("PUT", "/api/things/7", &[], &[], Some(&request));
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "query weight");
        // A 201 falls under 2XX: `id` and `parent` are required there, `secret` is not.
        let response = json!({ "id": 7, "parent": { "id": 1, "parent": null } });
        let v = set.check_response("PUT", "/api/things/7", 201, Some(&response));
        assert!(v.is_empty(), "{v:#?}");
        let v = set.check_response("PUT", "/api/things/7", 200, Some(&json!({ "id": 7 })));
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "response 200 body");
        assert!(v[0].message.contains("parent"), "{}", v[0]);
        let nested = json!({ "id": 7, "parent": { "id": "x", "parent": null } });
        let v = set.check_response("PUT", "/api/things/7", 200, Some(&nested));
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "response 200 body /parent/id");
        assert!(v[0].message.contains("integer"), "{}", v[0]);
        // Anything else falls to `default`, whose media type is `+json`.
        let v = set.check_response("PUT", "/api/things/7", 503, Some(&json!({})));
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "response 503 body");
        let v = set.check_response("PUT", "/api/things/7", 503, Some(&json!({ "title": "x" })));
        assert!(v.is_empty(), "{v:#?}");
    }

    #[test]
    fn content_type_must_be_declared() {
        let Some(dir) = spec_dir() else { return };
        let set = specs(&dir);
        let headers = pairs(&[
            ("accept", "application/json"),
            ("content-type", "text/plain"),
        ]);
        let body = json!({ "price": 1 });
        let v = set.check_request("PUT", "/v3/catalog/products/77", &[], &headers, Some(&body));
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].location, "header content-type");
    }

    #[test]
    fn formats_are_checked_as_bigcommerce_writes_them() {
        use formats::{date, date_time, email};
        for good in [
            "2026-11-02T10:00:00+00:00",
            "2026-11-02T10:00:00Z",
            "Tue, 20 Nov 2012 00:00:00 +0000",
        ] {
            assert!(date_time(good), "{good}");
        }
        for bad in [
            "",
            "2026-11-02T10:00:00.123456789Z",
            "2026-11-02",
            "yesterday",
        ] {
            assert!(!date_time(bad), "{bad}");
        }
        assert!(date("2026-02-28") && !date("2026-02-30") && !date(""));
        assert!(email("a.b@example.com"));
        for bad in [
            "",
            "a@",
            "@example.com",
            "a b@example.com",
            "a@localhost",
            "a@b@c.d",
        ] {
            assert!(!email(bad), "{bad}");
        }
        // Through a converted schema: a string in the wrong form is reported, null is not
        // (a format constrains strings only).
        let doc = json!({ "components": { "schemas": {} } });
        let conv = Converter {
            doc: &doc,
            dir: Direction::Response,
        };
        let schema = conv.schema(
            &json!({ "type": "string", "format": "date", "nullable": true }),
            &[],
        );
        let validator = jsonschema::options()
            .with_draft(Draft::Draft7)
            .should_validate_formats(true)
            .with_format("date", formats::date)
            .build(&schema)
            .unwrap();
        assert!(!validator.is_valid(&json!("")));
        assert!(validator.is_valid(&json!("2026-11-02")) && validator.is_valid(&Value::Null));
    }

    #[test]
    fn conversion_handles_openapi_keywords() {
        let doc = json!({
            "components": { "schemas": {
                "Id": { "type": "integer", "readOnly": true }
            }}
        });
        let conv = Converter {
            doc: &doc,
            dir: Direction::Request,
        };
        let s = json!({
            "type": "object",
            "required": ["id", "name", "kind"],
            "properties": {
                "id": { "$ref": "#/components/schemas/Id" },
                "name": { "type": "string", "nullable": true, "format": "date-time",
                          "example": "x" },
                "kind": { "enum": ["a", "b"], "nullable": true },
                "count": { "type": "integer", "minimum": 0, "exclusiveMinimum": true }
            }
        });
        let got = conv.schema(&s, &[]);
        assert_eq!(got["required"], json!(["name", "kind"]));
        assert_eq!(
            got["properties"]["id"],
            json!({ "$ref": "urn:openapi:request#/components/schemas/Id" })
        );
        assert_eq!(
            got["properties"]["name"],
            json!({ "type": ["string", "null"], "format": "date-time" })
        );
        assert_eq!(
            got["properties"]["kind"],
            json!({ "anyOf": [{ "enum": ["a", "b", null] }, { "type": "null" }] })
        );
        assert_eq!(
            got["properties"]["count"],
            json!({ "type": "integer", "exclusiveMinimum": 0 })
        );
        let response = Converter {
            doc: &doc,
            dir: Direction::Response,
        }
        .schema(&s, &[]);
        assert_eq!(response["required"], json!(["id", "name", "kind"]));
    }
}
