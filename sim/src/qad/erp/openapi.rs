//! The tenant's OpenAPI 3.0.3 document: its enabled paths (token, browses, the `api/erp`
//! collections) with the methods the simulator implements on each.

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::super::answers::{grounded_error, json_response};
use super::super::gate::Ctx;
use super::super::{SharedState, SimTenant};
use super::{ENTITIES, Entity};
use crate::sync::lock;

pub(super) async fn openapi(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let guard = lock(&shared);
    match guard.tenants.get(&ctx.tenant) {
        Some(tenant) => json_response(StatusCode::OK, &openapi_document(&tenant.account, &ctx)),
        None => grounded_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// The platform paths every tenant documents: id, path, summary, query keys.
const BROWSE_PATHS: [(&str, &str, &str, &[&str]); 2] = [
    (
        "browse",
        "/api/qracore/browses",
        "Browse rows (filter, page, pageSize, pageAction, callId)",
        &[
            "browseId",
            "filter",
            "page",
            "pageSize",
            "pageAction",
            "callId",
        ],
    ),
    (
        "browseTotalCount",
        "/api/qracore/browses/totalCount/",
        "Number of rows a browse filter matches",
        &["browseId", "filter"],
    ),
];

/// The tenant's OpenAPI 3.0.3 document: its enabled paths with the methods each supports.
fn openapi_document(account: &SimTenant, ctx: &Ctx) -> Value {
    let mut paths = Map::new();
    paths.insert("/oauth/token".into(), token_path());
    for (id, path, summary, keys) in BROWSE_PATHS {
        if !account.is_disabled(path.trim_end_matches('/')) {
            let get = operation(id, summary, keys, None, false);
            paths.insert(path.into(), json!({ "get": get }));
        }
    }
    for entity in ENTITIES {
        if !account.is_disabled(entity.path) {
            paths.insert(entity.path.into(), entity_operations(&entity));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("QAD Adaptive ERP REST API ({})", ctx.tenant),
            "version": "2026.1-sim",
        },
        "servers": [{"url": format!("/{}/{}", ctx.tenant, ctx.root)}],
        "paths": paths,
        "components": {"securitySchemes": {
            "oauth2": {"type": "oauth2", "flows": {"password": {"tokenUrl": "oauth/token", "scopes": {}}}},
            "basic": {"type": "http", "scheme": "basic"},
        }},
        "security": [{"oauth2": []}, {"basic": []}],
    })
}

/// One operation per method the simulator implements on the collection.
fn entity_operations(entity: &Entity) -> Value {
    let operations: Map<String, Value> = entity
        .methods
        .iter()
        .map(|method| {
            let id = format!("{method}_{}", entity.collection);
            let summary = format!("{} ({method})", entity.summary);
            let post = *method == "post";
            let keys = if post { &[][..] } else { entity.keys };
            let value = operation(&id, &summary, keys, Some(entity.view_uri), post);
            (method.to_string(), value)
        })
        .collect();
    Value::Object(operations)
}

fn token_path() -> Value {
    let form_field = |name: &str| (name.to_string(), json!({"type": "string"}));
    let fields: Map<String, Value> = [
        "grant_type",
        "client_id",
        "username",
        "password",
        "refresh_token",
    ]
    .into_iter()
    .map(form_field)
    .collect();
    json!({"post": {
        "operationId": "token",
        "summary": "OAuth2 password and refresh grants",
        "security": [],
        "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "properties": fields, "required": ["grant_type", "client_id"],
        }}}},
        "responses": {
            "200": {"description": "Tokens"},
            "400": {"description": "invalid_grant"},
            "401": {"description": "invalid_client"},
        },
    }})
}

fn operation(id: &str, summary: &str, keys: &[&str], view_uri: Option<&str>, body: bool) -> Value {
    let parameter = |name: &str, place: &str, required: bool| json!({"name": name, "in": place, "required": required, "schema": {"type": "string"}});
    let mut parameters: Vec<Value> = keys
        .iter()
        .map(|key| parameter(key, "query", false))
        .collect();
    if let Some(view) = view_uri {
        let mut view_parameter = parameter("viewUri", "query", true);
        view_parameter["schema"]["enum"] = json!([view]);
        parameters.push(view_parameter);
    }
    parameters.push(parameter("x-qad-workspace-id", "header", false));
    let mut operation = json!({
        "operationId": id,
        "summary": summary,
        "parameters": parameters,
        "responses": {
            "200": {"description": "OK (business errors are a submitResult with success false)"},
            "401": {"description": "Missing, expired or invalid credentials"},
            "403": {"description": "Access is denied"},
        },
    });
    if body {
        operation["requestBody"] =
            json!({"content": {"application/json": {"schema": {"type": "object"}}}});
    }
    operation
}
